/**
 * The command `mlops:open-experiments` (palette, sidebar): opens the one Experiments tab, or
 * brings it forward; `{experiments: [...]}` shows those. The tab comes back after a reload.
 */
import type { ILayoutRestorer, JupyterFrontEnd } from '@jupyterlab/application';
import { ICommandPalette, MainAreaWidget, ReactWidget, WidgetTracker } from '@jupyterlab/apputils';
import type { IStateDB } from '@jupyterlab/statedb';
import React from 'react';
import { mlopsIcon } from '../icon';
import { MLOpsModel, pollWhileShowing } from '../model';
import type { Views } from '../views';
import { ExperimentsRequest, ExperimentsView } from './ExperimentsView';
import { Prefs } from './prefs';

export const OPEN_EXPERIMENTS = 'mlops:open-experiments';

export function addExperiments(
  app: JupyterFrontEnd,
  options: {
    model: MLOpsModel;
    views: Views;
    state: IStateDB | null;
    palette: ICommandPalette | null;
    restorer: ILayoutRestorer | null;
  }
): void {
  const { model, views } = options;
  const prefs = new Prefs(options.state);
  const tracker = new WidgetTracker<MainAreaWidget>({ namespace: 'jupyter-mlops-experiments' });
  const request = new ExperimentsRequest();
  let widget: MainAreaWidget | null = null;

  app.commands.addCommand(OPEN_EXPERIMENTS, {
    label: 'MLOps: Open experiments',
    caption: 'The runs of one or several experiments as a table, with charts across them',
    execute: args => {
      const wanted = Array.isArray(args?.experiments) ? (args.experiments as string[]) : null;
      if (wanted) {
        request.show(wanted);
      }
      if (!widget || widget.isDisposed) {
        const content = ReactWidget.create(
          <ExperimentsView model={model} views={views} prefs={prefs} request={request} />
        );
        content.addClass('jp-mlops-view');
        content.addClass('jp-mlops-exp-view');
        widget = new MainAreaWidget({ content });
        widget.id = 'jp-mlops-experiments';
        widget.title.label = 'Experiments';
        widget.title.icon = mlopsIcon;
        widget.title.closable = true;
        pollWhileShowing(model, widget);
        void tracker.add(widget);
        app.shell.add(widget, 'main');
      }
      app.shell.activateById(widget.id);
    }
  });
  options.palette?.addItem({ command: OPEN_EXPERIMENTS, category: 'MLOps' });
  void options.restorer?.restore(tracker, {
    command: OPEN_EXPERIMENTS,
    name: () => 'experiments'
  });
}

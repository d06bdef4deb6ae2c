/**
 * jupyter-mlops in JupyterLab: the MLOps sidebar (runs, datasets, models, live), the views
 * it opens in the main area, and its commands in the palette.
 */
import { ILabShell, ILayoutRestorer, JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { IStateDB } from '@jupyterlab/statedb';
import { addExperiments } from './experiments/plugin';
import { MLOpsModel } from './model';
import { Sidebar } from './sidebar';
import { Views } from './views';

const PLUGIN = 'jupyter-mlops:sidebar';

namespace CommandIDs {
  export const showNotebookRuns = 'mlops:show-notebook-runs';
  export const compare = 'mlops:compare-selected';
  export const refresh = 'mlops:refresh';
  export const open = 'mlops:open-sidebar';
}

/** The open notebook's path relative to the server root, if the current widget is one. */
function currentNotebook(shell: ILabShell | null, app: JupyterFrontEnd): string | null {
  const widget: any = shell?.currentWidget ?? app.shell.currentWidget;
  const path: string | undefined = widget?.context?.path;
  return path && path.endsWith('.ipynb') ? path : null;
}

const plugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN,
  description: 'The jupyter-mlops sidebar: runs, datasets and models, live.',
  autoStart: true,
  optional: [ICommandPalette, ILayoutRestorer, ILabShell, ISettingRegistry, IStateDB],
  activate: (
    app: JupyterFrontEnd,
    palette: ICommandPalette | null,
    restorer: ILayoutRestorer | null,
    labShell: ILabShell | null,
    settings: ISettingRegistry | null,
    state: IStateDB | null
  ) => {
    const model = new MLOpsModel();
    const views = new Views(app, model);
    const sidebar = new Sidebar(app, model, views);
    app.shell.add(sidebar, 'left', { rank: 600 });
    restorer?.add(sidebar, 'jupyter-mlops-sidebar');
    addExperiments(app, { model, views, state, palette, restorer });

    settings
      ?.load(PLUGIN)
      .then(s => {
        const apply = () => {
          model.interval = s.get('refreshInterval').composite as number;
        };
        apply();
        s.changed.connect(apply);
      })
      .catch(() => undefined);

    app.commands.addCommand(CommandIDs.open, {
      label: 'MLOps: Show sidebar',
      execute: () => app.shell.activateById(sidebar.id)
    });
    app.commands.addCommand(CommandIDs.showNotebookRuns, {
      label: 'MLOps: Show runs of this notebook',
      isEnabled: () => currentNotebook(labShell, app) !== null,
      execute: () => {
        const path = currentNotebook(labShell, app);
        if (path) {
          model.runFilter = `notebook = '${path.replace(/'/g, "''")}'`;
          app.shell.activateById(sidebar.id);
        }
      }
    });
    app.commands.addCommand(CommandIDs.compare, {
      label: 'MLOps: Compare selected runs',
      isEnabled: () => model.selectedRuns.length >= 2,
      execute: () => views.compareRuns(model.selectedRuns)
    });
    app.commands.addCommand(CommandIDs.refresh, {
      label: 'MLOps: Refresh',
      execute: () => model.refresh()
    });
    for (const command of Object.values(CommandIDs)) {
      palette?.addItem({ command, category: 'MLOps' });
    }
  }
};

export default plugin;

/** The left sidebar: one collapsible block per registered section. */
import { JupyterFrontEnd } from '@jupyterlab/application';
import { ReactWidget } from '@jupyterlab/apputils';
import type { Message } from '@lumino/messaging';
import React, { useState } from 'react';
import { mlopsIcon } from './icon';
import type { MLOpsModel } from './model';
import { SECTIONS } from './sections';
import type { ISection } from './sections/registry';
import type { Views } from './views';

function Section(props: { section: ISection; children: JSX.Element }): JSX.Element {
  const [open, setOpen] = useState(true);
  return (
    <div className={`jp-mlops-section jp-mlops-section-${props.section.id}${open ? ' jp-mod-open' : ''}`}>
      <div className="jp-mlops-section-title" onClick={() => setOpen(!open)} role="button">
        {open ? '▾' : '▸'} {props.section.title}
      </div>
      {open && <div className="jp-mlops-section-body">{props.children}</div>}
    </div>
  );
}

export class Sidebar extends ReactWidget {
  constructor(
    private app: JupyterFrontEnd,
    private model: MLOpsModel,
    private views: Views
  ) {
    super();
    this.id = 'jp-mlops-sidebar';
    this.addClass('jp-mlops-sidebar');
    this.title.icon = mlopsIcon;
    this.title.caption = 'MLOps: runs, datasets, models';
  }

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    this.model.visible = true;
    this.model.refresh();
  }

  protected onAfterHide(msg: Message): void {
    super.onAfterHide(msg);
    this.model.visible = false;
  }

  render(): JSX.Element {
    return (
      <div className="jp-mlops-sections">
        {SECTIONS.map(section => (
          <Section key={section.id} section={section}>
            <section.component app={this.app} model={this.model} views={this.views} />
          </Section>
        ))}
      </div>
    );
  }
}

/**
 * The left sidebar, an overview: one line per section with its counts, one section expanded
 * at a time (an accordion; which one is remembered in JupyterLab's state).
 */
import { JupyterFrontEnd } from '@jupyterlab/application';
import { ReactWidget } from '@jupyterlab/apputils';
import { IStateDB } from '@jupyterlab/statedb';
import type { Message } from '@lumino/messaging';
import React, { useEffect, useState } from 'react';
import { mlopsIcon } from './icon';
import type { MLOpsModel } from './model';
import { SECTIONS } from './sections';
import type { Views } from './views';

const STATE_KEY = 'jupyter-mlops:sidebar';

/** Where the open section is remembered: JupyterLab's state database, when there is one. */
async function stateDB(app: JupyterFrontEnd): Promise<IStateDB | null> {
  try {
    return (await app.resolveOptionalService(IStateDB)) as IStateDB | null;
  } catch {
    return null;
  }
}

function Overview(props: { app: JupyterFrontEnd; model: MLOpsModel; views: Views }): JSX.Element {
  const [open, setOpen] = useState<string | null>(SECTIONS[0]?.id ?? null);
  const [state, setState] = useState<IStateDB | null>(null);
  useEffect(() => {
    let alive = true;
    void stateDB(props.app).then(async db => {
      if (!alive || !db) {
        return;
      }
      setState(db);
      const saved = (await db.fetch(STATE_KEY)) as { open?: string | null } | undefined;
      if (alive && saved && 'open' in saved) {
        setOpen(saved.open ?? null);
      }
    });
    return () => {
      alive = false;
    };
  }, [props.app]);
  const toggle = (id: string) => {
    const next = open === id ? null : id;
    setOpen(next);
    void state?.save(STATE_KEY, { open: next }).catch(() => undefined);
  };
  return (
    <div className="jp-mlops-sections">
      {SECTIONS.map(section => (
        <section.component
          key={section.id}
          app={props.app}
          model={props.model}
          views={props.views}
          open={open === section.id}
          onToggle={() => toggle(section.id)}
        />
      ))}
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
    return <Overview app={this.app} model={this.model} views={this.views} />;
  }
}

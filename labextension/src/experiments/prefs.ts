/**
 * What the Experiments view remembers in JupyterLab's state (the workspace), per set of
 * experiments: the columns, their widths, the order, the charts' choices; and the last set
 * shown, so the view reopens where it was.
 */
import type { IStateDB } from '@jupyterlab/statedb';
import type { ChartKind } from './client';

export interface IChartPrefs {
  open: boolean;
  kind: ChartKind;
  /** Parallel coordinates: the params, then the metric that colours the lines. */
  params: string[];
  metric: string | null;
  x: string | null;
  y: string | null;
}

export interface ISetPrefs {
  columns: string[] | null;
  widths: Record<string, number>;
  order: { key: string; desc: boolean };
  charts: IChartPrefs;
}

export const DEFAULT_PREFS: ISetPrefs = {
  columns: null,
  widths: {},
  order: { key: 'start_time', desc: true },
  charts: { open: false, kind: 'parallel', params: [], metric: null, x: null, y: null }
};

const ROOT = 'jupyter-mlops:experiments';

/** The state key of a set of experiments (every experiment: the empty set). */
function setKey(experiments: string[]): string {
  return `${ROOT}:${JSON.stringify([...experiments].sort())}`;
}

export class Prefs {
  constructor(private state: IStateDB | null) {}

  async forSet(experiments: string[]): Promise<ISetPrefs> {
    const saved = ((await this._fetch(setKey(experiments))) ?? {}) as Partial<ISetPrefs>;
    return {
      ...DEFAULT_PREFS,
      ...saved,
      charts: { ...DEFAULT_PREFS.charts, ...(saved.charts ?? {}) }
    };
  }

  saveSet(experiments: string[], prefs: ISetPrefs): void {
    void this.state?.save(setKey(experiments), prefs as any).catch(() => undefined);
  }

  /** The experiments shown last (null: never opened). */
  async lastSet(): Promise<string[] | null> {
    const saved = (await this._fetch(ROOT)) as { experiments?: string[] } | undefined;
    return Array.isArray(saved?.experiments) ? saved!.experiments : null;
  }

  saveLastSet(experiments: string[]): void {
    void this.state?.save(ROOT, { experiments }).catch(() => undefined);
  }

  private async _fetch(key: string): Promise<unknown> {
    try {
      return (await this.state?.fetch(key)) ?? undefined;
    } catch {
      return undefined;
    }
  }
}

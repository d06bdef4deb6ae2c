/**
 * The REST calls of the Experiments view: experiments, the fields their runs have, pages of
 * runs with chosen columns (top-level runs, or one parent's children), charts across runs.
 */
import { Figure, request } from '../api';
import type { components } from '../openapi';

type Schemas = components['schemas'];

export type IExperiment = Schemas['Experiment'];

/** One row of the table: the base fields, the asked columns (null where absent), and for a
 * parent its children's count (and, under a filter, how many of them match). */
export interface IRunRow {
  run_id: string;
  name: string;
  experiment: string;
  status: string;
  start_time: string;
  end_time: string | null;
  parent_run_id: string | null;
  user: string | null;
  child_count?: number;
  matched_children?: number | null;
  [column: string]: any;
}

export interface IRunRowsPage {
  runs: IRunRow[];
  total: number;
  offset: number;
  limit: number;
  /** The columns the rows carry beyond the base fields (the asked or the default ones). */
  columns?: string[];
}

/** The keys seen in the runs of some experiments, sorted, for pickers and completion. */
export interface IRunFields {
  attributes: string[];
  params: string[];
  metrics: string[];
  tags: string[];
}

export interface IRowsQuery {
  experiments: string[];
  filter: string;
  orderBy: string[];
  columns: string[] | null;
  parent?: string;
  limit: number;
  offset: number;
}

export type ChartKind = 'parallel' | 'scatter' | 'bars';

export interface IChartQuery {
  kind: ChartKind;
  fields: string[];
  color?: string;
  experiments: string[];
  filter: string;
  runs: string[];
  limit: number;
}

export const client = {
  experiments: () => request<Schemas['Experiments']>(['experiments']),
  fields: (experiments: string[]) =>
    request<IRunFields>(['runs', 'fields'], { experiment: experiments }),
  rows: (q: IRowsQuery) =>
    request<IRunRowsPage>(['runs'], {
      experiment: q.experiments,
      filter: q.filter,
      order_by: q.orderBy,
      columns: q.columns?.join(','),
      parent: q.parent,
      limit: q.limit,
      offset: q.offset
    }),
  chart: (q: IChartQuery) =>
    request<Figure>(['charts', 'runs'], {
      kind: q.kind,
      fields: q.fields.join(','),
      color: q.color,
      experiment: q.runs.length ? [] : q.experiments,
      filter: q.runs.length ? '' : q.filter,
      runs: q.runs.join(','),
      limit: q.limit
    })
};

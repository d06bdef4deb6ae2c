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
export type IRunRow = Schemas['RunRow'];
/** A page of rows, with the columns they carry beyond the base fields. */
export type IRunRowsPage = Schemas['RunsPage'];
/** The keys seen in the runs of some experiments, sorted, for pickers and completion. */
export type IRunFields = Schemas['RunFields'];

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

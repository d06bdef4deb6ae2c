/**
 * The typed client of the REST API under {baseUrl}mlops/api, through Jupyter's own
 * ServerConnection (its authentication, XSRF and base URL). Errors come back as
 * MLOpsError with the server's message.
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

export class MLOpsError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly detail: unknown = null
  ) {
    super(message);
  }
}

export type Figure = { data: any[]; layout: any };
export type Row = Record<string, any>;

export interface IRunsPage {
  runs: Row[];
  total: number;
  offset: number;
  limit: number;
}

export interface ILink {
  direction: string;
  kind: string;
  ref: string;
  role: string | null;
}

export interface IArtifact {
  name: string;
  digest: string;
  size: number;
  media_type: string;
}

export interface IRun {
  id: string;
  name: string;
  experiment: string;
  status: string;
  start_time: number;
  end_time: number | null;
  user: string | null;
  notebook: string | null;
  git_commit: string | null;
  git_dirty: boolean | null;
  error: string | null;
  params: Record<string, unknown>;
  metrics: Record<string, number | null>;
  tags: Record<string, string>;
  inputs: ILink[];
  outputs: ILink[];
  artifacts: IArtifact[];
}

export interface IChange {
  seq: number;
  kind: string;
  key: string;
  action: string;
  at: number;
}

export interface IChanges {
  cursor: number;
  latest: number;
  changes: IChange[];
}

export interface IComparison {
  table: Row[];
  figure: Figure;
}

export interface IDatasetVersion {
  ref: string;
  version: number;
  digest: string;
  kind: string;
  format: string;
  rows: number | null;
  size: number;
  schema: { name: string; dtype: string; nullable: boolean }[];
  table: Row[];
}

export interface IDatasetDiff {
  figure: Figure;
  [key: string]: unknown;
}

export interface IModel {
  name: string;
  versions: Row[];
  aliases: Record<string, number>;
  history: Row[];
}

export interface IModelVersion {
  name: string;
  version: number;
  ref: string;
  digest: string;
  flavor: string;
  run_id: string | null;
  training_data: string | null;
  aliases: string[];
  signature: { inputs: { name: string; type: string }[]; output: any } | null;
}

export interface IPipelineStep {
  id: string;
  step: string;
  attempt: number;
  status: string;
  started_at: number;
  ended_at: number | null;
  error: string | null;
  failed_cell: number | null;
  runs: string[];
}

export interface IPipelineRun {
  id: string;
  pipeline: string;
  status: string;
  trigger: string;
  params: Record<string, unknown>;
  started_at: number;
  ended_at: number | null;
  error: string | null;
  steps: IPipelineStep[];
  figure: Figure;
}

export interface IPipeline {
  name: string;
  yaml: string;
  figure: Figure;
  runs: Row[];
}

export interface ILineage {
  root: string;
  nodes: Row[];
  edges: Row[];
  figure: Figure;
}

export interface IDriftColumn {
  column: string;
  type: string;
  method: string;
  statistic: number | null;
  threshold: number;
  drifted: boolean;
  reference: Record<string, unknown>;
  current: Record<string, unknown>;
  note: string;
}

/** A monitoring batch's stored drift report, with its figure. */
export interface IDriftReport {
  batch_id: number;
  model: string;
  version: number;
  at: number;
  reference: string;
  current: string;
  reference_rows: number;
  current_rows: number;
  drifted: boolean;
  drift_share: number;
  dataset_threshold: number;
  drifted_columns: string[];
  columns: IDriftColumn[];
  figure: Figure;
}

export interface IAlert {
  id: number;
  model: string;
  version: number;
  at: number;
  rule_id: number;
  condition: string;
  reason: string;
  pipeline: string | null;
  pipeline_run_id: string | null;
  webhook_status: string | null;
  drift_share: number;
  batch_id: number;
  observed: Record<string, unknown>;
}

export interface IAlertRule {
  id: number;
  model: string;
  ref: string;
  condition: string;
  pipeline: string | null;
  webhook: string | null;
  created_by: string | null;
  created_at: number;
}

export interface IMonitoredModel {
  model: string;
  versions: number[];
  batches: number;
  last_at: number | null;
  last_drift_share: number | null;
  last_drifted: boolean | null;
  alerts: number;
  rules: number;
}

export interface IModelDrift {
  model: string;
  history: { model: string; batches: Row[]; alerts: IAlert[] };
  figure: Figure;
  rules: IAlertRule[];
  alerts: IAlert[];
  last_report: IDriftReport | null;
}

/** A materialization of a feature view version (parquet offline, keys online if asked). */
export interface IMaterialization {
  view: string;
  rows: number;
  digest: string;
  at: number;
  start: number | null;
  end: number | null;
  first_event: number | null;
  last_event: number | null;
  online: number | null;
  inputs: string[];
}

/** How current a view's data is; expired: its newest row is older than the ttl. */
export interface IFreshness {
  materialized_at: number | null;
  last_event: number | null;
  age: number | null;
  expired: boolean | null;
}

export interface IFeatureSummary {
  name: string;
  version: number;
  versions: number;
  kind: string;
  entities: string[];
  timestamp: string;
  ttl: number | null;
  features: { name: string; dtype: string }[];
  description: string | null;
  created_at: number;
  materialized: IMaterialization | null;
  freshness: IFreshness;
}

/** One view version in full, with the figure of its features' distributions. */
export interface IFeatureView extends Omit<IFeatureSummary, 'versions'> {
  digest: string;
  source: string;
  created_by: string | null;
  tags: Record<string, string>;
  versions: Row[];
  materializations: IMaterialization[];
  profile: Row[];
  figure: Figure;
}

type Query = Record<string, string | number | string[] | undefined>;

function queryString(query: Query): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined || value === '') {
      continue;
    }
    for (const item of Array.isArray(value) ? value : [value]) {
      params.append(key, String(item));
    }
  }
  const text = params.toString();
  return text ? `?${text}` : '';
}

/** The URL of an endpoint (path segments are escaped one by one). */
export function apiUrl(path: string[], query: Query = {}): string {
  const settings = ServerConnection.makeSettings();
  return (
    URLExt.join(settings.baseUrl, 'mlops', 'api', ...path.map(encodeURIComponent)) +
    queryString(query)
  );
}

async function request<T>(
  path: string[],
  query: Query = {},
  init: RequestInit = {}
): Promise<T> {
  const settings = ServerConnection.makeSettings();
  let response: Response;
  try {
    response = await ServerConnection.makeRequest(apiUrl(path, query), init, settings);
  } catch (error) {
    throw new MLOpsError(`cannot reach the Jupyter server: ${error}`, 0);
  }
  const text = await response.text();
  let body: any = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = null;
  }
  if (!response.ok) {
    const message =
      body?.error ??
      (response.status === 404 && !body
        ? 'the jupyter-mlops server extension is not enabled in this Jupyter server'
        : `${response.status} ${response.statusText}`);
    throw new MLOpsError(message, response.status, body?.detail ?? null);
  }
  return body as T;
}

function post<T>(path: string[], body: unknown): Promise<T> {
  return request<T>(path, {}, { method: 'POST', body: JSON.stringify(body) });
}

export const api = {
  runs: (query: {
    filter?: string;
    order_by?: string;
    limit?: number;
    offset?: number;
    experiment?: string;
  }) => request<IRunsPage>(['runs'], query),
  run: (id: string) => request<IRun>(['runs', id]),
  runChart: (id: string, keys?: string[]) =>
    request<Figure>(['runs', id, 'chart'], { keys: keys?.join(',') }),
  metricsChart: (runs: string[], keys?: string[]) =>
    request<Figure>(['charts', 'metrics'], { runs: runs.join(','), keys: keys?.join(',') }),
  compare: (runs: string[]) => request<IComparison>(['compare'], { runs: runs.join(',') }),
  artifactUrl: (id: string, name: string) =>
    apiUrl(['runs', id, 'artifacts']) + '/' + name.split('/').map(encodeURIComponent).join('/'),
  artifact: async (id: string, name: string): Promise<Response> => {
    const settings = ServerConnection.makeSettings();
    return ServerConnection.makeRequest(api.artifactUrl(id, name), {}, settings);
  },
  changes: (since: number) => request<IChanges>(['changes'], { since }),
  datasets: () => request<{ datasets: Row[] }>(['datasets']),
  dataset: (name: string) => request<{ name: string; versions: Row[] }>(['datasets', name]),
  datasetVersion: (name: string, version: string | number) =>
    request<IDatasetVersion>(['datasets', name, 'versions', String(version)]),
  datasetDiff: (a: string, b: string, key?: string) =>
    request<IDatasetDiff>(['dataset-diff'], { a, b, key }),
  features: () => request<{ views: IFeatureSummary[] }>(['features']),
  featureView: (name: string, version?: number) =>
    request<IFeatureView>(version === undefined ? ['features', name] : ['features', name, 'versions', String(version)]),
  models: () => request<{ models: Row[] }>(['models']),
  model: (name: string) => request<IModel>(['models', name]),
  modelVersion: (name: string, version: string | number) =>
    request<IModelVersion>(['models', name, 'versions', String(version)]),
  setAlias: (name: string, alias: string, version: number, comment?: string) =>
    post<IModelVersion>(['models', name, 'aliases'], { alias, version, comment }),
  promote: (name: string, version: number, alias: string, require?: string, comment?: string) =>
    post<IModelVersion>(['models', name, 'promote'], { version, alias, require, comment }),
  lineage: (ref: string) => request<ILineage>(['lineage'], { ref }),
  pipelines: () => request<{ pipelines: Row[] }>(['pipelines']),
  pipeline: (name: string) => request<IPipeline>(['pipelines', name]),
  startPipeline: (name: string, params: Record<string, unknown> = {}) =>
    post<{ started: boolean }>(['pipelines', name, 'runs'], { params }),
  pipelineRun: (id: string) => request<IPipelineRun>(['pipeline-runs', id]),
  resumePipelineRun: (id: string) => post<{ resumed: boolean }>(['pipeline-runs', id, 'resume'], {}),
  drift: () => request<{ models: IMonitoredModel[] }>(['drift']),
  modelDrift: (name: string) => request<IModelDrift>(['drift', name]),
  driftBatch: (name: string, batchId: number) =>
    request<IDriftReport>(['drift', name, 'batches', String(batchId)]),
  executedNotebookUrl: (runId: string, stepId: string) =>
    apiUrl(['pipeline-runs', runId, 'steps', stepId, 'notebook'])
};

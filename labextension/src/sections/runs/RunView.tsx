/**
 * One run: params, metrics with their history charts (live), tags, artifacts (download;
 * images and plotly JSON shown inline), inputs and outputs, notebook and commit, its
 * reproductions, lineage.
 */
import React, { useCallback, useEffect, useState } from 'react';
import { api, Figure, IArtifact, IChange, IRun, MLOpsError } from '../../api';
import { duration, ErrorBox, format, KeyValues, When } from '../../components/common';
import { Plot } from '../../components/Plot';
import { MLOpsModel, useChanges } from '../../model';
import type { Views } from '../../views';
import { AutoMLSearch } from './AutoMLSearch';
import { Reproduce } from './Reproduce';

function ArtifactPreview(props: { run: string; artifact: IArtifact }): JSX.Element | null {
  const { run, artifact } = props;
  const [url, setUrl] = useState<string | null>(null);
  const [figure, setFigure] = useState<Figure | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    let objectUrl: string | null = null;
    const plotly = artifact.media_type === 'application/vnd.plotly.v1+json';
    const image = artifact.media_type.startsWith('image/') && artifact.media_type !== 'image/svg+xml';
    if ((!plotly && !image) || artifact.size > 20 * 1024 * 1024) {
      return;
    }
    api
      .artifact(run, artifact.name)
      .then(async response => {
        if (!response.ok) {
          throw new Error(`${response.status} ${response.statusText}`);
        }
        if (plotly) {
          setFigure(await response.json());
        } else {
          objectUrl = URL.createObjectURL(await response.blob());
          setUrl(objectUrl);
        }
      })
      .catch(setError);
    return () => {
      if (objectUrl) {
        URL.revokeObjectURL(objectUrl);
      }
    };
  }, [run, artifact]);
  if (error) {
    return <ErrorBox error={error} />;
  }
  if (figure) {
    return <Plot figure={figure} />;
  }
  return url ? <img className="jp-mlops-image" src={url} alt={artifact.name} /> : null;
}

async function download(run: string, artifact: IArtifact): Promise<void> {
  const response = await api.artifact(run, artifact.name);
  const link = document.createElement('a');
  link.href = URL.createObjectURL(await response.blob());
  link.download = artifact.name.split('/').pop() ?? 'artifact';
  link.click();
  setTimeout(() => URL.revokeObjectURL(link.href), 1000);
}

/** The metrics with a history (more than one point): the ones worth a chart. A server that
 * does not count points charts every metric. */
function withHistory(run: IRun): string[] {
  const keys = Object.keys(run.metrics);
  const points = run.metric_points;
  return points ? keys.filter(k => (points[k] ?? 0) > 1) : keys;
}

export function RunView(props: { id: string; model: MLOpsModel; views: Views }): JSX.Element {
  const { id, model, views } = props;
  const [run, setRun] = useState<IRun | null>(null);
  const [chart, setChart] = useState<Figure | null>(null);
  const [lineage, setLineage] = useState<Figure | null>(null);
  const [error, setError] = useState<unknown>(null);

  const load = useCallback(() => {
    api
      .run(id)
      .then(r => {
        setRun(r);
        setError(null);
        const keys = r.kind === 'automl' ? [] : withHistory(r);
        if (!keys.length) {
          setChart(null);
          return;
        }
        return api.runChart(r.id, keys).then(setChart);
      })
      .catch(err => {
        if (err instanceof MLOpsError && err.status === 404) {
          // deleted while open: say so in place of what it showed
          setRun(null);
          setChart(null);
          setError(new Error(`Run ${id.slice(0, 8)} no longer exists: ${err.message}`));
        } else {
          setError(err);
        }
      });
  }, [id]);
  useEffect(load, [load]);
  useEffect(() => {
    api
      .lineage(id)
      .then(l => setLineage(l.figure))
      .catch(() => setLineage(null));
  }, [id, run?.status]);
  const concerns = useCallback((c: IChange) => c.kind === 'run' && c.key === id, [id]);
  useChanges(model, concerns, load);

  if (!run) {
    return (
      <div className="jp-mlops-run-view">
        {error ? <ErrorBox error={error} /> : <div className="jp-mlops-muted">loading…</div>}
      </div>
    );
  }
  const single = run.metric_points
    ? Object.keys(run.metrics).filter(k => (run.metric_points![k] ?? 0) <= 1)
    : [];
  return (
    <div className="jp-mlops-run-view">
      <ErrorBox error={error} />
      <h2>
        <span className="jp-mlops-name">{run.name}</span>{' '}
        <span className={`jp-mlops-status jp-mlops-status-${run.status}`}>{run.status}</span>
      </h2>
      <div className="jp-mlops-meta">
        <span>experiment {run.experiment}</span>
        <When prefix="started " at={run.start_time} />
        <span>{duration(run.start_time, run.end_time)}</span>
        {run.user && <span>by {run.user}</span>}
        <code>{run.id}</code>
      </div>
      {run.error && <pre className="jp-mlops-error">{run.error}</pre>}
      {run.kind === 'automl' && <AutoMLSearch id={run.id} status={run.status} views={views} />}
      <div className="jp-mlops-columns">
        <section className="jp-mlops-run-params">
          <h3>Params</h3>
          <KeyValues values={run.params} />
        </section>
        <section className="jp-mlops-run-metrics">
          <h3>Metrics</h3>
          <KeyValues values={run.metrics} />
          {single.length > 0 && chart && (
            <div className="jp-mlops-muted jp-mlops-note">
              {single.length === 1 ? `${single[0]} is a single value` : `${single.length} single values`}: not charted
            </div>
          )}
        </section>
        <section className="jp-mlops-run-tags">
          <h3>Tags</h3>
          <KeyValues values={run.tags} />
        </section>
      </div>
      {chart && (
        <section className="jp-mlops-run-histories">
          <h3>Metric histories</h3>
          <Plot figure={chart} />
        </section>
      )}
      <section>
        <h3>Source</h3>
        <KeyValues
          values={{
            notebook: run.notebook,
            commit: run.git_commit ? `${run.git_commit.slice(0, 12)}${run.git_dirty ? ' (dirty)' : ''}` : null
          }}
        />
      </section>
      {run.kind !== 'automl' && <Reproduce run={run} views={views} />}
      <section>
        <h3>Inputs and outputs</h3>
        {[...run.inputs, ...run.outputs].length === 0 ? (
          <div className="jp-mlops-muted">none</div>
        ) : (
          <ul className="jp-mlops-links">
            {[...run.inputs, ...run.outputs].map(link => (
              <li key={`${link.direction}-${link.ref}-${link.role}`}>
                {link.direction} · {link.kind}{' '}
                <a
                  onClick={() => {
                    const name = link.ref.split(':').pop()!.split('@')[0];
                    return link.kind === 'model' ? views.openModel(name) : views.openDataset(name);
                  }}
                >
                  {link.ref.split(':').pop()}
                </a>
                {link.role ? ` (${link.role})` : ''}
              </li>
            ))}
          </ul>
        )}
      </section>
      <section>
        <h3>Artifacts</h3>
        {run.artifacts.length === 0 ? (
          <div className="jp-mlops-muted">none</div>
        ) : (
          run.artifacts.map(artifact => (
            <div key={artifact.name} className="jp-mlops-artifact">
              <a onClick={() => void download(run.id, artifact)} title="download">
                {artifact.name}
              </a>{' '}
              <span className="jp-mlops-muted">
                {artifact.media_type} · {format(artifact.size)} bytes
              </span>
              <ArtifactPreview run={run.id} artifact={artifact} />
            </div>
          ))
        )}
      </section>
      {lineage && (
        <section className="jp-mlops-lineage">
          <h3>Lineage</h3>
          <Plot figure={lineage} />
        </section>
      )}
    </div>
  );
}

/**
 * One pipeline: its DAG, its spec, its runs with each step's status, the executed notebooks,
 * and buttons to run it now and to re-run what failed.
 */
import { ServerConnection } from '@jupyterlab/services';
import React, { useCallback, useEffect, useState } from 'react';
import { api, IChange, IPipeline, IPipelineRun } from '../../api';
import { ErrorBox, format, When } from '../../components/common';
import { Plot } from '../../components/Plot';
import { MLOpsModel, useChanges } from '../../model';
import type { Views } from '../../views';

async function download(url: string, name: string): Promise<void> {
  const response = await ServerConnection.makeRequest(url, {}, ServerConnection.makeSettings());
  const link = document.createElement('a');
  link.href = URL.createObjectURL(await response.blob());
  link.download = name;
  link.click();
  setTimeout(() => URL.revokeObjectURL(link.href), 1000);
}

function RunDetail(props: { id: string; views: Views; onResume: () => void }): JSX.Element {
  const [run, setRun] = useState<IPipelineRun | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    api.pipelineRun(props.id).then(setRun).catch(setError);
  }, [props.id]);
  if (!run) {
    return error ? <ErrorBox error={error} /> : <div className="jp-mlops-muted">loading…</div>;
  }
  return (
    <div className="jp-mlops-pipeline-run">
      <h3>
        Run {run.id.slice(0, 8)} · {run.status} · {run.trigger}
        {run.status === 'failed' && (
          <button className="jp-mod-styled jp-mlops-button jp-mlops-resume" onClick={props.onResume}>
            Re-run failed steps
          </button>
        )}
      </h3>
      {run.error && <div className="jp-mlops-error">{run.error}</div>}
      <Plot figure={run.figure} />
      <table className="jp-mlops-table">
        <thead>
          <tr>
            <th>step</th>
            <th>attempt</th>
            <th>status</th>
            <th>time</th>
            <th>worker</th>
            <th>error</th>
            <th>notebook</th>
            <th>runs</th>
          </tr>
        </thead>
        <tbody>
          {run.steps.map(s => (
            <tr key={s.id}>
              <td>{s.step}</td>
              <td>{s.attempt}</td>
              <td>{s.status}</td>
              <td>{s.ended_at ? `${(s.ended_at - s.started_at).toFixed(1)} s` : '—'}</td>
              <td>{s.worker ?? ''}</td>
              <td>
                {format(s.error)}
                {s.failed_cell !== null ? ` (cell ${s.failed_cell})` : ''}
              </td>
              <td>
                <a onClick={() => void download(api.executedNotebookUrl(run.id, s.id), `${s.step}-${s.attempt}.ipynb`)}>
                  executed
                </a>
              </td>
              <td>
                {s.runs.map(r => (
                  <a key={r} onClick={() => props.views.openRun(r)}>
                    {r.slice(0, 8)}{' '}
                  </a>
                ))}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function PipelineView(props: { name: string; model: MLOpsModel; views: Views }): JSX.Element {
  const { name, model, views } = props;
  const [info, setInfo] = useState<IPipeline | null>(null);
  const [open, setOpen] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [message, setMessage] = useState<string | null>(null);
  const load = useCallback(() => {
    api
      .pipeline(name)
      .then(p => {
        setInfo(p);
        setError(null);
      })
      .catch(setError);
  }, [name]);
  useEffect(load, [load]);
  const concerns = useCallback(
    (c: IChange) => (c.kind === 'pipeline' && c.key === name) || c.kind === 'pipeline_run',
    [name]
  );
  useChanges(model, concerns, load);
  const act = (promise: Promise<unknown>, text: string) =>
    promise
      .then(() => {
        setMessage(text);
        setError(null);
      })
      .catch(setError);
  if (!info) {
    return error ? <ErrorBox error={error} /> : <div className="jp-mlops-muted">loading…</div>;
  }
  return (
    <div className="jp-mlops-pipeline-view">
      <ErrorBox error={error} />
      <h2>
        <span className="jp-mlops-name">{name}</span>{' '}
        <button className="jp-mod-styled jp-mlops-button jp-mlops-run-now" onClick={() => act(api.startPipeline(name), 'started')}>
          Run now
        </button>
      </h2>
      {message && <div className="jp-mlops-ok">{message}</div>}
      <Plot figure={info.figure} />
      <h3>Runs</h3>
      <table className="jp-mlops-table">
        <thead>
          <tr>
            <th>run</th>
            <th>status</th>
            <th>trigger</th>
            <th>started</th>
            <th>seconds</th>
            <th>error</th>
          </tr>
        </thead>
        <tbody>
          {info.runs.map(r => (
            <tr key={r.run_id} className={open === r.run_id ? 'jp-mod-selected' : ''}>
              <td>
                <a onClick={() => setOpen(open === r.run_id ? null : r.run_id)}>{String(r.run_id).slice(0, 8)}</a>
              </td>
              <td>{r.status}</td>
              <td>{r.trigger}</td>
              <td><When at={r.started} /></td>
              <td>{format(r.seconds)}</td>
              <td>{format(r.error)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {open && (
        <RunDetail
          key={open}
          id={open}
          views={views}
          onResume={() => act(api.resumePipelineRun(open), 're-running the failed steps')}
        />
      )}
      <h3>Spec</h3>
      <pre className="jp-mlops-code">{info.yaml}</pre>
    </div>
  );
}

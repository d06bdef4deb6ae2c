/**
 * One monitored model: drift and performance over time (alerts marked), its batches, the
 * alerts raised and the rules that raise them, and a batch's per-column drift report (the
 * last batch's, or the one clicked). Figures are the plotly JSON the server builds.
 */
import React, { useCallback, useEffect, useState } from 'react';
import { api, IChange, IDriftReport, IModelDrift, Row } from '../../api';
import { ErrorBox, format, When } from '../../components/common';
import { Plot } from '../../components/Plot';
import { MLOpsModel, useChanges } from '../../model';
import type { Views } from '../../views';
import { percent } from './DriftSection';

const SHOWN = 100; // batches listed (newest first); the figure shows them all
const METRICS = ['accuracy', 'f1', 'roc_auc', 'rmse', 'mae'];

function Verdict(props: { drifted: boolean | null }): JSX.Element {
  return props.drifted ? (
    <span className="jp-mlops-badge jp-mlops-badge-drifted">drifted</span>
  ) : (
    <span className="jp-mlops-muted">no</span>
  );
}

function Batches(props: { rows: Row[]; selected: number | null; onSelect: (id: number) => void }): JSX.Element {
  const newest = [...props.rows].reverse().slice(0, SHOWN);
  const metrics = METRICS.filter(m => props.rows.some(r => r[m] !== null && r[m] !== undefined));
  return (
    <>
      <table className="jp-mlops-table jp-mlops-drift-batches">
        <thead>
          <tr>
            <th>batch</th>
            <th>time</th>
            <th>version</th>
            <th>source</th>
            <th>rows</th>
            <th>drift share</th>
            <th>drifted</th>
            <th>prediction drift</th>
            {metrics.map(m => (
              <th key={m}>{m}</th>
            ))}
            <th>alerts</th>
          </tr>
        </thead>
        <tbody>
          {newest.map(b => (
            <tr
              key={b.id}
              className={`jp-mlops-clickable${props.selected === b.id ? ' jp-mod-selected' : ''}`}
              onClick={() => props.onSelect(b.id)}
              title="show this batch's report"
            >
              <td>
                <a>{b.id}</a>
              </td>
              <td><When at={b.at} /></td>
              <td>{b.version}</td>
              <td>{b.source}</td>
              <td>{format(b.rows)}</td>
              <td>
                {percent(b.drift_share)} ({b.drifted_columns}/{b.columns})
              </td>
              <td>
                <Verdict drifted={b.drifted} />
              </td>
              <td>
                {format(b.prediction_drift)}
                {b.prediction_drifted ? ' (drifted)' : ''}
              </td>
              {metrics.map(m => (
                <td key={m}>{format(b[m])}</td>
              ))}
              <td>{b.alerts || ''}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {props.rows.length > SHOWN && (
        <div className="jp-mlops-muted">
          the newest {SHOWN} of {props.rows.length} batches
        </div>
      )}
    </>
  );
}

function Report(props: { report: IDriftReport; last: boolean }): JSX.Element {
  const { report } = props;
  return (
    <section className="jp-mlops-drift-report">
      <h3>
        {props.last ? 'Last report' : 'Report'}: batch {report.batch_id} · v{report.version} · <When at={report.at} />
      </h3>
      <div className={report.drifted ? 'jp-mlops-drift-verdict jp-mod-drifted' : 'jp-mlops-drift-verdict'}>
        {report.drifted ? 'Drifted' : 'No dataset drift'}: {report.drifted_columns.length} of {report.columns.length}{' '}
        columns ({percent(report.drift_share)}; the dataset drifts at {percent(report.dataset_threshold)}) ·{' '}
        {report.reference} ({format(report.reference_rows)} rows) vs {report.current} ({format(report.current_rows)}{' '}
        rows)
      </div>
      <table className="jp-mlops-table jp-mlops-drift-columns">
        <thead>
          <tr>
            <th>column</th>
            <th>type</th>
            <th>method</th>
            <th>statistic</th>
            <th>threshold</th>
            <th>drifted</th>
            <th>note</th>
          </tr>
        </thead>
        <tbody>
          {report.columns.map(c => (
            <tr key={c.column} className={c.drifted ? 'jp-mlops-drifted' : ''}>
              <td>{c.column}</td>
              <td>{c.type}</td>
              <td>{c.method}</td>
              <td>{format(c.statistic)}</td>
              <td>{format(c.threshold)}</td>
              <td>
                <Verdict drifted={c.drifted} />
              </td>
              <td>{c.note}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <Plot figure={report.figure} />
    </section>
  );
}

export function DriftView(props: { name: string; model: MLOpsModel; views: Views }): JSX.Element {
  const { name, model, views } = props;
  const [info, setInfo] = useState<IModelDrift | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [selected, setSelected] = useState<number | null>(null);
  const [report, setReport] = useState<IDriftReport | null>(null);
  const load = useCallback(() => {
    api
      .modelDrift(name)
      .then(d => {
        setInfo(d);
        setError(null);
      })
      .catch(setError);
  }, [name]);
  useEffect(load, [load]);
  const concerns = useCallback(
    (c: IChange) => (c.kind === 'model' && c.key === name) || c.kind === 'alert' || c.kind === 'alert_rule',
    [name]
  );
  useChanges(model, concerns, load);
  useEffect(() => {
    if (selected === null) {
      setReport(null);
      return;
    }
    let alive = true;
    api
      .driftBatch(name, selected)
      .then(r => alive && setReport(r))
      .catch(err => alive && setError(err));
    return () => {
      alive = false;
    };
  }, [name, selected]);
  if (!info) {
    return error ? <ErrorBox error={error} /> : <div className="jp-mlops-muted">loading…</div>;
  }
  const batches = info.history.batches;
  const last = batches.length ? batches[batches.length - 1] : null;
  const shown = selected !== null && report?.batch_id === selected ? report : info.last_report;
  return (
    <div className="jp-mlops-drift-view">
      <ErrorBox error={error} />
      <h2>
        <span className="jp-mlops-name">{name}</span>{' '}
        {last?.drifted && <span className="jp-mlops-badge jp-mlops-badge-drifted">drifted</span>}
      </h2>
      <div className="jp-mlops-meta">
        <span>{batches.length} monitoring batches</span>
        {last && <span><When prefix="last " at={last.at} /></span>}
        {last && <span>last drift share {percent(last.drift_share)}</span>}
        <span>
          {info.alerts.length} alert{info.alerts.length === 1 ? '' : 's'}
        </span>
        <span>
          {info.rules.length} rule{info.rules.length === 1 ? '' : 's'}
        </span>
      </div>
      {batches.length ? (
        <Plot figure={info.figure} />
      ) : (
        <div className="jp-mlops-empty">
          No monitoring batch yet: <code>%drift monitor {name} BATCH</code> records one.
        </div>
      )}
      <h3>Alerts</h3>
      {info.alerts.length === 0 ? (
        <div className="jp-mlops-muted">no alert has been raised</div>
      ) : (
        <table className="jp-mlops-table jp-mlops-drift-alerts">
          <thead>
            <tr>
              <th>time</th>
              <th>version</th>
              <th>condition</th>
              <th>reason</th>
              <th>pipeline run</th>
              <th>webhook</th>
            </tr>
          </thead>
          <tbody>
            {info.alerts.map(a => (
              <tr key={a.id} className="jp-mlops-clickable" onClick={() => setSelected(a.batch_id)} title="show the batch's report">
                <td><When at={a.at} /></td>
                <td>{a.version}</td>
                <td>
                  <code>{a.condition}</code>
                </td>
                <td>{a.reason}</td>
                <td>
                  {a.pipeline ? (
                    <a
                      onClick={e => {
                        e.stopPropagation();
                        views.openPipeline(a.pipeline!);
                      }}
                    >
                      {a.pipeline}
                      {a.pipeline_run_id ? ` ${a.pipeline_run_id.slice(0, 8)}` : ''}
                    </a>
                  ) : (
                    '—'
                  )}
                </td>
                <td>{format(a.webhook_status)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <h3>Alert rules</h3>
      {info.rules.length === 0 ? (
        <div className="jp-mlops-muted">
          no rule: <code>%drift alert {name} &quot;drift_share &gt; 0.3&quot;</code> adds one
        </div>
      ) : (
        <table className="jp-mlops-table jp-mlops-drift-rules">
          <thead>
            <tr>
              <th>rule</th>
              <th>on</th>
              <th>condition</th>
              <th>pipeline</th>
              <th>webhook</th>
              <th>by</th>
              <th>since</th>
            </tr>
          </thead>
          <tbody>
            {info.rules.map(r => (
              <tr key={r.id}>
                <td>{r.id}</td>
                <td>{r.ref}</td>
                <td>
                  <code>{r.condition}</code>
                </td>
                <td>{r.pipeline ? <a onClick={() => views.openPipeline(r.pipeline!)}>{r.pipeline}</a> : '—'}</td>
                <td>{format(r.webhook)}</td>
                <td>{format(r.created_by)}</td>
                <td><When at={r.created_at} /></td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {batches.length > 0 && (
        <>
          <h3>Batches</h3>
          <Batches rows={batches} selected={shown?.batch_id ?? null} onSelect={setSelected} />
        </>
      )}
      {shown && <Report key={shown.batch_id} report={shown} last={shown.batch_id === last?.id} />}
    </div>
  );
}

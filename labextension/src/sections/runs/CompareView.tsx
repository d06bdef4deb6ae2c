/**
 * Runs side by side: metric histories overlaid (live), and params and metrics diffed. Two
 * runs also get a Code tab: what differs between them (params, metrics, tags, inputs, Python,
 * packages) and their code cell by cell.
 */
import React, { useCallback, useEffect, useState } from 'react';
import { api, IChange, IComparison, IRunDiff } from '../../api';
import { ErrorBox, format } from '../../components/common';
import { Plot } from '../../components/Plot';
import { MLOpsModel, useChanges } from '../../model';
import type { Views } from '../../views';
import { CodeDiff } from './CodeDiff';
import { Differences } from './Differences';

function Summary(props: { ids: string[]; model: MLOpsModel; views: Views }): JSX.Element {
  const { ids, model } = props;
  const [comparison, setComparison] = useState<IComparison | null>(null);
  const [onlyDiff, setOnlyDiff] = useState(true);
  const [error, setError] = useState<unknown>(null);
  const load = useCallback(() => {
    api
      .compare(ids)
      .then(c => {
        setComparison(c);
        setError(null);
      })
      .catch(setError);
  }, [ids]);
  useEffect(load, [load]);
  const concerns = useCallback((c: IChange) => c.kind === 'run' && ids.includes(c.key), [ids]);
  useChanges(model, concerns, load);
  if (!comparison) {
    return error ? <ErrorBox error={error} /> : <div className="jp-mlops-muted">loading…</div>;
  }
  const columns = Object.keys(comparison.table[0] ?? {}).filter(k => k !== 'key');
  const rows = comparison.table.filter(
    row => !onlyDiff || new Set(columns.map(c => JSON.stringify(row[c] ?? null))).size > 1
  );
  return (
    <>
      <ErrorBox error={error} />
      <Plot figure={comparison.figure} />
      <label className="jp-mlops-muted">
        <input type="checkbox" checked={onlyDiff} onChange={e => setOnlyDiff(e.target.checked)} />{' '}
        only rows that differ
      </label>
      <table className="jp-mlops-table">
        <thead>
          <tr>
            <th />
            {columns.map(c => (
              <th key={c}>
                <a onClick={() => props.views.openRun(ids[columns.indexOf(c)] ?? ids[0])}>{c}</a>
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map(row => (
            <tr key={row.key}>
              <th>{row.key}</th>
              {columns.map(c => (
                <td key={c}>{format(row[c])}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}

/** The Code tab: one RunDiff of the two runs (a the first, b the second), reloaded when
 * either run ends or changes otherwise (not on every metric logged: a diff reads both
 * notebooks). */
function CodeTab(props: { a: string; b: string; model: MLOpsModel }): JSX.Element {
  const { a, b, model } = props;
  const [diff, setDiff] = useState<IRunDiff | null>(null);
  const [error, setError] = useState<unknown>(null);
  const load = useCallback(() => {
    api
      .diff(a, b)
      .then(d => {
        setDiff(d);
        setError(null);
      })
      .catch(setError);
  }, [a, b]);
  useEffect(load, [load]);
  const concerns = useCallback(
    (c: IChange) => c.kind === 'run' && c.action !== 'logged' && (c.key === a || c.key === b),
    [a, b]
  );
  useChanges(model, concerns, load);
  if (!diff) {
    return error ? <ErrorBox error={error} /> : <div className="jp-mlops-muted">loading…</div>;
  }
  return (
    <div className="jp-mlops-run-diff">
      <ErrorBox error={error} />
      <Differences diff={diff} />
      <CodeDiff diff={diff} />
    </div>
  );
}

const TABS = [
  ['summary', 'Summary'],
  ['code', 'Code']
] as const;

type Tab = (typeof TABS)[number][0];

export function CompareView(props: { ids: string[]; model: MLOpsModel; views: Views; tab?: Tab }): JSX.Element {
  const { ids } = props;
  const two = ids.length === 2;
  const [tab, setTab] = useState<Tab>(two ? (props.tab ?? 'summary') : 'summary');
  const [codeSeen, setCodeSeen] = useState(tab === 'code');
  const show = (next: Tab) => {
    setTab(next);
    setCodeSeen(seen => seen || next === 'code');
  };
  return (
    <div className="jp-mlops-compare-view">
      <h2>{ids.length} runs compared</h2>
      {two && (
        <div className="jp-mlops-tabs" role="tablist" aria-label="comparison">
          {TABS.map(([key, label]) => (
            <button
              key={key}
              type="button"
              role="tab"
              aria-selected={tab === key}
              className={`jp-mod-styled jp-mlops-button jp-mlops-tab-${key}${tab === key ? ' jp-mod-active' : ''}`}
              onClick={() => show(key)}
            >
              {label}
            </button>
          ))}
        </div>
      )}
      {/* both stay mounted once shown: switching back redraws nothing */}
      <div role="tabpanel" hidden={tab !== 'summary'}>
        <Summary {...props} />
      </div>
      {two && codeSeen && (
        <div role="tabpanel" hidden={tab !== 'code'}>
          <CodeTab a={ids[0]} b={ids[1]} model={props.model} />
        </div>
      )}
    </div>
  );
}

/** Runs side by side: metric histories overlaid (live), and params and metrics diffed. */
import React, { useCallback, useEffect, useState } from 'react';
import { api, IChange, IComparison } from '../../api';
import { ErrorBox, format } from '../../components/common';
import { Plot } from '../../components/Plot';
import { MLOpsModel, useChanges } from '../../model';
import type { Views } from '../../views';

export function CompareView(props: { ids: string[]; model: MLOpsModel; views: Views }): JSX.Element {
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
    <div className="jp-mlops-compare-view">
      <ErrorBox error={error} />
      <h2>{ids.length} runs compared</h2>
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
    </div>
  );
}

/**
 * An AutoML search, in its parent run's view: the optimization history and the winning
 * family's parameter importances (figures built in Python from the trial runs), and the
 * leaderboard, best first; a trial opens its own run.
 */
import React, { useEffect, useState } from 'react';
import { api, IAutoMLSearch } from '../../api';
import { ErrorBox, format } from '../../components/common';
import { Plot } from '../../components/Plot';
import type { Views } from '../../views';

const COLUMNS = ['trial', 'estimator', 'score', 'score_std', 'fit_time', 'state'] as const;

export function AutoMLSearch(props: { id: string; status: string; views: Views }): JSX.Element {
  const [search, setSearch] = useState<IAutoMLSearch | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    api
      .automl(props.id)
      .then(s => {
        setSearch(s);
        setError(null);
      })
      .catch(setError);
  }, [props.id, props.status]);
  if (!search) {
    return error ? <ErrorBox error={error} /> : <div className="jp-mlops-muted">loading the search…</div>;
  }
  const best = search.best;
  return (
    <section className="jp-mlops-automl">
      <h3>
        AutoML search: {search.trials} trial{search.trials === 1 ? '' : 's'}, {search.metric} (
        {search.direction})
      </h3>
      <ErrorBox error={error} />
      {best && (
        <div className="jp-mlops-automl-best">
          best {search.metric} <strong>{format(best.score)}</strong>
          {Object.keys(best.params).length > 0 && (
            <span className="jp-mlops-muted">
              {' '}
              with{' '}
              {Object.entries(best.params)
                .map(([k, v]) => `${k}=${format(v)}`)
                .join(', ')}
            </span>
          )}
        </div>
      )}
      <div className="jp-mlops-automl-figures">
        <div className="jp-mlops-automl-history">
          <Plot figure={search.history} />
        </div>
        {search.importances && (
          <div className="jp-mlops-automl-importances">
            <Plot figure={search.importances} />
          </div>
        )}
      </div>
      <h3>Leaderboard</h3>
      <table className="jp-mlops-table jp-mlops-automl-leaderboard">
        <thead>
          <tr>
            {COLUMNS.map(c => (
              <th key={c}>{c}</th>
            ))}
            <th>run</th>
          </tr>
        </thead>
        <tbody>
          {search.leaderboard.map(row => (
            <tr key={row.trial}>
              {COLUMNS.map(c => (
                <td key={c} title={c === 'state' && row.error ? String(row.error) : undefined}>
                  {format(row[c])}
                </td>
              ))}
              <td>
                {row.run_id ? (
                  <a onClick={() => props.views.openRun(String(row.run_id))}>{String(row.run_id).slice(0, 8)}</a>
                ) : (
                  '—'
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

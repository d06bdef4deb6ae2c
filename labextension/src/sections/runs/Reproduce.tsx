/**
 * A run view's Reproduce panel: start a reproduction (in the current environment or the
 * recorded one), follow it (its phase and progress, polled every second), then its verdict
 * (reproduced, differs with the metrics that moved, failed with the reason) and the new run;
 * below, the run's earlier reproductions.
 */
import React, { useCallback, useEffect, useState } from 'react';
import { api, IReproduction, IRun, IRunDiff, MLOpsError } from '../../api';
import { ErrorBox, format, When } from '../../components/common';
import type { Views } from '../../views';

const POLL_MS = 1000;

const STATE_LABEL: Record<IReproduction['state'], string> = {
  running: 'running',
  reproduced: 'reproduced',
  differs: 'differs',
  failed: 'failed'
};

function StateBadge(props: { state: IReproduction['state'] }): JSX.Element {
  return (
    <span className={`jp-mlops-badge jp-mlops-verdict jp-mod-${props.state}`}>{STATE_LABEL[props.state]}</span>
  );
}

function Progress(props: { value: number | null }): JSX.Element {
  const known = props.value !== null && props.value !== undefined;
  const percent = known ? Math.round(Math.min(1, Math.max(0, props.value!)) * 100) : null;
  return (
    <div
      className={`jp-mlops-progress${known ? '' : ' jp-mod-indeterminate'}`}
      role="progressbar"
      aria-valuemin={0}
      aria-valuemax={100}
      aria-valuenow={percent ?? undefined}
    >
      <div className="jp-mlops-progress-bar" style={known ? { width: `${percent}%` } : undefined} />
    </div>
  );
}

/** What else differs between the original and its reproduction, in one line: what may
 * explain the metrics that moved. */
function explain(diff: IRunDiff): string {
  const count = (n: number, what: string) => (n ? [`${n} ${what}${n === 1 ? '' : 's'}`] : []);
  const { packages, code } = diff;
  const parts = [
    ...count(diff.params.length, 'param'),
    ...count(diff.inputs.length, 'input'),
    ...(diff.python ? ['Python'] : []),
    ...count(packages.added.length + packages.removed.length + packages.changed.length, 'package'),
    // a cell whose outputs alone differ shows the metric that moved, not a cause
    ...count(code.cells.filter(c => c.source_changed || c.change === 'added' || c.change === 'removed').length, 'code cell')
  ];
  return parts.length
    ? `Also different: ${parts.join(', ')}.`
    : 'Params, inputs, Python, packages and code are the same: the run itself varies (an unseeded random generator, the clock, threads).';
}

/** One reproduction as it stands: progress while it runs, then its verdict. */
function Status(props: { reproduction: IReproduction; views: Views }): JSX.Element {
  const { reproduction: r, views } = props;
  const newRun = r.run_id;
  return (
    <div className={`jp-mlops-reproduction jp-mod-${r.state}`} data-reproduction-id={r.id}>
      <div className="jp-mlops-reproduction-head">
        <StateBadge state={r.state} />
        {r.state === 'running' ? (
          <span className="jp-mlops-phase">{r.phase}</span>
        ) : (
          <span className="jp-mlops-muted">
            {r.env} environment{r.source ? ` · from the ${r.source}` : ''} · tolerance {r.tolerance}
          </span>
        )}
        {newRun && (
          <a className="jp-mlops-open-reproduction" title={newRun} onClick={() => views.openRun(newRun)}>
            open run {newRun.slice(0, 8)}
          </a>
        )}
      </div>
      {r.state === 'running' && (
        <>
          <Progress value={r.progress} />
          {r.message && <div className="jp-mlops-muted">{r.message}</div>}
        </>
      )}
      {r.state !== 'running' && r.state !== 'failed' && r.message && (
        <div className="jp-mlops-verdict-text">{r.message}</div>
      )}
      {r.state === 'differs' && (
        <>
          <table className="jp-mlops-table jp-mlops-reproduction-differences">
            <thead>
              <tr>
                <th>metric</th>
                <th>original</th>
                <th>reproduced</th>
              </tr>
            </thead>
            <tbody>
              {r.differences.map(d => (
                <tr key={d.metric}>
                  <th>{d.metric}</th>
                  <td>{format(d.original)}</td>
                  <td>{format(d.reproduced)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {r.diff && <div className="jp-mlops-explain">{explain(r.diff)}</div>}
          {newRun && (
            <button
              type="button"
              className="jp-mod-styled jp-mlops-button jp-mlops-compare-reproduction"
              title="what differs between the two runs: params, packages, code"
              onClick={() => views.compareRuns([r.original_run_id, newRun], 'code')}
            >
              Compare with the original
            </button>
          )}
        </>
      )}
      {r.state === 'failed' && <pre className="jp-mlops-error">{r.reason ?? r.message ?? 'failed'}</pre>}
      {r.notes.length > 0 && (
        <ul className="jp-mlops-notes">
          {r.notes.map((note, i) => (
            <li key={i}>{note}</li>
          ))}
        </ul>
      )}
    </div>
  );
}

function Earlier(props: {
  reproductions: IReproduction[];
  shown: string | null;
  onShow: (r: IReproduction) => void;
}): JSX.Element {
  if (!props.reproductions.length) {
    return <div className="jp-mlops-muted">not reproduced yet</div>;
  }
  return (
    <table className="jp-mlops-table jp-mlops-reproductions">
      <thead>
        <tr>
          <th>started</th>
          <th>environment</th>
          <th>verdict</th>
          <th>run</th>
          <th>by</th>
        </tr>
      </thead>
      <tbody>
        {props.reproductions.map(r => (
          <tr
            key={r.id}
            className={`jp-mlops-clickable${props.shown === r.id ? ' jp-mod-selected' : ''}`}
            data-reproduction-id={r.id}
            title="show this reproduction"
            onClick={() => props.onShow(r)}
          >
            <td>
              <When at={r.started_at} />
            </td>
            <td>{r.env}</td>
            <td>
              <StateBadge state={r.state} />
            </td>
            <td>{r.run_id ? <code>{r.run_id.slice(0, 8)}</code> : '—'}</td>
            <td>{format(r.started_by)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function Reproduce(props: { run: IRun; views: Views }): JSX.Element {
  const { run, views } = props;
  const [env, setEnv] = useState<IReproduction['env']>('current');
  const [tolerance, setTolerance] = useState('');
  const [list, setList] = useState<IReproduction[] | null>(null);
  const [shown, setShown] = useState<IReproduction | null>(null);
  const [starting, setStarting] = useState(false);
  const [error, setError] = useState<unknown>(null);

  const loadList = useCallback(() => {
    api
      .reproductions(run.id)
      .then(r => {
        setList(r.reproductions);
        // one still running (started elsewhere, or before this view opened): follow it
        setShown(current => current ?? r.reproductions.find(x => x.state === 'running') ?? null);
      })
      .catch(setError);
  }, [run.id]);
  useEffect(loadList, [loadList]);

  // while the shown reproduction runs, look at it again a second after each answer
  useEffect(() => {
    if (!shown || shown.state !== 'running') {
      return;
    }
    let cancelled = false;
    const timer = window.setTimeout(() => {
      api
        .reproduction(shown.id)
        .then(next => {
          if (cancelled) {
            return;
          }
          setError(null);
          setShown(next);
          setList(prev => prev && prev.map(r => (r.id === next.id ? next : r)));
          if (next.state !== 'running') {
            loadList();
          }
        })
        .catch(err => {
          if (cancelled) {
            return;
          }
          setError(err);
          if (!(err instanceof MLOpsError && err.status === 404)) {
            setShown({ ...shown }); // a new object: try again in a second
          }
        });
    }, POLL_MS);
    return () => {
      cancelled = true;
      window.clearTimeout(timer);
    };
  }, [shown, loadList]);

  const start = () => {
    const value = tolerance.trim() === '' ? undefined : Number(tolerance);
    if (value !== undefined && !(Number.isFinite(value) && value >= 0)) {
      setError(new Error(`tolerance: a number of at least 0 (such as 1e-6), not ${JSON.stringify(tolerance)}`));
      return;
    }
    setStarting(true);
    api
      .reproduce(run.id, env, value)
      .then(({ reproduction }) => {
        setError(null);
        setShown(reproduction);
        setList(prev => [reproduction, ...(prev ?? []).filter(r => r.id !== reproduction.id)]);
      })
      .catch(setError)
      .finally(() => setStarting(false));
  };

  const original = run.tags['mlops.reproduces'];
  const busy = starting || shown?.state === 'running';
  return (
    <section className="jp-mlops-reproduce">
      <h3>Reproduce</h3>
      {typeof original === 'string' && original && (
        <div className="jp-mlops-reproduces">
          This run reproduces <a onClick={() => views.openRun(original)}>run {original.slice(0, 8)}</a>.
        </div>
      )}
      <form
        className="jp-mlops-reproduce-form"
        onSubmit={e => {
          e.preventDefault();
          start();
        }}
      >
        <select
          className="jp-mod-styled"
          aria-label="environment"
          title="current: this server's Python; recorded: a Python with the packages the run recorded (built with uv, reused)"
          value={env}
          onChange={e => setEnv(e.target.value as IReproduction['env'])}
        >
          <option value="current">current environment</option>
          <option value="recorded">recorded environment</option>
        </select>
        <input
          className="jp-mod-styled jp-mlops-tolerance"
          aria-label="tolerance"
          title="metrics match when |original − reproduced| ≤ tolerance × max(1, |original|)"
          placeholder="tolerance 1e-9"
          value={tolerance}
          onChange={e => setTolerance(e.target.value)}
        />
        <button
          type="submit"
          className="jp-mod-styled jp-mlops-button jp-mlops-reproduce-button"
          disabled={busy || run.status === 'running'}
          title={
            run.status === 'running'
              ? 'the run is still running'
              : 'run its notebook again and compare the metrics with this run'
          }
        >
          {busy ? 'Reproducing…' : 'Reproduce'}
        </button>
      </form>
      <ErrorBox error={error} />
      {shown && <Status reproduction={shown} views={views} />}
      <h4>Earlier reproductions</h4>
      {list === null ? (
        <div className="jp-mlops-muted">loading…</div>
      ) : (
        <Earlier reproductions={list} shown={shown?.id ?? null} onShow={setShown} />
      )}
    </section>
  );
}

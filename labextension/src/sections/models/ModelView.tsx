/**
 * One model: versions with their aliases, the audit history of every alias move, and
 * promotion behind a gate (the gate's answer shown in place when it refuses).
 */
import React, { useCallback, useEffect, useState } from 'react';
import { api, IChange, IModel, MLOpsError } from '../../api';
import { ErrorBox, format, Records, When } from '../../components/common';
import { MLOpsModel, useChanges } from '../../model';
import type { Views } from '../../views';

function Promote(props: { name: string; versions: number[]; onDone: () => void }): JSX.Element {
  const [version, setVersion] = useState<number>(props.versions[props.versions.length - 1] ?? 1);
  const [alias, setAlias] = useState('production');
  const [require, setRequire] = useState('');
  const [comment, setComment] = useState('');
  const [answer, setAnswer] = useState<{ ok: boolean; text: string } | null>(null);
  const submit = async (event: React.FormEvent) => {
    event.preventDefault();
    try {
      const moved = await api.promote(props.name, version, alias, require || undefined, comment || undefined);
      setAnswer({ ok: true, text: `${moved.ref} is now ${alias}` });
      props.onDone();
    } catch (err) {
      const refused = err instanceof MLOpsError && err.status === 409;
      setAnswer({ ok: false, text: (refused ? 'Refused: ' : '') + (err as Error).message });
    }
  };
  return (
    <form className="jp-mlops-promote" onSubmit={submit}>
      <label>
        version{' '}
        <select className="jp-mod-styled" value={version} onChange={e => setVersion(Number(e.target.value))}>
          {props.versions.map(v => (
            <option key={v} value={v}>
              {v}
            </option>
          ))}
        </select>
      </label>
      <label>
        alias <input className="jp-mod-styled" value={alias} onChange={e => setAlias(e.target.value)} />
      </label>
      <label className="jp-mlops-wide">
        gate{' '}
        <input
          className="jp-mod-styled"
          placeholder="metrics.f1 >= production.metrics.f1"
          value={require}
          onChange={e => setRequire(e.target.value)}
        />
      </label>
      <label className="jp-mlops-wide">
        comment <input className="jp-mod-styled" value={comment} onChange={e => setComment(e.target.value)} />
      </label>
      <button type="submit" className="jp-mod-styled jp-mlops-button">
        Promote
      </button>
      {answer && (
        <div className={answer.ok ? 'jp-mlops-ok' : 'jp-mlops-error'} role="status">
          {answer.text}
        </div>
      )}
    </form>
  );
}

export function ModelView(props: { name: string; model: MLOpsModel; views: Views }): JSX.Element {
  const { name, model, views } = props;
  const [info, setInfo] = useState<IModel | null>(null);
  const [error, setError] = useState<unknown>(null);
  const load = useCallback(() => {
    api
      .model(name)
      .then(m => {
        setInfo(m);
        setError(null);
      })
      .catch(setError);
  }, [name]);
  useEffect(load, [load]);
  const concerns = useCallback((c: IChange) => c.kind === 'model' && c.key === name, [name]);
  useChanges(model, concerns, load);
  if (!info) {
    return error ? <ErrorBox error={error} /> : <div className="jp-mlops-muted">loading…</div>;
  }
  return (
    <div className="jp-mlops-model-view">
      <ErrorBox error={error} />
      <h2>
        <span className="jp-mlops-name">{name}</span>{' '}
        {Object.entries(info.aliases).map(([alias, version]) => (
          <span key={alias} className="jp-mlops-alias">
            @{alias} → {version}
          </span>
        ))}
      </h2>
      <table className="jp-mlops-table">
        <thead>
          <tr>
            <th>version</th>
            <th>aliases</th>
            <th>flavor</th>
            <th>run</th>
            <th>training data</th>
            <th>created</th>
            <th>by</th>
          </tr>
        </thead>
        <tbody>
          {info.versions.map(v => (
            <tr key={v.version}>
              <td>{v.version}</td>
              <td>{v.aliases}</td>
              <td>{v.flavor}</td>
              <td>{v.run_id ? <a onClick={() => views.openRun(String(v.run_id))}>{String(v.run_id).slice(0, 8)}</a> : '—'}</td>
              <td>{format(v.training_data)}</td>
              <td><When at={v.created} /></td>
              <td>{format(v.created_by)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <section>
        <h3>Promote</h3>
        <Promote name={name} versions={info.versions.map(v => v.version)} onDone={load} />
      </section>
      <section>
        <h3>Alias history</h3>
        {info.history.length === 0 ? (
          <div className="jp-mlops-muted">no alias has been set</div>
        ) : (
          <Records rows={info.history} columns={['at', 'alias', 'from_version', 'to_version', 'actor', 'comment', 'gate']} />
        )}
      </section>
    </div>
  );
}

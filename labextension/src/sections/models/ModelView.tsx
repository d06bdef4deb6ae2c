/**
 * One model: per version its key metrics (from its run), its inputs by digest and its drift
 * status; two versions ticked are compared side by side. Aliases move as the store allows
 * the user (Promotion.tsx); on a team store the alias policies and open promotion requests
 * are shown, live for everyone. The audit history of every alias move closes it.
 */
import React, { useCallback, useEffect, useState } from 'react';
import { api, IAliasPolicy, IChange, IMe, IModel, IModelComparison, IModelVersionRow, IPromotionRequestRow } from '../../api';
import { ErrorBox, exact, format, Records, When } from '../../components/common';
import { Plot } from '../../components/Plot';
import { MLOpsModel, useChanges } from '../../model';
import type { Views } from '../../views';
import { MoveAlias, Policies, Requests } from './Promotion';

const KEY_METRICS = 4;

function Metrics(props: { metrics: Record<string, number | null> | undefined }): JSX.Element {
  const entries = Object.entries(props.metrics ?? {}).sort(([a], [b]) => a.localeCompare(b));
  if (!entries.length) {
    return <span className="jp-mlops-muted">—</span>;
  }
  const shown = entries.slice(0, KEY_METRICS);
  const all = entries.map(([k, v]) => `${k} ${format(v)}`).join(', ');
  return (
    <span className="jp-mlops-version-metrics" title={all}>
      {shown.map(([k, v]) => (
        <span key={k} className="jp-mlops-metric">
          <span className="jp-mlops-muted">{k}</span> {format(v)}
        </span>
      ))}
      {entries.length > shown.length && <span className="jp-mlops-muted">+{entries.length - shown.length}</span>}
    </span>
  );
}

function Inputs(props: { version: IModelVersionRow; views: Views }): JSX.Element {
  const inputs = props.version.inputs ?? [];
  if (!inputs.length) {
    return <span className="jp-mlops-version-inputs jp-mlops-muted">{format(props.version.training_data)}</span>;
  }
  return (
    <span className="jp-mlops-version-inputs">
      {inputs.map(i => (
        <span key={i.ref} className="jp-mlops-input">
          <a onClick={() => props.views.openDataset(i.ref.split(':').pop()!.split('@')[0])}>{i.ref.split(':').pop()}</a>{' '}
          {i.digest && <code title={i.digest}>{i.digest.slice(0, 12)}</code>}
        </span>
      ))}
    </span>
  );
}

function Drift(props: { version: IModelVersionRow; name: string; views: Views }): JSX.Element {
  const drift = props.version.drift;
  if (!drift) {
    return <span className="jp-mlops-muted">—</span>;
  }
  const share = drift.drift_share === null ? '' : `${Math.round(drift.drift_share * 100)}%`;
  const badge =
    drift.status === 'drifted'
      ? 'jp-mlops-badge-drifted'
      : drift.status === 'ok'
        ? 'jp-mlops-badge-online'
        : 'jp-mlops-badge-none';
  const title =
    drift.status === 'unmonitored'
      ? 'no monitoring batch of this version'
      : `last batch ${exact(drift.at)}: drift share ${share}`;
  return (
    <span className="jp-mlops-version-drift">
      {drift.status === 'unmonitored' ? (
        <span className={`jp-mlops-badge ${badge} jp-mlops-drift-status`} title={title}>
          {drift.status}
        </span>
      ) : (
        <a onClick={() => props.views.openDrift(props.name)} title={title}>
          <span className={`jp-mlops-badge ${badge} jp-mlops-drift-status`}>{drift.status}</span>
        </a>
      )}
      {share && <span className="jp-mlops-muted"> {share}</span>}
    </span>
  );
}

function Comparison(props: { name: string; pair: number[] }): JSX.Element | null {
  const [comparison, setComparison] = useState<IModelComparison | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [a, b] = [...props.pair].sort((x, y) => x - y);
  useEffect(() => {
    setComparison(null);
    api
      .compareModel(props.name, [a, b])
      .then(c => {
        setComparison(c);
        setError(null);
      })
      .catch(setError);
  }, [props.name, a, b]);
  const columns = Object.keys(comparison?.table[0] ?? {}).filter(k => k !== 'key');
  return (
    <section className="jp-mlops-model-compare">
      <h3>
        v{a} and v{b} compared
      </h3>
      <ErrorBox error={error} />
      {comparison && (
        <>
          <Plot figure={comparison.figure} />
          <table className="jp-mlops-table">
            <thead>
              <tr>
                <th />
                {columns.map(c => (
                  <th key={c}>{c}</th>
                ))}
              </tr>
            </thead>
            <tbody>
              {comparison.table.map(row => (
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
      )}
    </section>
  );
}

export function ModelView(props: { name: string; model: MLOpsModel; views: Views }): JSX.Element {
  const { name, model, views } = props;
  const [info, setInfo] = useState<IModel | null>(null);
  // undefined while asking, null from a server without GET me (a solo store's view)
  const [me, setMe] = useState<IMe | null | undefined>(undefined);
  const [policies, setPolicies] = useState<IAliasPolicy[]>([]);
  const [requests, setRequests] = useState<IPromotionRequestRow[]>([]);
  const [teamError, setTeamError] = useState<unknown>(null);
  const [pair, setPair] = useState<number[]>([]);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    api
      .me()
      .then(setMe)
      .catch(() => setMe(null));
  }, []);
  const load = useCallback(() => {
    api
      .model(name)
      .then(m => {
        setInfo(m);
        setError(null);
      })
      .catch(setError);
  }, [name]);
  const team = !!me?.team;
  const loadTeam = useCallback(() => {
    if (!team) {
      return;
    }
    Promise.all([api.policies(name), api.requests('open', name)])
      .then(([p, r]) => {
        setPolicies(p.policies);
        setRequests(r.requests);
        setTeamError(null);
      })
      .catch(setTeamError);
  }, [name, team]);
  const reload = useCallback(() => {
    load();
    loadTeam();
  }, [load, loadTeam]);
  useEffect(reload, [reload]);
  // alias moves, registrations, monitoring batches, policies and requests all note the model
  const concerns = useCallback((c: IChange) => c.kind === 'model' && c.key === name, [name]);
  useChanges(model, concerns, reload);
  if (!info) {
    return error ? <ErrorBox error={error} /> : <div className="jp-mlops-muted">loading…</div>;
  }
  const pick = (version: number) =>
    setPair(prev => (prev.includes(version) ? prev.filter(v => v !== version) : [...prev, version].slice(-2)));
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
      {me?.team && (
        <div className="jp-mlops-meta jp-mlops-me">
          team store · you are {me.user}, {me.role ?? 'not in the team'}
        </div>
      )}
      <table className="jp-mlops-table jp-mlops-versions">
        <thead>
          <tr>
            <th title="tick two versions to compare them">compare</th>
            <th>version</th>
            <th>aliases</th>
            <th>metrics</th>
            <th>inputs</th>
            <th>drift</th>
            <th>run</th>
            <th>created</th>
            <th>by</th>
          </tr>
        </thead>
        <tbody>
          {info.versions.map(v => (
            <tr key={v.version} data-version={v.version} className={pair.includes(v.version) ? 'jp-mod-selected' : ''}>
              <td>
                <input
                  type="checkbox"
                  aria-label={`compare version ${v.version}`}
                  checked={pair.includes(v.version)}
                  onChange={() => pick(v.version)}
                />
              </td>
              <td>{v.version}</td>
              <td>{v.aliases}</td>
              <td>
                <Metrics metrics={v.metrics} />
              </td>
              <td>
                <Inputs version={v} views={views} />
              </td>
              <td>
                <Drift version={v} name={name} views={views} />
              </td>
              <td>
                {v.run_id ? <a onClick={() => views.openRun(String(v.run_id))}>{String(v.run_id).slice(0, 8)}</a> : '—'}
              </td>
              <td>
                <When at={v.created} />
              </td>
              <td>{format(v.created_by)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {pair.length === 2 && <Comparison name={name} pair={pair} />}
      {team && me && (
        <>
          <section>
            <h3>Promotion requests</h3>
            <Requests requests={requests} me={me} error={teamError} onDone={reload} />
          </section>
          <section>
            <h3>Alias policies</h3>
            <Policies policies={policies} />
          </section>
        </>
      )}
      {me !== undefined && (!team || me?.may.promote || me?.may.request) && (
        <section>
          <h3>{team ? 'Move an alias' : 'Promote'}</h3>
          <MoveAlias
            name={name}
            versions={info.versions.map(v => v.version)}
            me={me}
            policies={policies}
            onDone={reload}
          />
        </section>
      )}
      <section className="jp-mlops-alias-history">
        <h3>Alias history</h3>
        {info.history.length === 0 ? (
          <div className="jp-mlops-muted">no alias has been set</div>
        ) : (
          <Records
            rows={info.history}
            times={['at']}
            columns={['at', 'alias', 'from_version', 'to_version', 'actor', 'comment', 'gate']}
          />
        )}
      </section>
    </div>
  );
}

/**
 * One feature view: its definition (entities, time, ttl, source), every version, this
 * version's materializations with the dataset versions they read, and each feature's profile
 * with the distributions figure built in Python.
 */
import React, { useCallback, useEffect, useState } from 'react';
import { api, IChange, IFeatureView } from '../../api';
import { ErrorBox, format, Records, span, When } from '../../components/common';
import { Plot } from '../../components/Plot';
import { MLOpsModel, useChanges } from '../../model';
import { Freshness } from './FeaturesSection';

export function FeatureView(props: { name: string; model: MLOpsModel }): JSX.Element {
  const { name, model } = props;
  const [version, setVersion] = useState<number | undefined>(undefined);
  const [info, setInfo] = useState<IFeatureView | null>(null);
  const [error, setError] = useState<unknown>(null);
  const load = useCallback(() => {
    api
      .featureView(name, version)
      .then(v => {
        setInfo(v);
        setError(null);
      })
      .catch(setError);
  }, [name, version]);
  useEffect(load, [load]);
  const concerns = useCallback((c: IChange) => c.kind === 'feature_view' && c.key === name, [name]);
  useChanges(model, concerns, load);
  if (!info) {
    return <ErrorBox error={error} />;
  }
  return (
    <div className="jp-mlops-feature-view">
      <ErrorBox error={error} />
      <h2>
        <span className="jp-mlops-name">{info.name}</span> @{info.version}{' '}
        <Freshness view={{ ...info, versions: info.versions.length }} />
      </h2>
      {info.description && <p>{info.description}</p>}
      <div className="jp-mlops-muted">
        entities {info.entities.join(', ')} · time {info.timestamp} · ttl {info.ttl === null ? 'none' : span(info.ttl)} ·{' '}
        {info.kind} · <code>{info.digest.slice(0, 12)}</code>
      </div>
      <section>
        <h3>Versions</h3>
        <table className="jp-mlops-table">
          <thead>
            <tr>
              <th>version</th>
              <th>kind</th>
              <th>features</th>
              <th>digest</th>
              <th>by</th>
              <th>defined</th>
            </tr>
          </thead>
          <tbody>
            {info.versions.map(v => (
              <tr key={v.version} className={v.version === info.version ? 'jp-mod-selected' : ''}>
                <td>
                  <a onClick={() => setVersion(v.version)}>@{v.version}</a>
                </td>
                <td>{v.kind}</td>
                <td>{format(v.features)}</td>
                <td>
                  <code>{String(v.digest).slice(0, 12)}</code>
                </td>
                <td>{format(v.created_by)}</td>
                <td><When at={v.created_at} /></td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
      <section>
        <h3>Materializations of @{info.version}</h3>
        {info.materializations.length === 0 ? (
          <div className="jp-mlops-muted">
            never materialized: <code>%feature materialize {info.name}</code>
          </div>
        ) : (
          <Records
            times={['at', 'events from', 'events to']}
            rows={info.materializations.map(m => ({
              at: m.at,
              rows: m.rows,
              'events from': m.first_event,
              'events to': m.last_event,
              online: m.online === null ? '—' : `${m.online} keys`,
              read: m.inputs.join(', ') || '—'
            }))}
          />
        )}
      </section>
      {info.materialized && (
        <section>
          <h3>Features</h3>
          <Records rows={info.profile} />
          <Plot figure={info.figure} />
        </section>
      )}
      <section>
        <h3>Definition</h3>
        <pre className="jp-mlops-code">{info.source}</pre>
      </section>
    </div>
  );
}

/**
 * Features: every view's newest version with its entities, ttl and the freshness of its last
 * materialization; a click opens the view with its versions and feature distributions.
 */
import React, { useCallback, useEffect, useState } from 'react';
import { api, IChange, IFeatureSummary } from '../../api';
import { Clip, Empty, ErrorBox, exact, span } from '../../components/common';
import { SectionFrame } from '../../components/SectionFrame';
import { useChanges } from '../../model';
import { ISection, ISectionProps } from '../registry';

export function featureChange(c: IChange): boolean {
  return c.kind === 'feature_view';
}

/** How old the newest materialized row is, flagged when it is past the ttl. */
export function Freshness(props: { view: IFeatureSummary }): JSX.Element {
  const { materialized, freshness, ttl } = props.view;
  if (!materialized) {
    return <span className="jp-mlops-badge jp-mlops-badge-alert">not materialized</span>;
  }
  const title =
    `materialized ${exact(materialized.at)}: ${materialized.rows} rows` +
    (materialized.online === null ? '' : `, ${materialized.online} keys online`);
  return (
    <span className="jp-mlops-feature-freshness" title={title}>
      <span className="jp-mlops-muted">data {span(freshness.age)} old</span>
      {freshness.expired && (
        <span className="jp-mlops-badge jp-mlops-badge-drifted" title={`older than the ttl (${span(ttl)})`}>
          expired
        </span>
      )}
      {materialized.online !== null && <span className="jp-mlops-badge jp-mlops-badge-online">online</span>}
    </span>
  );
}

function Features(props: ISectionProps): JSX.Element {
  const [rows, setRows] = useState<IFeatureSummary[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const load = useCallback(() => {
    api
      .features()
      .then(r => {
        setRows(r.views);
        setError(null);
      })
      .catch(setError);
  }, []);
  useEffect(load, [load]);
  useChanges(props.model, featureChange, load);
  const expired = rows?.filter(r => r.materialized && r.freshness.expired).length ?? 0;
  const never = rows?.filter(r => !r.materialized).length ?? 0;
  return (
    <SectionFrame
      id="features"
      title="Features"
      section={props}
      summary={[
        rows && rows.length.toLocaleString(),
        expired > 0 && `${expired} expired`,
        never > 0 && `${never} not materialized`,
        !!error && 'error'
      ]}
    >
      <div className="jp-mlops-list">
        <ErrorBox error={error} />
        {rows && rows.length === 0 && (
          <Empty what="feature views" magic="%%feature NAME --entities ID --timestamp TIME" />
        )}
        {rows?.map(row => (
          <div
            key={row.name}
            className="jp-mlops-item jp-mlops-feature-item"
            data-view={row.name}
            onClick={() => props.views.openFeatureView(row.name)}
          >
            <div className="jp-mlops-feature-head">
              <Clip className="jp-mlops-name" text={row.name} />
              <Clip
                className="jp-mlops-muted"
                text={`@${row.version} · ${row.versions} version${row.versions === 1 ? '' : 's'}`}
              />
            </div>
            <Clip
              className="jp-mlops-feature-meta jp-mlops-muted"
              text={
                `by ${row.entities.join(', ')} · ${row.features.length} feature${row.features.length === 1 ? '' : 's'}` +
                ` · ttl ${row.ttl === null ? 'none' : span(row.ttl)}`
              }
            />
            <Freshness view={row} />
          </div>
        ))}
      </div>
    </SectionFrame>
  );
}

export const featuresSection: ISection = { id: 'features', title: 'Features', rank: 25, component: Features };

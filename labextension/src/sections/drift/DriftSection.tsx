/** Drift: every monitored model with its last batch's drift share, verdict and alerts. */
import React, { useCallback, useEffect, useState } from 'react';
import { api, IChange, IMonitoredModel } from '../../api';
import { Clip, Empty, ErrorBox } from '../../components/common';
import { SectionFrame } from '../../components/SectionFrame';
import { useChanges } from '../../model';
import { ISection, ISectionProps } from '../registry';

/** Changes that can move a monitored model: a batch or rule (kind model), an alert's webhook. */
export function driftChange(c: IChange): boolean {
  return c.kind === 'model' || c.kind === 'alert' || c.kind === 'alert_rule';
}

export function percent(share: number | null | undefined): string {
  return share === null || share === undefined ? '—' : `${Math.round(share * 100)}%`;
}

function Summary(props: { row: IMonitoredModel }): JSX.Element {
  const { row } = props;
  if (!row.batches) {
    return (
      <span className="jp-mlops-muted">
        no batch yet · {row.rules} rule{row.rules === 1 ? '' : 's'}
      </span>
    );
  }
  return (
    <span className="jp-mlops-drift-summary">
      <span className="jp-mlops-muted" title="drift share of the last batch's columns">
        {percent(row.last_drift_share)}
      </span>
      {row.last_drifted && <span className="jp-mlops-badge jp-mlops-badge-drifted">drifted</span>}
      {row.alerts > 0 && (
        <span className="jp-mlops-badge jp-mlops-badge-alert" title="alerts raised">
          {row.alerts} alert{row.alerts === 1 ? '' : 's'}
        </span>
      )}
    </span>
  );
}

function Drift(props: ISectionProps): JSX.Element {
  const [rows, setRows] = useState<IMonitoredModel[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const load = useCallback(() => {
    api
      .drift()
      .then(r => {
        setRows(r.models);
        setError(null);
      })
      .catch(setError);
  }, []);
  useEffect(load, [load]);
  useChanges(props.model, driftChange, load);
  const drifted = rows?.filter(r => r.last_drifted).length ?? 0;
  const alerts = rows?.reduce((n, r) => n + r.alerts, 0) ?? 0;
  return (
    <SectionFrame
      id="drift"
      title="Drift"
      section={props}
      summary={[
        rows && rows.length.toLocaleString(),
        drifted > 0 && `${drifted} drifted`,
        alerts > 0 && `${alerts} alert${alerts === 1 ? '' : 's'}`,
        !!error && 'error'
      ]}
    >
      <div className="jp-mlops-list">
        <ErrorBox error={error} />
        {rows && rows.length === 0 && <Empty what="monitored models" magic="%drift monitor MODEL BATCH" />}
        {rows?.map(row => (
          <div
            key={row.model}
            className="jp-mlops-item"
            data-model={row.model}
            onClick={() => props.views.openDrift(row.model)}
          >
            <Clip className="jp-mlops-name" text={row.model} />
            <Summary row={row} />
          </div>
        ))}
      </div>
    </SectionFrame>
  );
}

export const driftSection: ISection = { id: 'drift', title: 'Drift', rank: 35, component: Drift };

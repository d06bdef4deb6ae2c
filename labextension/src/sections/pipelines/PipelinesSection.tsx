/** Pipelines: every pipeline with its schedule, next run and the last run's status. */
import React, { useCallback, useEffect, useState } from 'react';
import { api, IChange, Row } from '../../api';
import { Empty, ErrorBox, format } from '../../components/common';
import { useChanges } from '../../model';
import { ISection, ISectionProps } from '../registry';

function Pipelines(props: ISectionProps): JSX.Element {
  const [rows, setRows] = useState<Row[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const load = useCallback(() => {
    api
      .pipelines()
      .then(r => {
        setRows(r.pipelines);
        setError(null);
      })
      .catch(setError);
  }, []);
  useEffect(load, [load]);
  const concerns = useCallback((c: IChange) => c.kind === 'pipeline' || c.kind === 'pipeline_run', []);
  useChanges(props.model, concerns, load);
  return (
    <div className="jp-mlops-list">
      <ErrorBox error={error} />
      {rows && rows.length === 0 && <Empty what="pipelines" magic="%pipeline add NAME" />}
      {rows?.map(row => (
        <div key={row.pipeline} className="jp-mlops-item" onClick={() => props.views.openPipeline(row.pipeline)}>
          <span className="jp-mlops-name">{row.pipeline}</span>
          <span className="jp-mlops-muted">
            {row.last_status ? `${row.last_status} · ` : ''}
            {row.schedule ? `next ${format(row.next_run)}` : `${row.steps} steps`}
          </span>
        </div>
      ))}
    </div>
  );
}

export const pipelinesSection: ISection = { id: 'pipelines', title: 'Pipelines', rank: 40, component: Pipelines };

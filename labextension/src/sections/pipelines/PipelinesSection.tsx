/** Pipelines: every pipeline with its last run's status and its next scheduled run. */
import React, { useCallback, useEffect, useState } from 'react';
import { api, IChange, Row } from '../../api';
import { Clip, Empty, ErrorBox, relative, seconds, When } from '../../components/common';
import { SectionFrame } from '../../components/SectionFrame';
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
  const next = (rows ?? [])
    .map(r => seconds(r.next_run))
    .filter((s): s is number => s !== null)
    .sort((a, b) => a - b)[0];
  const failed = rows?.filter(r => r.last_status === 'failed').length ?? 0;
  return (
    <SectionFrame
      id="pipelines"
      title="Pipelines"
      section={props}
      summary={[
        rows && rows.length.toLocaleString(),
        failed > 0 && `${failed} failed`,
        next !== undefined && `next ${relative(next)}`,
        !!error && 'error'
      ]}
    >
      <div className="jp-mlops-list">
        <ErrorBox error={error} />
        {rows && rows.length === 0 && <Empty what="pipelines" magic="%pipeline add NAME" />}
        {rows?.map(row => (
          <div
            key={row.pipeline}
            className="jp-mlops-item"
            data-pipeline={row.pipeline}
            onClick={() => props.views.openPipeline(row.pipeline)}
          >
            <Clip className="jp-mlops-name" text={row.pipeline} />
            <span className="jp-mlops-item-meta jp-mlops-muted">
              {row.last_status && (
                <span className={`jp-mlops-status jp-mlops-status-${row.last_status}`}>{row.last_status}</span>
              )}
              {row.schedule ? (
                <When prefix="next " at={row.next_run} />
              ) : (
                `${row.steps} step${row.steps === 1 ? '' : 's'}`
              )}
            </span>
          </div>
        ))}
      </div>
    </SectionFrame>
  );
}

export const pipelinesSection: ISection = { id: 'pipelines', title: 'Pipelines', rank: 40, component: Pipelines };

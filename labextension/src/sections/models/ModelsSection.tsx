/** Models: every registered model with its latest version and aliases; on a team store, the
 * open promotion requests. */
import React, { useCallback, useEffect, useState } from 'react';
import { api, IChange, IPromotionRequestRow, Row } from '../../api';
import { Clip, Empty, ErrorBox, format } from '../../components/common';
import { SectionFrame } from '../../components/SectionFrame';
import { useChanges } from '../../model';
import { ISection, ISectionProps } from '../registry';

function Models(props: ISectionProps): JSX.Element {
  const [rows, setRows] = useState<Row[] | null>(null);
  const [requests, setRequests] = useState<IPromotionRequestRow[]>([]);
  const [error, setError] = useState<unknown>(null);
  const load = useCallback(() => {
    api
      .models()
      .then(r => {
        setRows(r.models);
        setError(null);
      })
      .catch(setError);
    api
      .requests('open')
      .then(r => setRequests(r.requests))
      .catch(() => setRequests([]));
  }, []);
  useEffect(load, [load]);
  const concerns = useCallback((c: IChange) => c.kind === 'model', []);
  useChanges(props.model, concerns, load);
  const open = (name: string) => requests.filter(r => r.model === name).length;
  return (
    <SectionFrame
      id="models"
      title="Models"
      section={props}
      summary={[
        rows && rows.length.toLocaleString(),
        requests.length > 0 && `${requests.length} request${requests.length === 1 ? '' : 's'} open`,
        !!error && 'error'
      ]}
    >
      <div className="jp-mlops-list">
        <ErrorBox error={error} />
        {rows && rows.length === 0 && <Empty what="models" magic="%register model --name NAME" />}
        {rows?.map(row => (
          <div key={row.name} className="jp-mlops-item" data-model={row.name} onClick={() => props.views.openModel(row.name)}>
            <Clip className="jp-mlops-name" text={row.name} />
            {open(row.name) > 0 && (
              <span className="jp-mlops-badge jp-mlops-badge-alert" title="open promotion requests">
                {open(row.name)} open
              </span>
            )}
            <Clip
              className="jp-mlops-muted"
              text={`v${format(row.latest)}${row.aliases ? ` · ${row.aliases}` : ''}`}
            />
          </div>
        ))}
      </div>
    </SectionFrame>
  );
}

export const modelsSection: ISection = { id: 'models', title: 'Models', rank: 30, component: Models };

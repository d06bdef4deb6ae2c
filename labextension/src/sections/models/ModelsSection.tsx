/** Models: every registered model with its latest version and aliases. */
import React, { useCallback, useEffect, useState } from 'react';
import { api, IChange, Row } from '../../api';
import { Empty, ErrorBox, format } from '../../components/common';
import { useChanges } from '../../model';
import { ISection, ISectionProps } from '../registry';

function Models(props: ISectionProps): JSX.Element {
  const [rows, setRows] = useState<Row[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const load = useCallback(() => {
    api
      .models()
      .then(r => {
        setRows(r.models);
        setError(null);
      })
      .catch(setError);
  }, []);
  useEffect(load, [load]);
  const concerns = useCallback((c: IChange) => c.kind === 'model', []);
  useChanges(props.model, concerns, load);
  return (
    <div className="jp-mlops-list">
      <ErrorBox error={error} />
      {rows && rows.length === 0 && <Empty what="models" magic="%register model --name NAME" />}
      {rows?.map(row => (
        <div key={row.name} className="jp-mlops-item" onClick={() => props.views.openModel(row.name)}>
          <span className="jp-mlops-name">{row.name}</span>
          <span className="jp-mlops-muted">
            v{format(row.latest)}
            {row.aliases ? ` · ${row.aliases}` : ''}
          </span>
        </div>
      ))}
    </div>
  );
}

export const modelsSection: ISection = { id: 'models', title: 'Models', rank: 30, component: Models };

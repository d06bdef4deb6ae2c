/** Datasets: every name with its latest version; a click opens its versions. */
import React, { useCallback, useEffect, useState } from 'react';
import { api, IChange, Row } from '../../api';
import { Clip, Empty, ErrorBox, format } from '../../components/common';
import { SectionFrame } from '../../components/SectionFrame';
import { useChanges } from '../../model';
import { ISection, ISectionProps } from '../registry';

function Datasets(props: ISectionProps): JSX.Element {
  const [rows, setRows] = useState<Row[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const load = useCallback(() => {
    api
      .datasets()
      .then(r => {
        setRows(r.datasets);
        setError(null);
      })
      .catch(setError);
  }, []);
  useEffect(load, [load]);
  const concerns = useCallback((c: IChange) => c.kind === 'dataset', []);
  useChanges(props.model, concerns, load);
  const versions = rows?.reduce((n, r) => n + (r.versions ?? 0), 0) ?? 0;
  return (
    <SectionFrame
      id="datasets"
      title="Datasets"
      section={props}
      summary={[rows && rows.length.toLocaleString(), versions > 0 && `${versions.toLocaleString()} version${versions === 1 ? '' : 's'}`, !!error && 'error']}
    >
      <div className="jp-mlops-list">
        <ErrorBox error={error} />
        {rows && rows.length === 0 && <Empty what="datasets" magic="%dataset save df --name NAME" />}
        {rows?.map(row => (
          <div key={row.name} className="jp-mlops-item" onClick={() => props.views.openDataset(row.name)}>
            <Clip className="jp-mlops-name" text={row.name} />
            <Clip
              className="jp-mlops-muted"
              text={`@${format(row.latest)} · ${format(row.versions)} version${row.versions === 1 ? '' : 's'}`}
            />
          </div>
        ))}
      </div>
    </SectionFrame>
  );
}

export const datasetsSection: ISection = { id: 'datasets', title: 'Datasets', rank: 20, component: Datasets };

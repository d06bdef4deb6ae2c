/** One dataset: its versions, a version's schema and profile, and the diff of two versions. */
import React, { useCallback, useEffect, useState } from 'react';
import { api, IChange, IDatasetDiff, IDatasetVersion, Row } from '../../api';
import { ErrorBox, format, Records, When } from '../../components/common';
import { Plot } from '../../components/Plot';
import { MLOpsModel, useChanges } from '../../model';

export function DatasetView(props: { name: string; model: MLOpsModel }): JSX.Element {
  const { name, model } = props;
  const [versions, setVersions] = useState<Row[]>([]);
  const [shown, setShown] = useState<IDatasetVersion | null>(null);
  const [pair, setPair] = useState<number[]>([]);
  const [diff, setDiff] = useState<IDatasetDiff | null>(null);
  const [error, setError] = useState<unknown>(null);
  const load = useCallback(() => {
    api
      .dataset(name)
      .then(d => {
        setVersions(d.versions);
        setError(null);
      })
      .catch(setError);
  }, [name]);
  useEffect(load, [load]);
  const concerns = useCallback((c: IChange) => c.kind === 'dataset' && c.key === name, [name]);
  useChanges(model, concerns, load);
  useEffect(() => {
    const latest = versions[versions.length - 1];
    if (latest && !shown) {
      api.datasetVersion(name, latest.version).then(setShown).catch(setError);
    }
  }, [versions, name, shown]);
  useEffect(() => {
    if (pair.length === 2) {
      const [a, b] = [...pair].sort((x, y) => x - y);
      api.datasetDiff(`${name}@${a}`, `${name}@${b}`).then(setDiff).catch(setError);
    } else {
      setDiff(null);
    }
  }, [pair, name]);
  const pick = (version: number) =>
    setPair(prev => (prev.includes(version) ? prev.filter(v => v !== version) : [...prev, version].slice(-2)));
  return (
    <div className="jp-mlops-dataset-view">
      <ErrorBox error={error} />
      <h2>
        <span className="jp-mlops-name">{name}</span>
      </h2>
      <table className="jp-mlops-table">
        <thead>
          <tr>
            <th>diff</th>
            <th>version</th>
            <th>kind</th>
            <th>rows</th>
            <th>size</th>
            <th>digest</th>
            <th>created</th>
          </tr>
        </thead>
        <tbody>
          {versions.map(v => (
            <tr key={v.version} className={shown?.version === v.version ? 'jp-mod-selected' : ''}>
              <td>
                <input
                  type="checkbox"
                  aria-label={`diff version ${v.version}`}
                  checked={pair.includes(v.version)}
                  onChange={() => pick(v.version)}
                />
              </td>
              <td>
                <a onClick={() => api.datasetVersion(name, v.version).then(setShown).catch(setError)}>
                  @{v.version}
                </a>
              </td>
              <td>
                {v.kind} ({v.format})
              </td>
              <td>{format(v.rows)}</td>
              <td>{format(v.size)}</td>
              <td>
                <code>{String(v.digest).slice(0, 12)}</code>
              </td>
              <td><When at={v.created} /></td>
            </tr>
          ))}
        </tbody>
      </table>
      {diff && (
        <section>
          <h3>
            Diff @{[...pair].sort((x, y) => x - y).join(' → @')}
          </h3>
          <Plot figure={diff.figure} />
        </section>
      )}
      {shown && (
        <section>
          <h3>Schema and profile of {shown.ref}</h3>
          <Records rows={shown.table} />
        </section>
      )}
    </div>
  );
}

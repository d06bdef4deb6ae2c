/**
 * What differs between two runs besides their code, from one RunDiff: params, metrics, tags
 * and Python in one table (a missing side shown as —), the inputs that changed, and the
 * packages as counts that open into their table (there can be hundreds).
 */
import React from 'react';
import type { IDiffValue, IRunDiff } from '../../api';
import { format } from '../../components/common';

/** A column header naming a run: its name, and its short id (two runs often share a name). */
function RunHead(props: { run: IRunDiff['a'] }): JSX.Element {
  return (
    <th title={props.run.id}>
      {props.run.name} <span className="jp-mlops-muted">{props.run.id.slice(0, 8)}</span>
    </th>
  );
}

function Group(props: { title: string; rows: IDiffValue[] }): JSX.Element | null {
  if (!props.rows.length) {
    return null;
  }
  return (
    <tbody data-group={props.title.toLowerCase()}>
      <tr className="jp-mlops-diff-group">
        <th colSpan={3}>{props.title}</th>
      </tr>
      {props.rows.map(row => (
        <tr key={row.key}>
          <th>{row.key}</th>
          <td>{format(row.a)}</td>
          <td>{format(row.b)}</td>
        </tr>
      ))}
    </tbody>
  );
}

function Packages(props: { diff: IRunDiff }): JSX.Element | null {
  const { a, b, packages } = props.diff;
  const { added, removed, changed } = packages;
  if (!added.length && !removed.length && !changed.length) {
    return null;
  }
  const rows = [
    ...changed.map(p => ({ name: p.name, a: p.a, b: p.b, change: 'changed' })),
    ...added.map(p => ({ name: p.name, a: null, b: p.version, change: 'added' })),
    ...removed.map(p => ({ name: p.name, a: p.version, b: null, change: 'removed' }))
  ];
  return (
    <details className="jp-mlops-diff-packages">
      <summary>
        Packages: {changed.length} changed, {added.length} added, {removed.length} removed
      </summary>
      <table className="jp-mlops-table">
        <thead>
          <tr>
            <th>package</th>
            <RunHead run={a} />
            <RunHead run={b} />
            <th />
          </tr>
        </thead>
        <tbody>
          {rows.map(row => (
            <tr key={row.name}>
              <td>{row.name}</td>
              <td>{format(row.a)}</td>
              <td>{format(row.b)}</td>
              <td>
                <span className={`jp-mlops-badge jp-mlops-change jp-mod-${row.change}`}>{row.change}</span>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </details>
  );
}

export function Differences(props: { diff: IRunDiff }): JSX.Element {
  const { diff } = props;
  if (diff.same) {
    return (
      <div className="jp-mlops-diff-same">
        Nothing differs: params, metrics, tags, inputs, Python, packages and code are the same.
      </div>
    );
  }
  const python = diff.python ? [{ key: 'version', a: diff.python.a, b: diff.python.b }] : [];
  const values = diff.params.length + diff.metrics.length + diff.tags.length + python.length;
  return (
    <div className="jp-mlops-differences">
      {values > 0 && (
        <table className="jp-mlops-table jp-mlops-diff-values">
          <thead>
            <tr>
              <th />
              <RunHead run={diff.a} />
              <RunHead run={diff.b} />
            </tr>
          </thead>
          <Group title="Params" rows={diff.params} />
          <Group title="Metrics" rows={diff.metrics} />
          <Group title="Tags" rows={diff.tags} />
          <Group title="Python" rows={python} />
        </table>
      )}
      {diff.inputs.length > 0 && (
        <table className="jp-mlops-table jp-mlops-diff-inputs">
          <thead>
            <tr>
              <th>input</th>
              <RunHead run={diff.a} />
              <RunHead run={diff.b} />
              <th />
            </tr>
          </thead>
          <tbody>
            {diff.inputs.map(input => (
              <tr key={`${input.kind}-${input.name}`}>
                <td>
                  {input.kind} {input.name}
                </td>
                <td title={input.a_digest ?? undefined}>{format(input.a)}</td>
                <td title={input.b_digest ?? undefined}>{format(input.b)}</td>
                <td>
                  <span className={`jp-mlops-badge jp-mlops-change jp-mod-${input.change}`}>{input.change}</span>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <Packages diff={diff} />
    </div>
  );
}

/** Small parts every section shares: errors in place, empty states, tables of values. */
import React from 'react';

export function ErrorBox(props: { error: unknown }): JSX.Element | null {
  if (!props.error) {
    return null;
  }
  const message = props.error instanceof Error ? props.error.message : String(props.error);
  return (
    <div className="jp-mlops-error" role="alert">
      {message}
    </div>
  );
}

export function Empty(props: { what: string; magic: string }): JSX.Element {
  return (
    <div className="jp-mlops-empty">
      <div>No {props.what} yet.</div>
      <div>
        Start with <code>{props.magic}</code> in a notebook cell.
      </div>
    </div>
  );
}

export function format(value: unknown): string {
  if (value === null || value === undefined) {
    return '—';
  }
  if (typeof value === 'number') {
    return Number.isInteger(value) ? String(value) : value.toPrecision(4).replace(/\.?0+$/, '');
  }
  if (typeof value === 'object') {
    return JSON.stringify(value);
  }
  return String(value);
}

export function when(seconds: number | null | undefined): string {
  if (!seconds) {
    return '—';
  }
  return new Date(seconds * 1000).toLocaleString();
}

/** A length of time in its largest whole unit: 45 s, 12 min, 5 h, 30 d (never broken). */
export function span(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined) {
    return '—';
  }
  const units: [number, string][] = [
    [86400, 'd'],
    [3600, 'h'],
    [60, 'min']
  ];
  for (const [size, unit] of units) {
    if (seconds >= size) {
      return `${Math.floor(seconds / size)}\u00a0${unit}`;
    }
  }
  return `${Math.round(seconds)}\u00a0s`;
}

export function duration(start: number, end: number | null): string {
  const total = Math.max(0, (end ?? Date.now() / 1000) - start);
  if (total < 60) {
    return `${total.toFixed(1)} s`;
  }
  if (total < 3600) {
    return `${Math.floor(total / 60)} min ${Math.round(total % 60)} s`;
  }
  return `${(total / 3600).toFixed(1)} h`;
}

/** A two-column table of key → value (keys and values rendered as text, never HTML). */
export function KeyValues(props: { values: Record<string, unknown> }): JSX.Element {
  const entries = Object.entries(props.values);
  if (!entries.length) {
    return <div className="jp-mlops-muted">none</div>;
  }
  return (
    <table className="jp-mlops-kv">
      <tbody>
        {entries.map(([key, value]) => (
          <tr key={key}>
            <th>{key}</th>
            <td>{format(value)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** Records as a table, columns in the order given (or of the first record). */
export function Records(props: { rows: Record<string, any>[]; columns?: string[] }): JSX.Element {
  const columns = props.columns ?? Object.keys(props.rows[0] ?? {});
  return (
    <table className="jp-mlops-table">
      <thead>
        <tr>
          {columns.map(c => (
            <th key={c}>{c}</th>
          ))}
        </tr>
      </thead>
      <tbody>
        {props.rows.map((row, i) => (
          <tr key={i}>
            {columns.map(c => (
              <td key={c}>{format(row[c])}</td>
            ))}
          </tr>
        ))}
      </tbody>
    </table>
  );
}

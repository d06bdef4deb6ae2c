/** Small parts every section shares: errors in place, empty states, tables of values. */
import React, { useEffect, useState } from 'react';

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

/** Epoch seconds of a time the REST API gives: epoch seconds, or an ISO 8601 string. */
export function seconds(at: number | string | null | undefined): number | null {
  if (at === null || at === undefined || at === '') {
    return null;
  }
  if (typeof at === 'number') {
    return at > 0 ? at : null;
  }
  const ms = Date.parse(at);
  return Number.isNaN(ms) ? null : ms / 1000;
}

/** The exact local time (what a relative time's hover shows). */
export function exact(at: number | string | null | undefined): string {
  const s = seconds(at);
  return s === null ? '—' : new Date(s * 1000).toLocaleString();
}

/** A time relative to now, the one format of every view: "just now", "2 min ago",
 * "in 3 h", "5 d ago"; past two months, the date. */
export function relative(at: number | string | null | undefined, now: number = Date.now() / 1000): string {
  const s = seconds(at);
  if (s === null) {
    return '—';
  }
  const delta = s - now;
  const size = Math.abs(delta);
  if (size < 45) {
    return delta > 0 ? 'in a moment' : 'just now';
  }
  if (size >= 60 * 86400) {
    return new Date(s * 1000).toLocaleDateString();
  }
  const units: [number, string][] = [
    [86400, 'd'],
    [3600, 'h'],
    [60, 'min']
  ];
  const [unit, label] = units.find(([u]) => size >= u) ?? [60, 'min'];
  const count = Math.max(1, Math.round(size / unit));
  return delta > 0 ? `in ${count}\u00a0${label}` : `${count}\u00a0${label} ago`;
}

const ticking = new Set<() => void>();
let ticker: number | null = null;

/** The time now, in seconds, refreshed every 30 s while a component uses it. */
function useNow(): number {
  const [now, setNow] = useState(() => Date.now() / 1000);
  useEffect(() => {
    const tick = () => setNow(Date.now() / 1000);
    ticking.add(tick);
    if (ticker === null) {
      ticker = window.setInterval(() => ticking.forEach(t => t()), 30_000);
    }
    return () => {
      ticking.delete(tick);
      if (!ticking.size && ticker !== null) {
        window.clearInterval(ticker);
        ticker = null;
      }
    };
  }, []);
  return now;
}

/** A time shown relative to now ("2 min ago", "in 3 h"), the exact time on hover; it keeps
 * itself current. `prefix` goes before it in the text and the title ("next ", "started "). */
export function When(props: { at: number | string | null | undefined; prefix?: string }): JSX.Element {
  const now = useNow();
  const s = seconds(props.at);
  if (s === null) {
    return <span className="jp-mlops-when">—</span>;
  }
  const text = `${props.prefix ?? ''}${relative(s, now)}`;
  return (
    <time className="jp-mlops-when" dateTime={new Date(s * 1000).toISOString()} title={`${props.prefix ?? ''}${exact(s)}`}>
      {text}
    </time>
  );
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

/** Records as a table, columns in the order given (or of the first record); the columns in
 * `times` shown as relative times. */
export function Records(props: { rows: Record<string, any>[]; columns?: string[]; times?: string[] }): JSX.Element {
  const columns = props.columns ?? Object.keys(props.rows[0] ?? {});
  const times = new Set(props.times ?? []);
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
              <td key={c}>{times.has(c) ? <When at={row[c]} /> : format(row[c])}</td>
            ))}
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** Text that may be cut to fit with an ellipsis: its whole text is always in the title. */
export function Clip(props: { text: string; className?: string }): JSX.Element {
  return (
    <span className={`jp-mlops-clip ${props.className ?? ''}`} title={props.text}>
      {props.text}
    </span>
  );
}

/**
 * Times as people say them: "2 min ago", "in 3 h", with the exact local time in the element's
 * `title`. One format for every view; the text follows the clock through one shared timer.
 */
import React, { useEffect, useState } from 'react';

const UNITS: [number, string][] = [
  [86400, 'd'],
  [3600, 'h'],
  [60, 'min'],
  [1, 's']
];

/** Epoch seconds of a time given as epoch seconds or an ISO string (null when unreadable). */
export function epochSeconds(at: number | string | null | undefined): number | null {
  if (at === null || at === undefined || at === '') {
    return null;
  }
  const seconds = typeof at === 'number' ? at : Date.parse(at) / 1000;
  return Number.isFinite(seconds) ? seconds : null;
}

/** "2 min ago", "in 3 h", "just now"; a date past 30 days. `now` in epoch milliseconds. */
export function relative(at: number | string | null | undefined, now: number = Date.now()): string {
  const seconds = epochSeconds(at);
  if (seconds === null) {
    return '—';
  }
  const delta = seconds - now / 1000;
  const size = Math.abs(delta);
  if (size < 5) {
    return 'just now';
  }
  if (size >= 30 * 86400) {
    return new Date(seconds * 1000).toLocaleDateString();
  }
  const [unit, name] = UNITS.find(([u]) => size >= u) ?? UNITS[UNITS.length - 1];
  const text = `${Math.floor(size / unit)}\u00a0${name}`;
  return delta < 0 ? `${text} ago` : `in ${text}`;
}

/** The exact local time, for a `title`. */
export function exact(at: number | string | null | undefined): string {
  const seconds = epochSeconds(at);
  return seconds === null ? '' : new Date(seconds * 1000).toLocaleString();
}

const listeners = new Set<(now: number) => void>();
let timer: number | null = null;

/** The current time, re-rendering every 15 s (one timer for every subscriber). */
export function useNow(): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    listeners.add(setNow);
    if (timer === null) {
      timer = window.setInterval(() => {
        const t = Date.now();
        listeners.forEach(listener => listener(t));
      }, 15000);
    }
    return () => {
      listeners.delete(setNow);
      if (!listeners.size && timer !== null) {
        window.clearInterval(timer);
        timer = null;
      }
    };
  }, []);
  return now;
}

/** A time as relative text, the exact time on hover. */
export function When(props: { at: number | string | null | undefined }): JSX.Element {
  const now = useNow();
  const seconds = epochSeconds(props.at);
  if (seconds === null) {
    return <span className="jp-mlops-muted">—</span>;
  }
  return (
    <time dateTime={new Date(seconds * 1000).toISOString()} title={exact(seconds)}>
      {relative(seconds, now)}
    </time>
  );
}

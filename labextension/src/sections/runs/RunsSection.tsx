/**
 * Runs: a virtualized table over server-side pages (10,000 runs scroll smoothly), with the
 * filter language, sorting by any column and multi-select for comparison.
 */
import React, { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { api, IChange, Row } from '../../api';
import { duration, Empty, ErrorBox, format } from '../../components/common';
import { useChanges } from '../../model';
import { ISection, ISectionProps } from '../registry';

const ROW = 26;
const PAGE = 100;
const BASE = ['name', 'status', 'start_time', 'duration'];

function cellText(run: Row, key: string): string {
  if (key === 'start_time') {
    return run.start_time ? new Date(run.start_time).toLocaleString() : '—';
  }
  if (key === 'duration') {
    const start = Date.parse(run.start_time) / 1000;
    const end = run.end_time ? Date.parse(run.end_time) / 1000 : null;
    return duration(start, end);
  }
  return format(run[key]);
}

function columnClass(key: string): string {
  return `jp-mlops-cell jp-mlops-col-${key.replace(/\W/g, '-')}`;
}

function Runs(props: ISectionProps): JSX.Element {
  const { app, model, views } = props;
  const [filter, setFilter] = useState(model.runFilter);
  const [applied, setApplied] = useState(model.runFilter);
  const [order, setOrder] = useState({ key: 'start_time', desc: true });
  const [total, setTotal] = useState<number | null>(null);
  const [pages, setPages] = useState<Map<number, Row[]>>(new Map());
  const [error, setError] = useState<unknown>(null);
  const [selected, setSelected] = useState<string[]>(model.selectedRuns);
  const [scroll, setScroll] = useState(0);
  const [height, setHeight] = useState(300);
  const body = useRef<HTMLDivElement>(null);
  const generation = useRef(0);
  const requested = useRef(new Set<number>());

  // runs without an end time (still going) have no duration: the server sorts them last
  const orderBy = `${order.key} ${order.desc ? 'DESC' : 'ASC'}`;

  const load = useCallback(
    async (offset: number, gen: number) => {
      try {
        const page = await api.runs({ filter: applied, order_by: [orderBy], limit: PAGE, offset });
        if (gen !== generation.current) {
          return;
        }
        setError(null);
        setTotal(page.total);
        setPages(prev => new Map(prev).set(offset, page.runs));
      } catch (err) {
        if (gen === generation.current) {
          setError(err);
          setTotal(t => t ?? 0);
        }
      }
    },
    [applied, orderBy]
  );

  const first = Math.max(0, Math.floor(scroll / ROW) - 5);
  const last = Math.min(total ?? PAGE, Math.ceil((scroll + height) / ROW) + 5);

  // a new filter or order: start again from the top
  useEffect(() => {
    generation.current += 1;
    requested.current = new Set([0]);
    setPages(new Map());
    setTotal(null);
    void load(0, generation.current);
  }, [load]);

  // something changed in the store: reload the pages in view, keep the rest until scrolled to
  const reload = useCallback(() => {
    generation.current += 1;
    const gen = generation.current;
    const visible = new Set<number>();
    for (let offset = Math.floor(first / PAGE) * PAGE; offset < Math.max(last, 1); offset += PAGE) {
      visible.add(offset);
    }
    requested.current = visible;
    setPages(prev => new Map([...prev].filter(([offset]) => visible.has(offset))));
    visible.forEach(offset => void load(offset, gen));
  }, [load, first, last]);
  const concerns = useCallback((c: IChange) => c.kind === 'run' || c.kind === 'experiment', []);
  useChanges(model, concerns, reload);

  // pages scrolled into view
  useEffect(() => {
    for (let offset = Math.floor(first / PAGE) * PAGE; offset < last; offset += PAGE) {
      if (!requested.current.has(offset)) {
        requested.current.add(offset);
        void load(offset, generation.current);
      }
    }
  }, [first, last, load]);

  useEffect(() => {
    const node = body.current;
    if (!node) {
      return;
    }
    const observer = new ResizeObserver(() => setHeight(node.clientHeight || 300));
    observer.observe(node);
    return () => observer.disconnect();
  }, [total === 0]);

  useEffect(() => {
    const listener = (_: unknown, ids: string[]) => setSelected(ids);
    model.selectionChanged.connect(listener);
    const filtered = (_: unknown, text: string) => {
      setFilter(text);
      setApplied(text);
    };
    model.filterChanged.connect(filtered);
    return () => {
      model.selectionChanged.disconnect(listener);
      model.filterChanged.disconnect(filtered);
    };
  }, [model]);

  const sample = pages.get(0);
  const extra = useMemo(() => {
    const counts = new Map<string, number>();
    for (const run of sample ?? []) {
      for (const [key, value] of Object.entries(run)) {
        if ((key.startsWith('metrics.') || key.startsWith('params.')) && value !== null) {
          counts.set(key, (counts.get(key) ?? 0) + 1);
        }
      }
    }
    const ranked = [...counts.entries()].sort((a, b) => b[1] - a[1]).map(([k]) => k);
    return [
      ...ranked.filter(k => k.startsWith('metrics.')).slice(0, 3),
      ...ranked.filter(k => k.startsWith('params.')).slice(0, 2)
    ];
  }, [sample]);
  const columns = [...BASE, ...extra];

  const rowAt = (index: number): Row | undefined =>
    pages.get(Math.floor(index / PAGE) * PAGE)?.[index % PAGE];

  const toggle = (id: string) => {
    model.selectedRuns = selected.includes(id)
      ? selected.filter(s => s !== id)
      : [...selected, id];
  };

  const sortBy = (key: string) =>
    setOrder(prev => ({ key, desc: prev.key === key ? !prev.desc : true }));

  const rows: JSX.Element[] = [];
  for (let i = first; i < Math.min(last, total ?? 0); i++) {
    const run = rowAt(i);
    const chosen = !!run && selected.includes(run.run_id);
    rows.push(
      <div
        key={run?.run_id ?? `pending-${i}`}
        className={`jp-mlops-row${chosen ? ' jp-mod-selected' : ''}`}
        style={{ top: i * ROW, height: ROW }}
        data-run-id={run?.run_id}
      >
        <span className="jp-mlops-cell jp-mlops-check">
          {run && (
            <input
              type="checkbox"
              aria-label={`select run ${run.name}`}
              checked={chosen}
              onChange={() => toggle(run.run_id)}
            />
          )}
        </span>
        {columns.map(key => (
          <span
            key={key}
            className={columnClass(key)}
            title={run ? cellText(run, key) : ''}
            onClick={() => run && views.openRun(run.run_id)}
          >
            {run ? cellText(run, key) : '…'}
          </span>
        ))}
      </div>
    );
  }

  return (
    <div className="jp-mlops-runs">
      <form
        className="jp-mlops-toolbar"
        onSubmit={e => {
          e.preventDefault();
          model.runFilter = filter.trim();
        }}
      >
        <input
          className="jp-mlops-filter jp-mod-styled"
          placeholder="metrics.acc > 0.9 and params.model = 'rf'"
          aria-label="filter runs"
          value={filter}
          onChange={e => setFilter(e.target.value)}
        />
        <button
          type="button"
          className="jp-mod-styled jp-mlops-button jp-mlops-compare"
          disabled={selected.length < 2}
          onClick={() => views.compareRuns(selected)}
        >
          Compare {selected.length || ''}
        </button>
        <button
          type="button"
          className="jp-mod-styled jp-mlops-button jp-mlops-open-experiments"
          title="open the Experiments view: the runs as a table with columns and charts"
          onClick={() => void app.commands.execute('mlops:open-experiments')}
        >
          Table
        </button>
      </form>
      <ErrorBox error={error} />
      {total === 0 && !applied && !error ? (
        <Empty what="runs" magic="%%track" />
      ) : (
        <div className="jp-mlops-grid">
          <div className="jp-mlops-head">
            <span className="jp-mlops-cell jp-mlops-check" />
            {columns.map(key => (
              <span
                key={key}
                className={columnClass(key)}
                onClick={() => sortBy(key)}
                title={`sort by ${key}`}
              >
                {key.replace(/^(metrics|params)\./, '')}
                {order.key === key ? (order.desc ? ' ▾' : ' ▴') : ''}
              </span>
            ))}
          </div>
          <div
            className="jp-mlops-body"
            ref={body}
            onScroll={e => setScroll((e.target as HTMLDivElement).scrollTop)}
          >
            <div style={{ height: (total ?? 0) * ROW, position: 'relative' }}>{rows}</div>
          </div>
          <div className="jp-mlops-footer">
            {total === null ? 'loading…' : `${total.toLocaleString()} run${total === 1 ? '' : 's'}`}
          </div>
        </div>
      )}
    </div>
  );
}

export const runsSection: ISection = { id: 'runs', title: 'Runs', rank: 10, component: Runs };

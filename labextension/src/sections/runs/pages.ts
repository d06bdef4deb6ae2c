/**
 * Runs paged from the server on demand: the pages a scrolled window shows are fetched (and
 * fetched again when the store changes); a new query starts again from the top.
 */
import { useCallback, useEffect, useRef, useState } from 'react';
import { api, IChange, IRunsPage } from '../../api';
import { MLOpsModel, useChanges } from '../../model';

export const PAGE = 100;

export type RunRow = IRunsPage['runs'][number];

export interface IRunPages {
  /** Top-level runs matching the query (null until the first page came). */
  total: number | null;
  /** The row at an index, once its page has come. */
  rowAt: (index: number) => RunRow | undefined;
  error: unknown;
}

/** The rows `first` to `last` (exclusive) of the runs `filter` matches, newest first. */
export function useRunPages(model: MLOpsModel, filter: string, first: number, last: number): IRunPages {
  const [total, setTotal] = useState<number | null>(null);
  const [pages, setPages] = useState<Map<number, RunRow[]>>(new Map());
  const [error, setError] = useState<unknown>(null);
  const generation = useRef(0);
  const requested = useRef(new Set<number>());

  const load = useCallback(
    async (offset: number, gen: number) => {
      try {
        const page = await api.runs({ filter, limit: PAGE, offset });
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
    [filter]
  );

  // a new filter: start again from the top
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

  const rowAt = (index: number) => pages.get(Math.floor(index / PAGE) * PAGE)?.[index % PAGE];
  return { total, rowAt, error };
}

/** How many runs are running now (trials included), for the summary line. */
export function useRunning(model: MLOpsModel): number | null {
  const [running, setRunning] = useState<number | null>(null);
  const load = useCallback(() => {
    api
      .runs({ filter: "status = 'running'", flat: true, limit: 0 })
      .then(page => setRunning(page.total))
      .catch(() => setRunning(null));
  }, []);
  useEffect(load, [load]);
  const concerns = useCallback((c: IChange) => c.kind === 'run', []);
  useChanges(model, concerns, load);
  return running;
}

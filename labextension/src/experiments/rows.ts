/**
 * The rows of the runs table, fetched a page at a time: the top-level runs of a query and,
 * under each expanded parent, its children (`parent=ID`). The table says which lines are in
 * view; at most two pages are asked at once, and when a request ends the next one is for
 * what is in view then, so a fast scroll through 10,000 runs does not queue a request for
 * every page it passes.
 */
import { ISignal, Signal } from '@lumino/signaling';
import { client, IRowsQuery, IRunRow } from './client';
import { splitField } from './fields';

const PAGE = 100;
const PARALLEL = 2;

/** What the table shows: experiments, filter, order and the columns to ask for beyond
 * the base fields (null: the server's default ones, those most runs of a list's first page
 * have, then asked by name for its later pages so that they agree; the top-level runs and
 * each parent's children have their own). */
export interface ITableQuery {
  experiments: string[];
  filter: string;
  order: { key: string; desc: boolean };
  columns: string[] | null;
}

/** One line of the table: a run (depth 1 under its parent) or a row still loading. */
export interface ILine {
  index: number;
  depth: 0 | 1;
  row: IRunRow | null;
  /** The parent's id for a child line. */
  parent: string | null;
}

/** A list paged from the server: the top-level runs, or one parent's children (those the
 * filter keeps, or all of them when the parent matched by itself). */
class Block {
  constructor(
    readonly parent: string | null,
    readonly filter: string,
    /** The columns asked (null: the server's defaults, learned from the first page). */
    public columns: string[] | null
  ) {}
  alive = true;
  total: number | null = null;
  error: unknown = null;
  pages = new Map<number, IRunRow[]>();
  stale = new Set<number>();
  inflight = new Set<number>();
  failed = new Set<number>();

  row(index: number): IRunRow | null {
    return this.pages.get(Math.floor(index / PAGE) * PAGE)?.[index % PAGE] ?? null;
  }

  needs(offset: number): boolean {
    return (
      (!this.pages.has(offset) || this.stale.has(offset)) &&
      !this.inflight.has(offset) &&
      !this.failed.has(offset)
    );
  }
}

interface IExpansion {
  id: string;
  /** The parent's index among the top-level runs. */
  top: number;
  /** How many children the parent row announced (until the first page says). */
  expected: number;
  block: Block;
}

export class RunRows {
  constructor(readonly query: ITableQuery) {
    this._top = new Block(null, query.filter, query.columns);
  }

  get changed(): ISignal<this, void> {
    return this._changed;
  }

  /** The top-level runs' count (null until the first page). */
  get total(): number | null {
    return this._top.total;
  }

  /** The columns asked beyond the base fields: the query's, else those the server chose
   * for the top-level runs and for the children shown (null until the first page). */
  get columns(): string[] | null {
    if (this.query.columns !== null || this._top.columns === null) {
      return this._top.columns;
    }
    // metrics first, then params, tags and attributes, each in the order the lists gave
    const groups = ['metrics', 'params', 'tags'];
    const rank = (c: string) => {
      const at = groups.indexOf(splitField(c).group);
      return at < 0 ? groups.length : at;
    };
    const union = [this._top, ...this._expansions.map(e => e.block)]
      .flatMap(b => b.columns ?? [])
      .filter((c, i, all) => all.indexOf(c) === i)
      .map((c, i) => [rank(c), i, c] as [number, number, string])
      .sort((a, b) => a[0] - b[0] || a[1] - b[1])
      .map(([, , c]) => c);
    if (union.join('\n') !== this._union.join('\n')) {
      this._union = union;
    }
    return this._union;
  }

  /** What the server refused (a filter, a column), for the top-level runs or the children
   * of an expanded parent. */
  get error(): unknown {
    return this._top.error ?? this._expansions.find(e => e.block.error)?.block.error ?? null;
  }

  /** Lines in the table: top-level runs plus the children of the expanded ones. */
  get count(): number {
    return (this._top.total ?? 0) + this._expansions.reduce((n, e) => n + this._length(e), 0);
  }

  isExpanded(id: string): boolean {
    return this._expansions.some(e => e.id === id);
  }

  at(index: number): ILine {
    const { block, position, parent } = this._locate(index);
    return { index, depth: parent === null ? 0 : 1, row: block.row(position), parent };
  }

  /** Show a top-level run's children (the line must be a loaded top-level row). */
  expand(line: ILine): void {
    const row = line.row;
    if (!row || line.depth !== 0 || this.isExpanded(row.run_id)) {
      return;
    }
    const top = this._locate(line.index).position;
    const matched = childrenMatched(this.query.filter, row);
    const expected = matched ?? row.child_count ?? 0;
    const block = new Block(
      row.run_id,
      matched === null ? '' : this.query.filter,
      this.query.columns
    );
    const expansion = { id: row.run_id, top, expected, block };
    this._expansions = [...this._expansions, expansion].sort((a, b) => a.top - b.top);
    this._changed.emit();
    this._pump();
  }

  collapse(id: string): void {
    const found = this._expansions.find(e => e.id === id);
    if (found) {
      found.block.alive = false;
      this._expansions = this._expansions.filter(e => e !== found);
      this._changed.emit();
    }
  }

  /** The lines in view are [first, last): fetch their pages, forget older wishes. */
  want(first: number, last: number): void {
    const wanted: [Block, number][] = [];
    for (let i = first; i < Math.max(last, first + 1); i++) {
      const { block, position } = this._locate(i);
      const offset = Math.floor(position / PAGE) * PAGE;
      if (!wanted.some(([b, o]) => b === block && o === offset)) {
        wanted.push([block, offset]);
      }
    }
    if (this._top.total === null && !wanted.some(([b, o]) => b === this._top && o === 0)) {
      wanted.unshift([this._top, 0]);
    }
    this._wanted = wanted;
    this._pump();
  }

  /** The store changed: fetch the pages in view again (showing the old rows meanwhile). */
  refresh(): void {
    for (const block of [this._top, ...this._expansions.map(e => e.block)]) {
      block.pages.forEach((_, offset) => block.stale.add(offset));
      block.failed.clear();
    }
    if (this._top.total === null || this._top.error) {
      this._top.failed.clear();
      this._wanted = [[this._top, 0], ...this._wanted];
    }
    this._pump();
  }

  dispose(): void {
    this._top.alive = false;
    this._expansions.forEach(e => (e.block.alive = false));
    Signal.clearData(this);
  }

  private _length(e: IExpansion): number {
    return e.block.total ?? e.expected;
  }

  /** Which list line `index` is in, and its position there. */
  private _locate(index: number): { block: Block; position: number; parent: string | null } {
    let skipped = 0;
    for (const e of this._expansions) {
      const parentLine = e.top + skipped;
      if (index <= parentLine) {
        break;
      }
      const length = this._length(e);
      if (index <= parentLine + length) {
        return { block: e.block, position: index - parentLine - 1, parent: e.id };
      }
      skipped += length;
    }
    return { block: this._top, position: index - skipped, parent: null };
  }

  private _pump(): void {
    while (this._active < PARALLEL) {
      // until the server chose a list's default columns, only its first page is asked
      const next = this._wanted.find(
        ([block, offset]) =>
          block.alive && block.needs(offset) && (block.columns !== null || offset === 0)
      );
      if (!next) {
        return;
      }
      this._fetch(next[0], next[1]);
    }
  }

  private _fetch(block: Block, offset: number): void {
    const q = this.query;
    const request: IRowsQuery = {
      experiments: q.experiments,
      filter: block.filter,
      orderBy: [`${q.order.key} ${q.order.desc ? 'DESC' : 'ASC'}`],
      columns: block.columns,
      parent: block.parent ?? undefined,
      limit: PAGE,
      offset
    };
    block.inflight.add(offset);
    this._active += 1;
    client
      .rows(request)
      .then(page => {
        if (!block.alive) {
          return;
        }
        block.pages.set(offset, page.runs);
        block.stale.delete(offset);
        block.total = page.total;
        block.error = null;
        block.columns = block.columns ?? page.columns ?? [];
        if (block === this._top) {
          this._relocate();
        }
        this._changed.emit();
      })
      .catch(error => {
        if (!block.alive) {
          return;
        }
        block.failed.add(offset);
        block.error = error;
        if (block.total === null) {
          block.total = 0;
        }
        this._changed.emit();
      })
      .finally(() => {
        block.inflight.delete(offset);
        this._active -= 1;
        this._pump();
      });
  }

  /** After a reload, an expanded parent may have moved (a new run came first): find it. */
  private _relocate(): void {
    let moved = false;
    for (const e of this._expansions) {
      if (this._top.row(e.top)?.run_id === e.id) {
        continue;
      }
      for (const [offset, rows] of this._top.pages) {
        const at = rows.findIndex(r => r.run_id === e.id);
        if (at >= 0) {
          e.top = offset + at;
          moved = true;
          break;
        }
      }
    }
    if (moved) {
      this._expansions.sort((a, b) => a.top - b.top);
    }
  }

  private _top: Block;
  private _union: string[] = [];
  private _expansions: IExpansion[] = [];
  private _wanted: [Block, number][] = [];
  private _active = 0;
  private _changed = new Signal<this, void>(this);
}

/** Under a filter, how many of a parent's children match, when some do (the table shows
 * those); null when every child is shown (no filter, or the parent matched by itself). */
export function childrenMatched(filter: string, row: IRunRow): number | null {
  const matched = row.matched_children;
  return filter && typeof matched === 'number' && matched > 0 ? matched : null;
}

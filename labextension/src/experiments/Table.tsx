/**
 * The runs table: only the lines in view are in the DOM (10,000 runs scroll as 40 rows);
 * headers sort (click) and resize (drag the edge); parents carry their children's count and
 * expand in place. Keyboard: arrows, Page Up/Down, Home/End move the focused row, Enter opens
 * it, Space selects it, Right/Left expand and collapse a parent.
 */
import React, {
  useCallback,
  useEffect,
  useLayoutEffect,
  useMemo,
  useReducer,
  useRef,
  useState
} from 'react';
import { duration, format, When } from '../components/common';
import type { IRunRow } from './client';
import { columnWidth, splitField } from './fields';
import { childrenMatched, ILine, RunRows } from './rows';

export const ROW = 26;
const OVERSCAN = 8;
const CHECK = 28;

export interface ITableProps {
  rows: RunRows;
  /** When this changes (other experiments, filter or order), the table goes back to the top;
   * other columns keep the place. */
  place: string;
  columns: string[];
  widths: Record<string, number>;
  order: { key: string; desc: boolean };
  selected: string[];
  onSort: (key: string) => void;
  onResize: (key: string, width: number) => void;
  onToggle: (id: string) => void;
  onOpen: (id: string) => void;
}

function widthOf(widths: Record<string, number>, column: string): number {
  return widths[column] ?? columnWidth(column);
}

/** What a column's cells share, worked out once per set of columns. */
interface IColumn {
  field: string;
  className: string;
  width: number;
  /** Whether a cell's title repeats its text (times and names have their own). */
  titled: boolean;
}

function columnsOf(columns: string[], widths: Record<string, number>): IColumn[] {
  return columns.map(field => ({
    field,
    className: `${cellClass(field)}${field === 'name' ? ' jp-mlops-exp-namecell' : ''}`,
    width: widthOf(widths, field),
    titled: !['name', 'start_time', 'end_time'].includes(field)
  }));
}

function cellClass(column: string): string {
  const group = splitField(column).group;
  const numeric = group === 'metrics' || group === 'params';
  return `jp-mlops-exp-cell jp-mlops-exp-${group}${numeric ? ' jp-mlops-exp-num' : ''}`;
}

function startSeconds(row: IRunRow): number {
  return Date.parse(row.start_time) / 1000;
}

function Cell(props: { row: IRunRow; column: string }): JSX.Element {
  const { row, column } = props;
  if (column === 'start_time' || column === 'end_time') {
    return <When at={row[column]} />;
  }
  if (column === 'duration') {
    const end = row.end_time ? Date.parse(row.end_time) / 1000 : null;
    return <>{duration(startSeconds(row), end)}</>;
  }
  if (column === 'status') {
    return <span className={`jp-mlops-status jp-mlops-status-${row.status}`}>{row.status}</span>;
  }
  return <>{format(row[column])}</>;
}

/** The name cell: a parent's toggle and children count, a child indented. */
function NameCell(props: {
  line: ILine;
  expanded: boolean;
  filter: string;
  onExpand: (line: ILine) => void;
  onOpen: (id: string) => void;
}): JSX.Element {
  const { line, expanded, filter } = props;
  const row = line.row!;
  const children = line.depth === 0 ? row.child_count ?? 0 : 0;
  const matched = childrenMatched(filter, row);
  const count = matched !== null ? `${matched} of ${children} match` : `${children}`;
  return (
    <>
      {children > 0 && (
        <button
          className="jp-mlops-exp-toggle"
          aria-expanded={expanded}
          aria-label={`${expanded ? 'collapse' : 'expand'} the ${children} child runs of ${row.name}`}
          title={`${expanded ? 'hide' : 'show'} the child runs`}
          tabIndex={-1}
          onClick={e => {
            e.stopPropagation();
            props.onExpand(line);
          }}
        >
          {expanded ? '▾' : '▸'}
        </button>
      )}
      <a
        className="jp-mlops-exp-name"
        title={row.name}
        onClick={e => {
          e.stopPropagation();
          props.onOpen(row.run_id);
        }}
      >
        {row.name}
      </a>
      {children > 0 && (
        <span className="jp-mlops-exp-children" title={`${count} child runs`}>
          {count}
        </span>
      )}
    </>
  );
}

interface ILineProps {
  line: ILine;
  columns: IColumn[];
  width: number;
  selected: boolean;
  focused: boolean;
  expanded: boolean;
  filter: string;
  handlers: IHandlers;
}

interface IHandlers {
  toggle: (id: string) => void;
  open: (id: string) => void;
  expand: (line: ILine) => void;
  focus: (index: number) => void;
}

const Line = React.memo(
  function Line(props: ILineProps): JSX.Element {
    const { line, columns, handlers } = props;
    const row = line.row;
    const classes = ['jp-mlops-exp-row'];
    if (props.selected) {
      classes.push('jp-mod-selected');
    }
    if (props.focused) {
      classes.push('jp-mod-focused');
    }
    if (line.depth) {
      classes.push('jp-mlops-exp-child');
    }
    return (
      <div
        className={classes.join(' ')}
        role="row"
        aria-selected={props.selected}
        aria-rowindex={line.index + 1}
        data-index={line.index}
        data-run-id={row?.run_id}
        style={{ top: line.index * ROW, height: ROW, width: props.width }}
        onMouseDown={() => handlers.focus(line.index)}
        onDoubleClick={() => row && handlers.open(row.run_id)}
      >
        <span className="jp-mlops-exp-cell jp-mlops-exp-check" style={{ width: CHECK }}>
          {row && (
            <input
              type="checkbox"
              tabIndex={-1}
              aria-label={`select run ${row.name}`}
              checked={props.selected}
              onChange={() => handlers.toggle(row.run_id)}
            />
          )}
        </span>
        {columns.map(({ field: column, className, width, titled }) => (
          <span
            key={column}
            className={className}
            style={{ width }}
            data-column={column}
            title={row && titled ? format(row[column]) : undefined}
          >
            {!row ? (
              '…'
            ) : column === 'name' ? (
              <NameCell
                line={line}
                expanded={props.expanded}
                filter={props.filter}
                onExpand={handlers.expand}
                onOpen={handlers.open}
              />
            ) : (
              <Cell row={row} column={column} />
            )}
          </span>
        ))}
      </div>
    );
  },
  (a, b) =>
    a.line.row === b.line.row &&
    a.line.index === b.line.index &&
    a.line.depth === b.line.depth &&
    a.columns === b.columns &&
    a.width === b.width &&
    a.selected === b.selected &&
    a.focused === b.focused &&
    a.expanded === b.expanded &&
    a.filter === b.filter
);

/** Re-render when the rows' pages change. */
function useRowsVersion(rows: RunRows): number {
  const [version, bump] = useReducer((n: number) => n + 1, 0);
  useEffect(() => {
    const listener = () => bump();
    rows.changed.connect(listener);
    return () => {
      rows.changed.disconnect(listener);
    };
  }, [rows]);
  return version;
}

function Header(props: {
  columns: string[];
  widths: Record<string, number>;
  order: { key: string; desc: boolean };
  width: number;
  onSort: (key: string) => void;
  onResize: (key: string, width: number) => void;
  innerRef: React.RefObject<HTMLDivElement>;
}): JSX.Element {
  const [dragging, setDragging] = useState<{ column: string; width: number } | null>(null);
  const startResize = (e: React.MouseEvent, column: string) => {
    e.preventDefault();
    e.stopPropagation();
    const x0 = e.clientX;
    const w0 = widthOf(props.widths, column);
    let width = w0;
    const move = (m: MouseEvent) => {
      width = Math.max(40, Math.round(w0 + m.clientX - x0));
      setDragging({ column, width });
    };
    const up = () => {
      window.removeEventListener('mousemove', move);
      window.removeEventListener('mouseup', up);
      setDragging(null);
      if (width !== w0) {
        props.onResize(column, width);
      }
    };
    window.addEventListener('mousemove', move);
    window.addEventListener('mouseup', up);
  };
  return (
    <div className="jp-mlops-exp-head" ref={props.innerRef} role="row">
      <div className="jp-mlops-exp-headrow" style={{ width: props.width }}>
        <span className="jp-mlops-exp-cell jp-mlops-exp-check" style={{ width: CHECK }} />
        {props.columns.map(column => {
          const { group, key } = splitField(column);
          const sorted = props.order.key === column;
          const width =
            dragging?.column === column ? dragging.width : widthOf(props.widths, column);
          return (
            <span
              key={column}
              role="columnheader"
              aria-sort={sorted ? (props.order.desc ? 'descending' : 'ascending') : 'none'}
              className={`${cellClass(column)} jp-mlops-exp-header`}
              style={{ width }}
              data-column={column}
              title={`${column}: click to sort`}
              onClick={() => props.onSort(column)}
            >
              {group !== 'attributes' && (
                <span className="jp-mlops-exp-group">{group === 'metrics' ? 'm' : group === 'params' ? 'p' : 't'}</span>
              )}
              <span className="jp-mlops-exp-label">{group === 'attributes' ? column.replace('_', ' ') : key}</span>
              {sorted && <span className="jp-mlops-exp-sort">{props.order.desc ? '▾' : '▴'}</span>}
              <span
                className="jp-mlops-exp-resize"
                onMouseDown={e => startResize(e, column)}
                onClick={e => e.stopPropagation()}
              />
            </span>
          );
        })}
      </div>
    </div>
  );
}

export function Table(props: ITableProps): JSX.Element {
  const { rows, columns, widths, selected } = props;
  useRowsVersion(rows);
  const body = useRef<HTMLDivElement>(null);
  const head = useRef<HTMLDivElement>(null);
  const [scroll, setScroll] = useState(0);
  const [height, setHeight] = useState(400);
  const [focus, setFocus] = useState(0);

  // other runs: back to the top
  useLayoutEffect(() => {
    setFocus(0);
    setScroll(0);
    if (body.current) {
      body.current.scrollTop = 0;
    }
  }, [props.place]);

  useEffect(() => {
    const node = body.current;
    if (!node) {
      return;
    }
    const observer = new ResizeObserver(() => setHeight(node.clientHeight || 400));
    observer.observe(node);
    return () => observer.disconnect();
  }, []);

  const count = rows.count;
  const first = Math.max(0, Math.floor(scroll / ROW) - OVERSCAN);
  const last = Math.min(count, Math.ceil((scroll + height) / ROW) + OVERSCAN);
  const visibleFirst = Math.floor(scroll / ROW);
  const visibleLast = Math.ceil((scroll + height) / ROW);

  useEffect(() => {
    // fetch what is in view (not the overscan): a fast scroll asks only where it stops
    const from = Math.min(visibleFirst, Math.max(0, count - 1));
    rows.want(from, Math.max(from + 1, Math.min(visibleLast, count)));
  }, [rows, visibleFirst, visibleLast, count]);

  const current = useRef(props);
  current.current = props;
  const handlers = useRef<IHandlers>({
    toggle: id => current.current.onToggle(id),
    open: id => current.current.onOpen(id),
    expand: line => {
      const r = current.current.rows;
      if (line.row && r.isExpanded(line.row.run_id)) {
        r.collapse(line.row.run_id);
      } else {
        r.expand(line);
      }
    },
    focus: index => {
      setFocus(index);
      body.current?.focus({ preventScroll: true });
    }
  }).current;

  const reveal = useCallback((index: number) => {
    const node = body.current;
    if (!node) {
      return;
    }
    const top = index * ROW;
    if (top < node.scrollTop) {
      node.scrollTop = top;
    } else if (top + ROW > node.scrollTop + node.clientHeight) {
      node.scrollTop = top + ROW - node.clientHeight;
    }
  }, []);

  const onKeyDown = (e: React.KeyboardEvent) => {
    if (!count) {
      return;
    }
    const at = Math.min(focus, count - 1);
    const line = rows.at(at);
    const page = Math.max(1, Math.floor(height / ROW) - 1);
    let next = at;
    switch (e.key) {
      case 'ArrowDown':
        next = Math.min(count - 1, at + 1);
        break;
      case 'ArrowUp':
        next = Math.max(0, at - 1);
        break;
      case 'PageDown':
        next = Math.min(count - 1, at + page);
        break;
      case 'PageUp':
        next = Math.max(0, at - page);
        break;
      case 'Home':
        next = 0;
        break;
      case 'End':
        next = count - 1;
        break;
      case 'Enter':
        if (line.row) {
          props.onOpen(line.row.run_id);
        }
        break;
      case ' ':
        if (line.row) {
          props.onToggle(line.row.run_id);
        }
        break;
      case 'ArrowRight':
        if (line.row && (line.row.child_count ?? 0) > 0 && !rows.isExpanded(line.row.run_id)) {
          rows.expand(line);
        }
        break;
      case 'ArrowLeft':
        if (line.depth === 1 && line.parent) {
          for (next = at; next > 0 && rows.at(next).depth === 1; next--) {
            // up to the parent's line
          }
        } else if (line.row && rows.isExpanded(line.row.run_id)) {
          rows.collapse(line.row.run_id);
        }
        break;
      default:
        return;
    }
    e.preventDefault();
    e.stopPropagation();
    if (next !== focus) {
      setFocus(next);
    }
    reveal(next);
  };

  const meta = useMemo(() => columnsOf(columns, widths), [columns, widths]);
  const total = meta.reduce((w, c) => w + c.width, CHECK);
  const chosen = new Set(selected);
  // the row elements are recycled: line i always takes slot i % pool, so a scroll updates
  // the rows that leave the view with the runs that enter it instead of making new ones
  const pool = Math.ceil(height / ROW) + 2 * OVERSCAN + 2;
  const lines: JSX.Element[] = [];
  for (let i = first; i < last; i++) {
    const line = rows.at(i);
    const id = line.row?.run_id;
    lines.push(
      <Line
        key={i % pool}
        line={line}
        columns={meta}
        width={total}
        selected={!!id && chosen.has(id)}
        focused={i === focus}
        expanded={!!id && line.depth === 0 && rows.isExpanded(id)}
        filter={rows.query.filter}
        handlers={handlers}
      />
    );
  }

  return (
    <div className="jp-mlops-exp-table" role="grid" aria-rowcount={count} aria-multiselectable>
      <Header
        columns={columns}
        widths={widths}
        order={props.order}
        width={total}
        onSort={props.onSort}
        onResize={props.onResize}
        innerRef={head}
      />
      <div
        className="jp-mlops-exp-body"
        ref={body}
        tabIndex={0}
        aria-label="runs"
        onKeyDown={onKeyDown}
        onScroll={e => {
          const node = e.currentTarget;
          setScroll(node.scrollTop);
          if (head.current) {
            head.current.scrollLeft = node.scrollLeft;
          }
        }}
      >
        <div className="jp-mlops-exp-canvas" style={{ height: count * ROW, width: total }}>
          {lines}
        </div>
        {rows.total === 0 && !rows.error && (
          <div className="jp-mlops-exp-none">
            {rows.query.filter ? 'No run matches the filter.' : 'No runs in these experiments yet.'}
          </div>
        )}
      </div>
      <div className="jp-mlops-exp-footer" aria-live="polite">
        <span className="jp-mlops-exp-count">
          {rows.total === null
            ? 'loading…'
            : `${rows.total.toLocaleString()} run${rows.total === 1 ? '' : 's'}` +
              (selected.length ? ` · ${selected.length} selected` : '')}
        </span>
        <span className="jp-mlops-exp-sorted">
          sorted by {props.order.key} {props.order.desc ? '▾' : '▴'}
        </span>
      </div>
    </div>
  );
}

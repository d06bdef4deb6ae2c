/**
 * Two runs' code side by side, cell by cell (a left, b right): each cell's source with its
 * changed lines highlighted and its outputs under it; runs of unchanged cells, and long
 * stretches of unchanged lines inside a cell, folded to one line that opens them.
 */
import React, { useState } from 'react';
import type { IDiffCell, IDiffLine, IRunDiff } from '../../api';

/** Unchanged lines kept around a change before the rest of a stretch is folded. */
const CONTEXT = 3;

const SOURCES: Record<string, string> = {
  snapshot: 'notebook snapshot',
  cells: 'recorded cells',
  source: 'source file'
};

/** Where a side's code came from, as the header says it. */
export function codeSource(source: string | null): string {
  return source ? (SOURCES[source] ?? source) : 'no code recorded';
}

/** The differing middle of two lines: the lengths of their common prefix and suffix, so a
 * one-character change stands out in a long line. */
function common(a: string, b: string): [number, number] {
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) {
    start++;
  }
  let end = 0;
  while (end < a.length - start && end < b.length - start && a[a.length - 1 - end] === b[b.length - 1 - end]) {
    end++;
  }
  return [start, end];
}

const SIDE_CLASS: Record<IDiffLine['kind'], [string, string]> = {
  same: ['', ''],
  changed: [' jp-mod-removed', ' jp-mod-added'],
  removed: [' jp-mod-removed', ' jp-mod-empty'],
  added: [' jp-mod-empty', ' jp-mod-added']
};

function Line(props: { line: IDiffLine }): JSX.Element {
  const { line } = props;
  const [left, right] = SIDE_CLASS[line.kind];
  let a: React.ReactNode = line.a;
  let b: React.ReactNode = line.b;
  if (line.kind === 'changed' && line.a !== null && line.b !== null) {
    const [start, end] = common(line.a, line.b);
    const cut = (text: string) => (
      <>
        {text.slice(0, start)}
        <mark>{text.slice(start, text.length - end)}</mark>
        {text.slice(text.length - end)}
      </>
    );
    a = cut(line.a);
    b = cut(line.b);
  }
  return (
    <tr className={`jp-mlops-line jp-mod-${line.kind}`}>
      <td className={`jp-mlops-side-a${left}`}>{a}</td>
      <td className={`jp-mlops-side-b${right}`}>{b}</td>
    </tr>
  );
}

/** Aligned lines; a stretch of unchanged lines keeps CONTEXT lines next to each change and
 * folds the rest when that hides more than CONTEXT lines (a click opens it); `fold` off
 * shows every line (an unchanged cell opened). */
function Lines(props: { lines: IDiffLine[]; fold: boolean; className: string }): JSX.Element | null {
  const [opened, setOpened] = useState<Set<number>>(new Set());
  const { lines } = props;
  if (!lines.length) {
    return null;
  }
  const rows: JSX.Element[] = [];
  let i = 0;
  while (i < lines.length) {
    let j = i;
    while (j < lines.length && lines[j].kind === 'same') {
      j++;
    }
    const keepBefore = i === 0 ? 0 : CONTEXT;
    const keepAfter = j === lines.length ? 0 : CONTEXT;
    const hidden = j - i - keepBefore - keepAfter;
    if (props.fold && hidden > CONTEXT && !opened.has(i)) {
      for (let k = i; k < i + keepBefore; k++) {
        rows.push(<Line key={k} line={lines[k]} />);
      }
      const at = i;
      rows.push(
        <tr key={`fold-${i}`} className="jp-mlops-fold">
          <td colSpan={2}>
            <button type="button" className="jp-mlops-link" onClick={() => setOpened(new Set(opened).add(at))}>
              ⋯ {hidden} unchanged lines
            </button>
          </td>
        </tr>
      );
      for (let k = j - keepAfter; k < j; k++) {
        rows.push(<Line key={k} line={lines[k]} />);
      }
    } else {
      for (let k = i; k < j; k++) {
        rows.push(<Line key={k} line={lines[k]} />);
      }
    }
    if (j < lines.length) {
      rows.push(<Line key={j} line={lines[j]} />);
    }
    i = j + 1;
  }
  return (
    <table className={`jp-mlops-lines ${props.className}`}>
      <colgroup>
        <col />
        <col />
      </colgroup>
      <tbody>{rows}</tbody>
    </table>
  );
}

const CHANGE_LABEL: Record<IDiffCell['change'], string> = {
  unchanged: 'unchanged',
  added: 'added',
  removed: 'removed',
  modified: 'modified'
};

function Prompt(props: { side: IDiffCell['a'] }): JSX.Element {
  const { side } = props;
  if (!side) {
    return <span className="jp-mlops-muted">—</span>;
  }
  return (
    <span>
      In [{side.execution_count ?? ' '}]
      {side.run_cell && (
        <span className="jp-mlops-badge jp-mlops-badge-run" title="a cell of the run (it ran while the run was active)">
          run
        </span>
      )}
    </span>
  );
}

function Cell(props: { cell: IDiffCell; fold: boolean }): JSX.Element {
  const { cell } = props;
  const label = cell.change === 'modified' && !cell.source_changed ? 'outputs differ' : CHANGE_LABEL[cell.change];
  return (
    <div className={`jp-mlops-diff-cell jp-mod-${cell.change}`}>
      <div className="jp-mlops-diff-cell-head">
        <div>
          <Prompt side={cell.a} />
        </div>
        <div>
          <Prompt side={cell.b} />
          <span className={`jp-mlops-badge jp-mlops-change jp-mod-${cell.change}`}>{label}</span>
        </div>
      </div>
      <Lines lines={cell.source} fold={props.fold} className="jp-mlops-diff-source" />
      <Lines lines={cell.outputs} fold={props.fold} className="jp-mlops-diff-outputs" />
    </div>
  );
}

/** Unchanged cells in a row, folded to "n unchanged cells" until clicked. */
function Folded(props: { cells: IDiffCell[] }): JSX.Element {
  const [open, setOpen] = useState(false);
  const count = props.cells.length;
  if (open) {
    return (
      <>
        {props.cells.map((cell, i) => (
          <Cell key={i} cell={cell} fold={false} />
        ))}
      </>
    );
  }
  return (
    <button type="button" className="jp-mlops-link jp-mlops-folded-cells" aria-expanded={false} onClick={() => setOpen(true)}>
      {count} unchanged cell{count === 1 ? '' : 's'}
    </button>
  );
}

export function CodeDiff(props: { diff: IRunDiff }): JSX.Element {
  const { diff } = props;
  const { code } = diff;
  const { summary } = code;
  const parts: JSX.Element[] = [];
  let quiet: IDiffCell[] = [];
  const flush = (key: number) => {
    if (quiet.length) {
      parts.push(<Folded key={`folded-${key}`} cells={quiet} />);
      quiet = [];
    }
  };
  code.cells.forEach((cell, i) => {
    if (cell.change === 'unchanged') {
      quiet.push(cell);
      return;
    }
    flush(i);
    parts.push(<Cell key={i} cell={cell} fold={true} />);
  });
  flush(code.cells.length);
  return (
    <div className="jp-mlops-code-diff">
      <div className="jp-mlops-diff-summary">
        {summary.modified} modified · {summary.added} added · {summary.removed} removed · {summary.unchanged}{' '}
        unchanged
      </div>
      <div className="jp-mlops-diff-sides">
        {(['a', 'b'] as const).map(side => (
          <div key={side} className={`jp-mlops-diff-side jp-mlops-side-${side}`}>
            <span className="jp-mlops-name" title={diff[side].id}>
              {diff[side].name}
            </span>{' '}
            <span className="jp-mlops-muted">
              {diff[side].id.slice(0, 8)} · {codeSource(code[side])}
            </span>
          </div>
        ))}
      </div>
      {code.cells.length ? parts : <div className="jp-mlops-muted">Neither run recorded any code.</div>}
    </div>
  );
}

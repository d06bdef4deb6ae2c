/**
 * Runs: a compact list of the top-level runs (an AutoML search is one row with its trial
 * count), virtualized over server pages, with the filter language, selection for Compare and
 * a way to the Experiments view, where runs are compared as a table.
 */
import React, { useEffect, useRef, useState } from 'react';
import { Clip, Empty, ErrorBox, When } from '../../components/common';
import { SectionFrame } from '../../components/SectionFrame';
import { ISection, ISectionProps } from '../registry';
import { RunRow, useRunning, useRunPages } from './pages';

const ROW = 24;
const OPEN_EXPERIMENTS = 'mlops:open-experiments';

function Children(props: { run: RunRow }): JSX.Element | null {
  const { child_count: count, matched_children: matched } = props.run;
  if (!count) {
    return null;
  }
  const text = matched ? `${matched}/${count}` : String(count);
  const title = matched ? `${matched} of ${count} nested runs match` : `${count} nested runs`;
  return (
    <span className="jp-mlops-badge jp-mlops-children" title={title}>
      {text}
    </span>
  );
}

function Row(props: {
  run: RunRow | undefined;
  index: number;
  chosen: boolean;
  toggle: (id: string) => void;
  open: (id: string) => void;
}): JSX.Element {
  const { run, index } = props;
  return (
    <div
      className={`jp-mlops-row${props.chosen ? ' jp-mod-selected' : ''}`}
      style={{ top: index * ROW, height: ROW }}
      data-run-id={run?.run_id}
      onClick={() => run && props.open(run.run_id)}
    >
      <span className="jp-mlops-check" onClick={e => e.stopPropagation()}>
        {run && (
          <input
            type="checkbox"
            aria-label={`select run ${run.name}`}
            checked={props.chosen}
            onChange={() => props.toggle(run.run_id)}
          />
        )}
      </span>
      <span
        className={`jp-mlops-dot jp-mlops-dot-${run?.status ?? 'pending'}`}
        title={run?.status ?? ''}
        aria-label={run?.status ?? ''}
      />
      {run ? <Clip className="jp-mlops-col-name" text={run.name} /> : <span className="jp-mlops-col-name">…</span>}
      {run && <Children run={run} />}
      {run && <When at={run.start_time} />}
    </div>
  );
}

function Runs(props: ISectionProps): JSX.Element {
  const { app, model, views } = props;
  const [filter, setFilter] = useState(model.runFilter);
  const [applied, setApplied] = useState(model.runFilter);
  const [selected, setSelected] = useState<string[]>(model.selectedRuns);
  const [scroll, setScroll] = useState(0);
  const [height, setHeight] = useState(300);
  const body = useRef<HTMLDivElement>(null);

  const first = Math.max(0, Math.floor(scroll / ROW) - 5);
  const wanted = Math.ceil((scroll + height) / ROW) + 5;
  const { total, rowAt, error } = useRunPages(model, applied, first, wanted);
  const last = Math.min(total ?? 0, wanted);
  const running = useRunning(model);

  useEffect(() => {
    const node = body.current;
    if (!node) {
      return;
    }
    const observer = new ResizeObserver(() => setHeight(node.clientHeight || 300));
    observer.observe(node);
    return () => observer.disconnect();
  }, [props.open, total === 0]);

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

  const toggle = (id: string) => {
    model.selectedRuns = selected.includes(id) ? selected.filter(s => s !== id) : [...selected, id];
  };
  const experiments = app.commands.hasCommand(OPEN_EXPERIMENTS);

  const rows: JSX.Element[] = [];
  for (let i = first; i < last; i++) {
    const run = rowAt(i);
    rows.push(
      <Row
        key={run?.run_id ?? `pending-${i}`}
        run={run}
        index={i}
        chosen={!!run && selected.includes(run.run_id)}
        toggle={toggle}
        open={views.openRun.bind(views)}
      />
    );
  }

  const count = total === null ? null : total.toLocaleString();
  return (
    <SectionFrame
      id="runs"
      title="Runs"
      section={props}
      summary={[
        count && (applied ? `${count} matching` : count),
        !!running && `${running.toLocaleString()} running`,
        !!error && 'error'
      ]}
    >
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
            placeholder="metrics.acc > 0.9"
            title="filter runs: metrics.acc > 0.9 and params.model = 'rf' (Enter applies)"
            aria-label="filter runs"
            value={filter}
            onChange={e => setFilter(e.target.value)}
          />
          <button
            type="button"
            className="jp-mod-styled jp-mlops-button jp-mlops-compare"
            disabled={selected.length < 2}
            title="compare the selected runs"
            onClick={() => views.compareRuns(selected)}
          >
            Compare{selected.length ? ` ${selected.length}` : ''}
          </button>
        </form>
        <ErrorBox error={error} />
        {total === 0 && !applied && !error ? (
          <Empty what="runs" magic="%%track" />
        ) : (
          <div
            className="jp-mlops-body"
            ref={body}
            onScroll={e => setScroll((e.target as HTMLDivElement).scrollTop)}
          >
            <div style={{ height: (total ?? 0) * ROW, position: 'relative' }}>{rows}</div>
          </div>
        )}
        <div className="jp-mlops-footer">
          <span>{total === null ? 'loading…' : `${count} run${total === 1 ? '' : 's'}`}</span>
          <button
            type="button"
            className="jp-mlops-link jp-mlops-open-experiments"
            disabled={!experiments}
            title={experiments ? 'a table of runs with params and metrics as columns' : 'the Experiments view is not installed'}
            onClick={() => void app.commands.execute(OPEN_EXPERIMENTS).catch(() => undefined)}
          >
            Open Experiments
          </button>
        </div>
      </div>
    </SectionFrame>
  );
}

export const runsSection: ISection = { id: 'runs', title: 'Runs', rank: 10, component: Runs };

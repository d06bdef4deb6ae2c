/**
 * The Experiments view (one tab in the main area): the runs of one or several experiments as
 * a table over server pages with the columns the user picks (remembered per set of
 * experiments), the filter language, nested runs under their parent, selection feeding
 * Compare, and charts across the selected or filtered runs.
 */
import React, { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import type { IChange } from '../api';
import { ErrorBox } from '../components/common';
import { MLOpsModel, useChanges } from '../model';
import type { Views } from '../views';
import { Charts } from './Charts';
import { client, IExperiment, IRunFields } from './client';
import { allFields, DEFAULT_ATTRIBUTES, serverColumns } from './fields';
import { FilterInput } from './FilterInput';
import { ExperimentPicker, FieldChecklist, Popover } from './Pickers';
import { DEFAULT_PREFS, IChartPrefs, ISetPrefs, Prefs } from './prefs';
import { RunRows } from './rows';
import { Table } from './Table';

/** Asks the open view to show other experiments (the command's argument). */
export class ExperimentsRequest {
  experiments: string[] | null = null;
  listener: ((experiments: string[]) => void) | null = null;

  show(experiments: string[]): void {
    this.experiments = experiments;
    this.listener?.(experiments);
  }
}

const CHART_REFRESH_MS = 5000;

/** An error's text (the same refusal from two requests is shown once). */
function message(error: unknown): string | null {
  return error ? (error instanceof Error ? error.message : String(error)) : null;
}

function sameList(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

export function ExperimentsView(props: {
  model: MLOpsModel;
  views: Views;
  prefs: Prefs;
  request: ExperimentsRequest;
}): JSX.Element {
  const { model, views, prefs: store, request } = props;
  const [experiments, setExperiments] = useState<string[] | null>(request.experiments);
  const [known, setKnown] = useState<IExperiment[]>([]);
  const [fields, setFields] = useState<IRunFields | null>(null);
  const [fieldsError, setFieldsError] = useState<unknown>(null);
  const [listError, setListError] = useState<unknown>(null);
  const [prefs, setPrefs] = useState<ISetPrefs | null>(null);
  const [filter, setFilter] = useState('');
  const [applied, setApplied] = useState('');
  const [selected, setSelected] = useState<string[]>(model.selectedRuns);
  const [chartVersion, setChartVersion] = useState(0);
  const lastChart = useRef(0);
  const fieldsAsked = useRef(0);

  // which experiments: the command's, else the last shown, else all of them
  useEffect(() => {
    request.listener = names => setExperiments([...names].sort());
    if (experiments === null) {
      void store.lastSet().then(last => setExperiments(e => e ?? [...(last ?? [])].sort()));
    }
    return () => {
      request.listener = null;
    };
  }, [request, store]);

  const loadList = useCallback(() => {
    client
      .experiments()
      .then(r => {
        setKnown(r.experiments);
        setListError(null);
      })
      .catch(setListError);
  }, []);
  useEffect(loadList, [loadList]);

  const loadFields = useCallback(() => {
    if (experiments === null) {
      return;
    }
    const asked = ++fieldsAsked.current; // only the latest answer counts
    client
      .fields(experiments)
      .then(f => {
        if (asked === fieldsAsked.current) {
          setFields(prev => (JSON.stringify(prev) === JSON.stringify(f) ? prev : f));
          setFieldsError(null);
        }
      })
      .catch(error => {
        if (asked === fieldsAsked.current) {
          setFields(prev => prev ?? { attributes: [], params: [], metrics: [], tags: [] });
          setFieldsError(error);
        }
      });
  }, [experiments]);

  // a new set of experiments: its remembered choices, its fields
  useEffect(() => {
    if (experiments === null) {
      return;
    }
    let alive = true;
    setPrefs(null);
    setFields(null);
    store.saveLastSet(experiments);
    void store.forSet(experiments).then(p => alive && setPrefs(p));
    loadFields();
    return () => {
      alive = false;
    };
  }, [experiments, store, loadFields]);

  useEffect(() => {
    const listener = (_: unknown, ids: string[]) => setSelected(ids);
    model.selectionChanged.connect(listener);
    return () => {
      model.selectionChanged.disconnect(listener);
    };
  }, [model]);

  const explicit = prefs?.columns ?? null;
  const explicitKey = JSON.stringify(explicit);
  const order = prefs?.order ?? DEFAULT_PREFS.order;
  const ready = prefs !== null;

  const rows = useMemo(() => {
    if (experiments === null || !ready) {
      return null;
    }
    const columns = explicit === null ? null : serverColumns(explicit);
    return new RunRows({ experiments, filter: applied, order, columns });
  }, [experiments, applied, order.key, order.desc, explicitKey, ready]);
  // the rows' error and the columns the server chose by default, as they come
  const [rowsError, setRowsError] = useState<unknown>(null);
  const [learned, setLearned] = useState<string[] | null>(null);
  useEffect(() => {
    setRowsError(null);
    setLearned(null);
    if (!rows) {
      return;
    }
    const listener = () => {
      setRowsError(rows.error);
      setLearned(rows.columns);
    };
    rows.changed.connect(listener);
    return () => rows.dispose();
  }, [rows]);
  const columns = useMemo(
    () => explicit ?? [...DEFAULT_ATTRIBUTES, ...(learned ?? [])],
    [explicitKey, learned]
  );

  const concerns = useCallback((c: IChange) => c.kind === 'run' || c.kind === 'experiment', []);
  const reload = useCallback(() => {
    rows?.refresh();
    loadFields();
    loadList();
    const now = Date.now();
    if (now - lastChart.current > CHART_REFRESH_MS) {
      lastChart.current = now;
      setChartVersion(v => v + 1);
    }
  }, [rows, loadFields, loadList]);
  useChanges(model, concerns, reload);

  const update = (change: Partial<ISetPrefs>) => {
    if (!prefs || experiments === null) {
      return;
    }
    const next = { ...prefs, ...change };
    setPrefs(next);
    store.saveSet(experiments, next);
  };

  const toggle = useCallback(
    (id: string) => {
      const now = model.selectedRuns;
      model.selectedRuns = now.includes(id) ? now.filter(s => s !== id) : [...now, id];
    },
    [model]
  );
  const open = useCallback((id: string) => views.openRun(id), [views]);
  const sortBy = useCallback(
    (key: string) =>
      setPrefs(p => {
        if (!p || experiments === null) {
          return p;
        }
        const next = { ...p, order: { key, desc: p.order.key === key ? !p.order.desc : true } };
        store.saveSet(experiments, next);
        return next;
      }),
    [experiments, store]
  );
  const resize = useCallback(
    (key: string, width: number) =>
      setPrefs(p => {
        if (!p || experiments === null) {
          return p;
        }
        const next = { ...p, widths: { ...p.widths, [key]: width } };
        store.saveSet(experiments, next);
        return next;
      }),
    [experiments, store]
  );

  const names = useMemo(() => allFields(fields), [fields]);
  const custom = !!prefs?.columns;
  const chosen = experiments ?? [];
  return (
    <div className="jp-mlops-exp">
      <div className="jp-mlops-exp-top">
        <h2>Experiments</h2>
        <ExperimentPicker
          experiments={known}
          chosen={chosen}
          onChange={next => {
            const sorted = [...next].sort();
            if (!sameList(sorted, chosen)) {
              setExperiments(sorted);
            }
          }}
        />
        <FilterInput
          value={filter}
          fields={names}
          onChange={setFilter}
          onApply={text => {
            setFilter(text);
            setApplied(text);
          }}
        />
        <Popover
          label={`Columns (${columns.length})`}
          className="jp-mlops-exp-columns"
          title="columns shown"
        >
          {() => (
            <>
              <FieldChecklist
                fields={fields}
                chosen={columns}
                extra
                onChange={next => update({ columns: next.length ? next : null })}
              />
              <button
                type="button"
                className="jp-mod-styled jp-mlops-button"
                disabled={!custom}
                onClick={() => update({ columns: null })}
              >
                Default columns
              </button>
            </>
          )}
        </Popover>
        <button
          type="button"
          className="jp-mod-styled jp-mlops-button jp-mlops-exp-compare"
          disabled={selected.length < 2}
          title="compare the selected runs (tick them, or Space on a row)"
          onClick={() => views.compareRuns(selected)}
        >
          Compare {selected.length || ''}
        </button>
        <button
          type="button"
          className="jp-mod-styled jp-mlops-button"
          disabled={!selected.length}
          onClick={() => (model.selectedRuns = [])}
        >
          Clear selection
        </button>
        <button
          type="button"
          className={`jp-mod-styled jp-mlops-button jp-mlops-exp-charts-toggle${prefs?.charts.open ? ' jp-mod-active' : ''}`}
          aria-pressed={!!prefs?.charts.open}
          disabled={!prefs}
          onClick={() => prefs && update({ charts: { ...prefs.charts, open: !prefs.charts.open } })}
        >
          Charts
        </button>
      </div>
      <div className="jp-mlops-exp-errors">
        <ErrorBox error={listError} />
        {message(fieldsError) !== message(rowsError) && <ErrorBox error={fieldsError} />}
        {rowsError ? (
          <div className="jp-mlops-exp-rows-error">
            <ErrorBox error={rowsError} />
            {custom && (
              <button
                type="button"
                className="jp-mod-styled jp-mlops-button"
                onClick={() => update({ columns: null })}
              >
                Default columns
              </button>
            )}
          </div>
        ) : null}
      </div>
      {rows && prefs ? (
        <Table
          rows={rows}
          place={JSON.stringify([experiments, applied, order])}
          columns={columns}
          widths={prefs.widths}
          order={prefs.order}
          selected={selected}
          onSort={sortBy}
          onResize={resize}
          onToggle={toggle}
          onOpen={open}
        />
      ) : (
        <div className="jp-mlops-muted jp-mlops-exp-loading">loading…</div>
      )}
      {prefs?.charts.open && experiments !== null && (
        <Charts
          experiments={experiments}
          filter={applied}
          selected={selected}
          fields={fields}
          prefs={prefs.charts}
          onPrefs={(charts: IChartPrefs) => update({ charts })}
          version={chartVersion}
        />
      )}
    </div>
  );
}

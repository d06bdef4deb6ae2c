/**
 * Charts across runs: the selected ones, or those the filter keeps when none is selected.
 * Parallel coordinates over chosen params and a metric, a scatter of any two fields, bars of
 * a metric's final value. The figures are built in Python (GET charts/runs) and drawn by Plot.
 */
import React, { useEffect, useState } from 'react';
import type { Figure } from '../api';
import { ErrorBox } from '../components/common';
import { Plot } from '../components/Plot';
import { ChartKind, client, IRunFields } from './client';
import { fieldName } from './fields';
import { FieldChecklist, FieldSelect, Popover } from './Pickers';
import type { IChartPrefs } from './prefs';

/** Runs drawn at most when none is selected (the first in the table's filter). */
export const CHART_LIMIT = 1000;

const KINDS: [ChartKind, string][] = [
  ['parallel', 'Parallel coordinates'],
  ['scatter', 'Scatter'],
  ['bars', 'Bars']
];

/** The chart's fields: the user's choice, else the first params and metric seen. */
export function chartFields(prefs: IChartPrefs, fields: IRunFields | null): {
  fields: string[];
  color?: string;
} {
  const params = fields?.params ?? [];
  const metrics = fields?.metrics ?? [];
  const metric = prefs.metric ?? (metrics[0] !== undefined ? fieldName('metrics', metrics[0]) : null);
  if (prefs.kind === 'parallel') {
    const chosen = prefs.params.length ? prefs.params : params.slice(0, 4).map(k => fieldName('params', k));
    return { fields: metric ? [...chosen, metric] : chosen, color: metric ?? undefined };
  }
  if (prefs.kind === 'scatter') {
    const x = prefs.x ?? (params[0] !== undefined ? fieldName('params', params[0]) : null);
    const y = prefs.y ?? metric;
    return { fields: x && y ? [x, y] : [] };
  }
  return { fields: metric ? [metric] : [] };
}

export function Charts(props: {
  experiments: string[];
  filter: string;
  selected: string[];
  fields: IRunFields | null;
  prefs: IChartPrefs;
  onPrefs: (prefs: IChartPrefs) => void;
  version: number;
}): JSX.Element {
  const { prefs, fields, selected } = props;
  const [figure, setFigure] = useState<Figure | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [loading, setLoading] = useState(false);
  const chosen = chartFields(prefs, fields);
  const key = JSON.stringify([prefs.kind, chosen, props.experiments, props.filter, selected, props.version]);

  useEffect(() => {
    if (!chosen.fields.length) {
      setFigure(null);
      return;
    }
    let alive = true;
    setLoading(true);
    const timer = window.setTimeout(() => {
      client
        .chart({
          kind: prefs.kind,
          fields: chosen.fields,
          color: chosen.color,
          experiments: props.experiments,
          filter: props.filter,
          runs: selected,
          limit: CHART_LIMIT
        })
        .then(f => {
          if (alive) {
            setFigure(f);
            setError(null);
          }
        })
        .catch(e => alive && setError(e))
        .finally(() => alive && setLoading(false));
    }, 150);
    return () => {
      alive = false;
      window.clearTimeout(timer);
    };
  }, [key]);

  const set = (change: Partial<IChartPrefs>) => props.onPrefs({ ...prefs, ...change });
  const which = selected.length
    ? `${selected.length} selected run${selected.length === 1 ? '' : 's'}`
    : props.filter
      ? `the runs the filter keeps (at most ${CHART_LIMIT.toLocaleString()})`
      : `the first ${CHART_LIMIT.toLocaleString()} runs`;
  return (
    <div className="jp-mlops-exp-charts">
      <div className="jp-mlops-exp-chartbar">
        <div className="jp-mlops-exp-kinds" role="tablist" aria-label="chart">
          {KINDS.map(([kind, label]) => (
            <button
              key={kind}
              type="button"
              role="tab"
              aria-selected={prefs.kind === kind}
              className={`jp-mod-styled jp-mlops-button${prefs.kind === kind ? ' jp-mod-active' : ''}`}
              data-kind={kind}
              onClick={() => set({ kind })}
            >
              {label}
            </button>
          ))}
        </div>
        {prefs.kind === 'parallel' && (
          <>
            <Popover
              label={`Params (${chosen.fields.length - (chosen.color ? 1 : 0)})`}
              className="jp-mlops-exp-chart-params"
              title="params as axes"
            >
              {() => (
                <FieldChecklist
                  fields={fields}
                  groups={['params', 'metrics', 'attributes']}
                  chosen={prefs.params.length ? prefs.params : chosen.fields.filter(f => f !== chosen.color)}
                  onChange={params => set({ params })}
                />
              )}
            </Popover>
            <FieldSelect
              label="metric"
              fields={fields}
              groups={['metrics']}
              value={chosen.color ?? null}
              onChange={metric => set({ metric })}
            />
          </>
        )}
        {prefs.kind === 'scatter' && (
          <>
            <FieldSelect label="x" fields={fields} value={chosen.fields[0] ?? null} onChange={x => set({ x })} />
            <FieldSelect label="y" fields={fields} value={chosen.fields[1] ?? null} onChange={y => set({ y })} />
          </>
        )}
        {prefs.kind === 'bars' && (
          <FieldSelect
            label="metric"
            fields={fields}
            groups={['metrics']}
            value={chosen.fields[0] ?? null}
            onChange={metric => set({ metric })}
          />
        )}
        <span className="jp-mlops-muted jp-mlops-exp-which">
          {loading ? 'drawing…' : `of ${which}`}
        </span>
      </div>
      <ErrorBox error={error} />
      {!chosen.fields.length ? (
        <div className="jp-mlops-muted">These runs have no fields to chart yet.</div>
      ) : (
        <Plot figure={figure} height={400} />
      )}
    </div>
  );
}

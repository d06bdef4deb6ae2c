/**
 * A plotly figure, from the figure JSON the Python chart code built. plotly.js is loaded on
 * first use (a separate chunk), and the layout follows JupyterLab's theme.
 */
import React, { useEffect, useRef, useState } from 'react';
import type { Figure } from '../api';

let plotly: Promise<any> | null = null;

function loadPlotly(): Promise<any> {
  if (!plotly) {
    plotly = import('plotly.js-dist-min').then(m => (m as any).default ?? m);
  }
  return plotly;
}

function css(name: string, fallback: string): string {
  const value = getComputedStyle(document.body).getPropertyValue(name).trim();
  return value || fallback;
}

/** The figure's layout with JupyterLab's colours and font, sized to its container. */
export function themed(layout: any): any {
  const ink = css('--jp-ui-font-color1', '#222');
  const grid = css('--jp-border-color2', '#ddd');
  const axis = { gridcolor: grid, zerolinecolor: grid, color: ink };
  const out = { ...layout };
  delete out.template;
  delete out.width;
  for (const key of Object.keys(out)) {
    if (/^[xy]axis\d*$/.test(key)) {
      out[key] = { ...out[key], ...axis };
    }
  }
  return {
    ...out,
    autosize: true,
    paper_bgcolor: 'rgba(0,0,0,0)',
    plot_bgcolor: 'rgba(0,0,0,0)',
    font: { family: css('--jp-ui-font-family', 'sans-serif'), color: ink, size: 11 },
    xaxis: { ...(out.xaxis ?? {}), ...axis },
    yaxis: { ...(out.yaxis ?? {}), ...axis },
    legend: { ...(out.legend ?? {}), font: { color: ink } }
  };
}

/** The traces with JupyterLab's colours where plotly's defaults assume a white page: a
 * table's header and cells (a figure's single values) follow the theme. */
export function themedData(data: any[]): any[] {
  const ink = css('--jp-ui-font-color1', '#222');
  const line = { color: css('--jp-border-color2', '#ddd') };
  return data.map(trace =>
    trace?.type === 'table'
      ? {
          ...trace,
          header: { ...trace.header, fill: { color: css('--jp-layout-color2', '#eee') }, line, font: { color: ink } },
          cells: { ...trace.cells, fill: { color: css('--jp-layout-color1', '#fff') }, line, font: { color: ink } }
        }
      : trace
  );
}

/** JupyterLab's theme name, updated when the user changes theme (figures are redrawn). */
function useTheme(): string | undefined {
  const [theme, setTheme] = useState(document.body.dataset.jpThemeName);
  useEffect(() => {
    const observer = new MutationObserver(() => setTheme(document.body.dataset.jpThemeName));
    observer.observe(document.body, { attributes: true, attributeFilter: ['data-jp-theme-name'] });
    return () => observer.disconnect();
  }, []);
  return theme;
}

export function Plot(props: { figure: Figure | null; height?: number }): JSX.Element {
  const ref = useRef<HTMLDivElement>(null);
  const [error, setError] = useState<string | null>(null);
  const theme = useTheme();
  useEffect(() => {
    const node = ref.current;
    if (!node || !props.figure) {
      return;
    }
    let alive = true;
    loadPlotly()
      .then(Plotly => {
        if (!alive) {
          return;
        }
        const layout = themed(props.figure!.layout ?? {});
        if (props.height) {
          layout.height = props.height;
        }
        return Plotly.react(node, themedData(props.figure!.data ?? []), layout, {
          responsive: true,
          displaylogo: false
        });
      })
      .catch(err => alive && setError(String(err)));
    return () => {
      alive = false;
    };
  }, [props.figure, props.height, theme]);
  useEffect(() => {
    const node = ref.current;
    return () => {
      if (node && plotly) {
        plotly.then(Plotly => Plotly.purge(node)).catch(() => undefined);
      }
    };
  }, []);
  if (error) {
    return <div className="jp-mlops-error">Chart failed: {error}</div>;
  }
  return <div className="jp-mlops-plot" ref={ref} />;
}

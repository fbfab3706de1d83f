/**
 * Charts for the model report: Vega-Lite specifications (Satyanarayan et al., "Vega-Lite: A
 * Grammar of Interactive Graphics", IEEE InfoVis 2016) compiled and rendered to SVG on the
 * server by Vega's headless View, so the page needs no script and no network to show them.
 */
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

/** The report's colours (Tableau 10), so a method keeps its colour from chart to chart. */
const PALETTE = ['#4e79a7', '#f28e2b', '#59a14f', '#e15759', '#76b7b2', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac'];

const CONFIG = {
  font: 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif',
  view: { stroke: null },
  // Labels and titles are never cut ("Administrative_Dura..."): a limit of 0 is none.
  axis: { labelFontSize: 11, titleFontSize: 11, grid: true, gridColor: '#eee', labelLimit: 0 },
  // One entry a line: method names are long, and a row of them would widen the chart.
  legend: { labelFontSize: 11, titleFontSize: 11, orient: 'bottom', columns: 1, labelLimit: 0, titleLimit: 0 },
  title: { fontSize: 13, anchor: 'start', fontWeight: 600 },
  range: { category: PALETTE },
};

/**
 * Renders a Vega-Lite spec to an SVG string (its width and height in pixels as given, 360 x
 * 260 by default).
 * @throws Error when the spec does not compile (a bug in a chart builder).
 */
export async function renderSvg(spec: Record<string, unknown>): Promise<string> {
  const full = { $schema: 'https://vega.github.io/schema/vega-lite/v6.json', width: 360, height: 240, config: CONFIG, ...spec } as TopLevelSpec;
  const view = new vega.View(vega.parse(compile(full).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** One named series of (x, y) points. */
export interface Series {
  name: string;
  points: Array<[number, number]>;
}

export interface LineOptions {
  title: string;
  x: string;
  y: string;
  /** Draw the y = x diagonal (chance for ROC, perfect calibration for reliability plots). */
  diagonal?: string;
  /** Points as dots too (few points: calibration bins). */
  dots?: boolean;
  /** Axis domains; default [0, 1] both. */
  xDomain?: [number, number];
  yDomain?: [number, number];
  /** Integer ticks on x (k, epochs). */
  xInteger?: boolean;
}

/** Lines of several series on one chart (ROC, precision-recall, recall curves, calibration). */
export function lineChart(series: Series[], o: LineOptions): Record<string, unknown> {
  const values = series.flatMap((s) => s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y)).map(([x, y]) => ({ series: s.name, x, y })));
  const layers: Record<string, unknown>[] = [
    {
      data: { values },
      mark: { type: 'line', point: o.dots ?? false, strokeWidth: 2 },
      encoding: {
        x: { field: 'x', type: 'quantitative', title: o.x, scale: { domain: o.xDomain ?? [0, 1] }, ...(o.xInteger && { axis: { format: 'd', tickMinStep: 1 } }) },
        y: { field: 'y', type: 'quantitative', title: o.y, scale: { domain: o.yDomain ?? [0, 1] } },
        color: { field: 'series', type: 'nominal', title: null, sort: series.map((s) => s.name) },
      },
    },
  ];
  if (o.diagonal) {
    const [lo, hi] = o.xDomain ?? [0, 1];
    layers.push({
      data: { values: [{ x: lo, y: lo }, { x: hi, y: hi }] },
      mark: { type: 'line', strokeDash: [4, 4], color: '#999', strokeWidth: 1 },
      encoding: { x: { field: 'x', type: 'quantitative' }, y: { field: 'y', type: 'quantitative' } },
    });
  }
  return { title: o.title, layer: layers };
}

export interface BarOptions {
  title: string;
  x: string;
  y: string;
  /** Format of the y values drawn on the bars (d3-format), e.g. '.0%'; none when omitted. */
  labels?: string;
  /** A horizontal rule at this y (e.g. lift 1, the four-fifths line). */
  rule?: { y: number; label: string };
  yFormat?: string;
}

/** Bars of one or more series by category (grouped when several): lift by decile, selection rate by group. */
export function barChart(rows: Array<{ category: string; series: string; value: number }>, o: BarOptions): Record<string, unknown> {
  const categories = [...new Set(rows.map((r) => r.category))];
  const several = new Set(rows.map((r) => r.series)).size > 1;
  // Labels are never cut (labelLimit 0); long ones are slanted so that they do not overlap.
  const slant = Math.max(0, ...categories.map((c) => c.length)) > 12;
  const encoding = {
    x: { field: 'category', type: 'nominal', title: o.x, sort: categories, axis: { labelAngle: slant ? -30 : 0, labelLimit: 0 } },
    y: { field: 'value', type: 'quantitative', title: o.y, ...(o.yFormat && { axis: { format: o.yFormat } }) },
    color: { field: 'series', type: 'nominal', title: null, ...(several ? {} : { legend: null }) },
    ...(several && { xOffset: { field: 'series' } }),
  };
  const layers: Record<string, unknown>[] = [{ data: { values: rows }, mark: { type: 'bar' }, encoding }];
  if (o.labels) {
    layers.push({ data: { values: rows }, mark: { type: 'text', dy: -6, fontSize: 10 }, encoding: { ...encoding, color: undefined, text: { field: 'value', type: 'quantitative', format: o.labels } } });
  }
  if (o.rule) {
    layers.push({
      data: { values: [{ y: o.rule.y, label: o.rule.label }] },
      layer: [
        { mark: { type: 'rule', strokeDash: [4, 4], color: '#c00' }, encoding: { y: { field: 'y', type: 'quantitative' } } },
        { mark: { type: 'text', align: 'right', dy: -5, color: '#c00', fontSize: 10, x: 'width' }, encoding: { y: { field: 'y', type: 'quantitative' }, text: { field: 'label' } } },
      ],
    });
  }
  return { title: o.title, layer: layers };
}

/** Horizontal bars, one per label, longest first as given (feature influence). */
export function horizontalBars(rows: Array<{ label: string; value: number }>, o: { title: string; x: string }): Record<string, unknown> {
  return {
    title: o.title,
    width: 300,
    height: Math.max(80, rows.length * 18),
    data: { values: rows },
    mark: { type: 'bar', color: PALETTE[0] },
    encoding: {
      y: { field: 'label', type: 'nominal', title: null, sort: rows.map((r) => r.label), axis: { labelLimit: 0 } },
      x: { field: 'value', type: 'quantitative', title: o.x },
    },
  };
}

/** A 2 x 2 confusion matrix: right cells green, wrong cells red, counts written in. */
export function confusionChart(c: { tp: number; fp: number; fn: number; tn: number }, title: string): Record<string, unknown> {
  const cells = [
    { actual: 'actual 1', predicted: 'predicted 1', n: c.tp, kind: 'right', label: `TP ${c.tp}` },
    { actual: 'actual 1', predicted: 'predicted 0', n: c.fn, kind: 'wrong', label: `FN ${c.fn}` },
    { actual: 'actual 0', predicted: 'predicted 1', n: c.fp, kind: 'wrong', label: `FP ${c.fp}` },
    { actual: 'actual 0', predicted: 'predicted 0', n: c.tn, kind: 'right', label: `TN ${c.tn}` },
  ];
  return {
    title,
    width: 260,
    height: 140,
    data: { values: cells },
    encoding: {
      x: { field: 'predicted', type: 'nominal', title: null, axis: { orient: 'top', labelAngle: 0 } },
      y: { field: 'actual', type: 'nominal', title: null },
    },
    layer: [
      { mark: { type: 'rect', stroke: '#fff', strokeWidth: 2 }, encoding: { color: { field: 'kind', type: 'nominal', title: null, scale: { domain: ['right', 'wrong'], range: ['#cfe8c9', '#f6c9c6'] } } } },
      { mark: { type: 'text', fontSize: 14 }, encoding: { text: { field: 'label' } } },
    ],
  };
}

/**
 * A histogram already binned: counts per [from, to) bin, stacked by class; with `symlog`
 * (a symmetric log scale for counts spanning decades) the classes overlap from zero instead,
 * since a stacked bar's upper part would read as a count on that scale (vega-lite warns).
 */
export function binnedChart(bins: Array<{ from: number; to: number; count: number; series: string }>, o: { title: string; x: string; y: string; symlog?: boolean }): Record<string, unknown> {
  return {
    title: o.title,
    data: { values: bins },
    mark: { type: 'bar', binSpacing: 0, opacity: 0.85 },
    encoding: {
      x: { field: 'from', type: 'quantitative', bin: { binned: true }, title: o.x },
      x2: { field: 'to' },
      y: { field: 'count', type: 'quantitative', title: o.y, stack: o.symlog ? null : 'zero', ...(o.symlog && { scale: { type: 'symlog' } }) },
      color: { field: 'series', type: 'nominal', title: null },
    },
  };
}

/** A heatmap: colour by `value` (diverging around 0), text `label` in each cell. */
export function heatmap(cells: Array<{ row: string; column: string; value: number; label: string }>, o: { title: string; rows: string; columns: string; legend: string }): Record<string, unknown> {
  const columns = [...new Set(cells.map((c) => c.column))];
  const rows = [...new Set(cells.map((c) => c.row))];
  const limit = Math.max(1e-9, ...cells.map((c) => Math.abs(c.value)).filter(Number.isFinite));
  return {
    title: o.title,
    width: Math.max(240, Math.min(900, columns.length * 70)),
    height: Math.max(60, rows.length * 26),
    data: { values: cells },
    encoding: {
      x: { field: 'column', type: 'nominal', title: o.columns, sort: columns, axis: { labelAngle: -35, labelLimit: 0 } },
      y: { field: 'row', type: 'nominal', title: o.rows, sort: rows },
    },
    layer: [
      { mark: 'rect', encoding: { color: { field: 'value', type: 'quantitative', title: o.legend, scale: { scheme: 'redblue', reverse: true, domain: [-limit, limit] } } } },
      { mark: { type: 'text', fontSize: 9 }, encoding: { text: { field: 'label' } } },
    ],
  };
}

/** Points on a plane coloured by group, with optional labelled markers (segment centroids). */
export function scatterChart(points: Array<{ x: number; y: number; group: string }>, markers: Array<{ x: number; y: number; label: string }>, o: { title: string; x: string; y: string }): Record<string, unknown> {
  return {
    title: o.title,
    width: 420,
    height: 320,
    layer: [
      {
        data: { values: points },
        mark: { type: 'circle', size: 14, opacity: 0.6 },
        encoding: {
          x: { field: 'x', type: 'quantitative', title: o.x, scale: { zero: false } },
          y: { field: 'y', type: 'quantitative', title: o.y, scale: { zero: false } },
          color: { field: 'group', type: 'nominal', title: null },
        },
      },
      {
        data: { values: markers },
        layer: [
          { mark: { type: 'point', shape: 'cross', size: 120, color: '#000', strokeWidth: 2 }, encoding: { x: { field: 'x', type: 'quantitative' }, y: { field: 'y', type: 'quantitative' } } },
          { mark: { type: 'text', dx: 9, dy: -9, fontSize: 11, fontWeight: 600 }, encoding: { x: { field: 'x', type: 'quantitative' }, y: { field: 'y', type: 'quantitative' }, text: { field: 'label' } } },
        ],
      },
    ],
  };
}

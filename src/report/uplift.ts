/** The uplift model's training report: as text (printed after training) and as the model report page's sections. */
import type { UpliftReport } from '../models/uplift/train.js';
import { lineChart, renderSvg } from './charts.js';
import { htmlTable, type Section } from './html.js';
import { table } from './text.js';

const signed = (v: number, digits = 4) => (Number.isFinite(v) ? `${v >= 0 ? '+' : ''}${v.toFixed(digits)}` : '-');

/** The report printed after `audience train uplift`. */
/** One row per candidate and baseline: Qini (both scales), AUUC, uplift among the top 10/20/30%. */
function testRows(r: UpliftReport): Array<Record<string, string>> {
  const chosen = r.learner.chosen;
  return Object.entries(r.test).map(([name, e]) => ({
    model: name === chosen ? `${name} (saved)` : name,
    qini: e.qini.toFixed(5),
    'qini norm.': e.qiniNormalized.toFixed(3),
    auuc: e.auuc.toFixed(5),
    'uplift top 10%': signed(e.upliftAt[10]),
    'top 20%': signed(e.upliftAt[20]),
    'top 30%': signed(e.upliftAt[30]),
  }));
}

const LEGEND =
  'qini: area between the Qini curve and the random line (x: share targeted, y: incremental conversions per test row); qini norm.: divided by the best ranking of the observed outcomes (scikit-uplift); auuc: the same area for the uplift curve; top k%: conversion rate of the treated minus the control among the top k% by predicted uplift.';

/** The report printed after `audience train uplift`. */
export function formatUpliftReport(r: UpliftReport): string {
  const rows = testRows(r);
  const valid = Object.entries(r.learner.validQini).map(([k, v]) => `${k} ${v.toFixed(5)}`).join(', ');
  const any = Object.values(r.test)[0];
  return [
    `Campaign rows: ${r.split.train} train, ${r.split.valid} validation, ${r.split.test} test (${r.split.treated.test} treated); treated share ${(100 * r.treatedShare).toFixed(1)}%` +
      (r.skipped.outcome || r.skipped.treatment ? `; left out: ${r.skipped.outcome} without a 0/1 outcome, ${r.skipped.treatment} without a known arm` : ''),
    `Learner: ${r.learner.chosen} (${r.learner.rule}; validation Qini: ${valid}); trained in ${r.seconds.toFixed(1)} s`,
    `On the test rows (uplift over everyone: ${signed(any?.overall ?? NaN)}):`,
    table(rows),
    LEGEND,
  ].join('\n');
}

/** The model report page's sections of an uplift model: the Qini curves of every candidate and baseline on the test rows, and their table. */
export async function upliftSections(r: UpliftReport): Promise<Section[]> {
  const series = Object.entries(r.test).map(([name, e]) => ({ name, points: e.curve.map((p) => [p.share, p.qini] as [number, number]) }));
  const ys = series.flatMap((s) => s.points.map((p) => p[1]));
  const chart = lineChart(series, { title: `Qini curves on ${r.split.test.toLocaleString('en-US')} test rows`, x: 'share targeted, highest predicted uplift first', y: 'incremental conversions per test row', yDomain: [Math.min(0, ...ys), Math.max(...ys)] });
  const valid = Object.entries(r.learner.validQini).map(([k, v]) => `${k} ${v.toFixed(5)}`).join(', ');
  return [
    {
      title: 'Uplift on the test rows',
      intro: `Kept: ${r.learner.chosen} (${r.learner.rule}; validation Qini: ${valid}). ${LEGEND}`,
      charts: [await renderSvg(chart)],
      blocks: [htmlTable(testRows(r))],
    },
  ];
}

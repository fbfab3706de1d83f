/** The uplift kind's sections of the model report page: the Qini curves of every candidate and baseline. */
import { lineChart, renderSvg } from '../../render/charts.js';
import { htmlTable, type Section } from '../../render/html.js';
import { LEGEND, testRows } from './text.js';
import type { UpliftReport } from './evaluate.js';

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

/** The lookalike kind's sections of the model report page: held-out seeds found beside the baselines. */
import { binnedChart, lineChart, renderSvg } from '../../render/charts.js';
import { esc, htmlTable, type Section } from '../../render/html.js';
import { histogramRows, NO_CURVES } from '../report-html.js';
import { fixed, percent } from '../report-text.js';
import type { LookalikeReport } from './evaluate.js';

/** The sections of a lookalike model's report page, from its stored report. */
export async function lookalikeSections(r: LookalikeReport): Promise<Section[]> {
  const charts: string[] = [];
  const curves = r.evaluation.filter((e) => e.curve);
  if (curves.length) charts.push(await renderSvg(lineChart(curves.map((e) => ({ name: e.method, points: e.curve! })), { title: 'Held-out seeds found vs share of the population taken', x: 'share of the population (highest scores first)', y: 'share of held-out seeds found', diagonal: 'random' })));
  const ours = r.evaluation.find((e) => e.chosen) ?? r.evaluation[0];
  if (ours?.histogram) charts.push(await renderSvg(binnedChart(histogramRows(ours.histogram, 'held-out seeds', 'other visitors'), { title: `Similarity: held-out seeds vs the rest (${r.method ?? 'embedding'} score)`, x: 'lookalike score', y: 'visitors' })));
  const rows = r.evaluation.map((e) => ({ method: e.method, AUC: fixed(e.auc, 3), ...Object.fromEntries(r.recallAt.map((s, i) => [`recall@${(100 * s).toFixed(0)}%`, percent(e.recall[i])])) }));
  return [
    {
      title: 'How well it finds held-out seeds',
      intro: esc(`${r.seeds.found} seeds found of ${r.seeds.given} given; ${r.seeds.heldOut} held out for this evaluation; population ${r.population}.`) + (ours?.curve ? '' : ` ${NO_CURVES}`),
      charts,
      blocks: [htmlTable(rows, 'Methods')],
    },
  ];
}

/** The BG/NBD kind's sections of the model report page: the fitted parameters and, with a label, how its value matched what customers spent. */
import { barChart, renderSvg } from '../../render/charts.js';
import { esc, htmlTable, type Section } from '../../render/html.js';
import { fixed } from '../report-text.js';
import type { BgNbdReport } from './train.js';

/**
 * The sections of a BG/NBD model's report page, from its stored report: the BG/NBD and
 * Gamma-Gamma parameters (Fader, Hardie and Lee 2005; Fader and Hardie 2013) and the check
 * against the label (the fit never reads it) with its deciles.
 */
export async function bgnbdSections(r: BgNbdReport): Promise<Section[]> {
  const p = r.params;
  const g = r.spend;
  const sections: Section[] = [
    {
      title: 'Fitted parameters',
      intro: esc(`Maximum likelihood on ${r.customers} customers; values over a horizon of ${r.horizonDays} days.`),
      blocks: [
        htmlTable([
          { model: 'BG/NBD (purchases)', parameters: `r ${p.r.toPrecision(4)}, alpha ${p.alpha.toPrecision(4)}, a ${p.a.toPrecision(4)}, b ${p.b.toPrecision(4)}` },
          { model: 'Gamma-Gamma (spend per purchase)', parameters: `p ${g.p.toPrecision(4)}, q ${g.q.toPrecision(4)}, gamma ${g.gamma.toPrecision(4)}` },
        ]),
      ],
    },
  ];
  if (r.check) {
    const m = r.check.metrics;
    const deciles = m.deciles.flatMap((d) => [
      { category: String(d.decile), series: 'mean predicted', value: d.predicted },
      { category: String(d.decile), series: 'mean actual', value: d.actual },
    ]);
    sections.push({
      title: `Against ${r.check.label}`,
      intro: esc(`The label was never read by the fit. MAE ${fixed(m.mae, 2)}, RMSE ${fixed(m.rmse, 2)}, normalized Gini ${fixed(m.normalizedGini, 4)}, Spearman ${fixed(m.spearman, 4)}.`),
      charts: [await renderSvg(barChart(deciles, { title: 'Value by decile of prediction (1 = highest)', x: 'decile', y: 'value per customer' }))],
      blocks: [htmlTable(m.deciles.map((d) => ({ decile: d.decile, customers: d.rows, 'mean predicted': fixed(d.predicted, 2), 'mean actual': fixed(d.actual, 2) })))],
    });
  }
  return sections;
}

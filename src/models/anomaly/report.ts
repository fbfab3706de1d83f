/** The anomaly kind's sections of the model report page: the outlier score, the niche candidates and profiles. */
import { binnedChart, renderSvg } from '../../render/charts.js';
import { esc, htmlTable, type Section } from '../../render/html.js';
import { NO_CURVES, short } from '../report-html.js';
import { fixed, percent } from '../report-text.js';
import type { AnomalyReport } from './evaluate.js';

/** The sections of an anomaly model's report page, from its stored report. */
export async function anomalySections(r: AnomalyReport): Promise<Section[]> {
  const charts: string[] = [];
  if (r.histogram) {
    const bins = r.histogram.map((h) => ({ from: h.from, to: h.to ?? h.from + (h.from - (r.histogram![r.histogram!.length - 2]?.from ?? 0)), count: h.count, series: h.from >= r.threshold ? 'outliers' : 'within' }));
    charts.push(await renderSvg(binnedChart(bins, { title: `Outlier score (distance in segment spreads); threshold ${r.threshold}`, x: 'score (last bin: and above)', y: 'visitors (symmetric log scale)', symlog: true })));
  }
  const kept = r.candidates.filter((c) => c.kept);
  return [
    {
      title: 'Outliers and niche segments',
      intro: esc(`${r.outliers} outliers (${percent(r.outlierShare, 2)}) over ${r.threshold} spreads from their segment; ${kept.length} niche segment(s) kept of ${r.candidates.length} candidates.`) + (r.histogram ? '' : ` ${NO_CURVES}`),
      charts,
      blocks: [
        htmlTable(r.candidates.map((c) => ({ niche: c.kept ? c.niche : '-', source: c.source, size: c.size, spread: fixed(c.spread, 3), 'nearest segment': c.nearestSegment, 'distance (spreads)': fixed(c.distanceInSpreads, 2), kept: c.kept ? 'yes' : 'no' })), 'Niche candidates'),
        htmlTable(r.profiles.flatMap((p) => p.entries.slice(0, 5).map((e) => ({ niche: p.group, feature: e.feature, value: e.kind === 'numeric' ? short(e.value) : percent(e.value, 0), average: e.kind === 'numeric' ? short(e.population) : percent(e.population, 0) }))), "Niche profiles"),
      ],
    },
  ];
}

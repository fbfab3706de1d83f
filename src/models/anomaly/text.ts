/** The anomaly kind's text report (after training, in `models show`) and its report page's summary. */
import { table } from '../../render/table.js';
import { formatProfiles } from '../profile.js';
import { percent } from '../report-text.js';
import type { AnomalyReport } from './evaluate.js';

/** An anomaly model's report: outliers over the threshold, cluster spreads and the niche segments' profiles. */
export function formatAnomalyReport(r: AnomalyReport): string {
  const out = [
    `Outliers (score > ${r.threshold}: farther than ${r.threshold}x their cluster's typical distance): ${r.outliers} visitors (${(100 * r.outlierShare).toFixed(2)}%)`,
  ];
  if (r.candidates.length === 0) out.push('No small segment, and too few outliers, to look for niche segments.');
  else {
    out.push(
      '',
      'Niche candidates (kept: denser than the median segment and over 2 spreads from every other segment):',
      table(r.candidates.map((c) => ({ niche: c.kept ? c.niche : '-', from: c.source, size: c.size, spread: c.spread.toFixed(2), 'nearest segment': c.nearestSegment, 'distance (spreads)': c.distanceInSpreads.toFixed(1), kept: c.kept ? 'yes' : 'no' }))),
    );
  }
  if (r.profiles.length) out.push('', formatProfiles(r.profiles, 'Niche'));
  return out.join('\n');
}

/** What an anomaly model finds, for the report page's summary. */
export function anomalySummary(r: AnomalyReport): string[] {
  const kept = r.candidates.filter((c) => c.kept).length;
  return [`${r.outliers} visitors (${percent(r.outlierShare, 2)}) score over ${r.threshold} spreads from their segment; ${kept} niche segment(s) kept of ${r.candidates.length} candidates.`];
}

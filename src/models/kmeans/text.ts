/** The K-Means kind's text reports: after training, in `models show` (from the stored metrics), and its report page's summary. */
import { table } from '../../render/table.js';
import { fmtCount } from '../../util/progress.js';
import { formatProfiles, type GroupProfile } from '../profile.js';
import type { Manifest } from '../registry.js';
import { fixed, percent } from '../report-text.js';
import type { SegmentMap } from './map.js';
import { K_RULE } from './params.js';
import type { KMeansReport } from './train.js';

/** A k sweep's rows as a table, the chosen k marked when given. */
function sweepTable(sweep: Array<{ k: number; inertia: number; silhouette: number }>, chosen?: number): string {
  return table(sweep.map((r) => ({ k: r.k, inertia: r.inertia.toPrecision(6), silhouette: r.silhouette.toFixed(4), ...(chosen !== undefined && { chosen: r.k === chosen ? '<-' : '' }) })));
}

/** What `audience train kmeans` prints: the sweep (if any), the saved version's fit, the segment profiles. */
export function trainedKMeansText(report: KMeansReport, saved: string): string {
  const { fit, sweep, profiles } = report;
  const out: string[] = [];
  if (sweep) out.push(sweepTable(sweep, fit.k), `k=${fit.k} chosen by the rule: ${K_RULE}`, '');
  out.push(
    `${saved}: k=${fit.k}, ${fmtCount(fit.rows)} rows, inertia ${fit.inertia.toPrecision(6)}, silhouette ${fit.silhouette.toFixed(3)} (sampled), ` +
      `${fit.mode} ${fit.iterations} iterations${fit.converged ? '' : ' (not converged)'}`,
    '',
    formatProfiles(profiles),
  );
  return out.join('\n');
}

/** The 2-D map in one line (its points are drawn in the report page, not printed). */
export function mapText(map: SegmentMap, name: string): string {
  const [a, b] = map.explained.map((e) => `${(100 * e).toFixed(0)}%`);
  return `${fmtCount(map.points.length)} visitors on the first two principal components (${a} and ${b} of the variance): drawn in the report (audience report ${name} --out FILE.html)`;
}

/** What `audience models show` prints of a K-Means version: its scalar metrics, sizes, the map in a line, the sweep and profiles. */
export function shownKMeansText(m: Manifest): string {
  const { profiles, inits, sizes, sweep, map, ...metrics } = m.metrics as Record<string, unknown>;
  void inits;
  const lines = [`metrics   ${Object.entries(metrics).filter(([, v]) => v !== undefined).map(([k, v]) => `${k}=${typeof v === 'number' ? v.toPrecision(5) : JSON.stringify(v)}`).join('  ')}`];
  if (Array.isArray(sizes)) lines.push(`sizes     ${sizes.join(', ')}`);
  if (map) lines.push(`map       ${mapText(map as SegmentMap, m.name)}`);
  if (Array.isArray(sweep)) lines.push('', sweepTable(sweep));
  if (Array.isArray(profiles)) lines.push('', formatProfiles(profiles as GroupProfile[]));
  return lines.join('\n');
}

/** What a K-Means model finds, for the report page's summary. */
export function kmeansSummary(metrics: Record<string, unknown>): string[] {
  const sizes = (metrics.sizes as number[] | undefined) ?? [];
  const total = sizes.reduce((a, b) => a + b, 0) || 1;
  const shares = sizes.map((n) => n / total);
  return [
    `${sizes.length} segments, from ${percent(Math.min(...shares), 0)} to ${percent(Math.max(...shares), 0)} of visitors; sampled silhouette ${fixed(metrics.silhouette as number, 3)} (1: well apart, 0: touching).`,
  ];
}

/** Human-readable output for the CLI: tables and segment profiles. */
import { describeEntry, type GroupProfile } from '../models/profile.js';
import { fmtCount } from '../util/progress.js';

export function table(rows: Array<Record<string, string | number>>): string {
  if (rows.length === 0) return '(none)';
  const keys = Object.keys(rows[0]);
  const cells = rows.map((r) => keys.map((k) => String(r[k] ?? '')));
  const widths = keys.map((k, i) => Math.max(k.length, ...cells.map((c) => c[i].length)));
  const line = (vals: string[]) => vals.map((v, i) => (i === 0 ? v.padEnd(widths[i]) : v.padStart(widths[i]))).join('  ');
  return [line(keys), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n');
}

export function formatProfiles(profiles: GroupProfile[], label = 'Segment', top = 5): string {
  const out: string[] = [];
  for (const p of profiles) {
    out.push(`${label} ${p.group}: ${fmtCount(p.size)} visitors (${(p.share * 100).toFixed(1)}%)`);
    const distinct = p.entries.filter((e) => Math.abs(e.score) >= 0.1).slice(0, top);
    if (distinct.length === 0) out.push('  close to the average on every feature');
    for (const e of distinct) out.push(`  ${e.score > 0 ? '+' : '-'} ${describeEntry(e)}`);
  }
  return out.join('\n');
}

/** Human-readable text reports of audiences (printed by `audience score`); each kind's training report is in its folder (models/<kind>/text.ts). */
import { SMALL_GROUP, type SelectionByGroup } from '../metrics/fairness.js';
import { matchText } from '../io/ids.js';
import type { AudiencesResult } from '../audiences/build.js';
import { describeEntry } from '../models/profile.js';
import { table } from '../render/table.js';
import { fmtCount } from '../util/progress.js';

/** Why members were removed, in words. */
const REMOVED: Record<keyof AudiencesResult['summaries'][number]['removed'], string> = {
  suppressedIds: 'on the suppression id list',
  suppressedRule: 'by the suppression rule',
  suppressedAudiences: 'in a suppressed audience',
  capped: 'over the size cap',
  duplicateIds: 'repeated ids (kept once)',
};

/**
 * The four-fifths verdict on an audience's members by group, saying when a disparity follows
 * from the audience's own rules (they select on the attribute).
 */
export function fourFifthsText(f: SelectionByGroup): string {
  const verdict = `four-fifths rule ${f.fourFifthsRule}`;
  if (!f.byRule) return verdict;
  return f.fourFifthsRule === 'met' ? `${verdict}; its rules read ${f.attribute}` : `${verdict}, by design: its rules select on ${f.attribute} itself`;
}

/** Audience summaries in words: sizes, removals, suppression-list matches, means, segment mix, activation counts, overlaps. */
export function formatAudiences(r: Pick<AudiencesResult, 'summaries' | 'overlap'>): string {
  const out: string[] = [];
  for (const a of r.summaries) {
    out.push(`Audience ${a.name}: ${fmtCount(a.members)} members${a.holdout ? ` + ${fmtCount(a.holdout)} holdout` : ''} (${(100 * a.share).toFixed(1)}% of visitors)  rule: ${a.rule}`);
    const removed = Object.entries(a.removed).filter(([, n]) => n > 0);
    if (removed.length) out.push(`  removed: ${removed.map(([k, n]) => `${fmtCount(n)} ${REMOVED[k as keyof typeof REMOVED]}`).join(', ')}`);
    for (const [col, mean] of Object.entries(a.means)) out.push(`  mean ${col}: ${mean.toFixed(3)}`);
    for (const [col, mix] of Object.entries(a.segmentMix)) {
      out.push(`  ${col} mix: ${Object.entries(mix).slice(0, 6).map(([seg, share]) => `${seg}: ${(100 * share).toFixed(0)}%`).join(', ')}`);
    }
    if (a.suppressList) out.push(`  suppression list ${a.suppressList.file}: ${matchText(a.suppressList.matched, a.suppressList.ids)} are scored visitors`);
    const act = a.activation;
    const dropped = [act.invalidEmails && `${act.invalidEmails} invalid emails`, act.invalidPhones && `${act.invalidPhones} invalid phones`].filter(Boolean);
    if (act.rows || dropped.length) {
      const files = Object.keys(a.files).filter((f) => f.startsWith('activation-')).map((f) => f.slice('activation-'.length));
      out.push(`  activation export (${files.join(', ') || 'none'}): ${act.rows} rows (${act.emails} hashed emails, ${act.phones} hashed phones)${dropped.length ? `; dropped ${dropped.join(', ')}` : ''}`);
    }
    const distinct = (a.profile ?? []).filter((e) => Math.abs(e.score) >= 0.1).slice(0, 4);
    if (distinct.length) out.push(`  profile: ${distinct.map(describeEntry).join('; ')}`);
    for (const f of a.fairness ?? []) {
      out.push(
        `  members by ${f.attribute} (${fourFifthsText(f)}): ` +
          f.groups.slice(0, 8).map((g) => `${g.group} ${(100 * g.selectionRate).toFixed(1)}% of ${g.count}${g.flagged ? ` (ratio ${g.disparateImpact.toFixed(2)} < 0.8)` : ''}${g.count < SMALL_GROUP ? ' (small sample)' : ''}`).join(', '),
      );
    }
  }
  if (r.overlap.length) {
    out.push('', 'Overlap (visitors in both):', table(r.overlap.map((o) => ({ audience: o.a, with: o.b, both: o.both }))));
  }
  return out.join('\n');
}


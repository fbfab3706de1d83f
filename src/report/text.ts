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
  if (f.fourFifthsRule === 'not applicable') return 'four-fifths rule not applicable: no members in any group';
  const verdict = `four-fifths rule ${f.fourFifthsRule}`;
  if (!f.byRule) return verdict;
  return f.fourFifthsRule === 'met' ? `${verdict}; its rules read ${f.attribute}` : `${verdict}, by design: its rules select on ${f.attribute} itself`;
}

/** Groups shown on one line: the flagged ones (all of them) and the highest group, then the largest others, up to SHOWN_GROUPS; the rest counted. */
const SHOWN_GROUPS = 8;

/** An audience's members by group in words: each group's selection rate and count, flagged ratios to 3 places (0.7985 is not 0.80). */
function groupsText(f: SelectionByGroup): string {
  if (f.fourFifthsRule === 'not applicable') return f.groups.map((g) => `${g.group} 0 of ${g.count}`).slice(0, SHOWN_GROUPS).join(', ');
  const top = f.groups.find((g) => g.disparateImpact === 1);
  const first = f.groups.filter((g) => g.flagged || g === top);
  const shown = [...first, ...f.groups.filter((g) => !first.includes(g)).slice(0, Math.max(0, SHOWN_GROUPS - first.length))];
  const text = shown.map((g) => `${g.group} ${(100 * g.selectionRate).toFixed(1)}% of ${g.count}${g.flagged ? ` (ratio ${g.disparateImpact.toFixed(3)} < 0.8)` : g === top ? ' (highest)' : ''}${g.count < SMALL_GROUP ? ' (small sample)' : ''}`);
  const rest = f.groups.length - shown.length;
  return `${text.join(', ')}${rest > 0 ? `, and ${rest} more group${rest === 1 ? '' : 's'}, none under 0.8 (audiences/summary.json has them all)` : ''}`;
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
    for (const f of a.fairness ?? []) out.push(`  members by ${f.attribute} (${fourFifthsText(f)}): ${groupsText(f)}`);
  }
  if (r.overlap.length) {
    out.push('', 'Overlap (visitors in both):', table(r.overlap.map((o) => ({ audience: o.a, with: o.b, both: o.both }))));
  }
  return out.join('\n');
}


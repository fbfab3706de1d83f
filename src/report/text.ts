/** Human-readable text reports: tables, segment profiles, each kind's training report (printed by the CLI, stored in train jobs' logs). */
import { SMALL_GROUP, smallGroupsText, type FairnessReport, type SelectionByGroup } from '../metrics/fairness.js';
import type { BgNbdReport } from '../models/btyd/train.js';
import type { CltvReport, ValueMetrics } from '../models/cltv/train.js';
import { matchText } from '../io/ids.js';
import type { AudiencesResult } from '../audiences/build.js';
import type { AnomalyReport } from '../models/anomaly/train.js';
import type { LookalikeReport } from '../models/lookalike/train.js';
import { describeEntry, type GroupProfile } from '../models/profile.js';
import type { PropensityReport } from '../models/propensity/train.js';
import { fmtCount } from '../util/progress.js';

/** Rows as a plain-text table: a header, a rule, left-aligned text and right-aligned numbers. */
export function table(rows: Array<Record<string, string | number>>): string {
  if (rows.length === 0) return '(none)';
  const keys = Object.keys(rows[0]);
  const cells = rows.map((r) => keys.map((k) => String(r[k] ?? '')));
  const widths = keys.map((k, i) => Math.max(k.length, ...cells.map((c) => c[i].length)));
  const line = (vals: string[]) => vals.map((v, i) => (i === 0 ? v.padEnd(widths[i]) : v.padStart(widths[i]))).join('  ');
  return [line(keys), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n');
}

/** Segment profiles in words: each segment's size and the features that set it apart, in the data's own units. */
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

/** The propensity evaluation report, as `train propensity` and `models show` print it. */
export function formatPropensityReport(r: PropensityReport): string {
  const m = r.test.mlp;
  const b = r.test.baseline;
  const f = (v: number, d = 4) => v.toFixed(d);
  const rows = [
    { metric: 'ROC-AUC', MLP: f(m.rocAuc), 'logistic baseline': f(b.rocAuc) },
    { metric: 'PR-AUC (avg precision)', MLP: f(m.prAuc), 'logistic baseline': f(b.prAuc) },
    { metric: 'log loss', MLP: f(m.logLoss), 'logistic baseline': f(b.logLoss) },
    { metric: 'Brier (calibrated)', MLP: f(m.brier), 'logistic baseline': f(b.brier) },
    { metric: 'Brier (uncalibrated)', MLP: f(m.brierUncalibrated), 'logistic baseline': f(b.brierUncalibrated) },
    { metric: 'F1 at threshold', MLP: f(m.atThreshold.f1), 'logistic baseline': f(b.atThreshold.f1) },
    { metric: 'precision / recall', MLP: `${f(m.atThreshold.precision, 3)} / ${f(m.atThreshold.recall, 3)}`, 'logistic baseline': `${f(b.atThreshold.precision, 3)} / ${f(b.atThreshold.recall, 3)}` },
  ];
  const c = m.atThreshold;
  const out = [
    `Data: ${fmtCount(r.checks.rows)} labeled rows, ${r.checks.positives} positive (${((100 * r.checks.positives) / r.checks.rows).toFixed(1)}%)` +
      (r.checks.unlabeled ? `, ${r.checks.unlabeled} without a usable label left out` : ''),
    `Split (stratified): train ${r.split.train}, validation ${r.split.valid}, test ${r.split.test}; all metrics below are on the test split.`,
    '',
    table(rows),
    '',
    `Threshold ${c.threshold.toFixed(4)} (${r.threshold.rule}): flags ${(100 * c.rate).toFixed(1)}% of visitors; confusion on test: TP ${c.tp}  FP ${c.fp}  FN ${c.fn}  TN ${c.tn}`,
    `Lift by decile: ${m.lift.map((d) => `${d.decile}:${d.lift.toFixed(1)}x`).join(' ')}; top 20% capture ${(100 * (m.lift[1]?.cumulativeGain ?? 0)).toFixed(0)}% of conversions`,
    `Calibration (predicted -> observed): ${m.calibration.map((cb) => `${cb.meanPredicted.toFixed(2)}->${cb.observedRate.toFixed(2)} (${cb.rows})`).join('  ')}`,
    `Feature influence (test AUC lost when shuffled): ${r.importance.slice(0, 8).map((i) => `${i.feature} ${i.aucDrop.toFixed(3)}`).join(', ')}`,
    `Single-feature AUC (leakage check): ${r.checks.singleFeatureAuc.slice(0, 5).map((s) => `${s.feature} ${s.auc.toFixed(3)}`).join(', ')}`,
    `Training: ${r.history.length} epochs (best ${r.bestEpoch} restored), ${fmtCount(r.training.samplesPerSecond)} samples/s, ${r.training.seconds.toFixed(1)}s` +
      (r.training.refit ? `; then refitted on training + validation (${fmtCount(r.training.refit.rows)} rows, ${r.training.refit.epochs} epochs): the model saved and tested` : ''),
    ...formatFairness(r.fairness, 'positives'),
  ];
  return out.join('\n');
}

/** Fairness tables by sensitive column (see metrics/fairness.ts); `positives` names what TPR counts. */
export function formatFairness(reports: FairnessReport[] | undefined, positives: string): string[] {
  return (reports ?? []).flatMap((f) => [
    '',
    `Fairness by ${f.attribute} (test rows, selected at score >= ${f.threshold.toPrecision(4)}; TPR/FPR of ${positives}): four-fifths rule ${f.fourFifthsRule} (lowest ratio ${fixed(f.disparateImpact, 3)})`,
    table(
      f.groups.map((g) => ({
        group: g.group,
        count: g.count,
        'mean score': fixed(g.meanScore, 4),
        'observed rate': fixed(g.positiveRate, 4),
        selected: fixed(g.selectionRate, 4),
        TPR: fixed(g.tpr, 3),
        FPR: fixed(g.fpr, 3),
        'disparate impact': `${fixed(g.disparateImpact, 3)}${g.flagged ? ' < 0.8' : ''}${g.count < SMALL_GROUP ? ' (small sample)' : ''}`,
      })),
    ),
    ...[smallGroupsText(f.groups)].filter(Boolean),
  ]);
}

/** A number to `digits` decimals, or "-" where there is none (a metric stored as null: NaN in JSON). */
function fixed(v: number | null | undefined, digits: number): string {
  return typeof v === 'number' && Number.isFinite(v) ? v.toFixed(digits) : '-';
}

/** The CLTV report, as `train cltv` and `models show` print it: test metrics beside the two baselines, and the decile chart. */
export function formatCltvReport(r: CltvReport): string {
  const methods: Array<[string, ValueMetrics | string]> = [
    ['ZILN (this model)', r.test.model],
    [`last window${r.horizonDays ? ` (${r.horizonDays} days)` : ''}`, r.test.lastWindow],
    ['BG/NBD + Gamma-Gamma', r.test.bgNbd],
  ];
  const rows = methods.map(([method, m]) =>
    typeof m === 'string'
      ? { method, MAE: '-', RMSE: '-', 'normalized Gini': '-', Spearman: '-', note: m }
      : { method, MAE: fixed(m.mae, 2), RMSE: fixed(m.rmse, 2), 'normalized Gini': fixed(m.normalizedGini, 4), Spearman: fixed(m.spearman, 4), note: '' },
  );
  const deciles = r.test.model.deciles.map((d) => ({ decile: d.decile, customers: d.rows, 'mean predicted': fixed(d.predicted, 2), 'mean actual': fixed(d.actual, 2) }));
  return [
    `Split (stratified on buying): train ${r.split.train}, validation ${r.split.valid}, test ${r.split.test}; buyers in test ${r.split.buyers.test}. Horizon: ${r.horizonDays ?? 'unknown'} days. Metrics on the test split.`,
    '',
    table(rows),
    '',
    'Deciles of predicted value (1 = highest), ZILN:',
    table(deciles),
    ...(r.bgNbd ? ['', `BG/NBD r=${r.bgNbd.params.r.toPrecision(3)} alpha=${r.bgNbd.params.alpha.toPrecision(3)} a=${r.bgNbd.params.a.toPrecision(3)} b=${r.bgNbd.params.b.toPrecision(3)}; Gamma-Gamma p=${r.bgNbd.spend.p.toPrecision(3)} q=${r.bgNbd.spend.q.toPrecision(3)} gamma=${r.bgNbd.spend.gamma.toPrecision(3)} (fitted on ${r.bgNbd.customers} training customers)`] : []),
    ...(r.singleFeatureAuc?.length ? [`Single-feature AUC for who buys (leakage check): ${r.singleFeatureAuc.slice(0, 5).map((f) => `${f.feature} ${f.auc.toFixed(3)}`).join(', ')}`] : []),
    `Training: ${r.history.length} epochs (best ${r.bestEpoch} restored), ${fmtCount(r.training.samplesPerSecond)} samples/s, ${r.training.seconds.toFixed(1)}s`,
    ...formatFairness(r.fairness, 'the top 10% by actual value'),
  ].join('\n');
}

/** The BG/NBD model's report: its parameters and, with the label, how its value matched what customers spent. */
export function formatBgNbdReport(r: BgNbdReport): string {
  const p = r.params;
  const g = r.spend;
  const out = [
    `BG/NBD r=${p.r.toPrecision(4)} alpha=${p.alpha.toPrecision(4)} a=${p.a.toPrecision(4)} b=${p.b.toPrecision(4)}; Gamma-Gamma p=${g.p.toPrecision(4)} q=${g.q.toPrecision(4)} gamma=${g.gamma.toPrecision(4)} (maximum likelihood on ${r.customers} customers); horizon ${r.horizonDays} days.`,
  ];
  if (r.check) {
    const m = r.check.metrics;
    out.push(
      `Against ${r.check.label} (never read by the fit): MAE ${fixed(m.mae, 2)}, RMSE ${fixed(m.rmse, 2)}, normalized Gini ${fixed(m.normalizedGini, 4)}, Spearman ${fixed(m.spearman, 4)}`,
      table(m.deciles.map((d) => ({ decile: d.decile, customers: d.rows, 'mean predicted': fixed(d.predicted, 2), 'mean actual': fixed(d.actual, 2) }))),
    );
  }
  return out.join('\n');
}

/** A lookalike model's report: seeds found, held-out recall at each share beside the baselines, and the verdict. */
export function formatLookalikeReport(r: LookalikeReport): string {
  const out = [
    `Seeds: ${r.seeds.found} of ${r.seeds.given} found among ${fmtCount(r.population)} visitors` +
      (r.seeds.missing ? `; ${r.seeds.missing} not in the population (e.g. ${r.seeds.missingExamples.slice(0, 5).join(', ')})` : ''),
    `Evaluation: ${r.seeds.heldOut} seeds held out, expansion from the other ${r.seeds.train}; recall = share of held-out seeds in the top X% of non-seed visitors.`,
    ...(r.seeds.indexed !== undefined && r.seeds.indexed < r.seeds.found
      ? [`The k-nearest index holds a uniform sample of ${r.seeds.indexed} seeds (of ${r.seeds.found}); every seed trains the embedding and is flagged.`]
      : []),
    '',
    table(
      r.evaluation.map((e) => ({
        method: e.method,
        AUC: e.auc.toFixed(4),
        ...Object.fromEntries(r.recallAt.map((p, i) => [`recall@${Math.round(p * 100)}%`, e.recall[i].toFixed(3)])),
      })),
    ),
  ];
  // The model's own score (the chosen method; the first row in models saved before the choice) against the baselines.
  const ours = r.evaluation.find((e) => e.chosen) ?? r.evaluation[0];
  const baselines = r.evaluation.filter((e) => !e.own && e !== ours);
  const metrics = [{ name: 'AUC', of: (e: typeof ours) => e.auc }, ...r.recallAt.map((p, i) => ({ name: `recall@${Math.round(p * 100)}%`, of: (e: typeof ours) => e.recall[i] }))];
  const wins = metrics.filter((m) => baselines.every((b) => m.of(ours) >= m.of(b))).map((m) => m.name);
  const losses = metrics.filter((m) => !wins.includes(m.name)).map((m) => m.name);
  const what = r.method ? `The model's score (${r.method}, chosen by held-out recall@10%)` : 'The embedding';
  out.push(
    '',
    losses.length === 0
      ? `${what} beats both baselines on every measure.`
      : wins.length === 0
        ? `${what} does NOT beat the baselines on any measure here.`
        : `${what} beats both baselines on ${wins.join(', ')}; it does NOT on ${losses.join(', ')}.`,
  );
  return out.join('\n');
}

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

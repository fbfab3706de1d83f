/** The lookalike kind's text report (after training, in `models show`) and its report page's summary. */
import { table } from '../../render/table.js';
import { fmtCount } from '../../util/progress.js';
import { fixed, percent } from '../report-text.js';
import type { LookalikeReport } from './evaluate.js';

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

/** What a lookalike model achieves, for the report page's summary. */
export function lookalikeSummary(r: LookalikeReport): string[] {
  const at = r.recallAt.findIndex((s) => Math.abs(s - 0.1) < 1e-9);
  const ours = r.evaluation.find((e) => e.chosen) ?? r.evaluation[0];
  if (!ours || at < 0) return [];
  const baselines = r.evaluation.filter((e) => !e.own);
  const best = baselines.reduce<(typeof baselines)[number] | undefined>((b, e) => (!b || e.recall[at] > b.recall[at] ? e : b), undefined);
  return [
    `Finds ${percent(ours.recall[at], 0)} of held-out seeds in the top 10% of the population (AUC ${fixed(ours.auc, 3)})${best ? `, against ${percent(best.recall[at], 0)} for the best baseline (${best.method.replace(/^baseline: /, '')})` : ''}.`,
  ];
}

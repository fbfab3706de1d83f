/** The uplift estimator's evaluate step: every candidate and the S-learner baseline on the untouched test rows, and the report. */
import { type UpliftEvaluation } from '../../metrics/uplift.js';
import { silentProgress } from '../../util/progress.js';
import { type Learner } from './model.js';
import { resolve, type TrainUpliftOptions } from './options.js';
import type { PreparedUplift } from './prepare.js';
import { evaluateOn, evaluateArm } from './measures.js';
import { upliftOn, armsOn, type FittedUplift } from './fit.js';
import { sLearner } from './baselines.js';

/** The uplift report: the rows used and skipped, the learner chosen, every candidate's and the baseline's test evaluation, per arm with several. */
export interface UpliftReport {
  split: { train: number; valid: number; test: number; treated: { train: number; test: number } };
  /** With several treatment arms: their values; `test` then holds each candidate and baseline per arm ("<name>, arm <value>"), validQini their mean over the arms. */
  arms?: string[];
  skipped: PreparedUplift['skipped'];
  treatedShare: number;
  learner: { chosen: string; learner: Learner; rule: string; validQini: Record<string, number> };
  /** On the test rows: each learner and baseline. */
  test: Record<string, UpliftEvaluation>;
  seconds: number;
}

/** Every learner and baseline on the untouched test rows; the learners not chosen are released. */
export async function evaluateUplift(p: PreparedUplift, f: FittedUplift, opts: TrainUpliftOptions): Promise<UpliftReport> {
  const o = resolve(opts);
  const { split, rows } = p;
  const test: Record<string, UpliftEvaluation> = {};
  const arms = p.arms;
  for (const [name, c] of Object.entries(f.candidates)) {
    if (!arms) test[name] = evaluateOn(await upliftOn(c.learner, c.networks, rows, split.test, f.treatedShare), p, split.test);
    else (await armsOn(c.networks, rows, split.test, arms.length)).perArm.forEach((u, k) => (test[`${name}, arm ${arms[k]}`] = evaluateArm(u, p, split.test, k + 1)));
  }
  const s = await sLearner(p, o, opts.progress ?? (() => silentProgress));
  if (!arms) test['s-learner logistic'] = evaluateOn(s[0], p, split.test);
  else s.forEach((u, k) => (test[`s-learner logistic, arm ${arms[k]}`] = evaluateArm(u, p, split.test, k + 1)));
  const validQini = Object.fromEntries(Object.entries(f.candidates).map(([k, c]) => [k, c.validQini]));
  const kept = new Set(Object.values(f.networks));
  for (const c of Object.values(f.candidates)) for (const m of Object.values(c.networks)) if (!kept.has(m)) m.dispose();
  f.candidates = { [f.chosen]: f.candidates[f.chosen] };
  return {
    split: { train: split.train.length, valid: split.valid.length, test: split.test.length, treated: { train: split.train.filter((r) => rows.t[r] > 0).length, test: split.test.filter((r) => rows.t[r] > 0).length } },
    ...(arms && { arms }),
    skipped: p.skipped,
    treatedShare: f.treatedShare,
    learner: {
      chosen: f.chosen,
      learner: f.learner,
      rule:
        o.learner !== 'auto' ? `--learner ${o.learner}` : arms ? "the highest mean over the arms of each arm's Qini coefficient on the validation rows, between the MLP and the logistic T-learners" : 'the highest Qini coefficient on the validation rows, among the MLP learners and the logistic T-learner',
      validQini,
    },
    test,
    seconds: f.seconds,
  };
}

/** The uplift report's baseline: an S-learner logistic regression (the treatment, or one 0/1 input per arm, as an input), fitted on the same training rows. */
import type { StageProgress } from '../../util/progress.js';
import { fitMlp, predictLogits } from '../nn/fit.js';
import type { MlpConfig } from '../nn/mlp.js';
import type { Resolved } from './options.js';
import type { PreparedUplift } from './prepare.js';
import { loopOf } from './fit.js';

/**
 * The S-learner baseline's uplift of each arm on the test rows: one logistic regression on the
 * features and the arm as one more input (one 0/1 input per arm with several), the arm's
 * prediction less the control's (the T-learner logistic is a candidate of fitUplift).
 */
export async function sLearner(p: PreparedUplift, o: Resolved, progress: StageProgress): Promise<Float32Array[]> {
  const { rows, split } = p;
  const arms = p.arms?.length ?? 1;
  const lr = (d: number, salt: number): MlpConfig => ({ inputs: d, hidden: [], dropout: 0, l2: o.l2, learningRate: 1e-2, seed: o.seed + salt });
  const d = rows.d + arms;
  const xs = new Float32Array(rows.y.length * d);
  for (let i = 0; i < rows.y.length; i++) {
    xs.set(rows.x.subarray(i * rows.d, (i + 1) * rows.d), i * d);
    if (rows.t[i]) xs[i * d + rows.d + rows.t[i] - 1] = 1;
  }
  const s = { x: xs, y: rows.y, d };
  const line = progress('baseline', 'samples');
  const sNet = await fitMlp(s, split.train, split.valid, lr(d, 30), { ...loopOf(o, split.train.length, line), ema: 0, classWeight: 'none', trainer: o.trainer });
  // The test rows' features with the arm inputs set to arm k (0: the control).
  const withArm = (k: number) => {
    const x = Float32Array.from(xs);
    for (const r of split.test) for (let j = 0; j < arms; j++) x[r * d + rows.d + j] = j + 1 === k ? 1 : 0;
    return predictLogits(sNet.mlp, { x, d }, split.test);
  };
  const sig = (z: number) => 1 / (1 + Math.exp(-z));
  const s0 = await withArm(0);
  const out: Float32Array[] = [];
  for (let k = 1; k <= arms; k++) out.push(Float32Array.from(await withArm(k), (z, i) => sig(z) - sig(s0[i])));
  sNet.mlp.dispose();
  line.done('S-learner logistic regression');
  return out;
}

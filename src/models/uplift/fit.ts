/**
 * The uplift estimator's fit step: the T-, X- and DR-learners on the product's MLP code and a
 * T-learner of logistic regressions (one arm), or a T-learner per arm against one control
 * model (several arms); with --learner auto the candidate with the best validation Qini.
 */
import { tf } from '../../compute/backend.js';
import { UserError } from '../../util/errors.js';
import { silentProgress, type Progress, type StageProgress } from '../../util/progress.js';
import { fitMlp, gatherRows, predictLogits, tfjsStepper, trainEpochs, type Labeled } from '../nn/fit.js';
import { Mlp, type MlpConfig } from '../nn/mlp.js';
import { optionName } from '../params.js';
import { armUplifts, combineUplift, LEARNERS, type Learner } from './model.js';
import { resolve, type TrainUpliftOptions, type Resolved } from './options.js';
import { inArm, type PreparedUplift } from './prepare.js';
import { evaluateOn, evaluateArm } from './measures.js';

type Networks = Record<string, Mlp>;

/** A fitted candidate: its learner, networks and Qini coefficient on the validation rows. */
interface Candidate {
  learner: Learner;
  networks: Networks;
  validQini: number;
}

/** What fit gives evaluate and save: the learner kept, its networks, the treated share, the candidates' validation Qini and the params as saved. */
export interface FittedUplift {
  /** The candidate kept (its key in `candidates`), and its learner and networks. */
  chosen: string;
  learner: Learner;
  networks: Networks;
  /** Every candidate fitted, by name: the MLP learners and the T-learner of logistic regressions. */
  candidates: Record<string, Candidate>;
  treatedShare: number;
  params: Record<string, unknown>;
  seconds: number;
  dispose(): void;
}

/** The network settings of the learners. */
function netConfig(o: Resolved, d: number, salt: number): MlpConfig {
  return { inputs: d, hidden: o.hidden, dropout: o.dropout, l2: o.l2, learningRate: o.learningRate, seed: o.seed + salt };
}

/** Epochs, batch and stopping of one network's training on `rows` rows. */
export function loopOf(o: Resolved, rows: number, progress: Progress) {
  return { batchSize: o.batchSize ?? Math.min(4096, Math.max(256, Math.round(rows / 50))), maxEpochs: o.maxEpochs, patience: o.patience, ema: o.ema, progress };
}

/** An MLP regression of `target` (one value per row of x) on squared error, early stopping on the `valid` rows. */
async function fitRegression(x: Pick<Labeled, 'x' | 'd'>, target: Float32Array, trainRows: Int32Array, valid: Int32Array, config: MlpConfig, loop: ReturnType<typeof loopOf>): Promise<Mlp> {
  const mlp = Mlp.init({ ...config, outputs: 1 });
  const mse = async () => {
    const z = await predictLogits(mlp, x, valid);
    return z.reduce((s, v, i) => s + (v - target[valid[i]]) ** 2, 0) / Math.max(1, valid.length);
  };
  const stepper = tfjsStepper(mlp, Boolean(loop.ema), (rows, optimizer, n) => {
    const xb = gatherRows(x, rows);
    const yb = tf.tensor2d(Float32Array.from(rows, (r) => target[r]), [rows.length, 1]);
    const loss = mlp.lossStep(xb, (out) => tf.mean(tf.square(tf.sub(out, yb))) as tf.Scalar, n, optimizer);
    tf.dispose([xb, yb]);
    return loss;
  });
  await trainEpochs(trainRows, { ...loop, seed: config.seed ^ 0x7e9 }, stepper, mse);
  return mlp;
}

/** Each network's raw output on `rows`, then the learner's uplift. */
export async function upliftOn(learner: Learner, networks: Networks, data: Pick<Labeled, 'x' | 'd'>, rows: Int32Array, e: number): Promise<Float32Array> {
  const out: Record<string, Float32Array> = {};
  for (const [role, mlp] of Object.entries(networks)) out[role] = await predictLogits(mlp, data, rows);
  return combineUplift(learner, out, e);
}

/** An outcome classifier of one arm's training rows, early stopping on its validation rows; `linear`: logistic regression (no hidden layer, no dropout or weight average). */
async function classifier(p: PreparedUplift, o: Resolved, progress: StageProgress, arm: number, role: string, linear = false): Promise<Mlp> {
  const { rows, split } = p;
  const trainRows = inArm(split.train, rows.t, arm);
  const line = progress(role, 'samples');
  const config = linear ? { ...netConfig(o, rows.d, 31 + arm), hidden: [], dropout: 0, learningRate: 1e-2 } : netConfig(o, rows.d, arm);
  const net = await fitMlp(rows, trainRows, inArm(split.valid, rows.t, arm), config, { ...loopOf(o, trainRows.length, line), ...(linear && { ema: 0 }), classWeight: 'none', trainer: o.trainer });
  line.done(`best epoch ${net.bestEpoch}`);
  return net.mlp;
}

/**
 * Fits the T-learner's classifiers, then (for auto, x or dr) the X- and DR-learners'
 * regressions on their imputed targets, and keeps the learner `--learner` names or, for auto,
 * the best Qini coefficient on the validation rows.
 */
export async function fitUplift(p: PreparedUplift, opts: TrainUpliftOptions): Promise<FittedUplift> {
  const o = resolve(opts);
  const progress = opts.progress ?? (() => silentProgress);
  const started = performance.now();
  const { rows, split } = p;
  if (p.arms) return fitArms(p, opts);
  const e = inArm(split.train, rows.t, 1).length / split.train.length;
  const classify = (arm: number, role: string, linear = false) => classifier(p, o, progress, arm, role, linear);
  const candidates: FittedUplift['candidates'] = {};
  const t = { mu1: await classify(1, 'mu1'), mu0: await classify(0, 'mu0') };
  const wanted = o.learner === 'auto' ? LEARNERS : [o.learner];
  const candidate = async (learner: Learner, networks: Networks): Promise<Candidate> => ({ learner, networks, validQini: evaluateOn(await upliftOn(learner, networks, rows, split.valid, e), p, split.valid).qini });
  candidates['t-learner mlp'] = await candidate('t', t);
  // The logistic T-learner: a baseline always, and a candidate too under auto.
  candidates['t-learner logistic'] = await candidate('t', { mu1: await classify(1, 'mu1 linear', true), mu0: await classify(0, 'mu0 linear', true) });
  if (wanted.includes('x') || wanted.includes('dr')) {
    // mu0 and mu1 on every row (train and valid), the regressions' targets.
    const all = Int32Array.from({ length: rows.y.length }, (_, i) => i);
    const [z1, z0] = [await predictLogits(t.mu1, rows, all), await predictLogits(t.mu0, rows, all)];
    const sig = (z: number) => 1 / (1 + Math.exp(-z));
    const regress = async (role: string, target: Float32Array, trainRows: Int32Array, valid: Int32Array, salt: number) => {
      const line = progress(role, 'samples');
      const mlp = await fitRegression(rows, target, trainRows, valid, netConfig(o, rows.d, salt), loopOf(o, trainRows.length, line));
      line.done('');
      return mlp;
    };
    if (wanted.includes('x')) {
      const d = Float32Array.from(rows.y, (y, i) => (rows.t[i] ? y - sig(z0[i]) : sig(z1[i]) - y));
      const x = { tau1: await regress('tau1', d, inArm(split.train, rows.t, 1), inArm(split.valid, rows.t, 1), 11), tau0: await regress('tau0', d, inArm(split.train, rows.t, 0), inArm(split.valid, rows.t, 0), 10) };
      candidates['x-learner mlp'] = await candidate('x', x);
    }
    if (wanted.includes('dr')) {
      const phi = Float32Array.from(rows.y, (y, i) => {
        const [m1, m0] = [sig(z1[i]), sig(z0[i])];
        return m1 - m0 + (rows.t[i] ? (y - m1) / e : -(y - m0) / (1 - e));
      });
      const dr = { tau: await regress('tau', phi, split.train, split.valid, 20) };
      candidates['dr-learner mlp'] = await candidate('dr', dr);
    }
  }
  const chosen = o.learner === 'auto' ? Object.entries(candidates).sort((a, b) => b[1].validQini - a[1].validQini)[0][0] : `${o.learner}-learner mlp`;
  const { learner, networks } = candidates[chosen];
  const params = { label: opts.label, treatment: opts.treatment, ...(o.treated !== undefined && { treated: o.treated }), learner: o.learner, hidden: o.hidden, dropout: o.dropout, l2: o.l2, learningRate: o.learningRate, maxEpochs: o.maxEpochs, patience: o.patience, ema: o.ema, seed: o.seed };
  const disposeAll = () => new Set(Object.values(candidates).flatMap((c) => Object.values(c.networks))).forEach((m) => m.dispose());
  return { chosen, learner, networks, candidates, treatedShare: e, params, seconds: (performance.now() - started) / 1000, dispose: disposeAll };
}

/**
 * Several treatment arms: a T-learner per arm against one control model (mu0, mu1..), of MLPs
 * and of logistic regressions; with --learner auto the one with the higher mean over the arms
 * of each arm's validation Qini is kept.
 * @throws UserError for --learner x or dr (one treated arm only).
 */
async function fitArms(p: PreparedUplift, opts: TrainUpliftOptions): Promise<FittedUplift> {
  const o = resolve(opts);
  const learner = optionName(opts, 'learner');
  if (o.learner === 'x' || o.learner === 'dr') {
    throw new UserError(`${learner} ${o.learner}: with several treatment arms (${optionName(opts, 'control')}) the learner is a T-learner per arm: give ${learner} t or auto`);
  }
  const progress = opts.progress ?? (() => silentProgress);
  const started = performance.now();
  const { rows, split } = p;
  const arms = p.arms!;
  const fitNets = async (linear: boolean): Promise<Networks> => {
    const nets: Networks = { mu0: await classifier(p, o, progress, 0, `mu0${linear ? ' linear' : ''} (control)`, linear) };
    for (const [k, v] of arms.entries()) nets[`mu${k + 1}`] = await classifier(p, o, progress, k + 1, `mu${k + 1}${linear ? ' linear' : ''} (${v})`, linear);
    return nets;
  };
  const candidate = async (networks: Networks): Promise<Candidate> => {
    const { perArm } = await armsOn(networks, rows, split.valid, arms.length);
    return { learner: 't', networks, validQini: perArm.reduce((sum, u, k) => sum + evaluateArm(u, p, split.valid, k + 1).qini, 0) / arms.length };
  };
  const candidates: FittedUplift['candidates'] = { 't-learner mlp': await candidate(await fitNets(false)), 't-learner logistic': await candidate(await fitNets(true)) };
  const chosen = o.learner === 'auto' ? Object.entries(candidates).sort((a, b) => b[1].validQini - a[1].validQini)[0][0] : 't-learner mlp';
  const treated = split.train.filter((r) => rows.t[r] > 0).length / split.train.length;
  const params = { label: opts.label, treatment: opts.treatment, control: o.control, arms, learner: o.learner, hidden: o.hidden, dropout: o.dropout, l2: o.l2, learningRate: o.learningRate, maxEpochs: o.maxEpochs, patience: o.patience, ema: o.ema, seed: o.seed };
  const disposeAll = () => new Set(Object.values(candidates).flatMap((c) => Object.values(c.networks))).forEach((m) => m.dispose());
  return { chosen, learner: 't', networks: candidates[chosen].networks, candidates, treatedShare: treated, params, seconds: (performance.now() - started) / 1000, dispose: disposeAll };
}

/** Each arm's uplift on `rows` from a T-learner per arm's networks (mu0, mu1..). */
export async function armsOn(networks: Networks, data: Pick<Labeled, 'x' | 'd'>, rows: Int32Array, arms: number): Promise<ReturnType<typeof armUplifts>> {
  const out: Record<string, Float32Array> = {};
  for (const [role, mlp] of Object.entries(networks)) out[role] = await predictLogits(mlp, data, rows);
  return armUplifts(out, arms);
}

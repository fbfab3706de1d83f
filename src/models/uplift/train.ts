/**
 * The uplift model's estimator steps (models/estimator.ts), for a randomized campaign's rows
 * (treated and control, their features and a 0/1 outcome): prepare (rows in memory, each arm
 * split 60/15/25 stratified on the outcome), fit (three meta-learners on the product's MLP
 * code and a T-learner of logistic regressions, the same code without hidden layers; with
 * --learner auto the one with the best Qini coefficient on the validation rows is kept: the
 * logistic one too, so the saved model is never a worse choice on validation than that
 * baseline), evaluate (Qini, AUUC and uplift at 10/20/30% on the untouched test rows, every
 * candidate beside an S-learner logistic regression), save.
 *
 * The learners (the treated share e is the design's: the campaign was randomized, so the
 * propensity is that constant):
 * - T-learner: mu1 = P(y | x) on the treated, mu0 on the control; tau = mu1 - mu0.
 * - X-learner (Kunzel, Sekhon, Bickel and Yu, "Metalearners for estimating heterogeneous
 *   treatment effects using machine learning", PNAS 2019): imputed effects D1 = y - mu0(x) on
 *   the treated and D0 = mu1(x) - y on the control, each regressed on x (tau1, tau0);
 *   tau = e tau0 + (1 - e) tau1.
 * - DR-learner (Kennedy, "Towards optimal doubly robust estimation of heterogeneous causal
 *   effects", 2020 / EJS 2023): the pseudo-outcome mu1 - mu0 + t (y - mu1) / e - (1 - t)
 *   (y - mu0) / (1 - e) regressed on x. The nuisances here are the T-learner's, fitted on the
 *   same training rows (no cross-fitting: with early stopping on held-out rows the networks
 *   do not memorize them; the test rows decide how well it ranks).
 * Regressions are the same MLP with one linear output trained on squared error.
 *
 * Several treatment arms (--control VALUE: every other value of the treatment column is an
 * arm): a T-learner per arm against one control model, of MLPs and of logistic regressions
 * (the multi-treatment T-learner of Zhao and Harinen, "Uplift modeling for multiple
 * treatments with cost optimization", DSAA 2019, as causalml's BaseTClassifier fits it), each
 * arm's Qini on its own rows and the control's; the S-learner baseline takes one 0/1 input per
 * arm. The X- and DR-learners take one treated arm.
 */
import { initBackend, tf } from '../../compute/backend.js';
import type { FittedTransform } from '../../features/transform.js';
import type { Dataset } from '../../io/dataset.js';
import { upliftEvaluation, type UpliftEvaluation } from '../../metrics/uplift.js';
import { parseBool } from '../../io/number-text.js';
import { UserError } from '../../util/errors.js';
import { silentProgress, type Progress, type StageProgress } from '../../util/progress.js';
import { train, type Estimator } from '../estimator.js';
import { fitMlp, gatherRows, predictLogits, tfjsStepper, trainEpochs, type Labeled } from '../nn/fit.js';
import { Mlp, type MlpConfig } from '../nn/mlp.js';
import { optionName, withDefaults, type KindOptions } from '../params.js';
import { UPLIFT_PARAMS } from './params.js';
import { requireLabel } from '../columns.js';
import { loadLabeled } from '../labeled.js';
import { stratifiedSplit } from '../propensity/checks.js';
import { trainedOn, type ModelStore } from '../registry.js';
import { armUplifts, combineUplift, LEARNERS, UpliftModel, type Learner, type UpliftState } from './model.js';

export type TrainUpliftOptions = KindOptions<typeof UPLIFT_PARAMS> & {
  name: string;
  label: string;
  treatment: string;
  progress?: StageProgress;
};

const resolve = (opts: TrainUpliftOptions) => withDefaults(UPLIFT_PARAMS, opts);
type Resolved = ReturnType<typeof resolve>;

/** Shares of each arm held out for validation (the learner's choice, early stopping) and test. */
const VALID = 0.15;
const TEST = 0.25;

/** Campaign rows: features, outcome and arm (1 treated, 0 control; with several arms 1.. each arm). */
export interface CampaignRows extends Labeled {
  t: Uint8Array;
}

/** The most treatment arms beside the control (each trains two outcome networks and a logistic one). */
export const MAX_ARMS = 10;

export interface PreparedUplift {
  data: Dataset;
  transform: FittedTransform;
  rows: CampaignRows;
  /** Rows left out: no 0/1 outcome, or an arm that is neither treated nor control. */
  skipped: { outcome: number; treatment: number };
  /** With several treatment arms (--control): their values; arm k of `rows.t` is arms[k - 1]. */
  arms?: string[];
  split: { train: Int32Array; valid: Int32Array; test: Int32Array };
}

type Networks = Record<string, Mlp>;

/** A fitted candidate: its learner, networks and Qini coefficient on the validation rows. */
interface Candidate {
  learner: Learner;
  networks: Networks;
  validQini: number;
}

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

/** @throws UserError naming the file and its columns when the treatment column is not among them. */
export function requireTreatment(data: Dataset, treatment: string): void {
  if (!data.columns.some((c) => c.name === treatment)) throw new UserError(`${data.tables[0].path}: no treatment column "${treatment}" (columns: ${data.columns.map((c) => c.name).join(', ')})`);
}

/** Whether a treatment cell holds `value`: the same trimmed text, or the same number. */
function isValue(v: string, value: string): boolean {
  const n = Number(value);
  return v.trim() === value.trim() || (value.trim() !== '' && Number.isFinite(n) && Number(v) === n);
}

/** 0/1 per value of the treatment column: `treated` names the treated value, else 1/0, true/false, yes/no; NaN for anything else. */
function armOf(v: string | null, treated: string | undefined): number {
  if (v === null) return NaN;
  if (treated === undefined) return parseBool(v);
  return isValue(v, treated) ? 1 : 0;
}

/**
 * The arm of each treatment cell with a control value (--control): 0 for the control, k for
 * the k-th other value (trimmed, in numeric-aware order), NaN for null.
 * @throws UserError when no other value is there, or more than MAX_ARMS.
 */
function armsOf(cells: (string | null)[], control: string, column: string): { arm: number[]; values: string[] } {
  const values = [...new Set(cells.filter((v): v is string => v !== null && !isValue(v, control)).map((v) => v.trim()))].sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  if (!values.length) throw new UserError(`column "${column}": every row with an arm holds the control value "${control}"; a campaign needs a treated arm beside it`);
  if (values.length > MAX_ARMS) throw new UserError(`column "${column}": ${values.length} values beside the control "${control}" (e.g. ${values.slice(0, 5).map((v) => JSON.stringify(v)).join(', ')}); at most ${MAX_ARMS} treatment arms`);
  const index = new Map(values.map((v, k) => [v, k + 1]));
  return { arm: cells.map((v) => (v === null ? NaN : isValue(v, control) ? 0 : index.get(v.trim())!)), values };
}

/**
 * Reads the campaign rows through the transform, leaves out rows without a 0/1 outcome or a
 * known arm (counted), refuses arms too small to learn from, and splits each arm.
 * @throws UserError for a missing column, a treatment column that is a feature, or an arm with under `minArm` rows or 20 conversions.
 */
async function prepareUplift(data: Dataset, transform: FittedTransform, opts: TrainUpliftOptions): Promise<PreparedUplift> {
  const o = resolve(opts);
  requireLabel(data, opts.label);
  requireTreatment(data, opts.treatment);
  if (transform.features.some((f) => f.name === opts.treatment)) throw new UserError(`treatment "${opts.treatment}" is also a feature: remove it from the feature spec`);
  const loading = (opts.progress ?? (() => silentProgress))('load');
  const option = (key: string) => optionName(opts, key);
  if (o.treated !== undefined && o.control !== undefined) {
    throw new UserError(`${option('treated')} and ${option('control')}: give one (${option('treated')} VALUE: one treated arm, the rest control; ${option('control')} VALUE: the control, each other value an arm)`);
  }
  const labeled = await loadLabeled(data, transform, opts.label, loading, [opts.treatment]);
  const several = o.control === undefined ? undefined : armsOf(labeled.groups[0], o.control, opts.treatment);
  const arms = several?.arm ?? labeled.groups[0].map((v) => armOf(v, o.treated));
  // One value beside the control is the one-arm campaign: that value is the treated.
  const armNames = several && several.values.length > 1 ? several.values : undefined;
  const keep = Int32Array.from(arms.flatMap((a, i) => (Number.isNaN(a) ? [] : [i])));
  const d = labeled.d;
  const x = new Float32Array(keep.length * d);
  keep.forEach((r, i) => x.set(labeled.x.subarray(r * d, (r + 1) * d), i * d));
  const rows: CampaignRows = { x, d, y: Uint8Array.from(keep, (r) => labeled.y[r]), t: Uint8Array.from(keep, (r) => arms[r]) };
  loading.done(`${keep.length} campaign rows`);
  const armList = [...Array.from({ length: armNames?.length ?? 1 }, (_, k) => k + 1), 0];
  for (const arm of armList) {
    const name = armNames ? (arm ? `arm "${armNames[arm - 1]}"` : `control ("${o.control}")`) : arm ? `treated${o.treated !== undefined ? ` ("${o.treated}")` : ''}` : 'control';
    let n = 0;
    let pos = 0;
    rows.t.forEach((t, i) => {
      if (t !== arm) return;
      n++;
      pos += rows.y[i];
    });
    if (n < o.minArm || pos < 20) {
      throw new UserError(`column "${opts.treatment}": the ${name} arm has ${n} rows with an outcome and ${pos} conversions; uplift needs at least ${o.minArm} rows and 20 conversions in each arm (${option('min-arm')})${o.treated === undefined && o.control === undefined ? `; name the treated value with ${option('treated')} VALUE if the column is not 0/1` : ''}`);
    }
  }
  const parts = armList.map((arm) => {
    const idx = Int32Array.from(Array.from(rows.t).flatMap((t, i) => (t === arm ? [i] : [])));
    const s = stratifiedSplit(Uint8Array.from(idx, (r) => rows.y[r]), VALID, TEST, o.seed + arm);
    return { train: s.train.map((i) => idx[i]), valid: s.valid.map((i) => idx[i]), test: s.test.map((i) => idx[i]) };
  });
  const join = (key: 'train' | 'valid' | 'test') => Int32Array.from(parts.flatMap((q) => [...q[key]])).sort();
  const split = { train: join('train'), valid: join('valid'), test: join('test') };
  return { data, transform, rows, skipped: { outcome: labeled.unlabeled, treatment: arms.length - keep.length }, split, ...(armNames && { arms: armNames }) };
}

const inArm = (rows: Int32Array, t: Uint8Array, arm: number) => rows.filter((r) => t[r] === arm);

/** The network settings of the learners. */
function netConfig(o: Resolved, d: number, salt: number): MlpConfig {
  return { inputs: d, hidden: o.hidden, dropout: o.dropout, l2: o.l2, learningRate: o.learningRate, seed: o.seed + salt };
}

/** Epochs, batch and stopping of one network's training on `rows` rows. */
function loopOf(o: Resolved, rows: number, progress: Progress) {
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
async function upliftOn(learner: Learner, networks: Networks, data: Pick<Labeled, 'x' | 'd'>, rows: Int32Array, e: number): Promise<Float32Array> {
  const out: Record<string, Float32Array> = {};
  for (const [role, mlp] of Object.entries(networks)) out[role] = await predictLogits(mlp, data, rows);
  return combineUplift(learner, out, e);
}

/** Qini on a set of rows of the campaign. */
function evaluateOn(score: Float32Array, p: PreparedUplift, rows: Int32Array): UpliftEvaluation {
  return upliftEvaluation(score, Uint8Array.from(rows, (r) => p.rows.t[r]), Uint8Array.from(rows, (r) => p.rows.y[r]));
}

/** Qini of arm k against the control: `score` (one value per row of `rows`) on the rows of that arm and of the control, arm k as the treated. */
function evaluateArm(score: Float32Array, p: PreparedUplift, rows: Int32Array, k: number): UpliftEvaluation {
  const at = Array.from(rows.keys()).filter((i) => p.rows.t[rows[i]] === k || p.rows.t[rows[i]] === 0);
  return upliftEvaluation(
    Float32Array.from(at, (i) => score[i]),
    Uint8Array.from(at, (i) => (p.rows.t[rows[i]] === k ? 1 : 0)),
    Uint8Array.from(at, (i) => p.rows.y[rows[i]]),
  );
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
async function fitUplift(p: PreparedUplift, opts: TrainUpliftOptions): Promise<FittedUplift> {
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
async function armsOn(networks: Networks, data: Pick<Labeled, 'x' | 'd'>, rows: Int32Array, arms: number): Promise<ReturnType<typeof armUplifts>> {
  const out: Record<string, Float32Array> = {};
  for (const [role, mlp] of Object.entries(networks)) out[role] = await predictLogits(mlp, data, rows);
  return armUplifts(out, arms);
}

/**
 * The S-learner baseline's uplift of each arm on the test rows: one logistic regression on the
 * features and the arm as one more input (one 0/1 input per arm with several), the arm's
 * prediction less the control's (the T-learner logistic is a candidate of fitUplift).
 */
async function sLearner(p: PreparedUplift, o: Resolved, progress: StageProgress): Promise<Float32Array[]> {
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

/** Every learner and baseline on the untouched test rows; the learners not chosen are released. */
async function evaluateUplift(p: PreparedUplift, f: FittedUplift, opts: TrainUpliftOptions): Promise<UpliftReport> {
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

async function saveUplift(store: ModelStore, p: PreparedUplift, f: FittedUplift, report: UpliftReport, opts: TrainUpliftOptions): Promise<UpliftModel> {
  const backend = await initBackend();
  const state: UpliftState = { learner: f.learner, treatedShare: f.treatedShare, networks: Object.fromEntries(Object.entries(f.networks).map(([k, m]) => [k, m.config])), ...(p.arms && { arms: p.arms }) };
  const manifest = { ...trainedOn('uplift', opts.name, backend, p.transform, p.data.tables, p.rows.y.length), params: f.params, metrics: report as unknown as Record<string, unknown> };
  return UpliftModel.save(store, manifest, f.networks, state);
}

/** The uplift model's estimator steps (see models/estimator.ts and the module comment). */
export const UPLIFT: Estimator<TrainUpliftOptions, PreparedUplift, FittedUplift, UpliftReport, UpliftModel> = {
  prepare: prepareUplift,
  fit: fitUplift,
  evaluate: evaluateUplift,
  save: saveUplift,
};

/** Trains an uplift model (UPLIFT's steps composed). @returns the saved model (the caller disposes it) and its report. */
export async function trainUplift(data: Dataset, transform: FittedTransform, store: ModelStore, opts: TrainUpliftOptions) {
  return train(UPLIFT, data, transform, store, opts);
}

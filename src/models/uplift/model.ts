/**
 * A trained uplift model: per visitor the predicted increase in the probability of the
 * outcome if treated (`<name>_uplift`, from -1 to 1), with its percentile and rank (1 = the
 * most persuadable) within the scored population, so that a rule such as
 * `uplift.rank <= 20%` builds a persuadables audience. The meta-learner chosen in training
 * (train.ts) decides which networks it holds:
 * - t: two classifiers, P(y | x, treated) and P(y | x, control); uplift = their difference;
 * - x: two regressions of imputed effects, tau1 (on the treated) and tau0 (on the control);
 *   uplift = e tau0 + (1 - e) tau1, e the treated share (Kunzel et al. 2019);
 * - dr: one regression of the doubly robust pseudo-outcome (Kennedy 2020).
 * With several treatment arms (`arms`, trained with --control) it holds a T-learner per arm:
 * mu0 on the control and mu<k> on arm k; arm k's uplift is sigmoid(mu<k>) - sigmoid(mu0), and
 * `<name>_uplift` is the best arm's, `<name>_arm` that arm's value and `<name>_uplift_<k>` each
 * arm's (k = 1.. in the order of `arms`).
 * Scoring runs on tfjs: the ONNX engine has no graph for this kind (models/onnx/model-graphs.ts).
 */
import { Type, type Static } from 'typebox';
import { tf } from '../../compute/backend.js';
import type { FeatureBlock } from '../../features/transform.js';
import type { OutputColumn, OutputData } from '../../io/writer.js';
import { stateOf } from '../manifest.js';
import { kindColumns, kindRanked, StoredModel, type RankedOutput, type ScoringModel } from '../model.js';
import { ARMS_SCHEMA, UPLIFT_OUTPUTS, upliftOutputs } from './outputs.js';
import { Mlp, MlpConfigSchema } from '../nn/mlp.js';
import type { Manifest, ModelStore, NewManifest, Weight } from '../registry.js';

export const LEARNERS = ['t', 'x', 'dr'] as const;
export type Learner = (typeof LEARNERS)[number];

/** The networks each learner stores, by role. */
export const NETWORKS: Record<Learner, string[]> = { t: ['mu1', 'mu0'], x: ['tau1', 'tau0'], dr: ['tau'] };

/** What an uplift model stores beside its weights: the learner, the treated share e, and each network's shape. */
export const UpliftStateSchema = Type.Object({
  learner: Type.Union([Type.Literal('t'), Type.Literal('x'), Type.Literal('dr')]),
  treatedShare: Type.Number({ exclusiveMinimum: 0, exclusiveMaximum: 1 }),
  networks: Type.Record(Type.String(), MlpConfigSchema),
  arms: ARMS_SCHEMA,
});
export type UpliftState = Static<typeof UpliftStateSchema>;

/**
 * Uplift per row from each network's raw outputs (role -> one value a row): the learner's
 * formula (see the module comment). Classifier outputs are logits; regressions are effects.
 */
export function combineUplift(learner: Learner, out: Record<string, Float32Array>, treatedShare: number): Float32Array {
  const sig = (z: number) => 1 / (1 + Math.exp(-z));
  if (learner === 't') return Float32Array.from(out.mu1, (z, i) => sig(z) - sig(out.mu0[i]));
  if (learner === 'x') return Float32Array.from(out.tau1, (t1, i) => treatedShare * out.tau0[i] + (1 - treatedShare) * t1);
  return Float32Array.from(out.tau);
}

/** The networks of a state: NETWORKS of its learner, or with several arms mu0 (the control) and mu1.. (each arm). */
export function networkRoles(state: Pick<UpliftState, 'learner' | 'arms'>): string[] {
  return state.arms ? ['mu0', ...state.arms.map((_, k) => `mu${k + 1}`)] : NETWORKS[state.learner];
}

/**
 * Each arm's uplift per row from the T-learner's logits per arm (mu0 the control, mu1.. the
 * arms): sigmoid(mu<k>) - sigmoid(mu0); then the best arm (1-based) and its uplift.
 */
export function armUplifts(out: Record<string, Float32Array>, arms: number): { perArm: Float32Array[]; best: Float32Array; arm: Int32Array } {
  const sig = (z: number) => 1 / (1 + Math.exp(-z));
  const perArm = Array.from({ length: arms }, (_, k) => Float32Array.from(out[`mu${k + 1}`], (z, i) => sig(z) - sig(out.mu0[i])));
  const n = out.mu0.length;
  const best = new Float32Array(n);
  const arm = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let k = 0;
    for (let j = 1; j < arms; j++) if (perArm[j][i] > perArm[k][i]) k = j;
    best[i] = perArm[k][i];
    arm[i] = k + 1;
  }
  return { perArm, best, arm };
}


/** A trained uplift model (see the module comment). */
export class UpliftModel extends StoredModel implements ScoringModel {
  constructor(
    manifest: Manifest,
    readonly networks: Record<string, Mlp>,
    readonly state: UpliftState,
  ) {
    super(manifest);
  }

  get outputs(): OutputColumn[] {
    return kindColumns(upliftOutputs(this.state.arms), this.manifest.name);
  }

  get ranked(): RankedOutput[] {
    return kindRanked(UPLIFT_OUTPUTS, this.manifest.name);
  }

  /** Each network's raw output on a block's rows. */
  private async logits(block: FeatureBlock): Promise<Record<string, Float32Array>> {
    const out: Record<string, Float32Array> = {};
    for (const [role, mlp] of Object.entries(this.networks)) out[role] = await mlp.inSpans(block.data, block.cols, 1, (x) => mlp.logits(x as tf.Tensor2D));
    return out;
  }

  /** The predicted uplift of each row of a block (with several arms, the best arm's). */
  async predict(block: FeatureBlock): Promise<Float32Array> {
    const out = await this.logits(block);
    return this.state.arms ? armUplifts(out, this.state.arms.length).best : combineUplift(this.state.learner, out, this.state.treatedShare);
  }

  /** With several arms: each arm's uplift per row, the best arm (1-based) and its uplift. @throws Error for a model of one treated arm. */
  async predictArms(block: FeatureBlock): Promise<ReturnType<typeof armUplifts>> {
    if (!this.state.arms) throw new Error(`model "${this.manifest.name}" has one treated arm`);
    return armUplifts(await this.logits(block), this.state.arms.length);
  }

  async score(block: FeatureBlock): Promise<Record<string, OutputData>> {
    const arms = this.state.arms;
    if (!arms) return { [this.col('uplift')]: await this.predict(block) };
    const r = await this.predictArms(block);
    return { [this.col('uplift')]: r.best, [this.col('arm')]: Array.from(r.arm, (k) => arms[k - 1]), ...Object.fromEntries(r.perArm.map((u, k) => [this.col(`uplift_${k + 1}`), u])) };
  }

  dispose(): void {
    for (const m of Object.values(this.networks)) m.dispose();
  }

  /** Saves the networks (weights named `<role>.<weight>`) with the state as the next version. */
  static async save(store: ModelStore, manifest: Omit<NewManifest, 'state'>, networks: Record<string, Mlp>, state: UpliftState): Promise<UpliftModel> {
    const weights: Weight[] = [];
    for (const [role, mlp] of Object.entries(networks)) for (const w of await mlp.toWeights()) weights.push({ ...w, name: `${role}.${w.name}` });
    const saved = store.save({ ...manifest, state }, weights);
    return new UpliftModel(saved, networks, state);
  }

  static fromStore(manifest: Manifest, weights: Map<string, Weight>): UpliftModel {
    const state = stateOf(manifest, UpliftStateSchema);
    const networks: Record<string, Mlp> = {};
    for (const role of networkRoles(state)) {
      const own = new Map([...weights].filter(([k]) => k.startsWith(`${role}.`)).map(([k, w]) => [k.slice(role.length + 1), { ...w, name: k.slice(role.length + 1) }]));
      networks[role] = Mlp.fromWeights(state.networks[role], own);
    }
    return new UpliftModel(manifest, networks, state);
  }
}

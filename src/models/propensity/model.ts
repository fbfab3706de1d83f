/**
 * A trained propensity model: per visitor a calibrated probability, a 0-100 score, the
 * percentile and low/medium/high bucket within the scored population (filled in after the
 * pass, see jobs/rank.ts), and, when asked for (`topFeatures`), the features pushing that
 * visitor's score up the most (gradient x input, summed over each feature's one-hot columns;
 * Simonyan et al. 2014, "Deep Inside Convolutional Networks", and Shrikumar et al. 2017 for
 * gradient x input). The attribution needs a backward pass: 4.0x the forward pass's time
 * in `npm run bench -- scoring` (wasm, 2 cores), so it is off unless asked for.
 */
import { Type, type Static } from 'typebox';
import { tf } from '../../compute/backend.js';
import { featureGroups, type FeatureBlock, type FeatureGroup } from '../../features/transform.js';
import type { OutputColumn, OutputData } from '../../io/writer.js';
import { stateOf } from '../manifest.js';
import { kindColumns, kindRanked, StoredModel, type RankedOutput, type ScoringModel } from '../model.js';
import { PROPENSITY_OUTPUTS } from './outputs.js';
import type { Manifest, ModelStore, NewManifest, Weight } from '../registry.js';
import { calibrate, CalibrationSchema } from './calibration.js';
import { Mlp, MlpConfigSchema } from '../nn/mlp.js';

/** What a propensity model stores beside its weights: the calibration, the threshold (a probability at or above which a visitor is predicted to convert) and the network's shape. */
export const PropensityStateSchema = Type.Object({
  calibration: CalibrationSchema,
  threshold: Type.Number({ minimum: 0, maximum: 1 }),
  mlp: MlpConfigSchema,
});

/** A propensity model's stored state (see PropensityStateSchema). */
export type PropensityState = Static<typeof PropensityStateSchema>;

/** Attributions computed per visitor: the strongest positive contributors, by name. */
export const TOP_FEATURES = 3;

/**
 * Gradient x input of the logit for each row (rows x inputs): rows are independent, so the
 * gradient of the summed logits is each row's own gradient. The caller disposes the result.
 */
export function gradientTimesInput(mlp: Mlp, x: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => tf.mul(tf.grad((input: tf.Tensor) => tf.sum(mlp.logits(input as tf.Tensor2D)))(x), x) as tf.Tensor2D);
}

/** Scoring options of a loaded model. */
export interface PropensityScoring {
  /** Add `<name>_top_features` (costs a backward pass per batch: about 4x the scoring time). */
  topFeatures?: boolean;
}

/** A trained propensity model (see the module comment): calibrated probabilities, scores and, if asked, top features. */
export class PropensityModel extends StoredModel implements ScoringModel {
  private readonly groups: FeatureGroup[];
  /** Whether scoring adds `<name>_top_features`. */
  topFeatures = false;

  constructor(
    manifest: Manifest,
    readonly mlp: Mlp,
    readonly state: PropensityState,
  ) {
    super(manifest);
    this.groups = featureGroups(manifest.features);
  }

  get outputs(): OutputColumn[] {
    return kindColumns(PROPENSITY_OUTPUTS, this.manifest.name, { topFeatures: this.topFeatures });
  }

  get ranked(): RankedOutput[] {
    return kindRanked(PROPENSITY_OUTPUTS, this.manifest.name);
  }

  /** Calibrated probabilities and per-visitor attributions for a block. */
  async predict(block: FeatureBlock, withAttribution = true): Promise<{ probability: Float32Array; attribution?: Float32Array }> {
    const z = await this.mlp.inSpans(block.data, block.cols, 1, (x) => this.mlp.logits(x));
    const probability = Float32Array.from(z, (v) => calibrate(this.state.calibration, v));
    if (!withAttribution) return { probability };
    const attribution = await this.mlp.inSpans(block.data, block.cols, block.cols, (x) => gradientTimesInput(this.mlp, x));
    return { probability, attribution };
  }

  async score(block: FeatureBlock): Promise<Record<string, OutputData>> {
    const { probability, attribution } = await this.predict(block, this.topFeatures);
    const score = Int32Array.from(probability, (p) => Math.round(p * 100));
    const out: Record<string, OutputData> = { [this.col('probability')]: probability, [this.col('score')]: score };
    if (attribution) out[this.col('top_features')] = this.topNames(attribution, block.rows, block.cols);
    return out;
  }

  /** Per row, the names of up to TOP_FEATURES features with the largest positive summed attribution, ";"-joined. */
  private topNames(attribution: Float32Array, rows: number, cols: number): (string | null)[] {
    const top = new Array<string | null>(rows);
    const contrib = new Float64Array(this.groups.length);
    const best = new Int32Array(TOP_FEATURES);
    for (let i = 0; i < rows; i++) {
      for (let g = 0; g < this.groups.length; g++) {
        const { start, width } = this.groups[g];
        let s = 0;
        for (let j = start; j < start + width; j++) s += attribution[i * cols + j];
        contrib[g] = s;
      }
      // Selection of the largest positives, ties to the earlier feature (no sort per row).
      let n = 0;
      for (; n < TOP_FEATURES; n++) {
        let arg = -1;
        for (let g = 0; g < contrib.length; g++) if (contrib[g] > 0 && (arg < 0 || contrib[g] > contrib[arg])) arg = g;
        if (arg < 0) break;
        best[n] = arg;
        contrib[arg] = -Infinity;
      }
      top[i] = n ? Array.from(best.subarray(0, n), (g) => this.groups[g].name).join(';') : null;
    }
    return top;
  }

  dispose(): void {
    this.mlp.dispose();
  }

  static async save(store: ModelStore, manifest: Omit<NewManifest, 'state'>, mlp: Mlp, state: PropensityState): Promise<PropensityModel> {
    const saved = store.save({ ...manifest, state }, await mlp.toWeights());
    return new PropensityModel(saved, mlp, state);
  }

  static fromStore(manifest: Manifest, weights: Map<string, Weight>, scoring: PropensityScoring = {}): PropensityModel {
    const state = stateOf(manifest, PropensityStateSchema);
    const model = new PropensityModel(manifest, Mlp.fromWeights(state.mlp, weights), state);
    model.topFeatures = scoring.topFeatures ?? false;
    return model;
  }
}

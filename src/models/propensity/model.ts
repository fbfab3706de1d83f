/**
 * A trained propensity model: per visitor a calibrated probability, a 0-100 score, the
 * percentile and low/medium/high bucket within the scored population (filled in after the
 * pass, see jobs/rank.ts), and the features pushing that visitor's score up the most
 * (gradient x input, summed over each feature's one-hot columns).
 */
import { tf } from '../../compute/backend.js';
import { featureGroups, type FeatureBlock, type FeatureGroup } from '../../features/transform.js';
import type { OutputColumn, OutputData } from '../../io/writer.js';
import { StoredModel, type RankedOutput, type ScoringModel } from '../model.js';
import type { Manifest, ModelStore, NewManifest, Weight } from '../registry.js';
import { calibrate, type Calibration } from './calibration.js';
import { Mlp, type MlpConfig } from '../nn/mlp.js';

export interface PropensityState {
  calibration: Calibration;
  /** Probability at or above which a visitor is predicted to convert. */
  threshold: number;
  mlp: MlpConfig;
}

/** Attributions computed per visitor: the strongest positive contributors, by name. */
export const TOP_FEATURES = 3;

export class PropensityModel extends StoredModel implements ScoringModel {
  private readonly groups: FeatureGroup[];

  constructor(
    manifest: Manifest,
    readonly mlp: Mlp,
    readonly state: PropensityState,
  ) {
    super(manifest);
    this.groups = featureGroups(manifest.features);
  }

  get outputs(): OutputColumn[] {
    return [
      { name: this.col('probability'), type: 'FLOAT' },
      { name: this.col('score'), type: 'INTEGER' },
      { name: this.col('top_features'), type: 'VARCHAR' },
    ];
  }

  get ranked(): RankedOutput[] {
    return [{ source: this.col('probability'), percentile: this.col('percentile'), bucket: this.col('bucket') }];
  }

  /** Calibrated probabilities and per-visitor attributions for a block. */
  async predict(block: FeatureBlock, withAttribution = true): Promise<{ probability: Float32Array; attribution?: Float32Array }> {
    const x = tf.tensor2d(block.data, [block.rows, block.cols]);
    try {
      const logits = this.mlp.logits(x);
      const z = (await logits.data()) as Float32Array;
      logits.dispose();
      const probability = Float32Array.from(z, (v) => calibrate(this.state.calibration, v));
      if (!withAttribution) return { probability };
      // Rows are independent, so the gradient of the summed logits is each row's own gradient.
      const attr = tf.tidy(() => tf.mul(tf.grad((input: tf.Tensor) => tf.sum(this.mlp.logits(input as tf.Tensor2D)))(x), x));
      const attribution = (await attr.data()) as Float32Array;
      attr.dispose();
      return { probability, attribution };
    } finally {
      x.dispose();
    }
  }

  async score(block: FeatureBlock): Promise<Record<string, OutputData>> {
    const { probability, attribution } = await this.predict(block);
    const score = Int32Array.from(probability, (p) => Math.round(p * 100));
    const top = new Array<string | null>(block.rows);
    const contrib = new Float64Array(this.groups.length);
    for (let i = 0; i < block.rows; i++) {
      for (let g = 0; g < this.groups.length; g++) {
        const { start, width } = this.groups[g];
        let s = 0;
        for (let j = start; j < start + width; j++) s += attribution![i * block.cols + j];
        contrib[g] = s;
      }
      const best = Array.from(contrib.keys())
        .filter((g) => contrib[g] > 0)
        .sort((a, b) => contrib[b] - contrib[a])
        .slice(0, TOP_FEATURES);
      top[i] = best.length ? best.map((g) => this.groups[g].name).join(';') : null;
    }
    return { [this.col('probability')]: probability, [this.col('score')]: score, [this.col('top_features')]: top };
  }

  dispose(): void {
    this.mlp.dispose();
  }

  static async save(store: ModelStore, manifest: Omit<NewManifest, 'state'>, mlp: Mlp, state: PropensityState): Promise<PropensityModel> {
    const saved = store.save({ ...manifest, state: state as unknown as Record<string, unknown> }, await mlp.toWeights());
    return new PropensityModel(saved, mlp, state);
  }

  static fromStore(manifest: Manifest, weights: Map<string, Weight>): PropensityModel {
    const state = manifest.state as unknown as PropensityState;
    return new PropensityModel(manifest, Mlp.fromWeights(state.mlp, weights), state);
  }
}

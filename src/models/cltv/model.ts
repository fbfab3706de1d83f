/**
 * A trained customer-lifetime-value model (zero-inflated lognormal MLP, see ziln.ts): per
 * customer the expected value over the horizon it was trained for, the probability of any
 * purchase in it, and the value's percentile and bucket within the scored population.
 */
import { Type, type Static } from 'typebox';
import type { FeatureBlock } from '../../features/transform.js';
import type { OutputColumn, OutputData } from '../../io/writer.js';
import { stateOf } from '../manifest.js';
import { kindColumns, kindRanked, StoredModel, type RankedOutput, type ScoringModel } from '../model.js';
import { CLTV_OUTPUTS } from './outputs.js';
import type { Manifest, ModelStore, NewManifest, Weight } from '../registry.js';
import { Mlp, MlpConfigSchema } from '../nn/mlp.js';
import { zilnPredict } from './ziln.js';

/** What a CLTV model stores beside its weights: the network's shape, the label's window in days (from `audience events --horizon`) when known, and the largest label in training (predictions are capped there, see zilnPredict). */
export const CltvStateSchema = Type.Object({
  mlp: MlpConfigSchema,
  horizonDays: Type.Union([Type.Number({ exclusiveMinimum: 0 }), Type.Null()]),
  maxValue: Type.Number({ minimum: 0 }),
});

/** A CLTV model's stored state (see CltvStateSchema). */
export type CltvState = Static<typeof CltvStateSchema>;

/** A trained CLTV model (see the module comment). */
export class CltvModel extends StoredModel implements ScoringModel {
  constructor(
    manifest: Manifest,
    readonly mlp: Mlp,
    readonly state: CltvState,
  ) {
    super(manifest);
  }

  get outputs(): OutputColumn[] {
    return kindColumns(CLTV_OUTPUTS, this.manifest.name);
  }

  get ranked(): RankedOutput[] {
    return kindRanked(CLTV_OUTPUTS, this.manifest.name);
  }

  /** Expected value and probability of buying for each row of a block (rows x inputs). */
  async predict(block: FeatureBlock): Promise<{ value: Float32Array; pActive: Float32Array }> {
    const raw = await this.mlp.inSpans(block.data, block.cols, this.mlp.config.outputs ?? 1, (x) => this.mlp.logits(x));
    return zilnPredict(raw, block.rows, this.state.maxValue ?? Infinity);
  }

  async score(block: FeatureBlock): Promise<Record<string, OutputData>> {
    const { value, pActive } = await this.predict(block);
    return { [this.col('value')]: value, [this.col('p_active')]: pActive };
  }

  dispose(): void {
    this.mlp.dispose();
  }

  static async save(store: ModelStore, manifest: Omit<NewManifest, 'state'>, mlp: Mlp, state: CltvState): Promise<CltvModel> {
    const saved = store.save({ ...manifest, state }, await mlp.toWeights());
    return new CltvModel(saved, mlp, state);
  }

  static fromStore(manifest: Manifest, weights: Map<string, Weight>): CltvModel {
    const state = stateOf(manifest, CltvStateSchema);
    return new CltvModel(manifest, Mlp.fromWeights(state.mlp, weights), state);
  }
}

/**
 * A trained lookalike: embeds each visitor with the seed-vs-population classifier's last
 * hidden layer and scores similarity to the seeds (k nearest or centroid). Outputs the
 * similarity, whether the visitor is a seed, and (after the pass) the rank and percentile
 * among non-seeds, which is what expansion by size selects on.
 */
import { Type, type Static } from 'typebox';
import { UserError } from '../../util/errors.js';
import type { FeatureBlock } from '../../features/transform.js';
import type { OutputColumn, OutputData } from '../../io/writer.js';
import { stateOf } from '../manifest.js';
import { kindColumns, kindRanked, StoredModel, type RankedOutput, type ScoringModel } from '../model.js';
import { LOOKALIKE_OUTPUTS } from './outputs.js';
import { Mlp, MlpConfigSchema } from '../nn/mlp.js';
import type { Manifest, ModelStore, NewManifest, Weight } from '../registry.js';
import { SeedIndex } from './similarity.js';

/**
 * What the expansion score is: the similarity to the seeds in the embedding, the
 * seed-vs-population classifier's logit (positive-unlabeled learning: Elkan and Noto 2008),
 * or the mean of both standardized.
 */
export const LookalikeMethodSchema = Type.Union([Type.Literal('embedding'), Type.Literal('classifier'), Type.Literal('blend')]);

/** The lookalike's score (see LookalikeMethodSchema). */
export type LookalikeMethod = Static<typeof LookalikeMethodSchema>;

/** Means and standard deviations of the two scores over the training population, for the blend. */
export const BlendStatsSchema = Type.Object({ simMean: Type.Number(), simSd: Type.Number({ minimum: 0 }), logitMean: Type.Number(), logitSd: Type.Number({ minimum: 0 }) });

/** The blend's scales (see BlendStatsSchema). */
export type BlendStats = Static<typeof BlendStatsSchema>;

/**
 * What a lookalike stores beside its weights: the similarity (k nearest seeds or centroid),
 * the network's shape, the seed visitor ids as text (seeds are flagged, and excluded from the
 * expansion), the score (absent in models saved before it was chosen: embedding) and the
 * blend's scales.
 */
export const LookalikeStateSchema = Type.Object({
  mode: Type.Union([Type.Literal('knn'), Type.Literal('centroid')]),
  k: Type.Integer({ minimum: 1 }),
  mlp: MlpConfigSchema,
  seedIds: Type.Array(Type.String()),
  method: Type.Optional(LookalikeMethodSchema),
  blend: Type.Optional(BlendStatsSchema),
});

/** A lookalike's stored state (see LookalikeStateSchema). */
export type LookalikeState = Static<typeof LookalikeStateSchema>;

/** The two scores' scales over a population. */
export function blendStats(similarity: ArrayLike<number>, logit: ArrayLike<number>): BlendStats {
  const ms = (v: ArrayLike<number>) => {
    let m = 0;
    for (let i = 0; i < v.length; i++) m += v[i] / v.length;
    let q = 0;
    for (let i = 0; i < v.length; i++) q += (v[i] - m) ** 2 / v.length;
    return [m, Math.sqrt(q) || 1];
  };
  const [simMean, simSd] = ms(similarity);
  const [logitMean, logitSd] = ms(logit);
  return { simMean, simSd, logitMean, logitSd };
}

/** The blend: (standardized similarity + standardized logit) / 2, per row. */
export function blend(similarity: ArrayLike<number>, logit: ArrayLike<number>, s: BlendStats): Float32Array {
  return Float32Array.from({ length: similarity.length }, (_, i) => ((similarity[i] - s.simMean) / s.simSd + (logit[i] - s.logitMean) / s.logitSd) / 2);
}

/** A trained lookalike model: per visitor the similarity to the seeds in the learned embedding, the seed flag and the rank among non-seeds. */
export class LookalikeModel extends StoredModel implements ScoringModel {
  private readonly index: SeedIndex;
  private readonly seeds: Set<string>;

  constructor(
    manifest: Manifest,
    readonly mlp: Mlp,
    seedEmbeddings: Float32Array,
    center: Float32Array,
    readonly state: LookalikeState,
  ) {
    super(manifest);
    const e = state.mlp.hidden[state.mlp.hidden.length - 1];
    this.index = new SeedIndex(seedEmbeddings, e, state.k, center);
    this.seeds = new Set(state.seedIds);
  }

  get outputs(): OutputColumn[] {
    return kindColumns(LOOKALIKE_OUTPUTS, this.manifest.name);
  }

  get ranked(): RankedOutput[] {
    return kindRanked(LOOKALIKE_OUTPUTS, this.manifest.name);
  }

  /** The expansion score of each row of a block: by the method training chose (see LookalikeMethod). */
  async similarity(block: FeatureBlock): Promise<Float32Array> {
    const method = this.state.method ?? 'embedding';
    const { data, cols } = block;
    const sim = method !== 'classifier' ? await this.index.similarity(await this.mlp.inSpans(data, cols, this.mlp.embeddingWidth, (x) => this.mlp.embed(x)), this.state.mode) : undefined;
    const logit = method !== 'embedding' ? await this.mlp.inSpans(data, cols, 1, (x) => this.mlp.logits(x)) : undefined;
    if (method === 'embedding') return sim!;
    if (method === 'classifier') return logit!;
    return blend(sim!, logit!, this.state.blend!);
  }

  async score(block: FeatureBlock): Promise<Record<string, OutputData>> {
    const similarity = await this.similarity(block);
    const isSeed = new Int32Array(block.rows);
    for (let i = 0; i < block.rows; i++) isSeed[i] = this.seeds.has(String(block.ids[i])) ? 1 : 0;
    return { [this.col('similarity')]: similarity, [this.col('is_seed')]: isSeed };
  }

  dispose(): void {
    this.index.dispose();
    this.mlp.dispose();
  }

  static async save(
    store: ModelStore,
    manifest: Omit<NewManifest, 'state'>,
    mlp: Mlp,
    seedEmbeddings: Float32Array,
    center: Float32Array,
    state: LookalikeState,
  ): Promise<LookalikeModel> {
    const e = state.mlp.hidden[state.mlp.hidden.length - 1];
    const weights = [
      ...(await mlp.toWeights()),
      { name: 'seeds', shape: [seedEmbeddings.length / e, e], data: seedEmbeddings },
      { name: 'center', shape: [e], data: center },
    ];
    const saved = store.save({ ...manifest, state }, weights);
    return new LookalikeModel(saved, mlp, seedEmbeddings, center, state);
  }

  static fromStore(manifest: Manifest, weights: Map<string, Weight>): LookalikeModel {
    const state = stateOf(manifest, LookalikeStateSchema);
    const seeds = weights.get('seeds');
    const center = weights.get('center');
    if (!seeds || !center) throw new UserError(`model ${manifest.name}@${manifest.version}: weights.bin has no seed embeddings or center; retrain it, or restore the file`);
    return new LookalikeModel(manifest, Mlp.fromWeights(state.mlp, weights), seeds.data, center.data, state);
  }
}

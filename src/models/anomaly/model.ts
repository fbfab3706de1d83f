/**
 * Outlier scores: a visitor's distance to the nearest K-Means centroid divided by that
 * cluster's spread (its members' median distance), so 3 means "three times as far as a
 * typical member". Outliers close to a niche centroid (a small dense group found among
 * the outliers at training time) are labelled with that niche.
 */
import { Type, type Static } from 'typebox';
import type { FeatureBlock } from '../../features/transform.js';
import { UserError } from '../../util/errors.js';
import { stateOf } from '../manifest.js';
import type { OutputColumn, OutputData } from '../../io/writer.js';
import { Segmenter } from '../kmeans/model.js';
import { kindColumns, kindRanked, StoredModel, type RankedOutput, type ScoringModel } from '../model.js';
import { ANOMALY_OUTPUTS } from './outputs.js';
import type { Manifest, ModelStore, NewManifest, Weight } from '../registry.js';

/**
 * What an outlier model stores beside its weights: the score above which a visitor counts as
 * an outlier (default 3), and for each main cluster the niche it is (a small, dense, far
 * cluster) or -1; niche indices follow the niche centroids.
 */
export const AnomalyStateSchema = Type.Object({
  threshold: Type.Number({ exclusiveMinimum: 0 }),
  nicheOfCluster: Type.Array(Type.Integer({ minimum: -1 })),
});

/** An outlier model's stored state (see AnomalyStateSchema). */
export type AnomalyState = Static<typeof AnomalyStateSchema>;

/** Niche membership reach, in spreads (median member distances): about 99% of a compact group. */
export const NICHE_REACH = 3;

export interface AnomalyWeights {
  centroids: Float32Array;
  spreads: Float32Array;
  niches: Float32Array;
  nicheSpreads: Float32Array;
}

/** A trained anomaly model: per visitor an outlier score (distance to the nearest centroid over that cluster's spread), its cluster, and its niche if any. */
export class AnomalyModel extends StoredModel implements ScoringModel {
  private readonly main: Segmenter;
  private readonly niche: Segmenter | undefined;

  constructor(
    manifest: Manifest,
    readonly weights: AnomalyWeights,
    readonly state: AnomalyState,
  ) {
    super(manifest);
    const d = manifest.features.outputs.length;
    this.main = new Segmenter(weights.centroids, d);
    this.niche = weights.niches.length ? new Segmenter(weights.niches, d) : undefined;
  }

  get outputs(): OutputColumn[] {
    return kindColumns(ANOMALY_OUTPUTS, this.manifest.name);
  }

  get ranked(): RankedOutput[] {
    return kindRanked(ANOMALY_OUTPUTS, this.manifest.name);
  }

  /** Outlier score and nearest main cluster per row; niche (or -1) for outliers near one. */
  async predict(block: FeatureBlock): Promise<{ score: Float32Array; cluster: Int32Array; niche: Int32Array }> {
    const { segment, distance } = await this.main.predict(block);
    const score = Float32Array.from(distance, (dist, i) => dist / Math.max(1e-6, this.weights.spreads[segment[i]]));
    const niche = Int32Array.from(segment, (c, i) => {
      const n = this.state.nicheOfCluster[c] ?? -1;
      return n >= 0 && score[i] <= NICHE_REACH ? n : -1;
    });
    if (this.niche) {
      const near = await this.niche.predict(block);
      for (let i = 0; i < block.rows; i++) {
        if (niche[i] >= 0 || score[i] <= this.state.threshold) continue;
        const n = near.segment[i];
        if (this.state.nicheOfCluster.includes(n)) continue; // a small-segment niche: handled above
        if (near.distance[i] <= NICHE_REACH * this.weights.nicheSpreads[n]) niche[i] = n;
      }
    }
    return { score, cluster: segment, niche };
  }

  async score(block: FeatureBlock): Promise<Record<string, OutputData>> {
    const { score, cluster, niche } = await this.predict(block);
    return { [this.col('score')]: score, [this.col('cluster')]: cluster, [this.col('niche')]: Float64Array.from(niche, (n) => (n < 0 ? NaN : n)) };
  }

  dispose(): void {
    this.main.dispose();
    this.niche?.dispose();
  }

  static save(store: ModelStore, manifest: Omit<NewManifest, 'state'>, w: AnomalyWeights, state: AnomalyState): AnomalyModel {
    const d = manifest.features.outputs.length;
    const saved = store.save({ ...manifest, state }, [
      { name: 'centroids', shape: [w.spreads.length, d], data: w.centroids },
      { name: 'spreads', shape: [w.spreads.length], data: w.spreads },
      { name: 'niches', shape: [w.nicheSpreads.length, d], data: w.niches },
      { name: 'niche_spreads', shape: [w.nicheSpreads.length], data: w.nicheSpreads },
    ]);
    return new AnomalyModel(saved, w, state);
  }

  static fromStore(manifest: Manifest, weights: Map<string, Weight>): AnomalyModel {
    const get = (n: string) => {
      const w = weights.get(n);
      if (!w) throw new UserError(`model ${manifest.name}@${manifest.version}: weights.bin has no ${n} weight; retrain it, or restore the file`);
      return w.data;
    };
    return new AnomalyModel(manifest, { centroids: get('centroids'), spreads: get('spreads'), niches: get('niches'), nicheSpreads: get('niche_spreads') }, stateOf(manifest, AnomalyStateSchema));
  }
}

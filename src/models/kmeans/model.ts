/** A trained K-Means segmentation: assigns each visitor to a segment, with the distance to it. */
import { tf } from '../../compute/backend.js';
import { readData } from '../../compute/read.js';
import { UserError } from '../../util/errors.js';
import type { FeatureBlock } from '../../features/transform.js';
import type { OutputColumn, OutputData } from '../../io/writer.js';
import { kindColumns, StoredModel, type ScoringModel } from '../model.js';
import { KMEANS_OUTPUTS } from './outputs.js';
import type { Manifest, ModelStore, NewManifest } from '../registry.js';
import { augment } from './data.js';
import { centroidOperand, nearestCentroid } from './kernels.js';

/** Nearest-centroid assignment on the backend; holds the centroid operand between calls. */
export class Segmenter {
  readonly k: number;
  private op: tf.Tensor2D | undefined;

  constructor(
    readonly centroids: Float32Array,
    readonly d: number,
  ) {
    this.k = centroids.length / d;
  }

  /** Segment index and Euclidean distance (in standardized feature units) for each row. */
  async predict(block: FeatureBlock): Promise<{ segment: Int32Array; distance: Float32Array }> {
    this.op ??= centroidOperand(this.centroids, this.k, this.d);
    const xa = augment(block);
    const { segment, distance } = nearestCentroid(xa, this.op);
    xa.dispose();
    try {
      return { segment: await readData<Int32Array>(segment), distance: await readData(distance) };
    } finally {
      segment.dispose();
      distance.dispose();
    }
  }

  dispose(): void {
    this.op?.dispose();
    this.op = undefined;
  }
}

/** A trained K-Means model: per visitor the nearest segment and the distance to it (standardized units). */
export class KMeansModel extends StoredModel implements ScoringModel {
  private readonly segmenter: Segmenter;

  constructor(
    manifest: Manifest,
    readonly centroids: Float32Array,
  ) {
    super(manifest);
    this.segmenter = new Segmenter(centroids, manifest.features.outputs.length);
  }

  get k(): number {
    return this.segmenter.k;
  }

  get outputs(): OutputColumn[] {
    return kindColumns(KMEANS_OUTPUTS, this.manifest.name);
  }

  predict(block: FeatureBlock): Promise<{ segment: Int32Array; distance: Float32Array }> {
    return this.segmenter.predict(block);
  }

  async score(block: FeatureBlock): Promise<Record<string, OutputData>> {
    const { segment, distance } = await this.predict(block);
    const [seg, dist] = this.outputs;
    return { [seg.name]: segment, [dist.name]: distance };
  }

  dispose(): void {
    this.segmenter.dispose();
  }

  static save(store: ModelStore, manifest: NewManifest, centroids: Float32Array): KMeansModel {
    const d = manifest.features.outputs.length;
    const saved = store.save(manifest, [{ name: 'centroids', shape: [centroids.length / d, d], data: centroids }]);
    return new KMeansModel(saved, centroids);
  }

  static fromStore(manifest: Manifest, weights: Map<string, { data: Float32Array }>): KMeansModel {
    const c = weights.get('centroids');
    if (!c) throw new UserError(`model ${manifest.name}@${manifest.version}: weights.bin has no centroids weight; retrain it, or restore the file`);
    const d = manifest.features.outputs.length;
    if (c.data.length === 0 || c.data.length % d !== 0) throw new UserError(`model ${manifest.name}@${manifest.version}: weights.bin has ${c.data.length} centroid values, not a multiple of the ${d} model inputs; retrain it, or restore the file`);
    return new KMeansModel(manifest, c.data);
  }
}

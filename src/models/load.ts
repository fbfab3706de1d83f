/** Loads any stored model for scoring; each kind registers its loader here. */
import { initBackend } from '../compute/backend.js';
import { UserError } from '../util/errors.js';
import { AnomalyModel } from './anomaly/model.js';
import { BgNbdModel } from './btyd/model.js';
import { CltvModel } from './cltv/model.js';
import { KMeansModel } from './kmeans/model.js';
import { LookalikeModel } from './lookalike/model.js';
import { PropensityModel } from './propensity/model.js';
import type { ScoringEngine, ScoringModel } from './model.js';
import type { ColumnBatch } from '../io/columns.js';
import { ONNX_KINDS } from './onnx/model-graphs.js';
import { OnnxScorer } from './onnx/session.js';
import type { Manifest, ModelStore, Weight } from './registry.js';

/** How loaded models score: options some kinds take (others ignore them). */
export interface ScoringOptions {
  /** Propensity: add `<name>_top_features` (gradient x input; about 4x the scoring time). */
  topFeatures?: boolean;
  /**
   * 'onnx' (default): kinds with a scoring graph (models/onnx) run it on onnxruntime-node,
   * transform included; 'tfjs': every kind on tfjs. Propensity with `topFeatures` (a gradient)
   * and a transform whose onInvalid is "error" (which names the row) stay on tfjs.
   */
  engine?: ScoringEngine;
}

type Loader = (manifest: Manifest, weights: Map<string, Weight>, options: ScoringOptions) => ScoringModel;

const LOADERS: Record<string, Loader> = {
  kmeans: (m, w) => KMeansModel.fromStore(m, w),
  propensity: (m, w, o) => PropensityModel.fromStore(m, w, o),
  lookalike: (m, w) => LookalikeModel.fromStore(m, w),
  anomaly: (m, w) => AnomalyModel.fromStore(m, w),
  cltv: (m, w) => CltvModel.fromStore(m, w),
  bgnbd: (m) => BgNbdModel.fromStore(m),
};

/**
 * The exact version a loaded model is, as `name@version`: what a job stores and ships to its
 * threads and workers, so a promotion, rollback or new training while it runs (or before it
 * resumes) cannot change which version scores a shard.
 */
export function pinnedRef(model: { manifest: Pick<Manifest, 'name' | 'version'> }): string {
  return `${model.manifest.name}@${model.manifest.version}`;
}

/** Loads a model for scoring; selects the backend first, so weights are created on it. */
export async function loadScoringModel(store: ModelStore, ref: string, options: ScoringOptions = {}): Promise<ScoringModel> {
  await initBackend();
  const { manifest, weights } = store.load(ref);
  const loader = LOADERS[manifest.kind];
  if (!loader) throw new UserError(`model ${manifest.name}@${manifest.version} is of kind "${manifest.kind}", which this version cannot score`);
  const model = loader(manifest, weights, options);
  model.engine = 'tfjs';
  if ((options.engine ?? 'onnx') === 'onnx' && ONNX_KINDS.has(manifest.kind) && !options.topFeatures && manifest.features.onInvalid !== 'error') {
    const scorer = await OnnxScorer.create(manifest, weights, model.outputs.map((o) => o.name));
    const dispose = model.dispose.bind(model);
    Object.assign(model, {
      engine: 'onnx',
      scoreBatch: (batch: ColumnBatch) => scorer.run(batch),
      dispose: () => {
        dispose();
        void scorer.dispose();
      },
    });
  }
  return model;
}

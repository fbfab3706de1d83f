/** Loads any stored model for scoring; each kind registers its loader here. */
import { initBackend } from '../compute/backend.js';
import { UserError } from '../util/errors.js';
import { ANOMALY_OUTPUTS, AnomalyModel } from './anomaly/model.js';
import { BGNBD_OUTPUTS, BgNbdModel } from './btyd/model.js';
import { CLTV_OUTPUTS, CltvModel } from './cltv/model.js';
import { KMEANS_OUTPUTS, KMeansModel } from './kmeans/model.js';
import { LOOKALIKE_OUTPUTS, LookalikeModel } from './lookalike/model.js';
import { PROPENSITY_OUTPUTS, PropensityModel } from './propensity/model.js';
import { UPLIFT_OUTPUTS, UpliftModel } from './uplift/model.js';
import { kindColumns, kindRanked, type KindOutputs, type ModelOutline, type ScoringEngine, type ScoringModel } from './model.js';
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
  /**
   * onnxruntime's intra-op threads per session (default: the cores on the main thread, 1 in a
   * worker thread). 1 for one-row requests: a pool's threads cost more to wake than a row takes.
   */
  threads?: number;
}

type Loader = (manifest: Manifest, weights: Map<string, Weight>, options: ScoringOptions) => ScoringModel;

/** Each kind that scores: its loader (weights in) and its score columns (from the manifest alone). */
const KINDS: Record<string, { load: Loader; outputs: KindOutputs }> = {
  kmeans: { load: (m, w) => KMeansModel.fromStore(m, w), outputs: KMEANS_OUTPUTS },
  propensity: { load: (m, w, o) => PropensityModel.fromStore(m, w, o), outputs: PROPENSITY_OUTPUTS },
  lookalike: { load: (m, w) => LookalikeModel.fromStore(m, w), outputs: LOOKALIKE_OUTPUTS },
  anomaly: { load: (m, w) => AnomalyModel.fromStore(m, w), outputs: ANOMALY_OUTPUTS },
  cltv: { load: (m, w) => CltvModel.fromStore(m, w), outputs: CLTV_OUTPUTS },
  bgnbd: { load: (m) => BgNbdModel.fromStore(m), outputs: BGNBD_OUTPUTS },
  uplift: { load: (m, w) => UpliftModel.fromStore(m, w), outputs: UPLIFT_OUTPUTS },
};

/** The kind's entry. @throws UserError for a kind this version cannot score. */
function kindOf(manifest: Manifest): { load: Loader; outputs: KindOutputs } {
  const kind = KINDS[manifest.kind];
  if (!kind) throw new UserError(`model ${manifest.name}@${manifest.version} is of kind "${manifest.kind}", which this version cannot score`);
  return kind;
}

/**
 * A stored model as a plan sees it (manifest, transform, score columns), read from its
 * manifest alone: no weights, no backend, no session. What a server checks a job with.
 * @throws UserError for an unknown model or version, or a kind this version cannot score.
 */
export function outlineModel(store: ModelStore, ref: string, options: ScoringOptions = {}): ModelOutline {
  const manifest = store.manifest(ref);
  const { outputs } = kindOf(manifest);
  return { manifest, transform: manifest.features, outputs: kindColumns(outputs, manifest.name, options), ranked: kindRanked(outputs, manifest.name), engine: scoringEngine(manifest, options) };
}

/**
 * The engine a model scores on: 'onnx' where asked (the default) and its kind has a graph,
 * except propensity with `topFeatures` (a gradient) and a transform whose onInvalid is "error"
 * (which names the row); else 'tfjs'.
 */
export function scoringEngine(manifest: Manifest, options: ScoringOptions): ScoringEngine {
  return (options.engine ?? 'onnx') === 'onnx' && ONNX_KINDS.has(manifest.kind) && !options.topFeatures && manifest.features.onInvalid !== 'error' ? 'onnx' : 'tfjs';
}

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
  const model = kindOf(manifest).load(manifest, weights, options);
  model.engine = 'tfjs';
  if (scoringEngine(manifest, options) === 'onnx') {
    const scorer = await OnnxScorer.create(manifest, weights, model.outputs.map((o) => o.name), options.threads);
    const dispose = model.dispose.bind(model);
    Object.assign(model, {
      engine: 'onnx',
      onnx: scorer,
      scoreBatch: (batch: ColumnBatch) => scorer.run(batch),
      dispose: () => {
        dispose();
        void scorer.dispose();
      },
    });
  }
  return model;
}

/** Loads any stored model for scoring, by its kind's descriptor (models/kinds.ts). */
import { initBackend } from '../compute/backend.js';
import { UserError } from '../util/errors.js';
import type { KindDescriptor, ScoringOptions } from './kind.js';
import { findKind } from './kinds.js';
import { kindColumns, kindRanked, type ModelOutline, type ScoringEngine, type ScoringModel } from './model.js';
import type { ColumnBatch } from '../io/columns.js';
import { OnnxScorer } from './onnx/session.js';
import type { Manifest, ModelStore } from './registry.js';

export type { ScoringOptions };

/** The kind's descriptor. @throws UserError for a kind this version cannot score. */
function kindOf(manifest: Manifest): KindDescriptor {
  const kind = findKind(manifest.kind);
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
  const outputs = kindOf(manifest).outputs(manifest);
  return { manifest, transform: manifest.features, outputs: kindColumns(outputs, manifest.name, options), ranked: kindRanked(outputs, manifest.name), engine: scoringEngine(manifest, options) };
}

/**
 * The engine a model scores on: 'onnx' where asked (the default) and its kind has a graph,
 * except a kind that writes top features when `topFeatures` asks for them (propensity: a
 * gradient) and a transform whose onInvalid is "error" (which names the row); else 'tfjs'.
 */
export function scoringEngine(manifest: Manifest, options: ScoringOptions): ScoringEngine {
  const kind = findKind(manifest.kind);
  // Top features (a gradient) move only a kind that writes them to tfjs; the other models of the run stay on onnx.
  const gradient = options.topFeatures === true && kind?.outputs(manifest).columns.some((c) => c.option === 'topFeatures') === true;
  return (options.engine ?? 'onnx') === 'onnx' && kind?.graph !== undefined && !gradient && manifest.features.onInvalid !== 'error' ? 'onnx' : 'tfjs';
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
  const kind = kindOf(manifest);
  const model = await kind.load(manifest, weights, options);
  model.engine = 'tfjs';
  if (kind.graph && scoringEngine(manifest, options) === 'onnx') {
    const scorer = await OnnxScorer.create(manifest, weights, await kind.graph(), model.outputs.map((o) => o.name), options.threads);
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

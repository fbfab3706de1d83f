/** Loads any stored model for scoring; each kind registers its loader here. */
import { UserError } from '../util/errors.js';
import { KMeansModel } from './kmeans/model.js';
import type { ScoringModel } from './model.js';
import type { Manifest, ModelStore, Weight } from './registry.js';

type Loader = (manifest: Manifest, weights: Map<string, Weight>) => ScoringModel;

const LOADERS: Record<string, Loader> = {
  kmeans: (m, w) => KMeansModel.fromStore(m, w),
};

export function loadScoringModel(store: ModelStore, ref: string): ScoringModel {
  const { manifest, weights } = store.load(ref);
  const loader = LOADERS[manifest.kind];
  if (!loader) throw new UserError(`model ${manifest.name}@${manifest.version} is of kind "${manifest.kind}", which this version cannot score`);
  return loader(manifest, weights);
}

/** The lookalike kind's parameters (models/params.ts builds and checks them). */
import type { TUnsafe } from 'typebox';
import { UserError } from '../../util/errors.js';
import { choice, type Defaulted, hiddenLayers, int, parsed, real, seed, text, type ParamNamer, type ParamValues } from '../params.js';

/** The lookalike kind's options (besides --input, --name, --store and the feature options). */
export const LOOKALIKE_PARAMS = {
  'seed-ids': text('seed visitor ids: a Parquet/CSV/Arrow file (the column named like the id column, else the first)', 'FILE'),
  'seed-filter': parsed({ type: 'string', minLength: 1, description: 'or: seeds are the visitors whose column C equals V, "C = V"', 'x-arg': '"C = V"' }, (v, name) => parseSeedFilter(String(v), name)),
  mode: choice(['knn', 'centroid'], 'mean cosine to the --k nearest seeds, or to their centroid', 'knn'),
  k: int('nearest seeds averaged (knn mode)', 1, 10_000, 50),
  'min-seeds': int('refuse with fewer seeds found in the data', 1, 1_000_000_000, 100),
  hidden: parsed({ type: 'string', description: 'the seed-vs-population classifier; its last layer is the embedding', default: '64,32', 'x-arg': 'SIZES' }, hiddenLayers) as Defaulted<TUnsafe<number[]>>,
  'negatives-per-seed': real('sampled non-seeds per seed', { min: 1, max: 1000 }, 10),
  method: choice(['auto', 'embedding', 'classifier', 'blend'], "the expansion score: auto picks the best recall@10% of held-out seeds among the embedding's similarity, the seed-vs-population MLP's logit and their blend", 'auto'),
  seed,
};

/** Its checks between options: the seed audience given one way. @throws UserError naming both options as `names` does. */
export function checkLookalikeParams(p: ParamValues, names: ParamNamer): void {
  if ((p['seed-ids'] === undefined) === (p['seed-filter'] === undefined)) {
    throw new UserError(`${names.where('lookalike')}: give the seed audience as ${names.option('seed-ids')} FILE or ${names.option('seed-filter')} "column = value" (one of them)`);
  }
}

/** Parses `column = value` (value a number or a quoted or bare string). @throws UserError naming the option as `name` for other text. */
export function parseSeedFilter(text: string, name = '--seed-filter'): { column: string; value: string } {
  const m = /^\s*([^=<>!]+?)\s*=\s*(?:"([^"]*)"|'([^']*)'|(\S+))\s*$/.exec(text);
  if (!m) throw new UserError(`${name} "${text}": expected column = value, e.g. converted = 1`);
  return { column: m[1], value: m[2] ?? m[3] ?? m[4] };
}

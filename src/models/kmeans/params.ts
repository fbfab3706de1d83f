/** The K-Means kind's parameters (models/params.ts builds and checks them). */
import type { TUnsafe } from 'typebox';
import { UserError } from '../../util/errors.js';
import { choice, type Defaulted, int, parsed, real, seed } from '../params.js';

/** `--k 8` or a sweep `--k 4..12` (at most 50 values). @throws UserError naming the option as `name` for anything else. */
function parseK(text: string, name: string): number | number[] {
  const range = /^(\d+)\.\.(\d+)$/.exec(text.trim());
  if (range) {
    const [lo, hi] = [Number(range[1]), Number(range[2])];
    if (lo < 2 || hi < lo || hi - lo > 50) throw new UserError(`${name} ${text}: a range must be lo..hi with 2 <= lo <= hi and at most 50 values`);
    return Array.from({ length: hi - lo + 1 }, (_, i) => lo + i);
  }
  const k = Number(text);
  if (!Number.isInteger(k) || k < 2 || k > 10_000) throw new UserError(`${name} ${text}: expected an integer from 2 to 10000 or a range such as 4..12`);
  return k;
}

/** The K-Means kind's options (besides --input, --name, --store and the feature options). */
export const KMEANS_PARAMS = {
  k: parsed({ anyOf: [{ type: 'integer' }, { type: 'string' }], description: 'clusters, or a range LO..HI to sweep: inertia and silhouette per k, the highest silhouette chosen', default: 8, 'x-arg': 'N|LO..HI' }, (v, name) => parseK(String(v), name)) as Defaulted<TUnsafe<number | number[]>>,
  'n-init': int('k-means++ restarts (Arthur and Vassilvitskii 2007), the lowest inertia kept', 1, 100, 3),
  'max-iter': int('Lloyd iterations at most', 1, 100_000, 100),
  tol: real('stop when the squared centroid shift is <= tol x the mean feature variance', { min: 0, max: 1 }, 1e-4),
  mode: choice(['auto', 'lloyd', 'minibatch'], 'auto: Lloyd while the rows fit in backend memory (AUDIENCE_RESIDENT_MB), else mini-batch (Sculley 2010)', 'auto'),
  'batch-size': int('mini-batch rows', 16, 10_000_000, 4096),
  epochs: int('mini-batch passes', 1, 10_000, 3),
  'shard-rows': int('rows per shard when the iterations run on workers (REDIS_URL)', 1, 1_000_000_000, 500_000),
  seed,
};

/** The sweep's rule: highest sampled silhouette; ties go to the smaller k. */
export const K_RULE = 'highest sampled silhouette (ties: smaller k)';

/**
 * The lookalike estimator's prepare step: the population in memory (population.ts), its
 * seeds found and checked, and the seeds held out for the built-in evaluation.
 */
import type { FittedTransform } from '../../features/transform.js';
import type { Dataset } from '../../io/dataset.js';
import { ID_MATCH_MIN_SHARE } from '../../io/ids.js';
import { UserError } from '../../util/errors.js';
import { optionName } from '../params.js';
import { silentProgress } from '../../util/progress.js';
import { Rng } from '../../util/rng.js';
import { settings, type TrainLookalikeOptions } from './options.js';
import { loadPopulation, type Population } from './population.js';

/** The population in memory with its seeds found and checked, and the held-out seeds drawn. */
export interface PreparedLookalike {
  data: Dataset;
  transform: FittedTransform;
  pop: Population;
  /** How the seeds were given, in words (the file, or "column = value"). */
  source: string;
  /** Every seed row, and the split of them for the built-in evaluation. */
  seedRows: Int32Array;
  held: Int32Array;
  trainSeeds: Int32Array;
}

/**
 * Reads the population, finds the seeds and holds out `holdout` of them for the evaluation.
 * @throws UserError when too few seeds are found, or under half of a seed list matches.
 */
export async function prepareLookalike(data: Dataset, transform: FittedTransform, opts: TrainLookalikeOptions): Promise<PreparedLookalike> {
  const { seed, holdout } = settings(opts);
  const loading = (opts.progress ?? (() => silentProgress))('load');
  const pop = await loadPopulation(data, transform, opts.seeds, loading);
  const found = pop.seedIds.length;
  loading.done(`${found} of ${pop.given} seeds found among ${pop.rows} visitors`);
  const { minSeeds } = settings(opts);
  const source = 'file' in opts.seeds ? `${opts.seeds.file}` : `${opts.seeds.column} = ${opts.seeds.value}`;
  if ('ids' in opts.seeds && found < ID_MATCH_MIN_SHARE * pop.given) {
    throw new UserError(
      `seed audience (${source}): only ${found} of ${pop.given} seeds are in the population (under ${ID_MATCH_MIN_SHARE * 100}%), e.g. ${pop.missing.slice(0, 5).join(', ')} are missing. ` +
        `Check that the seed file's ids are the same ids as the population's id column${transform.id.column ? ` ("${transform.id.column}")` : ''}.`,
    );
  }
  if (found < minSeeds) {
    throw new UserError(
      `seed audience (${source}): ${found} of ${pop.given} seeds are in the population; at least ${minSeeds} are needed for a lookalike worth trusting` +
        (pop.missing.length ? ` (${pop.missing.length} ids not found, e.g. ${pop.missing.slice(0, 5).join(', ')})` : '') +
        `. Add seeds, or lower ${optionName(opts, 'min-seeds')}.`,
    );
  }
  if (found === pop.rows) throw new UserError(`seed audience (${source}): every visitor is a seed; there is no one to expand to`);
  const seedRows: number[] = [];
  for (let r = 0; r < pop.rows; r++) if (pop.isSeed[r]) seedRows.push(r);
  new Rng(seed ^ 0x5eed5).shuffle(seedRows);
  const nHeld = Math.max(1, Math.round(seedRows.length * holdout));
  return {
    data,
    transform,
    pop,
    source,
    seedRows: Int32Array.from(seedRows).sort(),
    held: Int32Array.from(seedRows.slice(0, nHeld)).sort(),
    trainSeeds: Int32Array.from(seedRows.slice(nHeld)).sort(),
  };
}

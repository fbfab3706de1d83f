/** The lookalike trainer's options, as every step reads them. */
import { UserError } from '../../util/errors.js';
import type { StageProgress } from '../../util/progress.js';
import { optionName, withDefaults, type KindOptions } from '../params.js';
import { LOOKALIKE_PARAMS } from './params.js';
import type { SeedSource } from './seeds.js';

/**
 * The lookalike trainer's options: the kind's params as its params.ts declares them
 * (KindOptions: `mode`, `k` nearest seeds, `hidden`, `negativesPerSeed`, `method`, ...;
 * defaults from the schemas), the version's name, the seed audience and the held-out share.
 */
export type TrainLookalikeOptions = KindOptions<typeof LOOKALIKE_PARAMS> & {
  name: string;
  seeds: SeedSource;
  /** Share of the seeds held out for the built-in evaluation (default 0.2). */
  holdout?: number;
  /** A progress line per stage, counting `unit` (default rows). */
  progress?: StageProgress;
};

/**
 * Resolved options: the defaults filled in, the held-out share (default 0.2).
 * @throws UserError for a network without a hidden layer (no embedding).
 */
export function settings(opts: TrainLookalikeOptions) {
  const o = withDefaults(LOOKALIKE_PARAMS, opts);
  if (o.hidden.length === 0) throw new UserError(`a lookalike embedding needs at least one hidden layer (${optionName(opts, 'hidden')} 64,32)`);
  return { ...o, holdout: opts.holdout ?? 0.2 };
}

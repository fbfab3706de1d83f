/** The propensity trainer's options, as every step reads them. */
import type { StageProgress } from '../../util/progress.js';
import { withDefaults, type KindOptions } from '../params.js';
import { PROPENSITY_PARAMS } from './params.js';

/**
 * The propensity trainer's options: the kind's params as its params.ts declares them
 * (KindOptions: `hidden`, `learningRate`, `numeric`, `ensemble`, ...; defaults from the
 * schemas, see withDefaults), the version's name and label, and the split's fractions.
 */
export type TrainPropensityOptions = KindOptions<typeof PROPENSITY_PARAMS> & {
  name: string;
  label: string;
  /** Shares of the labeled rows held out for validation and test (default 0.15, 0.2). */
  validFraction?: number;
  testFraction?: number;
  /** A progress line per stage, counting `unit` (default rows). */
  progress?: StageProgress;
};

/** The options with every default in place. */
export const resolve = (opts: TrainPropensityOptions) => withDefaults(PROPENSITY_PARAMS, opts);
export type Resolved = ReturnType<typeof resolve>;

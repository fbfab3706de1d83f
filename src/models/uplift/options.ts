/** The uplift trainer's options as given and with their defaults, and the split's shares. */
import { type StageProgress } from '../../util/progress.js';
import { withDefaults, type KindOptions } from '../params.js';
import { UPLIFT_PARAMS } from './params.js';

/** `audience train uplift`'s options: the kind's params, the model's name, the outcome and treatment columns. */
export type TrainUpliftOptions = KindOptions<typeof UPLIFT_PARAMS> & {
  name: string;
  label: string;
  treatment: string;
  progress?: StageProgress;
};

/** The options with every param's default filled in. */
export const resolve = (opts: TrainUpliftOptions) => withDefaults(UPLIFT_PARAMS, opts);

/** Options with their defaults (resolve). */
export type Resolved = ReturnType<typeof resolve>;

/** Shares of each arm held out for validation (the learner's choice, early stopping) and test. */
export const VALID = 0.15;

/** The share of each arm held out for the test. */
export const TEST = 0.25;

/** The most treatment arms beside the control (each trains two outcome networks and a logistic one). */
export const MAX_ARMS = 10;

/** The CLTV trainer's options, as every step reads them. */
import type { StageProgress } from '../../util/progress.js';
import type { KindOptions } from '../params.js';
import type { CLTV_PARAMS } from './params.js';

/**
 * The CLTV trainer's options: the kind's params as its params.ts declares them
 * (KindOptions: the network's, `horizonDays` (default: the label's own), `sensitive`, `seed`;
 * defaults from the schemas), the version's name and the label.
 */
export type TrainCltvOptions = KindOptions<typeof CLTV_PARAMS> & {
  name: string;
  label: string;
  /** A progress line per stage, counting `unit` (default rows). */
  progress?: StageProgress;
};

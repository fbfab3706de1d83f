/** The outlier model's options, as every step reads them. */
import type { StageProgress } from '../../util/progress.js';
import type { KindOptions } from '../params.js';
import type { ANOMALY_PARAMS } from './params.js';

/**
 * The outlier model's options: the kind's params as its params.ts declares them
 * (KindOptions: `k`, `threshold` in spreads, `niches` looked for among the outliers, `seed`;
 * defaults from the schemas) and the version's name.
 */
export type TrainAnomalyOptions = KindOptions<typeof ANOMALY_PARAMS> & {
  name: string;
  /** A progress line per stage, counting `unit` (default rows). */
  progress?: StageProgress;
};

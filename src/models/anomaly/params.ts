/** The anomaly kind's parameters (models/params.ts builds and checks them). */
import { int, real, seed } from '../params.js';

/** The anomaly kind's options (besides --input, --name, --store and the feature options). */
export const ANOMALY_PARAMS = {
  k: int('segments the outlier score is measured against', 2, 10_000, 8),
  threshold: real('outlier: farther than this many spreads (median member distances) from its segment', { above: 0, max: 1000 }, 3),
  niches: int('clusters of outliers examined as niche segments', 2, 1000, 5),
  seed,
};

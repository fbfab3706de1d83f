/**
 * The propensity estimator's prepare step: the labeled rows in memory (models/labeled.ts),
 * the data checks, and a seeded stratified train / validation / test split.
 */
import { featureGroups, type FeatureGroup, type FittedTransform } from '../../features/transform.js';
import type { Dataset } from '../../io/dataset.js';
import { UserError } from '../../util/errors.js';
import { optionName } from '../params.js';
import { silentProgress } from '../../util/progress.js';
import { labelValues, loadLabeled } from '../labeled.js';
import type { Labeled } from '../nn/fit.js';
import { checkTrainingData, stratifiedSplit, type DataChecks } from './checks.js';
import { resolve, type TrainPropensityOptions } from './options.js';

/** The labeled rows and their split, read once through the feature transform. */
export interface PreparedPropensity {
  data: Dataset;
  transform: FittedTransform;
  labeled: Labeled & { unlabeled: number; groups: Array<Array<string | null>> };
  groups: FeatureGroup[];
  checks: DataChecks;
  /** Row indices (into labeled) of the stratified 65/15/20 split. */
  split: { train: Int32Array; valid: Int32Array; test: Int32Array };
}

/** The default shares of labeled rows held out for validation and test. */
export const DEFAULT_VALID = 0.15;
export const DEFAULT_TEST = 0.2;

/**
 * Reads the labeled rows (rows without a 0/1 label left out and counted), runs the data
 * checks and draws the seeded stratified train / validation / test split.
 * @throws UserError for a missing label column, a label that is also a feature, or data the checks refuse.
 */
export async function preparePropensity(data: Dataset, transform: FittedTransform, opts: TrainPropensityOptions): Promise<PreparedPropensity> {
  const loading = (opts.progress ?? (() => silentProgress))('load');
  const o = resolve(opts);
  const labeled = await loadLabeled(data, transform, opts.label, loading, opts.sensitive ?? [], o.positive);
  loading.done(`${labeled.y.length} labeled rows`);
  if (labeled.y.length === 0 && o.positive === undefined) {
    throw new UserError(
      `label "${opts.label}": none of its ${labeled.unlabeled} values is 0/1, true/false or yes/no. If it holds other values (such as ">50K" and "<=50K"), ` +
        `give ${optionName(opts, 'positive')} VALUE, the value that counts as a conversion; every other value counts as none.`,
    );
  }
  const groups = featureGroups(transform);
  if (o.positive !== undefined && labeled.y.length > 0 && !labeled.y.includes(1)) {
    throw new UserError(`${optionName(opts, 'positive')} ${o.positive}: no row of label "${opts.label}" holds it (values found: ${(await labelValues(data, opts.label)).map((v) => `"${v}"`).join(', ')})`);
  }
  const checks = checkTrainingData(labeled.x, labeled.y, labeled.d, groups, opts.label, labeled.unlabeled, o);
  const split = stratifiedSplit(labeled.y, opts.validFraction ?? DEFAULT_VALID, opts.testFraction ?? DEFAULT_TEST, o.seed);
  return { data, transform, labeled, groups, checks, split };
}

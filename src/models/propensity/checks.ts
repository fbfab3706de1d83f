/**
 * Checks before training a propensity model, each stopping with a stated reason: too few
 * positives or negatives (GA4 asks for 1,000 of each), a constant label, and a feature that
 * alone separates the label (AUC >= 0.99: it probably leaks the outcome).
 */
import type { FeatureGroup } from '../../features/transform.js';
import { rocAuc } from '../../metrics/classification.js';
import { UserError } from '../../util/errors.js';
import { FLAG_NAMES, optionName, type NamedOptions, type ParamNamer } from '../params.js';
import { Rng } from '../../util/rng.js';

export const LEAKAGE_AUC = 0.99;
const LEAKAGE_SAMPLE = 200_000;

export interface DataChecks {
  rows: number;
  positives: number;
  negatives: number;
  /** Rows left out because their label was null or not 0/1, true/false, yes/no. */
  unlabeled: number;
  /** The most predictive single features: AUC of the feature alone, max(AUC, 1 - AUC). */
  singleFeatureAuc: Array<{ feature: string; auc: number }>;
}

/** The checks' options (the propensity params --min-class, --allow-small, --allow-leakage, with their defaults in place). */
export type CheckOptions = NamedOptions & {
  minClass: number;
  allowSmall: boolean;
  allowLeakage: boolean;
};

/** One value per row for a feature: the column, or for a one-hot group the level's positive rate. */
function featureScore(x: Float32Array, d: number, rows: number[], y: Uint8Array, g: FeatureGroup): Float64Array {
  const out = new Float64Array(rows.length);
  if (g.width === 1) {
    rows.forEach((r, i) => (out[i] = x[r * d + g.start]));
    return out;
  }
  const level = (r: number) => {
    for (let j = 0; j < g.width; j++) if (x[r * d + g.start + j] === 1) return j;
    return g.width;
  };
  const pos = new Float64Array(g.width + 1);
  const n = new Float64Array(g.width + 1);
  for (const r of rows) {
    const l = level(r);
    n[l]++;
    pos[l] += y[r];
  }
  rows.forEach((r, i) => {
    const l = level(r);
    out[i] = pos[l] / n[l];
  });
  return out;
}

/**
 * Checks training data (rows x d, row-major, with 0/1 labels) before fitting: enough
 * positives and negatives, a label that varies, no single feature that predicts the label
 * alone (AUC >= 0.99: a leak).
 * @throws UserError with the reason and the flag that allows it.
 */
export function checkTrainingData(
  x: Float32Array,
  y: Uint8Array,
  d: number,
  groups: FeatureGroup[],
  label: string,
  unlabeled: number,
  opts: CheckOptions,
): DataChecks {
  const rows = y.length;
  let positives = 0;
  for (let i = 0; i < rows; i++) positives += y[i];
  const negatives = rows - positives;
  if (positives === 0 || negatives === 0) {
    throw new UserError(`label "${label}" is constant (${positives === 0 ? 'no positive' : 'no negative'} among ${rows} labeled rows): there is nothing to predict`);
  }
  const { minClass } = opts;
  if (!opts.allowSmall && (positives < minClass || negatives < minClass)) {
    throw new UserError(
      `label "${label}" has ${positives} positive and ${negatives} negative rows; at least ${minClass} of each are needed for a model worth trusting ` +
        `(as GA4 and Segment require). Add data, or pass ${optionName(opts, 'min-class')} N or ${optionName(opts, 'allow-small')} to train anyway.`,
    );
  }
  const singleFeatureAuc = leakageCheck(x, d, groups, y, `"${label}"`, opts.allowLeakage, opts.names);
  return { rows, positives, negatives, unlabeled, singleFeatureAuc };
}

/**
 * The leakage check: each feature alone as a score of the 0/1 outcome `y` (rows x d features,
 * on a sample of up to LEAKAGE_SAMPLE rows), its AUC as max(AUC, 1 - AUC).
 * @returns the 10 most predictive features, highest first.
 * @throws UserError when one reaches LEAKAGE_AUC, naming it and --allow-leakage as `names` does (unless allowed).
 */
export function leakageCheck(x: Float32Array, d: number, groups: FeatureGroup[], y: Uint8Array, outcome: string, allowLeakage: boolean, names: ParamNamer = FLAG_NAMES): Array<{ feature: string; auc: number }> {
  const step = Math.max(1, Math.floor(y.length / LEAKAGE_SAMPLE));
  const sample: number[] = [];
  for (let r = 0; r < y.length; r += step) sample.push(r);
  const ys = Uint8Array.from(sample, (r) => y[r]);
  const singleFeatureAuc = groups
    .map((g) => {
      const auc = rocAuc(featureScore(x, d, sample, y, g), ys);
      return { feature: g.name, auc: Number.isNaN(auc) ? 0.5 : Math.max(auc, 1 - auc) };
    })
    .sort((a, b) => b.auc - a.auc);
  const leak = singleFeatureAuc[0];
  if (!allowLeakage && leak && leak.auc >= LEAKAGE_AUC) {
    throw new UserError(
      `feature "${leak.feature}" alone predicts ${outcome} with AUC ${leak.auc.toFixed(4)}: it probably leaks the outcome ` +
        `(recorded after it, or derived from it). Remove it from the features, or pass ${names.option('allow-leakage')} if it is legitimate.`,
    );
  }
  return singleFeatureAuc.slice(0, 10);
}

/** Stratified split into train / validation / test row indices, reproducible from the seed. */
export function stratifiedSplit(y: Uint8Array, validFraction: number, testFraction: number, seed: number): { train: Int32Array; valid: Int32Array; test: Int32Array } {
  const rng = new Rng(seed);
  const parts = { train: [] as number[], valid: [] as number[], test: [] as number[] };
  for (const cls of [0, 1]) {
    const rows: number[] = [];
    for (let i = 0; i < y.length; i++) if (y[i] === cls) rows.push(i);
    rng.shuffle(rows);
    const nTest = Math.round(rows.length * testFraction);
    const nValid = Math.round(rows.length * validFraction);
    // Loops, not push(...rows): spreading a million arguments overflows the stack.
    rows.forEach((r, i) => (i < nTest ? parts.test : i < nTest + nValid ? parts.valid : parts.train).push(r));
  }
  // Sorted: gathers then read rows in memory order; training shuffles its own order.
  const sorted = (a: number[]) => Int32Array.from(a).sort();
  return { train: sorted(parts.train), valid: sorted(parts.valid), test: sorted(parts.test) };
}

/**
 * When early stopping is expected to end a training run: the estimate behind the training
 * progress bar's ETA (the soonest end and max-epochs are its bounds).
 */

/** The absolute drop of the best validation loss that counts as a better pass (trainEpochs). */
export const BETTER_BY = 1e-6;

/**
 * The pass after which early stopping is expected to end the run, from the best validation
 * loss after each pass so far (`best[e - 1]` after pass e; non-increasing).
 *
 * The run ends `patience` passes after the last pass that made progress (dropped the best
 * loss by more than `minDelta` of it, and by more than BETTER_BY). The best loss is taken to
 * follow a power-law learning curve L(t) = L∞ + A/t (the inverse power law of learning-curve
 * extrapolation: Domhan, Springenberg and Hutter 2015, "pow" family, with the exponent fixed
 * at 1 so two points fit it): its average relative drop per pass over the second half of the
 * run so far, g = (B(s) - B(t)) / ((t - s) B(t)) with s = t/2, is A / (s t B), so the drop of
 * one pass, A / (t'^2 B), falls to the threshold at t' = sqrt(g s t / threshold). Progress is
 * expected to go on to max(progressed, t'), and the run to end `patience` passes later, within
 * [progressed + patience, maxEpochs]. Validation noise that beats the threshold after the
 * trend has slowed under it makes real runs somewhat longer (docs/benchmarks.md measures the
 * ETA against real 1M-row runs).
 * @param progressed the last pass that made progress (0: none yet).
 * @returns the expected last pass (1-based, at least the passes done), or undefined before two
 *   passes with a finite loss (nothing to fit).
 */
export function expectedStop(best: readonly number[], progressed: number, patience: number, minDelta: number, maxEpochs: number): number | undefined {
  const t = best.length;
  if (t < 2 || !Number.isFinite(best[t - 1])) return undefined;
  const s = Math.floor(t / 2);
  if (!Number.isFinite(best[s - 1]) || !(best[t - 1] > 0)) return undefined;
  const gain = (best[s - 1] - best[t - 1]) / ((t - s) * best[t - 1]);
  const threshold = Math.max(minDelta, BETTER_BY / best[t - 1]);
  const lastProgress = Math.max(progressed, Math.ceil(Math.sqrt((gain * s * t) / threshold)));
  return Math.max(t, Math.min(maxEpochs, lastProgress + patience));
}

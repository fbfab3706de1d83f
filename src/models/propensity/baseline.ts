/**
 * The propensity model's baseline: logistic regression (the same network code without hidden
 * layers), fitted, calibrated and thresholded on the same split as the MLP, refitted as it
 * was, and measured on the same test rows, so the comparison the report makes stays even.
 */
import type { StageProgress } from '../../util/progress.js';
import { fitMlp } from '../nn/fit.js';
import { calibrateOnValidation, loopOptions, refitOnTrainAndValid, sharedConfig } from './fit.js';
import type { Resolved } from './options.js';
import type { PreparedPropensity } from './prepare.js';
import { onTest, type Evaluation } from './test-metrics.js';

/**
 * Fits the logistic baseline on `p`'s training rows (early stopping on validation, the
 * schema's default stopping limits: a capped baseline would flatter the MLP), refits it on
 * training + validation when `refitted` (as the MLP was), and measures it on the test rows;
 * its network is released before returning.
 * @returns its test metrics and best epoch.
 */
export async function baselineOnTest(p: PreparedPropensity, o: Resolved, refitted: boolean, progress: StageProgress): Promise<{ evaluation: Evaluation; bestEpoch: number }> {
  const fitting = progress('baseline', 'samples');
  const lr = await fitMlp(p.labeled, p.split.train, p.split.valid, { ...sharedConfig(o, p.labeled.d), hidden: [], dropout: 0 }, { ...loopOptions(o, p, true), progress: fitting });
  fitting.done(`logistic regression, best epoch ${lr.bestEpoch}`);
  let tested = lr.mlp;
  try {
    const { calibration, threshold } = await calibrateOnValidation(lr.mlp, p, o);
    if (refitted && lr.bestEpoch > 0) {
      tested = (await refitOnTrainAndValid(p, lr.mlp.config, loopOptions(o, p, true), lr.bestEpoch, progress('baseline refit', 'samples'))).mlp;
      lr.mlp.dispose();
    }
    return { evaluation: (await onTest(tested, calibration, threshold, p)).evaluation, bestEpoch: lr.bestEpoch };
  } finally {
    tested.dispose();
  }
}

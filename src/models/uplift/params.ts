/** The uplift kind's parameters (models/params.ts builds and checks them). */
import { UserError } from '../../util/errors.js';
import { choice, int, network, real, seed, text, type ParamNamer, type ParamValues } from '../params.js';

/** The uplift kind's options (besides --input, --name, --store and the feature options). */
export const UPLIFT_PARAMS = {
  label: text('the outcome column: 0/1, true/false or yes/no (rows with another value are left out and counted)', 'COL', 'required'),
  treatment: text('the arm of each row in the randomized campaign: 1 treated, 0 control (or true/false, yes/no), or any values with --treated', 'COL', 'required'),
  treated: text('the --treatment value that means treated; every other value is control, null is left out', 'VALUE'),
  control: text('the --treatment value of the control arm: every other value is a treatment arm of its own (several arms: a T-learner per arm against the control); not with --treated', 'VALUE'),
  learner: choice(['auto', 't', 'x', 'dr'], 'the meta-learner on the MLP: T (two outcome models), X (Kunzel et al. 2019), DR (Kennedy 2020); auto: the best Qini coefficient on the validation rows', 'auto'),
  ...network('64,32', 'logistic regressions', 0.1, 1e-4),
  ema: real('decay of an exponential moving average of the weights (Polyak averaging); 0: none', { min: 0, max: 0.9999 }, 0.99),
  trainer: choice(['auto', 'onnx', 'tfjs'], "where the outcome classifiers train (the X and DR regressions train on tfjs): onnx, onnxruntime's native kernels; tfjs, the backend's; auto: tfjs on webgpu, else onnx", 'auto'),
  'min-arm': int('refuse with fewer rows in the treated or the control arm', 1, 1_000_000_000, 1000),
  seed,
};

/**
 * The uplift kind's cross-checks, before any data is read (models/params.ts optionsOf calls it):
 * --treated and --control are two ways to name the arms, so one of them at most.
 * @throws UserError naming both options as the caller does (`names`).
 */
export function checkUpliftParams(p: ParamValues, names: ParamNamer): void {
  if (p.treated !== undefined && p.control !== undefined) {
    const [treated, control] = [names.option('treated'), names.option('control')];
    throw new UserError(`${treated} and ${control}: give one (${treated} VALUE: one treated arm, the rest control; ${control} VALUE: the control, each other value an arm)`);
  }
}

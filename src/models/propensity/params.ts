/** The propensity kind's parameters (models/params.ts builds and checks them). */
import type { TUnsafe } from 'typebox';
import { UserError } from '../../util/errors.js';
import { num } from '../../util/options.js';
import { choice, type Defaulted, flag, int, network, parsed, real, seed, sensitive, text, trainer, type ParamNamer, type ParamValues } from '../params.js';

/** `--threshold f1` or a share of visitors to flag strictly between 0 and 1. @throws UserError naming the option as `name` for anything else. */
function threshold(v: unknown, name: string): 'f1' | number {
  if (String(v) === 'f1') return 'f1';
  const share = num(String(v), name, { min: 0 })!;
  if (!(share > 0 && share < 1)) throw new UserError(`${name}: f1, or the share of visitors to flag, between 0 and 1`);
  return share;
}

/**
 * `--bins auto`: fewer bins on small training sets, where 32 overfit (UCI Shoppers, 8,000
 * training rows: -0.002 ROC-AUC against 16, 2 splits) and more on larger ones, where they
 * resolve more (UCI Adult, 21,000 rows: +0.0017; the synthetic table, 19,500 rows: +0.0005;
 * 5 splits), bench/quality.
 */
export const AUTO_BINS = { rows: 15_000, few: 16, many: 32 };

/** `--bins 16` (2 to 256) or auto. @throws UserError naming the option as `name` for anything else. */
function binCount(v: unknown, name: string): number | 'auto' {
  if (String(v) === 'auto') return 'auto';
  const n = Number(v);
  if (!Number.isInteger(n) || n < 2 || n > 256) throw new UserError(`${name} ${String(v)}: expected auto or an integer from 2 to 256`);
  return n;
}

/**
 * `--min-delta auto`: from this many training rows, an epoch counts as progress for early
 * stopping only when it lowers the best validation loss by MIN_DELTA.value (relative): on
 * the generated 1M visitors the weight average's loss kept creeping down by 1e-5 for 20
 * epochs (measured: 46 epochs, best 36; with 1e-4, see README). Below, any drop counts.
 */
export const MIN_DELTA = { rows: 200_000, value: 1e-4 };

/** `--min-delta 0.0001` (0 to 0.1) or auto. @throws UserError naming the option as `name` for anything else. */
function minDelta(v: unknown, name: string): number | 'auto' {
  if (String(v) === 'auto') return 'auto';
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0 || n > 0.1) throw new UserError(`${name} ${String(v)}: expected auto or a number from 0 to 0.1`);
  return n;
}

/** Training + validation rows under which a propensity model is refitted on both by default (`--refit auto`). */
export const REFIT_ROWS = 500_000;

/** The propensity kind's options (besides --input, --name, --store and the feature options). */
export const PROPENSITY_PARAMS = {
  label: text('the outcome column: 0/1, true/false or yes/no (rows with another value are left out and counted), or any values with --positive', 'COL', 'required'),
  positive: text('the label value that counts as a conversion, for a label such as ">50K" / "<=50K" or "purchased" / "browsed": every other value counts as none, null as unlabeled', 'VALUE'),
  ...network('128,64', 'logistic regression', 0.2, 1e-3),
  numeric: choice(['ple', 'standard'], 'numeric inputs as piecewise-linear bins of their training quantiles (Gorishniy et al. 2022), or standardized values', 'ple'),
  bins: parsed(
    { anyOf: [{ type: 'integer' }, { type: 'string' }], description: `bins per numeric input with --numeric ple; auto: ${AUTO_BINS.few} under ${AUTO_BINS.rows.toLocaleString('en-US')} training rows, else ${AUTO_BINS.many}`, default: 'auto', 'x-arg': 'N|auto' },
    (v, name) => binCount(v, name),
  ) as Defaulted<TUnsafe<number | 'auto'>>,
  binning: choice(['fill', 'quantile'], "where the bins' edges go: training quantiles, with each value held by more than a bin's share of rows (a 0, a 999 sentinel) as an edge of its own and the other bins over the remaining values (fill), or plain quantiles", 'fill'),
  embedding: int("with --numeric ple: each numeric input's bins through its own linear layer to N values and a ReLU before the first layer (PLE-LR, Gorishniy et al. 2022); 0: the bins go to the first layer as they are", 0, 64, 0),
  ema: real('decay of an exponential moving average of the weights (Polyak averaging), used for early stopping and the saved model; 0: none', { min: 0, max: 0.9999 }, 0.99),
  refit: choice(['auto', 'yes', 'no'], `after early stopping, train the saved network again on the training and validation rows together for the epochs chosen (the test rows stay held out); auto: when there are under ${REFIT_ROWS.toLocaleString('en-US')} of them`, 'auto'),
  'min-delta': parsed(
    { anyOf: [{ type: 'number' }, { type: 'string' }], description: `early stopping: the relative drop of the best validation loss an epoch must make to count as progress (--patience counts epochs without); auto: ${MIN_DELTA.value} from ${MIN_DELTA.rows.toLocaleString('en-US')} training rows, else 0 (any drop)`, default: 'auto', 'x-arg': 'X|auto' },
    (v, name) => minDelta(v, name),
  ) as Defaulted<TUnsafe<number | 'auto'>>,
  trainer,
  ensemble: int('TabM-mini ensemble members (Gorishniy et al. 2025): shared hidden layers, per-member input adapters and heads, probabilities averaged; k members cost about k x the training and scoring time', 1, 32, 1),
  'class-weight': choice(['auto', 'balanced', 'none'], 'balanced weighs classes by n / (2 n_class); auto does so when positives are under 5%', 'auto'),
  calibration: choice(['platt', 'isotonic', 'none'], 'probability calibration on the validation split (Platt 1999; isotonic: PAV)', 'platt'),
  threshold: parsed({ type: 'string', minLength: 1, description: 'the decision threshold: f1 (best validation F1) or a share of visitors to flag, e.g. 0.1', default: 'f1', 'x-arg': 'f1|SHARE' }, threshold) as Defaulted<TUnsafe<'f1' | number>>,
  'min-class': int('refuse with fewer positives or negatives than this', 1, 1_000_000_000, 1000),
  'allow-small': flag('train below --min-class'),
  'allow-leakage': flag('train even if one feature alone reaches AUC >= 0.99, or the label is a feature audience events wrote'),
  sensitive,
  seed,
};

/** Its checks between options: options of the bins mean nothing without them. @throws UserError naming the options as `names` does. */
export function checkPropensityParams(p: ParamValues, names: ParamNamer): void {
  const binOptions = ['bins', 'binning', 'embedding'].filter((k) => p[k] !== undefined && !(k === 'embedding' && Number(p[k]) === 0));
  const numeric = names.option('numeric');
  if (p.numeric === 'standard' && binOptions.length) throw new UserError(`${names.where('propensity')}: ${names.option(binOptions[0])} applies to ${numeric} ple, not ${numeric} standard`);
}

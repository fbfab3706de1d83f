/** The CLTV kind's parameters (models/params.ts builds and checks them). */
import { flag, horizon, network, seed, sensitive, text, trainer } from '../params.js';

/** The CLTV kind's options (besides --input, --name, --store and the feature options). */
export const CLTV_PARAMS = {
  label: text('the future value column (money spent over the horizon; 0 for none)', 'COL', 'required'),
  ...network('64,32', 'a linear model', 0, 1e-4),
  trainer,
  'horizon-days': horizon,
  'allow-leakage': flag('train even if one feature alone ranks who buys in the horizon with AUC >= 0.99, or the label is a feature audience events wrote'),
  sensitive,
  seed,
};

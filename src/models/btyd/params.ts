/** The BG/NBD kind's parameters (models/params.ts builds and checks them). */
import { horizon, seed, text } from '../params.js';

/** The BG/NBD kind's options (besides --input, --name, --store and the feature options). */
export const BGNBD_PARAMS = {
  label: text('optional: the future value column, to report how the model matched it', 'COL'),
  'horizon-days': horizon,
  seed,
};

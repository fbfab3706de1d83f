/** The BG/NBD kind as the rest of the product sees it (models/kind.ts), registered in models/kinds.ts. */
import { textReport, type KindDescriptor } from '../kind.js';
import type { BgNbdReport, TrainBgNbdOptions } from './train.js';
import { BGNBD_OUTPUTS } from './outputs.js';
import { BGNBD_PARAMS } from './params.js';
import { formatBgNbdReport } from './text.js';

/** The BG/NBD kind's descriptor. */
export const BGNBD_KIND: KindDescriptor<TrainBgNbdOptions, BgNbdReport, typeof BGNBD_PARAMS> = {
  kind: 'bgnbd',
  summary: 'BG/NBD purchases with Gamma-Gamma spend, Fader, Hardie and Lee 2005',
  help: `Reads active_days, tenure_days, recency_days and amount_repeat_mean (audience events --amount);
fitted by maximum likelihood on up to 20,000 customers (--seed picks them). Scoring adds
<name>_purchases and <name>_value (expected over the horizon), <name>_percentile and
<name>_bucket.`,
  params: BGNBD_PARAMS,
  featureSpec: async (data, o) => (await import('./train.js')).bgnbdSpec(data, o),
  estimator: async () => (await import('./train.js')).BGNBD,
  load: async (m) => (await import('./model.js')).BgNbdModel.fromStore(m),
  outputs: () => BGNBD_OUTPUTS,
  outputsHelp: `<name>_purchases, _value (expected over the horizon), _percentile, _bucket`,
  report: { ...textReport(formatBgNbdReport), sections: async (m) => (await import('./report.js')).bgnbdSections(m.metrics as unknown as BgNbdReport) },
};

/** The propensity kind as the rest of the product sees it (models/kind.ts), registered in models/kinds.ts. */
import { checkLabeled, labeledExcluded } from '../columns.js';
import { textReport, type KindDescriptor } from '../kind.js';
import type { PropensityReport } from './evaluate.js';
import type { TrainPropensityOptions } from './options.js';
import { Type } from 'typebox';
import { stateOf } from '../manifest.js';
import { PROPENSITY_OUTPUTS } from './outputs.js';
import { checkPropensityParams, PROPENSITY_PARAMS } from './params.js';
import { formatPropensityReport, propensitySummary } from './text.js';

/** The part of a propensity version's state that fairness reads (propensity/model.ts PropensityStateSchema holds all of it). */
const THRESHOLD = Type.Object({ threshold: Type.Number({ minimum: 0, maximum: 1 }) });

/** The propensity kind's descriptor. */
export const PROPENSITY_KIND: KindDescriptor<TrainPropensityOptions, PropensityReport, typeof PROPENSITY_PARAMS> = {
  kind: 'propensity',
  summary: 'an MLP on any 0/1 label',
  help: `The split is stratified and seeded: 65% train, 15% validation (early stopping, calibration,
threshold), 20% test (every reported metric). With --refit (by default under 500,000
training + validation rows) the network is then trained again on training + validation
for the epochs early stopping chose: that network is saved and tested. A
logistic-regression baseline is trained on the same split and inputs and reported beside the
MLP; it keeps the default --max-epochs and --patience, so capping the MLP's does not flatter it.`,
  params: PROPENSITY_PARAMS,
  checkParams: checkPropensityParams,
  checkData: checkLabeled,
  excluded: labeledExcluded,
  estimator: async () => (await import('./train.js')).PROPENSITY,
  load: async (m, w, o) => (await import('./model.js')).PropensityModel.fromStore(m, w, o),
  outputs: () => PROPENSITY_OUTPUTS,
  graph: async () => (await import('../onnx/model-graphs.js')).PROPENSITY_GRAPH,
  // Selected: a probability at or above the model's threshold (its state's, checked as the model's own schema does); positives: the label.
  fairness: { output: 'probability', label: 'boolean', threshold: (m) => stateOf(m, THRESHOLD).threshold },
  outputsHelp: `<name>_probability, _score (0-100), _percentile, _bucket; with --top-features
    also _top_features (up to 3 features pushing the score up, by gradient x input: a
    backward pass per batch, measured at about 4x the scoring time of the model)`,
  report: { ...textReport(formatPropensityReport), summary: (m) => propensitySummary(m.metrics as unknown as PropensityReport), sections: async (m) => (await import('./report.js')).propensitySections(m.metrics as unknown as PropensityReport) },
};

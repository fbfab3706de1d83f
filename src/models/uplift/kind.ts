/** The uplift kind as the rest of the product sees it (models/kind.ts), registered in models/kinds.ts. */
import { labelColumns, requireColumnFor, requireLabel } from '../columns.js';
import { textReport, type KindDescriptor } from '../kind.js';
import { upliftOutputsOf } from './outputs.js';
import { checkUpliftParams, UPLIFT_PARAMS } from './params.js';
import { formatUpliftReport } from './text.js';
import type { UpliftReport } from './evaluate.js';
import type { TrainUpliftOptions } from './options.js';

/** The uplift kind's descriptor. */
export const UPLIFT_KIND: KindDescriptor<TrainUpliftOptions, UpliftReport, typeof UPLIFT_PARAMS> = {
  kind: 'uplift',
  summary: "who responds because of a campaign, from its randomized treated and control rows (e.g. 'audience generate --campaign')",
  help: `Each arm is split 60/15/25 (stratified on the outcome). On the MLP: a T-learner (an
outcome model per arm), an X-learner (Kunzel et al. 2019) and a DR-learner (Kennedy 2020);
auto keeps the best Qini coefficient on the validation rows. The test rows report each
beside an S-learner and a T-learner of logistic regressions: the Qini coefficient (the area
between the Qini curve and the random line, x = share targeted, y = incremental conversions
per row; and divided by the best ranking's, as scikit-uplift), AUUC, and the uplift among
the top 10/20/30%. Scoring adds <name>_uplift (the predicted increase in the probability),
<name>_percentile and <name>_rank (1 = most persuadable): 'uplift.rank <= 20%' is a
persuadables audience. With --control VALUE every other value of the treatment column is
an arm: a T-learner per arm against the control (MLP and logistic), each arm's Qini on its
rows and the control's, and scoring adds <name>_arm (the arm of highest predicted uplift,
whose uplift <name>_uplift is) and <name>_uplift_<k> per arm. It scores on tfjs (no ONNX
graph for this kind).`,
  params: UPLIFT_PARAMS,
  checkParams: checkUpliftParams,
  checkData(data, o) {
    requireLabel(data, o.label);
    requireColumnFor(data, o.treatment, 'treatment');
  },
  // The outcome and the arm are never inputs; nor is a true effect a synthetic campaign carries.
  excluded: (data, o) => [...labelColumns(data, o.label), o.treatment, ...data.columns.filter((col) => /^true_uplift(_\d+)?$/.test(col.name)).map((col) => col.name)],
  estimator: async () => (await import('./train.js')).UPLIFT,
  load: async (m, w) => (await import('./model.js')).UpliftModel.fromStore(m, w),
  outputs: upliftOutputsOf,
  outputsHelp: `<name>_uplift (the predicted increase in the outcome's probability if treated),
    _percentile, _rank (1 = most persuadable): 'uplift.rank <= 20%' is a persuadables audience;
    with several arms (--control) also _arm (the best arm's value) and _uplift_<k> (arm k's)`,
  report: { ...textReport(formatUpliftReport), sections: async (m) => (await import('./report.js')).upliftSections(m.metrics as unknown as UpliftReport) },
};

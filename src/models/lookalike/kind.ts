/** The lookalike kind as the rest of the product sees it (models/kind.ts), registered in models/kinds.ts. */
import { textReport, type KindDescriptor } from '../kind.js';
import type { LookalikeReport } from './evaluate.js';
import type { TrainLookalikeOptions } from './options.js';
import { LOOKALIKE_OUTPUTS } from './outputs.js';
import { requireColumnFor } from '../columns.js';
import { checkLookalikeParams, LOOKALIKE_PARAMS } from './params.js';
import { formatLookalikeReport, lookalikeSummary } from './text.js';

/** The lookalike kind's descriptor. */
export const LOOKALIKE_KIND: KindDescriptor<TrainLookalikeOptions, LookalikeReport, typeof LOOKALIKE_PARAMS> = {
  kind: 'lookalike',
  summary: 'similarity to a seed audience in a learned embedding; one of --seed-ids, --seed-filter',
  help: `Evaluation: 20% of the seeds are held out; recall of them at 1/5/10/20% of the non-seed
population and the ranking's AUC are reported beside k-nearest-seed cosine on the
standardized features and a logistic seed-vs-population model. The saved model then
learns from all seeds. Scoring adds <name>_similarity, <name>_is_seed, <name>_rank (1 =
most similar non-seed) and <name>_percentile.`,
  params: LOOKALIKE_PARAMS,
  checkParams: checkLookalikeParams,
  checkData(data, o) {
    if (o.seedFilter) requireColumnFor(data, o.seedFilter.column, 'seed filter');
  },
  // The filter column defines the seeds: it cannot be a feature.
  excluded: (_data, o) => (o.seedFilter ? [o.seedFilter.column] : []),
  fitOptions: async ({ spec, options: o }) => ({ ...o, seeds: o.seedIds ? await (await import('./seeds.js')).readSeedIds(o.seedIds, spec.id ?? null) : o.seedFilter! }),
  estimator: async () => (await import('./train.js')).LOOKALIKE,
  load: async (m, w) => (await import('./model.js')).LookalikeModel.fromStore(m, w),
  outputs: () => LOOKALIKE_OUTPUTS,
  outputsHelp: `<name>_similarity, _is_seed, _rank (1 = most similar non-seed), _percentile`,
  report: { ...textReport(formatLookalikeReport), summary: (m) => lookalikeSummary(m.metrics as unknown as LookalikeReport), sections: async (m) => (await import('./report.js')).lookalikeSections(m.metrics as unknown as LookalikeReport) },
};

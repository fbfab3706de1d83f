/** The K-Means kind as the rest of the product sees it (models/kind.ts), registered in models/kinds.ts. */
import { UserError } from '../../util/errors.js';
import type { KindDescriptor } from '../kind.js';
import { optionName, withDefaults } from '../params.js';
import { KMEANS_OUTPUTS } from './outputs.js';
import { K_RULE, KMEANS_PARAMS } from './params.js';
import type { KMeansReport, TrainKMeansOptions } from './train.js';
import { shownKMeansText, trainedKMeansText, kmeansSummary } from './text.js';

/** The K-Means kind's descriptor. */
export const KMEANS_KIND: KindDescriptor<TrainKMeansOptions, KMeansReport, typeof KMEANS_PARAMS> = {
  kind: 'kmeans',
  summary: 'segments: batched K-Means',
  help: `A sweep chooses k by the ${K_RULE}.
With REDIS_URL set, the Lloyd iterations run on 'audience worker' hosts: the rows are
read in shards of --shard-rows and kept on the workers; each iteration adds their
per-segment sums (the same model as on one host from the same seed, to float32
rounding). The model store must be on a filesystem every worker sees.`,
  params: KMEANS_PARAMS,
  usesWorkers: true,
  checkData(_data, o, { run }) {
    if (run?.workers && o.mode === 'minibatch') throw new UserError(`${optionName(o, 'mode')} minibatch runs on one host: use ${optionName(o, 'mode')} lloyd (or auto) with REDIS_URL, or unset REDIS_URL`);
  },
  // Several hosts: the rows go to the workers, in shards of --shard-rows.
  fitOptions: async ({ options: o, run }) => (run.workers ? { ...o, loadData: run.workers(withDefaults(KMEANS_PARAMS, o).shardRows) } : o),
  estimator: async () => (await import('./train.js')).KMEANS,
  load: async (m, w) => (await import('./model.js')).KMeansModel.fromStore(m, w),
  outputs: () => KMEANS_OUTPUTS,
  graph: async () => (await import('../onnx/model-graphs.js')).KMEANS_GRAPH,
  outputsHelp: `<name>_segment (INTEGER), <name>_distance (FLOAT, standardized units)`,
  report: { trained: trainedKMeansText, shown: shownKMeansText, summary: (m) => kmeansSummary(m.metrics), sections: async (m) => (await import('./report.js')).kmeansSections(m.metrics, m) },
};

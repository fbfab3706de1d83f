import { fitTransform } from '../../features/fit.js';
import { checkName } from '../../models/registry.js';
import { K_RULE, parseK, trainKMeans } from '../../models/kmeans/train.js';
import type { KMeansMode } from '../../models/kmeans/fit.js';
import { UserError } from '../../util/errors.js';
import { fmtCount } from '../../util/progress.js';
import { num, str, type Command } from '../args.js';
import { formatProfiles, table } from '../format.js';
import { datasetFrom, FEATURE_OPTIONS, INPUT_OPTIONS, progressFor, specFrom, STORE_OPTIONS, storeFrom, type Values } from './common.js';

async function trainKMeansCommand(values: Values): Promise<void> {
  const name = checkName(str(values.name, '--name', 'train kmeans'));
  const k = parseK(str(values.k ?? '8', '--k', 'train kmeans'));
  const mode = (values.mode ?? 'auto') as KMeansMode;
  if (!['auto', 'lloyd', 'minibatch'].includes(mode)) throw new UserError(`--mode ${mode}: expected auto, lloyd or minibatch`);
  const data = await datasetFrom(values, 'train kmeans');
  const spec = await specFrom(values, data);
  const progress = progressFor(values);
  const fitting = progress('features');
  const transform = await fitTransform(data, spec, fitting);
  fitting.done(`${transform.outputs.length} model inputs from ${transform.features.length} columns`);
  const result = await trainKMeans(data, transform, storeFrom(values), {
    k,
    name,
    nInit: num(values['n-init'], '--n-init', { int: true, min: 1 }),
    maxIter: num(values['max-iter'], '--max-iter', { int: true, min: 1 }),
    tol: num(values.tol, '--tol', { min: 0 }),
    seed: num(values.seed, '--seed', { int: true }),
    batchSize: num(values['batch-size'], '--batch-size', { int: true, min: 16 }),
    epochs: num(values.epochs, '--epochs', { int: true, min: 1 }),
    mode,
    progress,
  });
  const { fit, model, sweep, profiles } = result;
  const out: string[] = [];
  if (sweep) {
    out.push(table(sweep.map((r) => ({ k: r.k, inertia: r.inertia.toPrecision(6), silhouette: r.silhouette.toFixed(4), chosen: r.k === fit.k ? '<-' : '' }))));
    out.push(`k=${fit.k} chosen by the rule: ${K_RULE}`, '');
  }
  out.push(
    `Saved ${model.manifest.name}@${model.manifest.version} (${model.manifest.backend.name}): k=${fit.k}, ${fmtCount(fit.rows)} rows, ` +
      `inertia ${fit.inertia.toPrecision(6)}, silhouette ${fit.silhouette.toFixed(3)} (sampled), ${fit.mode} ${fit.iterations} iterations${fit.converged ? '' : ' (not converged)'}`,
    '',
    formatProfiles(profiles),
  );
  process.stdout.write(`${out.join('\n')}\n`);
}

export const train: Command = {
  name: 'train',
  summary: 'train a model: kmeans (behavioral segments)',
  usage: `audience train kmeans --input <files|globs> --name behavior [--k 8 | --k 4..12] [options]

  --features FILE|auto   feature spec (see 'audience features --help'); default auto
  --id COL               visitor id column (default: inferred, else row numbers)
  --exclude COLS         columns to leave out of auto features (labels, ground truth)
  --k N | LO..HI         clusters, or a range to sweep: inertia and silhouette per k,
                         the chosen k is the ${K_RULE}
  --n-init N             k-means++ restarts, lowest inertia kept (default 3)
  --max-iter N, --tol T  Lloyd stopping: iterations (100), centroid shift (1e-4 x mean variance)
  --mode auto|lloyd|minibatch
                         auto: Lloyd while the data fits in backend memory
                         (AUDIENCE_RESIDENT_MB, default 1536 on wasm), else mini-batch
  --batch-size N, --epochs N   mini-batch size (4096) and passes (3)
  --seed N               seeds sampling and k-means++ (default 0)
  --store DIR            model store (default ./models or AUDIENCE_MODEL_STORE)

Saves models/<name>/<version>/ (model.json + weights.bin + manifest.json with the fitted
feature transform, metrics, segment profiles, data fingerprint and backend).`,
  options: {
    ...INPUT_OPTIONS,
    ...FEATURE_OPTIONS,
    ...STORE_OPTIONS,
    name: { type: 'string' },
    k: { type: 'string' },
    'n-init': { type: 'string' },
    'max-iter': { type: 'string' },
    tol: { type: 'string' },
    mode: { type: 'string' },
    'batch-size': { type: 'string' },
    epochs: { type: 'string' },
    seed: { type: 'string' },
  },
  async run(values, positionals) {
    const kind = positionals[0];
    if (kind === 'kmeans') return trainKMeansCommand(values);
    throw new UserError(`audience train: unknown model kind "${kind ?? ''}"; available: kmeans`);
  },
};

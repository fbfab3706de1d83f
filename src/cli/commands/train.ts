import { fitTransform } from '../../features/fit.js';
import type { FeatureSpec } from '../../features/spec.js';
import type { Dataset } from '../../io/dataset.js';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { loadKMeansOnQueue } from '../../jobs/kmeans-queue.js';
import { checkRedisUrl, redisUrl } from '../../jobs/queue.js';
import { K_RULE, trainKMeans, type TrainKMeansOptions } from '../../models/kmeans/train.js';
import { anomalyParams, bgnbdParams, cltvParams, kmeansParams, lookalikeParams, MODEL_KINDS, propensityParams, TRAIN_OPTIONS } from '../../models/params.js';
import { UserError } from '../../util/errors.js';
import { fmtCount } from '../../util/progress.js';
import { type Command } from '../args.js';
import { formatAnomalyReport, formatBgNbdReport, formatCltvReport, formatLookalikeReport, formatPropensityReport, formatProfiles, table } from '../format.js';
import { trainAnomaly } from '../../models/anomaly/train.js';
import { trainLookalike } from '../../models/lookalike/train.js';
import { checkFilterColumn, parseSeedFilter, readSeedIds, type SeedSource } from '../../models/lookalike/seeds.js';
import { requireLabel, trainPropensity } from '../../models/propensity/train.js';
import { trainCltv } from '../../models/cltv/train.js';
import { trainBgNbd } from '../../models/btyd/train.js';
import { LABEL_COLUMNS } from '../../features/events.js';
import { datasetFrom, FEATURE_OPTIONS, INPUT_OPTIONS, progressFor, specFrom, STORE_OPTIONS, storeFrom, type Values } from './common.js';

/** The feature transform every training starts from, with its progress line. */
async function fitFeatures(values: Values, data: Dataset, spec: FeatureSpec) {
  const progress = progressFor(values);
  const fitting = progress('features');
  const transform = await fitTransform(data, spec, fitting);
  fitting.done(`${transform.outputs.length} model inputs from ${transform.features.length} columns`);
  return { progress, transform };
}

async function trainKMeansCommand(values: Values): Promise<SavedModel> {
  const params = kmeansParams(values);
  const data = await datasetFrom(values, 'train kmeans');
  const spec = await specFrom(values, data);
  const { progress, transform } = await fitFeatures(values, data, spec);
  const store = storeFrom(values);
  const url = redisUrl();
  if (url && params.mode === 'minibatch') throw new UserError('train kmeans --mode minibatch runs on one host: use --mode lloyd (or auto) with REDIS_URL, or unset REDIS_URL');
  // Several hosts: the rows go to the workers, staged under the model store (which they all see).
  const loadData: TrainKMeansOptions['loadData'] = url
    ? (o) => loadKMeansOnQueue(checkRedisUrl(url, 'REDIS_URL'), data, transform, { ...o, shardRows: params.shardRows, staging: path.join(path.resolve(store.root), '.staging', `kmeans-${randomUUID()}`) })
    : undefined;
  const result = await trainKMeans(data, transform, store, { ...params, progress, loadData });
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
  return { name: model.manifest.name, version: model.manifest.version };
}

/**
 * Columns training on `label` must never read: the label, and when it is one of the labels
 * `audience events --horizon` writes, the others (a CSV copy of that file has no metadata
 * marking them, and each gives the others away).
 */
function labelColumns(data: Dataset, label: string): string[] {
  const names = data.columns.map((c) => c.name);
  return LABEL_COLUMNS.includes(label) ? LABEL_COLUMNS.filter((c) => names.includes(c)) : [label];
}

async function trainPropensityCommand(values: Values): Promise<SavedModel> {
  const params = propensityParams(values);
  const data = await datasetFrom(values, 'train propensity');
  requireLabel(data, params.label);
  const spec = await specFrom(values, data, [...labelColumns(data, params.label), ...(params.sensitive ?? [])]);
  const { progress, transform } = await fitFeatures(values, data, spec);
  const { model, report } = await trainPropensity(data, transform, storeFrom(values), { ...params, progress });
  process.stdout.write(`Saved ${model.manifest.name}@${model.manifest.version} (${model.manifest.backend.name})\n${formatPropensityReport(report)}\n`);
  model.dispose();
  return { name: model.manifest.name, version: model.manifest.version };
}

async function trainLookalikeCommand(values: Values): Promise<SavedModel> {
  const params = lookalikeParams(values);
  const data = await datasetFrom(values, 'train lookalike');
  let exclude: string[] = [];
  let seeds: SeedSource;
  if (typeof values['seed-filter'] === 'string') {
    const filter = parseSeedFilter(values['seed-filter']);
    checkFilterColumn(data, filter.column);
    seeds = filter;
    exclude = [filter.column]; // the filter column defines the seeds: it cannot be a feature
  }
  const spec = await specFrom(values, data, exclude);
  if (typeof values['seed-ids'] === 'string') seeds = await readSeedIds(values['seed-ids'], spec.id ?? null);
  const { progress, transform } = await fitFeatures(values, data, spec);
  const { model, report } = await trainLookalike(data, transform, storeFrom(values), { ...params, seeds: seeds!, progress });
  process.stdout.write(`Saved ${model.manifest.name}@${model.manifest.version} (${model.manifest.backend.name})\n${formatLookalikeReport(report)}\n`);
  model.dispose();
  return { name: model.manifest.name, version: model.manifest.version };
}

async function trainAnomalyCommand(values: Values): Promise<SavedModel> {
  const params = anomalyParams(values);
  const data = await datasetFrom(values, 'train anomaly');
  const spec = await specFrom(values, data);
  const { progress, transform } = await fitFeatures(values, data, spec);
  const { model, report } = await trainAnomaly(data, transform, storeFrom(values), { ...params, progress });
  process.stdout.write(`Saved ${model.manifest.name}@${model.manifest.version} (${model.manifest.backend.name})\n${formatAnomalyReport(report)}\n`);
  model.dispose();
  return { name: model.manifest.name, version: model.manifest.version };
}

async function trainCltvCommand(values: Values): Promise<SavedModel> {
  const params = cltvParams(values);
  const data = await datasetFrom(values, 'train cltv');
  requireLabel(data, params.label);
  const spec = await specFrom(values, data, [...labelColumns(data, params.label), ...(params.sensitive ?? [])]);
  const { progress, transform } = await fitFeatures(values, data, spec);
  const { model, report } = await trainCltv(data, transform, storeFrom(values), { ...params, progress });
  process.stdout.write(`Saved ${model.manifest.name}@${model.manifest.version} (${model.manifest.backend.name})\n${formatCltvReport(report)}\n`);
  model.dispose();
  return { name: model.manifest.name, version: model.manifest.version };
}

async function trainBgNbdCommand(values: Values): Promise<SavedModel> {
  const params = bgnbdParams(values);
  const data = await datasetFrom(values, 'train bgnbd');
  const { model, report } = await trainBgNbd(data, storeFrom(values), { ...params, progress: progressFor(values) });
  process.stdout.write(`Saved ${model.manifest.name}@${model.manifest.version}\n${formatBgNbdReport(report)}\n`);
  return { name: model.manifest.name, version: model.manifest.version };
}

export const train: Command = {
  name: 'train',
  summary: 'train a model: kmeans (segments), propensity (to convert), lookalike (like a seed), anomaly (outliers), cltv (lifetime value), bgnbd (its classic baseline)',
  usage: `audience train kmeans --input <files|globs> --name behavior [--k 8 | --k 4..12] [options]
audience train propensity --input <files|globs> --label converted --name purchase [options]
audience train lookalike --input <files|globs> --seed-ids best_customers.csv --name lookalike [options]
audience train anomaly --input <files|globs> --name outliers [--k 8] [--threshold 3] [--niches 5]
audience train cltv --input features.parquet --label future_value --name value [options]
audience train bgnbd --input features.parquet --name btyd [--horizon-days 90]

Common:
  --features FILE|auto   feature spec (see 'audience features --help'); default auto
  --id COL               visitor id column (default: inferred, else row numbers)
  --exclude COLS         columns to leave out of auto features (the label always is)
  --seed N               seeds sampling, initialization and splits (default 0)
  --store DIR            model store (default ./models or AUDIENCE_MODEL_STORE)

kmeans:
  --k N | LO..HI         clusters, or a range to sweep: inertia and silhouette per k,
                         the chosen k is the ${K_RULE}
  --n-init N             k-means++ restarts, lowest inertia kept (default 3)
  --max-iter N, --tol T  Lloyd stopping: iterations (100), centroid shift (1e-4 x mean variance)
  --mode auto|lloyd|minibatch
                         auto: Lloyd while the data fits in backend memory
                         (AUDIENCE_RESIDENT_MB, default 1536 on wasm), else mini-batch
  --batch-size N, --epochs N   mini-batch size (4096) and passes (3)
  With REDIS_URL set, the Lloyd iterations run on 'audience worker' hosts: the rows are
  read in shards of --shard-rows (default 500,000) and kept on the workers; each
  iteration adds their per-segment sums (the same model as on one host from the same seed,
  to float32 rounding). The model store must be on a filesystem every worker sees.

propensity (an MLP on any 0/1 label: numbers, booleans, yes/no text):
  --label COL            the outcome; rows with a null or unreadable label are left out
  --hidden 128,64        hidden layer sizes ('none': logistic regression)
  --dropout R, --l2 L    regularization (defaults 0.2 and 1e-3), --learning-rate (1e-3, Adam)
  --batch-size N         default min(4096, max(256, train rows / 50))
  --max-epochs N, --patience N   early stopping on validation loss (200, 10); best epoch restored
  --class-weight auto|balanced|none   balanced weighs classes by n / (2 n_class);
                         auto (default) does so when positives are under 5% of rows
  --calibration platt|isotonic|none   fitted on the validation split (default platt)
  --threshold f1|SHARE   decision threshold: best validation F1, or flag a share (e.g. 0.1)
  --min-class N          refuse with fewer positives or negatives (default 1000); --allow-small
  --allow-leakage        train even if one feature alone reaches AUC >= 0.99
  --sensitive COL        (repeatable; propensity and cltv) fairness by the groups of COL on
                         the test rows: count, mean score, selection rate at the threshold,
                         TPR, FPR, calibration, disparate impact (four-fifths rule flagged).
                         COL is left out of the model inputs unless a --features spec has it
The split is stratified and seeded: 65% train, 15% validation (early stopping, calibration,
threshold), 20% test (every reported metric). A logistic-regression baseline is trained
on the same split and reported beside the MLP.

lookalike (similarity to a seed audience in a learned embedding):
  --seed-ids FILE        seed visitor ids (Parquet/CSV/Arrow; the column named like the id
                         column, else the first); ids not in the population are reported
  --seed-filter "C = V"  or: seeds are the visitors whose column C equals V
  --mode knn|centroid    mean cosine to the --k nearest seeds (default, k=50), or to their centroid
  --hidden 64,32         the seed-vs-population classifier; its last layer is the embedding
  --negatives-per-seed N sampled non-seeds per seed (10)   --min-seeds N (100)
Evaluation: 20% of the seeds are held out; recall of them at 1/5/10/20% of the non-seed
population and the ranking's AUC are reported beside k-nearest-seed cosine on the
standardized features and a logistic seed-vs-population model. The saved model then
learns from all seeds. Scoring adds <name>_similarity, <name>_is_seed, <name>_rank (1 =
most similar non-seed) and <name>_percentile.

anomaly (outlier scores and niche segments):
  score = distance to the nearest of --k K-Means centroids / that cluster's spread (RMS
  distance of its members); outliers have score > --threshold (3). Outliers are clustered
  again into at most --niches groups; a group denser than the median segment and over 2
  spreads from every segment is a niche, profiled like a segment. Scoring adds
  <name>_score, <name>_cluster, <name>_niche (null unless an outlier near a niche), _percentile.

cltv (customer lifetime value: money over a horizon, e.g. future_value from
      'audience events --horizon 90d'):
  --label COL            the value (0 or more; rows without one are left out)
  --hidden 64,32, --dropout R (0), --l2 L (1e-4), --learning-rate (1e-3), --batch-size N,
  --max-epochs N (200), --patience N (10)   as for propensity
  --horizon-days N       days the label covers (default: the label's own, from audience events)
  A zero-inflated lognormal MLP (Wang, Liu and Miao 2019): the probability of buying at all
  and the lognormal spend of those who do. Split 65/15/20 stratified on buying; MAE, RMSE,
  normalized Gini, Spearman and deciles on the test split beside the last window's spend
  (trailing amount_<w>d scaled to the horizon) and BG/NBD + Gamma-Gamma fitted on the
  training customers (from recency_days, tenure_days, active_days, amount_mean).
  Scoring adds <name>_value (expected value over the horizon), <name>_p_active,
  <name>_percentile and <name>_bucket.

bgnbd (BG/NBD purchases with Gamma-Gamma spend, Fader, Hardie and Lee 2005):
  reads active_days, tenure_days, recency_days and amount_mean (audience events --amount);
  fitted by maximum likelihood on up to 20,000 customers (--seed picks them).
  --horizon-days N       days to predict over (default: the label's own, from audience events)
  --label COL            checked against this value (default future_value when present)
  Scoring adds <name>_purchases and <name>_value (expected over the horizon),
  <name>_percentile and <name>_bucket.

Saves models/<name>/<version>/ (model.json + weights.bin + manifest.json with the fitted
feature transform, metrics, profiles or evaluation report, data fingerprint and backend).`,
  options: {
    ...INPUT_OPTIONS,
    ...FEATURE_OPTIONS,
    ...STORE_OPTIONS,
    ...TRAIN_OPTIONS,
  },
  async run(values, positionals) {
    await trainModel(positionals[0], values);
  },
};

export interface SavedModel {
  name: string;
  version: number;
}

const TRAINERS: Record<string, (values: Values) => Promise<SavedModel>> = {
  kmeans: trainKMeansCommand,
  propensity: trainPropensityCommand,
  lookalike: trainLookalikeCommand,
  anomaly: trainAnomalyCommand,
  cltv: trainCltvCommand,
  bgnbd: trainBgNbdCommand,
};



/** Trains a model of the given kind from option values (the flags without dashes); prints its report. */
export function trainModel(kind: string | undefined, values: Values): Promise<SavedModel> {
  const trainer = kind === undefined ? undefined : TRAINERS[kind];
  if (!trainer) throw new UserError(`audience train: unknown model kind "${kind ?? ''}"; available: ${MODEL_KINDS.join(', ')}`);
  return trainer(values);
}

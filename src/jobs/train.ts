/**
 * A train job: one model kind trained from typed params, the same whether `audience train`
 * runs it or the service's runner does. The steps each kind composes: open the inputs,
 * decide the features (a spec file, or inferred with the label, seed-filter and sensitive
 * columns left out), fit the feature transform, then the kind's estimator steps composed by
 * models/estimator.ts `train` (prepare the rows, fit, evaluate on held-out rows, save a
 * version); the text report is returned for the caller to print or store.
 */
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { LABEL_COLUMNS } from '../features/events.js';
import { fitTransform } from '../features/fit.js';
import { inferSpec } from '../features/infer.js';
import { loadSpec, type FeatureSpec } from '../features/spec.js';
import type { FittedTransform } from '../features/transform.js';
import { openDataset, type Dataset } from '../io/dataset.js';
import { ANOMALY } from '../models/anomaly/train.js';
import { BGNBD, bgnbdSpec } from '../models/btyd/train.js';
import { CLTV } from '../models/cltv/train.js';
import { train } from '../models/estimator.js';
import { K_RULE, KMEANS, type TrainKMeansOptions } from '../models/kmeans/train.js';
import { checkFilterColumn, readSeedIds, type SeedSource } from '../models/lookalike/seeds.js';
import { LOOKALIKE } from '../models/lookalike/train.js';
import { checkParams, MODEL_KINDS, optionsOf, type ModelKind, type ParamValues } from '../models/params.js';
import { PROPENSITY, requireLabel } from '../models/propensity/train.js';
import type { ModelStore } from '../models/registry.js';
import { requireTreatment, UPLIFT } from '../models/uplift/train.js';
import { formatUpliftReport } from '../report/uplift.js';
import { formatAnomalyReport, formatBgNbdReport, formatCltvReport, formatLookalikeReport, formatProfiles, formatPropensityReport, table } from '../report/text.js';
import { UserError } from '../util/errors.js';
import { fmtCount, silentProgress, type StageProgress } from '../util/progress.js';
import { loadKMeansOnQueue } from './kmeans-queue.js';
import { checkRedisUrl, redisUrl } from './queue.js';

/** What to train: the kind, the version's name, the inputs (files or globs) and the kind's params. */
export interface TrainRequest {
  kind: string;
  name: string;
  input: string[];
  /** The kind's options (see models/params.ts), unchecked: checked here. */
  params: ParamValues;
  store: ModelStore;
  progress?: StageProgress;
  /** Where notes on inferred features go (stderr for the CLI); none when absent. */
  note?: (line: string) => void;
  /** The service's data roots: workers resolve the inputs inside them when they open them (jobs/guard.ts). */
  roots?: string[];
  /** K-Means over the workers: why its shards are not moving ("0 workers connected for 90 s ..."), undefined once they move. */
  onWaiting?: (why: string | undefined) => void;
}

/** A trained version and its text report. */
export interface TrainOutcome {
  name: string;
  version: number;
  report: string;
}

/** Everything a kind's step needs once the params are checked. */
interface Context {
  req: TrainRequest;
  params: ParamValues;
  progress: StageProgress;
}

/**
 * Trains one model from typed params and saves it as the next version of `req.name`.
 * @throws UserError for bad params or input (naming the option, file, column); the trainers' errors otherwise.
 */
export async function trainFromParams(req: TrainRequest): Promise<TrainOutcome> {
  const step = TRAINERS[req.kind as ModelKind];
  if (!step) throw new UserError(`audience train: unknown model kind "${req.kind}"; available: ${MODEL_KINDS.join(', ')}`);
  const params = checkParams(req.kind, req.params);
  return step({ req, params, progress: req.progress ?? (() => silentProgress) });
}

async function dataset(req: TrainRequest): Promise<Dataset> {
  if (req.input.length === 0) throw new UserError(`audience train ${req.kind}: --input <file|glob> is required (Parquet, CSV or Arrow IPC)`);
  return openDataset(req.input);
}

/** Every --sensitive column is in the data. @throws UserError naming the flag, the column and the file's columns. */
function requireSensitive(data: Dataset, columns: string[] | undefined): void {
  for (const c of columns ?? []) {
    if (!data.columns.some((col) => col.name === c)) throw new UserError(`--sensitive ${c}: ${data.tables[0].path} has no column "${c}" (columns: ${data.columns.map((col) => col.name).join(', ')})`);
  }
}

/** Which columns become inputs: the options every kind takes (models/params.ts FEATURE_PARAMS), as optionsOf gives them. */
type FeatureOptions = { features: string; id?: string; exclude?: string[] };

/** The spec from the `features` option (a file), or inferred from the data leaving `exclude` out. */
async function featureSpec(c: Context, data: Dataset, o: FeatureOptions, exclude: string[] = []): Promise<FeatureSpec> {
  if (o.features !== 'auto') {
    const spec = loadSpec(o.features);
    if (o.id !== undefined) spec.id = o.id;
    return spec;
  }
  const { spec, notes } = await inferSpec(data, { id: o.id, exclude: [...(o.exclude ?? []), ...exclude] });
  if (c.req.note) {
    c.req.note(`Features inferred from ${data.tables[0].path} (--features auto):`);
    for (const n of notes) c.req.note(`  ${n}`);
    c.req.note('To edit them: audience features --input ... --out features.json, then --features features.json');
  }
  return spec;
}

/** The feature transform every training starts from, with its progress line. */
async function fitFeatures(c: Context, data: Dataset, spec: FeatureSpec): Promise<FittedTransform> {
  const fitting = c.progress('features');
  const transform = await fitTransform(data, spec, fitting);
  fitting.done(`${transform.outputs.length} model inputs from ${transform.features.length} columns`);
  // Values the model learns as imputed: said here, as scoring says it (a boolean's unreadable text would otherwise pass unseen).
  for (const f of transform.features) {
    if (f.kind === 'categorical' || f.invalid === 0) continue;
    const expected = f.kind === 'boolean' ? ' (a boolean column holds true/false, yes/no or 1/0)' : '';
    c.req.note?.(`${f.name}: ${f.invalid} missing or invalid value(s) imputed with ${f.fill}${expected}`);
  }
  return transform;
}

/**
 * Columns training on `label` must never read: the label, and when it is one of the labels
 * `audience events --horizon` writes, the others (a CSV copy of that file has no metadata
 * marking them, and each gives the others away).
 */
function labelColumns(data: Dataset, label: string): string[] {
  const names = data.columns.map((col) => col.name);
  return LABEL_COLUMNS.includes(label) ? LABEL_COLUMNS.filter((col) => names.includes(col)) : [label];
}

type SavedModel = { manifest: { name: string; version: number; backend: { name: string } } };

const saved = (m: SavedModel) => `Saved ${m.manifest.name}@${m.manifest.version} (${m.manifest.backend.name})`;

/** The outcome of a saved model: its name and version; its report is the "Saved" line, then `text`. */
function outcome(m: SavedModel, text: string): TrainOutcome {
  return { name: m.manifest.name, version: m.manifest.version, report: `${saved(m)}\n${text}` };
}

async function kmeansStep(c: Context): Promise<TrainOutcome> {
  const o = optionsOf('kmeans', c.req.name, c.params);
  const url = redisUrl();
  if (url && o.mode === 'minibatch') throw new UserError('train kmeans --mode minibatch runs on one host: use --mode lloyd (or auto) with REDIS_URL, or unset REDIS_URL');
  const data = await dataset(c.req);
  const transform = await fitFeatures(c, data, await featureSpec(c, data, o));
  // Several hosts: the rows go to the workers, staged under the model store (which they all see).
  const loadData: TrainKMeansOptions['loadData'] = url
    ? (l) => loadKMeansOnQueue(checkRedisUrl(url, 'REDIS_URL'), data, transform, { ...l, shardRows: o.shardRows, roots: c.req.roots, onWaiting: c.req.onWaiting, staging: path.join(path.resolve(c.req.store.root), '.staging', `kmeans-${randomUUID()}`) })
    : undefined;
  const { model, report } = await train(KMEANS, data, transform, c.req.store, { ...o, progress: c.progress, loadData });
  const { fit, sweep, profiles } = report;
  const out: string[] = [];
  if (sweep) {
    out.push(table(sweep.map((r) => ({ k: r.k, inertia: r.inertia.toPrecision(6), silhouette: r.silhouette.toFixed(4), chosen: r.k === fit.k ? '<-' : '' }))));
    out.push(`k=${fit.k} chosen by the rule: ${K_RULE}`, '');
  }
  out.push(
    `${saved(model)}: k=${fit.k}, ${fmtCount(fit.rows)} rows, inertia ${fit.inertia.toPrecision(6)}, silhouette ${fit.silhouette.toFixed(3)} (sampled), ` +
      `${fit.mode} ${fit.iterations} iterations${fit.converged ? '' : ' (not converged)'}`,
    '',
    formatProfiles(profiles),
  );
  return { name: model.manifest.name, version: model.manifest.version, report: out.join('\n') };
}

async function propensityStep(c: Context): Promise<TrainOutcome> {
  const o = optionsOf('propensity', c.req.name, c.params);
  const data = await dataset(c.req);
  requireLabel(data, o.label);
  requireSensitive(data, o.sensitive);
  const transform = await fitFeatures(c, data, await featureSpec(c, data, o, [...labelColumns(data, o.label), ...(o.sensitive ?? [])]));
  const { model, report } = await train(PROPENSITY, data, transform, c.req.store, { ...o, progress: c.progress });
  model.dispose();
  return outcome(model, formatPropensityReport(report));
}

async function lookalikeStep(c: Context): Promise<TrainOutcome> {
  const o = optionsOf('lookalike', c.req.name, c.params);
  const data = await dataset(c.req);
  let exclude: string[] = [];
  let seeds: SeedSource | undefined;
  if (o.seedFilter) {
    const filter = o.seedFilter;
    checkFilterColumn(data, filter.column);
    seeds = filter;
    exclude = [filter.column]; // the filter column defines the seeds: it cannot be a feature
  }
  const spec = await featureSpec(c, data, o, exclude);
  if (o.seedIds) seeds = await readSeedIds(o.seedIds, spec.id ?? null);
  const transform = await fitFeatures(c, data, spec);
  const { model, report } = await train(LOOKALIKE, data, transform, c.req.store, { ...o, seeds: seeds!, progress: c.progress });
  model.dispose();
  return outcome(model, formatLookalikeReport(report));
}

async function anomalyStep(c: Context): Promise<TrainOutcome> {
  const o = optionsOf('anomaly', c.req.name, c.params);
  const data = await dataset(c.req);
  const transform = await fitFeatures(c, data, await featureSpec(c, data, o));
  const { model, report } = await train(ANOMALY, data, transform, c.req.store, { ...o, progress: c.progress });
  model.dispose();
  return outcome(model, formatAnomalyReport(report));
}

async function cltvStep(c: Context): Promise<TrainOutcome> {
  const o = optionsOf('cltv', c.req.name, c.params);
  const data = await dataset(c.req);
  requireLabel(data, o.label);
  requireSensitive(data, o.sensitive);
  const transform = await fitFeatures(c, data, await featureSpec(c, data, o, [...labelColumns(data, o.label), ...(o.sensitive ?? [])]));
  const { model, report } = await train(CLTV, data, transform, c.req.store, { ...o, progress: c.progress });
  model.dispose();
  return outcome(model, formatCltvReport(report));
}

async function bgnbdStep(c: Context): Promise<TrainOutcome> {
  const o = optionsOf('bgnbd', c.req.name, c.params);
  const data = await dataset(c.req);
  const transform = await fitFeatures(c, data, await bgnbdSpec(data, o));
  const { model, report } = await train(BGNBD, data, transform, c.req.store, { ...o, progress: c.progress });
  return outcome(model, formatBgNbdReport(report));
}

async function upliftStep(c: Context): Promise<TrainOutcome> {
  const o = optionsOf('uplift', c.req.name, c.params);
  const data = await dataset(c.req);
  requireLabel(data, o.label);
  requireTreatment(data, o.treatment);
  // The outcome and the arm are never inputs; nor is a true effect a synthetic campaign carries.
  const leave = [...labelColumns(data, o.label), o.treatment, ...(data.columns.some((col) => col.name === 'true_uplift') ? ['true_uplift'] : [])];
  const transform = await fitFeatures(c, data, await featureSpec(c, data, o, leave));
  const { model, report } = await train(UPLIFT, data, transform, c.req.store, { ...o, progress: c.progress });
  model.dispose();
  return outcome(model, formatUpliftReport(report));
}

/** Each kind's training steps. */
const TRAINERS: Record<ModelKind, (c: Context) => Promise<TrainOutcome>> = {
  kmeans: kmeansStep,
  propensity: propensityStep,
  lookalike: lookalikeStep,
  anomaly: anomalyStep,
  cltv: cltvStep,
  bgnbd: bgnbdStep,
  uplift: upliftStep,
};

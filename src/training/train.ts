/**
 * A train job: one model kind trained from typed params, the same whether `audience train`
 * runs it or the service's runner does. Every kind takes the same steps, each read from its
 * descriptor (models/kind.ts, found in models/kinds.ts): check the params, open the inputs and
 * check them, decide the features (a spec file, or inferred leaving out the columns the kind
 * never takes as inputs), fit the feature transform, then the kind's estimator steps composed
 * by models/estimator.ts `train` (prepare the rows, fit, evaluate on held-out rows, save a
 * version); the kind's text report is returned for the caller to print or store.
 */
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { fitTransform } from '../features/fit.js';
import { inferSpec } from '../features/infer.js';
import { loadSpec, type FeatureSpec } from '../features/spec.js';
import type { FittedTransform } from '../features/transform.js';
import { openDataset, type Dataset } from '../io/dataset.js';
import { train } from '../models/estimator.js';
import type { TrainRun } from '../models/kind.js';
import { kindOf } from '../models/kinds.js';
import { checkParams, FLAG_NAMES, optionName, optionsOf, type NamedOptions, type ParamNamer, type ParamValues } from '../models/params.js';
import { checkName, type ModelStore } from '../models/registry.js';
import { UserError } from '../util/errors.js';
import { silentProgress, type StageProgress } from '../util/progress.js';

/** What to train: the kind, the version's name, the inputs (files or globs) and the kind's params. */
export interface TrainRequest {
  kind: string;
  name: string;
  input: string[];
  /** The kind's options (its descriptor's params, models/<kind>/params.ts), unchecked: checked here. */
  params: ParamValues;
  store: ModelStore;
  progress?: StageProgress;
  /** Where notes on inferred features go (stderr for the CLI); none when absent. */
  note?: (line: string) => void;
  /** The service's data roots: workers resolve the inputs inside them when they open them (scoring/guard.ts). */
  roots?: string[];
  /** K-Means over the workers: why its shards are not moving ("0 workers connected for 90 s ..."), undefined once they move. */
  onWaiting?: (why: string | undefined) => void;
  /** How messages name an option: the caller's (`params.k` for a service job); FLAG_NAMES (`--k`) when absent. */
  names?: ParamNamer;
  /** The Redis URL of the `audience worker` hosts that a kind using workers (K-Means) loads its rows onto, as the command or server composes it; on this host when absent. */
  queue?: string;
}

/** A trained version and its text report. */
export interface TrainOutcome {
  name: string;
  version: number;
  report: string;
}

/** The request and its progress, as the feature steps read them. */
interface Context {
  req: TrainRequest;
  progress: StageProgress;
}

/**
 * Trains one model from typed params and saves it as the next version of `req.name`.
 * @throws UserError for bad params or input (naming the option, file, column); the trainers' errors otherwise.
 */
export async function trainFromParams(req: TrainRequest): Promise<TrainOutcome> {
  const kind = kindOf(req.kind);
  req.store.checkKind(checkName(req.name), kind.kind); // before any data is read
  const names = req.names ?? FLAG_NAMES;
  // The namer goes with the options: what the trainers refuse later names options as the caller does.
  const o = { ...optionsOf(kind, req.name, checkParams(kind, req.params, names), names), names };
  const c: Context = { req, progress: req.progress ?? (() => silentProgress) };
  const run: TrainRun = { progress: c.progress, store: req.store, workers: rowsOnWorkers(req) };
  const data = await dataset(req);
  kind.checkData?.(data, o, { names, run });
  const spec = kind.featureSpec ? await kind.featureSpec(data, o) : await featureSpec(c, data, o as FeatureOptions, kind.excluded?.(data, o));
  const options = kind.fitOptions ? await kind.fitOptions({ data, spec, options: o, run }) : o;
  const transform = await fitFeatures(c, data, spec);
  const { model, report } = await train(await kind.estimator(), data, transform, req.store, { ...options, progress: c.progress });
  model.dispose();
  const m = model.manifest;
  return { name: m.name, version: m.version, report: kind.report.trained(report, `Saved ${m.name}@${m.version} (${m.backend.name})`) };
}

/**
 * With a queue (req.queue): the loader of a fit's rows onto the `audience worker` hosts, staged
 * under the model store (which they all see); undefined on one host.
 */
function rowsOnWorkers(req: TrainRequest): TrainRun['workers'] {
  const url = req.queue;
  if (!url) return undefined;
  const staging = () => path.join(path.resolve(req.store.root), '.staging', `kmeans-${randomUUID()}`);
  // BullMQ loaded only for a fit on the queue.
  return (shardRows) => async (data, transform, l) => (await import('../execution/kmeans-queue.js')).loadKMeansOnQueue(url, data, transform, { ...l, shardRows, roots: req.roots, onWaiting: req.onWaiting, staging: staging() });
}

async function dataset(req: TrainRequest): Promise<Dataset> {
  if (req.input.length === 0) throw new UserError(`audience train ${req.kind}: --input <file|glob> is required (Parquet, CSV or Arrow IPC)`);
  return openDataset(req.input);
}

/** Which columns become inputs: the options every kind takes (models/params.ts FEATURE_PARAMS), as optionsOf gives them. */
type FeatureOptions = NamedOptions & { features?: string; id?: string; exclude?: string[] };

/** The spec from the `features` option (a file), or inferred from the data leaving `exclude` out. */
async function featureSpec(c: Context, data: Dataset, o: FeatureOptions, exclude: string[] = []): Promise<FeatureSpec> {
  if (o.features !== undefined && o.features !== 'auto') {
    const spec = loadSpec(o.features, optionName(o, 'features'));
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

/**
 * A model kind's descriptor: everything the rest of the product knows of a kind, declared in
 * the kind's folder (`models/<kind>/kind.ts`) and registered once in models/kinds.ts (as
 * tfjs-layers registers a layer class with `registerClass`). The CLI's `train KIND` flags and
 * help, the service's train-job schema and checks, training (training/train.ts), loading for
 * scoring (models/load.ts), `audience score --help`, `models show` and the report page
 * (report/report.ts) all read it; none of them lists the kinds.
 *
 * A descriptor imports only what is below jobs/: its report sections draw with render/ (the
 * charts and page primitives, which know nothing of models), and are imported on first use,
 * so loading a kind for scoring does not load the chart renderer.
 */
import type { TSchema } from 'typebox';
import type { FeatureSpec } from '../features/spec.js';
import type { Dataset } from '../io/dataset.js';
import type { Section } from '../render/html.js';
import type { StageProgress } from '../util/progress.js';
import type { Disposable, Estimator } from './estimator.js';
import type { RowsLoader } from './kmeans/train.js';
import type { KindOutputs, ScoringEngine, ScoringModel } from './model.js';
import type { KindGraph } from './onnx/model-graphs.js';
import type { ParamNamer, ParamValues } from './params.js';
import type { Manifest, ModelStore, Weight } from './registry.js';

/** How loaded models score: options some kinds take (others ignore them). */
export interface ScoringOptions {
  /** Propensity: add `<name>_top_features` (gradient x input; about 4x the scoring time). */
  topFeatures?: boolean;
  /**
   * 'onnx' (default): kinds with a scoring graph (models/onnx) run it on onnxruntime-node,
   * transform included; 'tfjs': every kind on tfjs. Propensity with `topFeatures` (a gradient)
   * and a transform whose onInvalid is "error" (which names the row) stay on tfjs.
   */
  engine?: ScoringEngine;
  /**
   * onnxruntime's intra-op threads per session (default: the cores on the main thread, 1 in a
   * worker thread). 1 for one-row requests: a pool's threads cost more to wake than a row takes.
   */
  threads?: number;
}

/** What the caller of a training run provides beyond the params: progress, the store, and execution services. */
export interface TrainRun {
  progress: StageProgress;
  store: ModelStore;
  /**
   * Set with REDIS_URL: the loader of a fit's rows onto `audience worker` hosts, in shards of
   * `shardRows` (execution/kmeans-queue.ts); a kind whose fit can run there uses it.
   */
  workers?: (shardRows: number) => RowsLoader;
}

/** What a kind's `fitOptions` reads: the data opened, the feature spec decided (not yet fitted), the options, the run. */
export interface FitInputs<O> {
  data: Dataset;
  spec: FeatureSpec;
  options: O;
  run: TrainRun;
}

/** What a saved model exposes to its trainer's caller. */
export interface SavedModel extends Disposable {
  manifest: Pick<Manifest, 'name' | 'version' | 'backend'>;
}

/** A kind's reports: text (after training, in `models show`) and the HTML page's parts. */
export interface KindReport<R> {
  /** The text printed after training; `saved` is the "Saved name@version (backend)" line it leads with. */
  trained(report: R, saved: string): string;
  /** The lines `audience models show` prints below the version's head, from its stored manifest. */
  shown(m: Manifest): string;
  /** The report page's opening sentences (what the model achieves), from the stored manifest; none when absent. */
  summary?(m: Manifest): string[];
  /** The report page's sections of this kind (charts and tables); a table of scalar metrics when absent. */
  sections?(m: Manifest): Promise<Section[]>;
  /** What a fairness table's TPR and FPR count for this kind (default "positives"). */
  positives?: string;
  /** What `audience segments` calls each group of its stored profiles (default "Segment"). */
  profileLabel?: string;
}

/** How `audience report --input --sensitive` measures a kind's fairness on a given file (report/measure.ts). */
export interface KindFairness {
  /** The score column compared (its name after `<model>_`). */
  output: string;
  /** How the model's label column is read beside: a 0/1 outcome, or a number (an amount). */
  label: 'boolean' | 'number';
  /** The score from which a visitor counts as selected, given every row's score. */
  threshold(m: Manifest, scores: number[]): number;
  /** The label values as positives (1, 0; NaN where unusable), when they are not 0/1 already. */
  positives?(labels: number[]): number[];
}

/**
 * One model kind (see the module comment). `O` the trainer's options (the params resolved,
 * plus what `fitOptions` adds), `R` the training report, `S` its params' schemas.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export interface KindDescriptor<O = any, R = any, S extends Record<string, TSchema> = Record<string, TSchema>> {
  /** The kind's name: `audience train <kind>`, a train job's `model`, a manifest's `kind`. */
  kind: string;
  /** One line for help: what it is. */
  summary: string;
  /** Help prose after the options: how it trains and what it scores. */
  help: string;
  /** Its options besides the feature options (models/params.ts FEATURE_PARAMS), as TypeBox schemas. */
  params: S;
  /** Checks between options a schema cannot express. @throws UserError naming the options as `names` does. */
  checkParams?(p: ParamValues, names: ParamNamer): void;
  /**
   * Checks the opened data before features are fitted (a label or treatment column present),
   * as training and the service's submission checks (without `run`) run them.
   * @throws UserError naming the file and column, and an option as `names` does.
   */
  checkData?(data: Dataset, o: O, ctx: { names: ParamNamer; run?: TrainRun }): void;
  /** Columns never taken as inputs when the features are inferred (the label, the arm, the seed filter's column). */
  excluded?(data: Dataset, o: O): string[];
  /** The feature spec when the kind reads fixed columns, in place of inference. */
  featureSpec?(data: Dataset, o: O): Promise<FeatureSpec>;
  /** The estimator's options from the resolved ones (seeds read, the workers' loader); `options` when absent. */
  fitOptions?(inputs: FitInputs<O>): Promise<O>;
  /** Its fit reads rows on `audience worker` hosts when REDIS_URL is set (the service checks Redis first). */
  usesWorkers?: boolean;
  /**
   * Its trainer (`<kind>/train.ts`), imported when a version is trained: the registry stays
   * light, so help, the server and scoring do not load the trainers and their backends.
   */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  estimator(): Promise<Estimator<O, any, Disposable, R, SavedModel>>;
  /** A stored version ready to score (`<kind>/model.ts`, imported on first use). @throws UserError for weights that do not fit the manifest. */
  load(manifest: Manifest, weights: Map<string, Weight>, options: ScoringOptions): Promise<ScoringModel>;
  /** Its score columns as data, from a version's manifest alone (no weights): what a plan names and the loaded model writes (`<kind>/outputs.ts`). */
  outputs(manifest: Manifest): KindOutputs;
  /** Its whole scoring function as one ONNX graph (models/onnx/model-graphs.ts, imported on first use), scored on onnxruntime; tfjs only when absent. */
  graph?(): Promise<KindGraph>;
  /** `audience score --help`'s lines on its columns, after "kind: ". */
  outputsHelp: string;
  report: KindReport<R>;
  /** Fairness on a given file (`audience report --input --sensitive`); kinds without it refuse the flag. */
  fairness?: KindFairness;
}

/** A kind's text report both ways from one formatter of the report stored as the manifest's metrics (in `models show`, after a blank line). */
export function textReport<R>(format: (r: R) => string): Pick<KindReport<R>, 'trained' | 'shown'> {
  return { trained: (r, saved) => `${saved}\n${format(r)}`, shown: (m) => `\n${format(m.metrics as R)}` };
}

/** What every trained model offers the scoring pipeline, whatever its kind. */
import { transform, type FeatureBlock, type FittedTransform } from '../features/transform.js';
import type { ColumnBatch } from '../io/columns.js';
import type { OutputColumn, OutputData } from '../io/writer.js';
import type { Manifest } from './registry.js';
import type { OnnxScorer } from './onnx/session.js';

/** An output ranked within the whole scored population once every row is scored. */
/** The percentile (0-100) from which a ranked row is in the high and the medium bucket. */
export const BUCKET_FROM = { high: 80, medium: 50 } as const;

/** The bucket of a percentile (0-100): high from 80, medium from 50, else low. */
export function bucketOf(percentile: number): 'high' | 'medium' | 'low' {
  return percentile >= BUCKET_FROM.high ? 'high' : percentile >= BUCKET_FROM.medium ? 'medium' : 'low';
}

export interface RankedOutput {
  /** The score column ranked (higher = better). */
  source: string;
  /** Column receiving the percentile, 0-100 (mid-rank: ties share one). */
  percentile: string;
  /** Column receiving low / medium / high (below the 50th, 50th-80th, top 20%). */
  bucket?: string;
  /** Column receiving the rank, 1 = highest; ties broken by row order, so the top n is exactly n rows. */
  rank?: string;
  /** Rows whose value in this (0/1) column is 1 are left out of the ranking (their rank and percentile are null). */
  excludeIf?: string;
}

export interface ScoringModel {
  manifest: Manifest;
  /** The fitted transform this model's blocks must be made with. */
  transform: FittedTransform;
  /** Output columns added per visitor, already prefixed with the model's name. */
  outputs: OutputColumn[];
  /** Outputs to rank over the whole population after the pass. */
  ranked?: RankedOutput[];
  score(block: FeatureBlock): Promise<Record<string, OutputData>>;
  /**
   * Scores a batch of raw feature columns through the model's whole scoring graph (transform
   * included) on onnxruntime: set when the model was loaded on the onnx engine (models/load.ts).
   */
  scoreBatch?(batch: ColumnBatch): Promise<{ outputs: Record<string, OutputData>; imputed: number }>;
  /** What scores it: 'onnx' (onnxruntime-node) or 'tfjs'. */
  engine?: ScoringEngine;
  /** Its graph on onnxruntime when loaded on the onnx engine: the request paths join its small graph with others' (onnx/row-set.ts). */
  onnx?: OnnxScorer;
  dispose(): void;
}

/** One score column of a kind, its name unprefixed; `option` names the scoring option that adds it. */
export interface KindColumn {
  output: string;
  type: OutputColumn['type'];
  option?: 'topFeatures';
}

/**
 * A kind's score columns as data: what `audience score` writes per visitor and ranks over the
 * population (names unprefixed). A plan names a job's columns from manifests and these alone,
 * with no weights loaded (models/load.ts outlineModel).
 */
export interface KindOutputs {
  columns: KindColumn[];
  ranked: RankedOutput[];
}

/** A kind's score columns for model `name`, prefixed (`<name>_<output>`), with those `options` add. */
export function kindColumns(kind: KindOutputs, name: string, options: { topFeatures?: boolean } = {}): OutputColumn[] {
  return kind.columns.filter((c) => !c.option || options[c.option]).map((c) => ({ name: outputName(name, c.output), type: c.type }));
}

/** A kind's ranked outputs for model `name`, every column name prefixed. */
export function kindRanked(kind: KindOutputs, name: string): RankedOutput[] {
  const col = (o: string | undefined) => (o === undefined ? undefined : outputName(name, o));
  return kind.ranked.map((r) => ({
    source: outputName(name, r.source),
    percentile: outputName(name, r.percentile),
    ...(r.bucket && { bucket: col(r.bucket) }),
    ...(r.rank && { rank: col(r.rank) }),
    ...(r.excludeIf && { excludeIf: col(r.excludeIf) }),
  }));
}

/**
 * What a plan needs of a model: its manifest, transform and score columns. A loaded
 * ScoringModel is one; so is an outline read from the manifest alone (models/load.ts).
 */
export type ModelOutline = Pick<ScoringModel, 'manifest' | 'transform' | 'outputs' | 'ranked' | 'engine'>;

/** The engines a model scores on: onnxruntime-node (default, where the kind has a graph) or tfjs. */
export type ScoringEngine = 'onnx' | 'tfjs';

/** `<model name>_<output>`: several models can score in one pass without clashing. */
export function outputName(modelName: string, output: string): string {
  return `${modelName}_${output}`;
}

/** The plumbing every stored model shares: its manifest, its transform, its output names. */
export abstract class StoredModel {
  constructor(readonly manifest: Manifest) {}

  get transform(): FittedTransform {
    return this.manifest.features;
  }

  protected col(output: string): string {
    return outputName(this.manifest.name, output);
  }
}

/**
 * One model's outputs for a batch of raw feature columns: through its ONNX graph when it was
 * loaded on that engine, else its fitted transform then `score` (rows numbered, not identified:
 * the batch needs no id column). Shapes: one value per row per output column.
 */
export async function scoreColumns(model: ScoringModel, batch: ColumnBatch): Promise<{ outputs: Record<string, OutputData>; imputed: number }> {
  if (model.scoreBatch) return model.scoreBatch(batch);
  const block = transform({ ...model.transform, id: { column: null, as: 'row' } }, batch);
  return { outputs: await model.score(block), imputed: block.imputed };
}

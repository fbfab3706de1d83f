/** What every trained model offers the scoring pipeline, whatever its kind. */
import type { FeatureBlock, FittedTransform } from '../features/transform.js';
import type { OutputColumn, OutputData } from '../io/writer.js';
import type { Manifest } from './registry.js';

export interface ScoringModel {
  manifest: Manifest;
  /** The fitted transform this model's blocks must be made with. */
  transform: FittedTransform;
  /** Output columns added per visitor, already prefixed with the model's name. */
  outputs: OutputColumn[];
  score(block: FeatureBlock): Promise<Record<string, OutputData>>;
  dispose(): void;
}

/** `<model name>_<output>`: several models can score in one pass without clashing. */
export function outputName(modelName: string, output: string): string {
  return `${modelName}_${output}`;
}

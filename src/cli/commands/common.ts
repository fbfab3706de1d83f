/** Pieces shared by several commands: the dataset, the feature spec, the model store, progress. */
import { inferSpec } from '../../features/infer.js';
import { loadSpec, type FeatureSpec } from '../../features/spec.js';
import { openDataset, type Dataset } from '../../io/dataset.js';
import { FEATURE_OPTIONS as PARAM_FEATURE_OPTIONS } from '../../models/params.js';
import { ModelStore } from '../../models/registry.js';
import { UserError } from '../../util/errors.js';
import { createProgress, type Progress } from '../../util/progress.js';
import { list } from '../args.js';
import type { Options } from '../args.js';

export const INPUT_OPTIONS: Options = {
  input: { type: 'string', short: 'i', multiple: true },
};

export const FEATURE_OPTIONS: Options = PARAM_FEATURE_OPTIONS;

export const STORE_OPTIONS: Options = {
  store: { type: 'string' },
  quiet: { type: 'boolean', short: 'q' },
};

export type Values = Record<string, string | boolean | string[] | undefined>;

/** Opens the `--input` files and globs of a command as one dataset. @throws UserError when none is given or one cannot be read. */
export async function datasetFrom(values: Values, cmd: string): Promise<Dataset> {
  const inputs = list(values.input);
  if (inputs.length === 0) throw new UserError(`audience ${cmd}: --input <file|glob> is required (Parquet, CSV or Arrow IPC)`);
  return openDataset(inputs);
}

/** The model store named by `--store`, else AUDIENCE_MODEL_STORE, else ./models. */
export function storeFrom(values: Values): ModelStore {
  return new ModelStore(typeof values.store === 'string' ? values.store : undefined);
}

/** A factory of labelled progress lines for a command's stages (none with `--quiet`). */
export function progressFor(values: Values): (stage: string) => Progress {
  return (stage) => createProgress(stage.padEnd(10), { quiet: Boolean(values.quiet) });
}

/** The spec from --features FILE, or inferred (--features auto, the default) and shown on stderr. */
export async function specFrom(values: Values, data: Dataset, extraExclude: string[] = []): Promise<FeatureSpec> {
  const features = typeof values.features === 'string' ? values.features : 'auto';
  if (features !== 'auto') {
    const spec = loadSpec(features);
    if (values.id !== undefined) spec.id = String(values.id);
    return spec;
  }
  const exclude = [...list(values.exclude), ...extraExclude];
  const { spec, notes } = await inferSpec(data, { id: typeof values.id === 'string' ? values.id : undefined, exclude });
  if (!values.quiet) {
    process.stderr.write(`Features inferred from ${data.tables[0].path} (--features auto):\n`);
    for (const n of notes) process.stderr.write(`  ${n}\n`);
    process.stderr.write(`To edit them: audience features --input ... --out features.json, then --features features.json\n`);
  }
  return spec;
}

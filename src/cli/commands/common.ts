/** Pieces shared by several commands: the dataset, the model store, progress. */
import type { Dataset } from '../../io/dataset.js';
import { ModelStore } from '../../models/registry.js';
import { UserError } from '../../util/errors.js';
import { createProgress, type StageProgress } from '../../util/progress.js';
import { list } from '../args.js';
import type { Options } from '../args.js';

/** --input FILE|GLOB (repeatable): the data files a command reads. */
export const INPUT_OPTIONS: Options = {
  input: { type: 'string', short: 'i', multiple: true },
};

/** --overwrite: a command's output file that exists is replaced (refused without it: checkNewOutputFile). */
export const OVERWRITE_OPTIONS: Options = {
  overwrite: { type: 'boolean' },
};

/** The help's sentence on --overwrite, for the commands that write named files. */
export const OVERWRITE_HELP = `An output file that exists is refused (exit 2, before any work) unless --overwrite is
given; with it the new file replaces the old only once written whole (a failed run keeps it).`;

/** --store DIR (the model store) and --quiet (no progress lines). */
export const STORE_OPTIONS: Options = {
  store: { type: 'string' },
  quiet: { type: 'boolean', short: 'q' },
};

export type Values = Record<string, string | boolean | string[] | undefined>;

/** Opens the `--input` files and globs of a command as one dataset. @throws UserError when none is given or one cannot be read. */
export async function datasetFrom(values: Values, cmd: string): Promise<Dataset> {
  const inputs = list(values.input);
  if (inputs.length === 0) throw new UserError(`audience ${cmd}: --input <file|glob> is required (Parquet, CSV or Arrow IPC)`);
  // The readers (DuckDB, Arrow) are imported when a command opens data, not for its --help.
  return (await import('../../io/dataset.js')).openDataset(inputs);
}

/** The model store named by `--store`, else AUDIENCE_MODEL_STORE, else ./models. */
export function storeFrom(values: Values): ModelStore {
  return new ModelStore(typeof values.store === 'string' ? values.store : undefined);
}

/** A factory of labelled progress lines for a command's stages (none with `--quiet`). */
export function progressFor(values: Values): StageProgress {
  return (stage, unit) => createProgress(stage.padEnd(10), { quiet: Boolean(values.quiet), unit });
}

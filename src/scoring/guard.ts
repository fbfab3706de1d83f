/**
 * A job's paths checked against its data roots at the moment of use (util/roots.ts): the
 * inputs (glob patterns expanded here, each file resolved) right before they are opened, the
 * id lists of audience suppressions, and before each shard its input file and the staging
 * folder it writes. Called by the runner and by the shard tasks (threads and queue workers);
 * without roots (the CLI) nothing is checked.
 */
import type { AudienceSet } from '../audiences/definition.js';
import { MAX_INPUT_FILES, openDataset, reopenDataset, type Dataset } from '../io/dataset.js';
import type { TableLayout } from '../io/table.js';
import { connect, duckMessage } from '../io/duckdb.js';
import { UserError } from '../util/errors.js';
import { fileParams } from '../models/kinds.js';
import { openableFile, unchangedPath } from '../util/roots.js';

const GLOB = /[*?[]/;

/** The files a glob pattern matches now, sorted (DuckDB's glob(), as openDataset expands them). */
async function expand(pattern: string): Promise<string[]> {
  const con = await connect();
  try {
    return (await con.runAndReadAll('SELECT file FROM glob($1) ORDER BY file', [pattern])).getRows().map((r) => String(r[0]));
  } catch (err) {
    throw new UserError(`${pattern}: cannot expand pattern: ${duckMessage(err)}`);
  } finally {
    con.closeSync();
  }
}

/**
 * The input files to open: patterns expanded, each file resolved now and checked inside the
 * roots (util/roots.ts openableFile). Without roots, `inputs` as given (openDataset expands them).
 * @throws UserError for a pattern that matches nothing, more than MAX_INPUT_FILES files, a
 *   missing file, or one leading outside the roots.
 */
export async function openableInputs(roots: string[] | undefined, inputs: string[], field = 'input'): Promise<string[]> {
  if (!roots) return inputs;
  const files: string[] = [];
  for (const input of inputs) {
    const matched = GLOB.test(input) ? await expand(input) : [input];
    if (matched.length === 0) throw new UserError(`${input}: no files match this pattern`);
    // Bounded before each file is resolved (openDataset refuses more anyway).
    if (files.length + matched.length > MAX_INPUT_FILES) throw new UserError(`the inputs match more than ${MAX_INPUT_FILES} files; at most ${MAX_INPUT_FILES} are read in one job (merge small files, or split the job)`);
    files.push(...matched.map((f) => openableFile(roots, f, field)));
  }
  return files;
}

/** The most JSON a job's table layouts may take to travel with each shard task (threads, queue messages). */
export const MAX_LAYOUT_BYTES = 256 * 1024;

/**
 * The layouts a job's shard tasks carry: all of them, unless their JSON passes
 * MAX_LAYOUT_BYTES (thousands of part files), when each task opens its inputs itself.
 */
export function shippedLayouts(tables: TableLayout[]): TableLayout[] | undefined {
  return JSON.stringify(tables).length <= MAX_LAYOUT_BYTES ? tables : undefined;
}

/**
 * A job's inputs, each path inside the roots at this moment: reopened from the layouts its
 * plan recorded (nothing counted or sniffed again) when it has them, else opened.
 * @throws UserError for a path outside the roots, a file gone, or one that cannot be read.
 */
export async function openJobInputs(roots: string[] | undefined, input: string[], tables?: TableLayout[]): Promise<Dataset> {
  const files = await openableInputs(roots, tables?.map((t) => t.path) ?? input);
  return tables ? reopenDataset(tables) : openDataset(files);
}

/**
 * Train params with each file param resolved now inside the roots (`features: "auto"` is no file).
 * @throws UserError naming the param when its file is missing or leads outside the roots.
 */
export function openableParams(roots: string[] | undefined, params: Record<string, unknown>): Record<string, unknown> {
  const out = { ...params };
  for (const k of fileParams()) if (typeof out[k] === 'string' && out[k] !== 'auto') out[k] = openableFile(roots, out[k], `params.${k}`);
  return out;
}

/**
 * The audience set with each suppression id list resolved now inside the roots (the run reads
 * the resolved file). Without roots, the set as it is.
 * @throws UserError naming the audience when an id list is missing or leads outside the roots.
 */
export function openableAudiences(roots: string[] | undefined, set: AudienceSet): AudienceSet {
  if (!roots) return set;
  const audiences = set.audiences.map((a) =>
    a.suppress.ids ? { ...a, suppress: { ...a.suppress, ids: openableFile(roots, a.suppress.ids, `audience "${a.name}": suppress.ids`) } } : a,
  );
  return { ...set, audiences };
}

/**
 * Right before a shard opens its input file and writes its part: both still resolve to
 * themselves inside the roots (no link swapped in since the job resolved them).
 * @throws UserError naming the path and where it leads now.
 */
export function guardShard(roots: string[] | undefined, file: string, staging: string): void {
  unchangedPath(roots, file, 'input');
  unchangedPath(roots, staging, 'output');
}

/**
 * Whether a score job's output folder still resolves to itself inside its roots: a failed or
 * cancelled job's leftovers are removed only then, never through a link swapped in since.
 */
export function outputStillInside(spec: { output: string; roots?: string[] }): boolean {
  try {
    unchangedPath(spec.roots, spec.output, 'output');
    return true;
  } catch {
    return false;
  }
}

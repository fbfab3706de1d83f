/**
 * Checks a submitted job against the data roots, the inputs and the model store before it is
 * queued, so a job that cannot run is a 400 naming what and where, not a failed job later.
 * Returns the spec as stored: every path resolved.
 */
import fs from 'node:fs';
import { parseAudiences } from '../audiences/definition.js';
import { fileParams, kindOf } from '../models/kinds.js';
import { checkTrainParams, optionsOf } from '../models/params.js';
import { API_NAMES } from './param-names.js';
import { openDataset, type Dataset } from '../io/dataset.js';
import type { ScoreJobSpec, TrainJobSpec } from './jobs/runner.js';
import { DEFAULT_MAX_REJECTS } from '../scoring/score-options.js';
import { foreignMessage, foreignOutput, outputInTheWay, requireNoWriter } from '../scoring/output.js';
import { openableInputs, shippedLayouts } from '../scoring/guard.js';
import { fingerprintFile } from '../io/fingerprint.js';
import { planScore } from '../scoring/score.js';
import { checkRowCounts } from '../scoring/input-checks.js';
import { outlineModel, pinnedRef } from '../models/load.js';
import { checkName, type ModelStore } from '../models/registry.js';
import { UserError } from '../util/errors.js';
import { checkCsvPrefix } from './limits.js';
import type { DataRoots } from './paths.js';
import type { ScoreJobBody, TrainJobBody } from './schemas.js';

async function inputs(roots: DataRoots, input: string[]): Promise<{ paths: string[]; data: Dataset }> {
  const paths = input.map((p, i) => roots.resolve(p, `input[${i}]`));
  // Each file (patterns expanded) resolved inside the roots, a CSV's first MiB checked, then opened by its resolved path.
  const files = await openableInputs(roots.roots, paths);
  for (const f of files) await checkCsvPrefix(f, 'input');
  const data = await openDataset(files);
  return { paths, data };
}

/**
 * Checks a train job: its name free of another kind's versions in `store` (as training's
 * ModelStore.checkKind will refuse), its params options of `audience train` and in range, file
 * params inside the data roots, inputs readable, the label present.
 * @throws UserError naming the request field.
 */
export async function checkTrain(body: TrainJobBody, roots: DataRoots, store: ModelStore): Promise<TrainJobSpec> {
  const kind = kindOf(body.model);
  try {
    store.checkKind(checkName(body.name), kind.kind);
  } catch (err) {
    throw err instanceof UserError ? new UserError(`name: ${err.message}`) : err;
  }
  // The kind's parameter schema, as training will check it, before the job is queued; the
  // messages name the options as the request does (params.x).
  const params = checkTrainParams(kind, body.name, { ...(body.params ?? {}) }, API_NAMES);
  for (const k of fileParams()) {
    const v = params[k];
    if (v === undefined || (k === 'features' && v === 'auto')) continue;
    const file = roots.resolve(String(v), `params.${k}`);
    if (!fs.existsSync(file)) throw new UserError(`params.${k}: ${v}: file not found`);
    params[k] = file;
  }
  const { paths, data } = await inputs(roots, body.input);
  // The kind's own checks of the data (its label, treatment or seed-filter column), as training runs them.
  kind.checkData?.(data, optionsOf(kind, body.name, params, API_NAMES), { names: API_NAMES });
  return { model: body.model, name: body.name, input: paths, params, roots: roots.roots };
}

/**
 * Checks a score job: inputs, output folder (free, or options.overwrite), audiences and
 * models, as the run will. `activeJobs` gives the queued and running jobs' ids (staging of
 * other jobs is theirs; staging of lost jobs does not block).
 * @throws ConflictError when a live writer (a job here or of another server) holds the
 *   output's staging; UserError naming the request field.
 */
export async function checkScore(body: ScoreJobBody, roots: DataRoots, store: ModelStore, activeJobs: () => Set<string> = () => new Set()): Promise<ScoreJobSpec> {
  const { paths, data } = await inputs(roots, body.input);
  await checkRowCounts(data); // a Parquet footer whose row counts cannot be true, before shards are planned from it
  const output = roots.resolve(body.output, 'output');
  if (roots.roots.includes(output)) throw new UserError(`output: "${body.output}" is a data root itself; name a folder inside it, e.g. "scores/run1"`);
  if (fs.existsSync(output) && !fs.statSync(output).isDirectory()) throw new UserError(`output: ${body.output} is a file, expected a folder`);
  const overwrite = body.options?.overwrite ?? false;
  const active = activeJobs();
  if (overwrite) {
    const foreign = foreignOutput(output);
    if (foreign.length) throw new UserError(`output: ${foreignMessage(body.output, foreign)}`);
  }
  // Staging a live writer holds (a job here, or one of another server on the same folder): 409 naming it.
  requireNoWriter(output, (id) => active.has(id), `output ${body.output}`);
  if (!overwrite && outputInTheWay(output, (id) => active.has(id)).length > 0) {
    throw new UserError(`output: ${body.output} already holds scores; choose another folder or set options.overwrite`);
  }
  const base = roots.roots[0];
  const audiences = body.audiences === undefined ? undefined : parseAudiences(body.audiences, 'audiences', base);
  for (const [i, a] of (audiences?.audiences ?? []).entries()) {
    if (!a.suppress.ids) continue;
    // The path as the request gave it (the parsed one is already resolved against the first root).
    const given = String(((body.audiences as { audiences?: Array<{ suppress?: { ids?: unknown } }> }).audiences ?? [])[i]?.suppress?.ids ?? a.suppress.ids);
    const file = roots.resolve(given, `audiences.audiences[${i}].suppress.ids`);
    if (!fs.existsSync(file)) throw new UserError(`audiences.audiences[${i}].suppress.ids: ${given}: file not found`);
  }
  // The models' outlines (manifests alone: no weights in the HTTP process), so outputs, columns
  // and audience rules are checked as the run will check them.
  const models = body.models.map((ref, i) => {
    try {
      return outlineModel(store, ref, { topFeatures: body.options?.topFeatures });
    } catch (err) {
      throw err instanceof UserError ? new UserError(`models[${i}]: ${err.message}`) : err;
    }
  });
  planScore(data, models, audiences, body.options?.maxRejects ?? DEFAULT_MAX_REJECTS, { columns: body.options?.keep ?? [], source: 'options.keep' });
  // The versions as they resolve now: the job scores with these whatever is promoted later.
  const pinned = models.map(pinnedRef);
  // The plan's inputs as opened here, with their fingerprints: the runner reopens them from these (nothing counted again).
  const tables = data.tables.map((t) => t.layout);
  return {
    input: paths,
    ...(shippedLayouts(tables) && { tables, fingerprints: tables.map((t) => fingerprintFile(t.path)) }),
    models: pinned,
    output,
    ...(body.audiences !== undefined && { audiences: { definition: body.audiences, base } }),
    shardRows: body.options?.shardRows,
    maxRejects: body.options?.maxRejects,
    overwrite,
    ...(body.options?.topFeatures && { topFeatures: true }),
    ...(body.options?.engine && { engine: body.options.engine }),
    ...(body.options?.keep?.length && { keep: body.options.keep }),
    roots: roots.roots,
  };
}

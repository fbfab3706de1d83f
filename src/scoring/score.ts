/**
 * Scores a dataset with one or more models: one pass over the data, shard by shard, then a
 * finalize step over all shards (percentiles and ranks within the scored population,
 * audiences), then the manifest, written last: its presence means the output is whole.
 *
 * Shard outputs are staged in `<output>/.shards/` (each file written under a temporary name
 * and renamed, with the run's fence in its name, when whole: scoring/fence.ts). Finalize starts
 * from the staged files every time it runs, so a job interrupted anywhere can run it again and
 * get the same output; it builds the new output beside the old and swaps them at the end
 * (scoring/publish.ts).
 */
import fs from 'node:fs';
import path from 'node:path';
import { backendName, initBackend } from '../compute/backend.js';
import { idsOf, scoringRequest, transform } from '../features/transform.js';
import { ONNX_ENGINE, onnxProvider } from '../models/onnx/session.js';
import type { ColumnBatch, ColumnData, ColumnRequest } from '../io/columns.js';
import { batchKey } from '../io/columns.js';
import type { Dataset } from '../io/dataset.js';
import { warn } from '../util/warn.js';
import { FileWriter, SOURCE_ROW, type OutputColumn, type OutputData, type WrittenFile } from '../io/writer.js';
import { sourcedColumns } from '../io/table.js';
import type { ModelOutline, RankedOutput, ScoringEngine, ScoringModel } from '../models/model.js';
import { UserError } from '../util/errors.js';
import { audienceInputs, checkModelReferences, type AudienceSummary } from '../audiences/build.js';
import { finalizeParts, type FinalizeStages, PROFILED_PREFIX, rankedColumns, RESERVED_COLUMNS } from './finalize.js';
import type { AudienceSet } from '../audiences/definition.js';
import { prefetch } from '../util/prefetch.js';
import type { Progress } from '../util/progress.js';
import { ERRORS, MANIFEST, SCORE_MANIFEST_FORMAT, STAGING } from './output.js';
import { commitFenced, requireFence, stagedPartName, stagedRejectsName } from './fence.js';
import { requireShardRows, requireUnchanged } from './input-checks.js';
import { newOutputFolder, publishOutput } from './publish.js';
import type { FileFingerprint } from '../io/fingerprint.js';
import { randomBytes } from 'node:crypto';
import type { Shard } from './shards.js';

export interface ScoreOptions {
  output: string;
  /** Audiences to build from the scores (adds membership columns and per-audience files). */
  audiences?: AudienceSet;
  /** Replace an existing output in the folder. */
  overwrite?: boolean;
  /** Target rows per shard, hence per output file. */
  shardRows?: number;
  /** Rows whose values cannot be read (text in a number column) tolerated before the job fails. */
  maxRejects?: number;
  /** Input columns copied into the score files as they are (a label to evaluate against, a name). */
  keep?: string[];
  progress?: Progress;
  /**
   * The model store the models came from: with it, large runs score their shards on worker
   * threads (each loads the models itself); without it, in this process.
   */
  store?: string;
  /** The models were loaded with `topFeatures` (workers load theirs the same way). */
  topFeatures?: boolean;
  /** The engine the models were loaded on (workers load theirs the same way). */
  engine?: ScoringEngine;
}

export interface ScoreManifest {
  /** The manifest's format (scoring/output.ts SCORE_MANIFEST_FORMAT); absent in outputs written before it. */
  format: number;
  files: WrittenFile[];
  rows: number;
  columns: OutputColumn[];
  /** Each model and the engine that scored it (onnxruntime-node and its provider, cpu or webgpu: onnxProvider; 'tfjs': the backend below). */
  models: Array<{ name: string; version: number; kind: string; engine: string }>;
  inputs: string[];
  backend: { name: string; device: string };
  imputed: number;
  /** Rows left out because a value could not be read; listed in `errors.jsonl`. */
  rejected: number;
  /** Scored rows whose id repeats an earlier row's (0 without an id column). */
  duplicateIds: number;
  shards: number;
  /** Seconds of the finalize's steps (see scoring/finalize.ts). */
  finalizeStages?: FinalizeStages;
  audiences?: { summaries: AudienceSummary[]; overlap: Array<{ a: string; b: string; both: number }> };
  seconds: number;
  rowsPerSecond: number;
  createdAt: string;
}

/**
 * What every shard of one scoring run reads, computes and writes. Planned from outlines
 * (manifests alone: what a server checks a job with) it names every column; planned from
 * loaded models it is what shards score with.
 */
export interface ScorePlan<M extends ModelOutline = ScoringModel> {
  data: Dataset;
  models: M[];
  audiences?: AudienceSet;
  id: OutputColumn;
  request: ColumnRequest[];
  /** Columns of a shard file: id, model outputs, carried input columns. */
  columns: OutputColumn[];
  carried: OutputColumn[];
  /** The carried columns read for the output alone (no model or group reads them): sourced by DuckDB where the input allows (io/table.ts sourcedColumns). */
  passThrough: OutputColumn[];
  /**
   * Staged only, never in the visible output: the first model's input columns as read
   * (`__in_<name>`), from which the finalize profiles the audiences without reading the input again.
   */
  profiled: Array<{ column: OutputColumn; request: ColumnRequest }>;
  /** Staged only: the sensitive columns the models were trained with (`--sensitive`), for each audience's selection by group. */
  grouped: Array<{ attribute: string; column: OutputColumn; request: ColumnRequest }>;
  ranked: RankedOutput[];
  maxRejects: number;
}

/** What one finished shard left in the staging folder. */
export interface ShardResult {
  index: number;
  rows: number;
  imputed: number;
  rejected: number;
  seconds: number;
}

/** The id column every model must agree on: the same column, or row numbers for all. */
function idColumn(models: ModelOutline[]): { request: ColumnRequest | undefined; output: OutputColumn } {
  const ids = models.map((m) => m.transform.id);
  const first = ids[0];
  for (const [i, id] of ids.entries()) {
    if (id.column !== first.column) {
      throw new UserError(
        `models ${models[0].manifest.name} and ${models[i].manifest.name} identify visitors differently (${first.column ?? 'row number'} vs ${id.column ?? 'row number'}); score them separately`,
      );
    }
  }
  if (first.column === null) return { request: undefined, output: { name: 'row_id', type: 'BIGINT' } };
  const as = first.as as 'bigint' | 'text';
  return { request: { name: first.column, as }, output: { name: first.column, type: as === 'bigint' ? 'BIGINT' : 'VARCHAR' } };
}

/** Input columns copied into the scores, and where they were asked for (`--keep`, `options.keep`), for messages. */
export interface Kept {
  columns: string[];
  source: string;
}

/** Checks models, inputs and audiences against each other before any row is read. */
export function planScore<M extends ModelOutline>(data: Dataset, models: M[], audiences?: AudienceSet, maxRejects = 0, keep: Kept = { columns: [], source: '--keep' }): ScorePlan<M> {
  if (models.length === 0) throw new UserError('no model to score with (--model name[@version])');
  const id = idColumn(models);
  const request: ColumnRequest[] = id.request ? [id.request] : [];
  for (const m of models) {
    for (const r of scoringRequest(m.transform)) {
      if (!data.columns.some((c) => c.name === r.name)) {
        throw new UserError(
          `model ${m.manifest.name}@${m.manifest.version} reads column "${r.name}", which ${data.tables[0].path} does not have (columns: ${data.columns.map((c) => c.name).join(', ')})`,
        );
      }
      if (!request.some((q) => batchKey(q) === batchKey(r))) request.push(r);
    }
  }
  // Input columns asked for (--keep) and those the audiences read (attributes, identifiers) are carried into the scores.
  const carried: OutputColumn[] = [];
  const passThrough: OutputColumn[] = [];
  const wanted = [
    ...keep.columns.map((name) => ({ name, who: `${keep.source}:` })),
    ...(audiences ? audienceInputs(audiences, models).map((name) => ({ name, who: `${audiences.source}: the audiences use` })) : []),
  ];
  for (const { name, who } of wanted) {
    const col = data.columns.find((c) => c.name === name);
    if (!col) throw new UserError(`${who} column "${name}", which ${data.tables[0].path} does not have (columns: ${data.columns.map((c) => c.name).join(', ')})`);
    if (name === id.output.name || carried.some((c) => c.name === name)) continue;
    const numeric = col.kind === 'numeric' || col.kind === 'boolean';
    carried.push({ name, type: numeric ? 'DOUBLE' : 'VARCHAR' });
    if (request.some((q) => q.name === name && q.as !== 'level')) continue;
    request.push({ name, as: numeric ? 'number' : 'text' });
    passThrough.push(carried[carried.length - 1]);
  }
  const columns: OutputColumn[] = [id.output, ...models.flatMap((m) => m.outputs), ...carried];
  const ranked = models.flatMap((m) => m.ranked ?? []);
  // Compared ignoring case, as DuckDB's names are: "KM_segment" beside "km_segment" was renamed km_segment_1 in the file, unlike the manifest.
  const names = new Map<string, string>();
  const memberships = (audiences?.audiences ?? []).map((a) => ({ name: `aud_${a.name}`, audience: a.name }));
  for (const c of [...columns, ...rankedColumns(ranked), ...memberships]) {
    const held = names.get(c.name.toLowerCase());
    if (held !== undefined) {
      const kept = wanted.find((w) => w.name === c.name || w.name === held);
      const same = held === c.name ? `"${c.name}"` : `"${held}" and "${c.name}" (column names ignore case)`;
      if ('audience' in c) throw new UserError(`audience "${c.audience}": its membership column would be "${c.name}", the name of another output column${held === c.name ? '' : ` ("${held}"; column names ignore case)`}; rename the audience or the model`);
      throw new UserError(kept ? `${kept.who} column ${same}: it has the name of a model's output column; rename the input column or the model` : `two outputs are named ${same}: score models with distinct names`);
    }
    if (RESERVED_COLUMNS.includes(c.name) || c.name.startsWith(PROFILED_PREFIX)) throw new UserError(`the scores would have a column named "${c.name}", which the finalize uses for itself; rename that input column`);
    names.set(c.name.toLowerCase(), c.name);
  }
  if (audiences) checkModelReferences(audiences, models, [...columns, ...rankedColumns(ranked)].map((c) => c.name));
  if (!(maxRejects >= 0)) throw new UserError(`the limit of rejected rows must be 0 or more, got ${maxRejects}`);
  // The first model's features as it reads them; categoricals as their level codes.
  const first = models[0].transform;
  const profiled = audiences
    ? scoringRequest(first)
        .filter((r) => r.name !== first.id.column)
        .map((r) => ({ request: r, column: { name: `${PROFILED_PREFIX}${r.name}`, type: r.as === 'level' ? ('INTEGER' as const) : r.as === 'text' ? ('VARCHAR' as const) : ('DOUBLE' as const) } }))
    : [];
  // Sensitive columns of the models, when the file has them: staged for each audience's selection by group.
  const grouped: ScorePlan<M>['grouped'] = [];
  const sensitive = audiences ? [...new Set(models.flatMap((m) => (Array.isArray(m.manifest.params.sensitive) ? (m.manifest.params.sensitive as string[]) : [])))] : [];
  for (const attribute of sensitive.filter((c) => data.columns.some((col) => col.name === c))) {
    const read = request.find((q) => q.name === attribute && q.as !== 'level') ?? { name: attribute, as: 'text' as const };
    if (!request.includes(read)) request.push(read);
    grouped.push({ attribute, request: read, column: { name: `${PROFILED_PREFIX}group_${attribute}`, type: read.as === 'text' ? 'VARCHAR' : read.as === 'bigint' ? 'BIGINT' : 'DOUBLE' } });
  }
  return { data, models, audiences, id: id.output, request, columns, carried, passThrough: passThrough.filter((c) => !grouped.some((g) => g.request.name === c.name)), profiled, grouped, ranked, maxRejects };
}

/** Rows [start, end) of a batch, as a batch of their own (row numbers kept). */
function sliceRows(batch: ColumnBatch, start: number, end: number): ColumnBatch {
  const columns = new Map<string, ColumnData>();
  for (const [name, col] of batch.columns) columns.set(name, col.slice(start, end));
  return { ...batch, offset: batch.offset + start, first: batch.first + start, rows: end - start, columns, rejects: undefined };
}

/** The runs of rows between rejected ones: each keeps its own row numbers (row_id when there is no id column). */
function withoutRejects(batch: ColumnBatch): ColumnBatch[] {
  if (!batch.rejects?.length) return [batch];
  const runs: ColumnBatch[] = [];
  let start = 0;
  for (const row of [...new Set(batch.rejects.map((r) => r.row)), batch.rows]) {
    if (row > start) runs.push(sliceRows(batch, start, row));
    start = row + 1;
  }
  return runs;
}

/** Each row's row number in its file, for the part's sourced columns. */
function fileRows(batch: ColumnBatch): Float64Array {
  const out = new Float64Array(batch.rows);
  for (let i = 0; i < batch.rows; i++) out[i] = batch.offset + i;
  return out;
}

function idOf(plan: ScorePlan, batch: ColumnBatch, row: number): string | number {
  const col = batch.columns.get(plan.id.name);
  if (!col) return batch.first + row; // row numbers
  const v = col[row];
  return typeof v === 'bigint' ? Number(v) : String(v);
}

/** How a shard is run: its fence, the fingerprint of its file, the rejects it may add, progress. */
export interface ShardRunOptions {
  /** The run's fence (scoring/fence.ts): the part is named with it and renamed in only while it holds the staging. */
  fence: string;
  /** The shard's file as the job planned it: checked when the shard opens it and when it is done. */
  input?: FileFingerprint;
  /** Rejected rows the job still tolerates (default: the plan's limit). */
  rejectBudget?: number;
  /** Rows scored, batch by batch. */
  onRows?: (rows: number) => void;
}

/**
 * Scores one shard into `<staging>/scores-NNNNN.<fence>.parquet` (and its rejected rows into
 * `rejects-NNNNN.<fence>.jsonl`), renamed in only while the fence holds the staging folder.
 * @throws FencedOut when the staging is no longer the run's; UserError when the file changed
 *   since the job planned it, when the shard read other than its planned rows, or for bad values.
 */
export async function scoreShard(plan: ScorePlan, shard: Shard, staging: string, opts: ShardRunOptions): Promise<ShardResult> {
  const started = performance.now();
  const { data, models } = plan;
  const table = data.tables[shard.table];
  const budget = opts.rejectBudget ?? plan.maxRejects;
  const unchanged = () => opts.input && requireUnchanged([opts.input]);
  requireFence(staging, opts.fence);
  unchanged();
  const part = path.join(staging, stagedPartName(shard.index, opts.fence));
  const rejectsPath = path.join(staging, stagedRejectsName(shard.index, opts.fence));
  const tmp = `.${randomBytes(4).toString('hex')}.tmp`;
  // Columns only carried into the output are read by DuckDB as the part is written, where the input allows.
  const sourced = sourcedColumns(table, plan.passThrough, shard);
  const request = sourced ? plan.request.filter((r) => !sourced.names.includes(r.name) || r.as === 'level') : plan.request;
  const writer = new FileWriter(part + tmp, [...plan.columns, ...[...plan.profiled, ...plan.grouped].map((p) => p.column)], sourced);
  const rejects: string[] = [];
  let rows = 0;
  let read = 0;
  let imputed = 0;
  try {
    // Batch i+1 is read and transformed while the backend scores batch i.
    const transformed = prefetch(
      (async function* () {
        const batches = table.read(request, { range: { start: shard.start, end: shard.end }, badNumbers: plan.maxRejects > 0 ? 'report' : 'fail' });
        for await (const raw of batches) {
          // Row numbers count across all inputs.
          const batch: ColumnBatch = { ...raw, first: shard.first + (raw.offset - shard.start) };
          read += raw.rows;
          if (batch.rejects?.length) {
            for (const r of batch.rejects) {
              rejects.push(JSON.stringify({ id: idOf(plan, batch, r.row), file: table.path, row: raw.offset + r.row + 1, column: r.column, value: r.value, reason: 'not a number' }));
            }
            if (rejects.length > budget) {
              throw new UserError(
                `more rows could not be read than the job allows (${plan.maxRejects}): e.g. ${table.path} data row ${raw.offset + batch.rejects[0].row + 1}, column "${batch.rejects[0].column}" holds ${JSON.stringify(batch.rejects[0].value)}, expected a number`,
              );
            }
          }
          // Models on the onnx engine take the raw columns: their graph holds the transform.
          for (const run of withoutRejects(batch)) yield { batch: run, blocks: models.map((m) => (m.scoreBatch ? undefined : transform(m.transform, run))) };
        }
      })(),
    );
    for await (const { batch, blocks } of transformed) {
      const out: Record<string, OutputData> = {};
      out[plan.id.name] = blocks[0]?.ids ?? idsOf(models[0].transform, batch);
      for (const [i, m] of models.entries()) {
        const block = blocks[i];
        const scored = block ? { outputs: await m.score(block), imputed: block.imputed } : await m.scoreBatch!(batch);
        if (i === 0) imputed += scored.imputed;
        Object.assign(out, scored.outputs);
      }
      for (const c of plan.carried) if (!sourced?.names.includes(c.name)) out[c.name] = batch.columns.get(c.name) as OutputData;
      if (sourced) out[SOURCE_ROW] = fileRows(batch);
      for (const p of [...plan.profiled, ...plan.grouped]) out[p.column.name] = batch.columns.get(batchKey(p.request)) as OutputData;
      await writer.write(batch.rows, out);
      rows += batch.rows;
      opts.onRows?.(batch.rows);
    }
    requireShardRows(table.path, shard, read);
    const moves: Array<[string, string]> = [];
    if (rejects.length) {
      fs.writeFileSync(rejectsPath + tmp, `${rejects.join('\n')}\n`);
      moves.push([rejectsPath + tmp, rejectsPath]);
    } else fs.rmSync(rejectsPath, { force: true });
    try {
      await writer.close();
    } catch (err) {
      unchanged(); // a file changed under the shard: say so rather than how the write failed
      throw err;
    }
    unchanged(); // the file read is the one planned from, also after the read
    // The rejects file first: a shard's part in place means the shard is whole.
    commitFenced(staging, opts.fence, [...moves, [part + tmp, part]]);
    return { index: shard.index, rows, imputed, rejected: rejects.length, seconds: (performance.now() - started) / 1000 };
  } catch (err) {
    writer.abort();
    for (const f of [part + tmp, rejectsPath + tmp]) fs.rmSync(f, { force: true });
    throw err;
  }
}

/**
 * Builds the whole output from the shards staged under `fence` (parts of other runs there are
 * ignored) beside the folder's old output, in staging (scoring/finalize.ts: score parts with
 * percentile, rank and audience columns, audience files; then audience profiles, the errors
 * file, and the manifest last), then replaces the old output with it (scoring/publish.ts).
 * Idempotent: the staged parts stay until the new output is in place.
 */
export async function finalizeScore(plan: ScorePlan<ModelOutline>, dir: string, shards: ShardResult[], seconds: () => number, fence: string): Promise<ScoreManifest> {
  const backend = await initBackend();
  const staging = path.join(dir, STAGING);
  const ordered = [...shards].sort((a, b) => a.index - b.index);
  const rows = ordered.reduce((s, r) => s + r.rows, 0);
  const out = newOutputFolder(dir);
  const done = await finalizeParts({
    dir: out,
    parts: ordered.map((r) => ({ index: r.index, path: path.join(staging, stagedPartName(r.index, fence)), rows: r.rows })),
    columns: [...plan.columns, ...[...plan.profiled, ...plan.grouped].map((p) => p.column)],
    hidden: [...plan.profiled, ...plan.grouped].map((p) => p.column.name),
    ranked: plan.ranked,
    idColumn: plan.id.name,
    hasIds: plan.models[0].transform.id.column !== null, // without one, ids are row numbers
    ...(plan.audiences && {
      audiences: { set: plan.audiences, models: plan.models, profile: { transform: plan.models[0].transform, profiled: plan.profiled }, grouped: plan.grouped.map((g) => ({ attribute: g.attribute, staged: g.column.name })) },
    }),
  });
  const { files, columns, duplicateIds, stages } = done;
  const built = done.audiences;
  if (built) {
    fs.writeFileSync(path.join(out, 'audiences', 'summary.json'), JSON.stringify({ summaries: built.summaries, overlap: built.overlap }, null, 1));
  }
  if (duplicateIds > 0) warn(`${duplicateIds} scored rows repeat an id of an earlier row (column "${plan.id.name}"); audiences list each id once`);
  const rejected = ordered.reduce((s, r) => s + r.rejected, 0);
  if (rejected > 0) {
    const lines = ordered.filter((r) => r.rejected > 0).map((r) => fs.readFileSync(path.join(staging, stagedRejectsName(r.index, fence)), 'utf8'));
    fs.writeFileSync(path.join(out, ERRORS), lines.join(''));
  }
  const secs = seconds();
  const manifest: ScoreManifest = {
    format: SCORE_MANIFEST_FORMAT,
    files: files.map((f) => ({ path: path.relative(out, f.path), rows: f.rows })),
    rows,
    columns,
    ...(built && { audiences: { summaries: built.summaries, overlap: built.overlap } }),
    models: plan.models.map((m) => ({ name: m.manifest.name, version: m.manifest.version, kind: m.manifest.kind, engine: m.engine === 'onnx' ? `onnxruntime-node ${ONNX_ENGINE.version} (${onnxProvider()})` : 'tfjs' })),
    inputs: plan.data.tables.map((t) => t.path),
    backend: { name: backendName(), device: backend.device },
    imputed: ordered.reduce((s, r) => s + r.imputed, 0),
    rejected,
    duplicateIds,
    shards: ordered.length,
    ...(stages && { finalizeStages: stages }),
    seconds: secs,
    rowsPerSecond: rows / Math.max(secs, 1e-9),
    createdAt: new Date().toISOString(),
  };
  fs.writeFileSync(path.join(out, MANIFEST), JSON.stringify(manifest, null, 1));
  publishOutput(dir);
  fs.rmSync(staging, { recursive: true, force: true });
  return manifest;
}


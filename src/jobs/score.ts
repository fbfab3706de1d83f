/**
 * Scores a dataset with one or more models in one pass over the data and writes Parquet
 * parts plus a manifest, written last: its presence means the output is whole.
 */
import fs from 'node:fs';
import path from 'node:path';
import { backendName, initBackend } from '../compute/backend.js';
import { columnRequest, transform } from '../features/transform.js';
import type { ColumnRequest } from '../io/columns.js';
import type { Dataset } from '../io/dataset.js';
import { PartWriter, type OutputColumn, type OutputData, type WrittenFile } from '../io/writer.js';
import type { ScoringModel } from '../models/model.js';
import { UserError } from '../util/errors.js';
import { addPercentiles, buildRanking, rankedColumns, ValueLog } from './rank.js';
import { audienceInputs, buildAudiences, type AudienceSummary } from '../audiences/build.js';
import type { AudienceSet } from '../audiences/definition.js';
import { profileAudiences } from '../audiences/profile.js';
import { prefetch } from '../util/prefetch.js';
import { silentProgress, type Progress } from '../util/progress.js';

export interface ScoreOptions {
  output: string;
  /** Audiences to build from the scores (adds membership columns and per-audience files). */
  audiences?: AudienceSet;
  /** Replace an existing output in the folder. */
  overwrite?: boolean;
  rowsPerFile?: number;
  progress?: Progress;
}

export interface ScoreManifest {
  files: WrittenFile[];
  rows: number;
  columns: OutputColumn[];
  models: Array<{ name: string; version: number; kind: string }>;
  inputs: string[];
  backend: { name: string; device: string };
  imputed: number;
  audiences?: { summaries: AudienceSummary[]; overlap: Array<{ a: string; b: string; both: number }> };
  seconds: number;
  rowsPerSecond: number;
  createdAt: string;
}

export const SCORE_PREFIX = 'scores';
export const MANIFEST = 'manifest.json';

/** The id column every model must agree on: the same column, or row numbers for all. */
function idColumn(models: ScoringModel[]): { request: ColumnRequest | undefined; output: OutputColumn } {
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

function prepareOutput(dir: string, overwrite: boolean): void {
  fs.mkdirSync(dir, { recursive: true });
  const existing = fs.readdirSync(dir).filter((f) => f === MANIFEST || f === 'audiences' || f.startsWith(`${SCORE_PREFIX}-`));
  if (existing.length === 0) return;
  if (!overwrite) throw new UserError(`${dir} already holds scores (${existing.slice(0, 3).join(', ')}...); choose another folder or pass --overwrite`);
  for (const f of existing) fs.rmSync(path.join(dir, f), { recursive: true });
}

export async function scoreDataset(data: Dataset, models: ScoringModel[], opts: ScoreOptions): Promise<ScoreManifest> {
  if (models.length === 0) throw new UserError('no model to score with (--model name[@version])');
  const backend = await initBackend();
  const started = performance.now();
  const id = idColumn(models);
  const request: ColumnRequest[] = id.request ? [id.request] : [];
  for (const m of models) for (const r of columnRequest(m.transform)) if (!request.some((q) => q.name === r.name)) request.push(r);
  // Input columns the audiences read (attributes, identifiers) are carried into the scores.
  const carried: OutputColumn[] = [];
  for (const name of opts.audiences ? audienceInputs(opts.audiences, models) : []) {
    const col = data.columns.find((c) => c.name === name);
    if (!col) throw new UserError(`audiences use column "${name}", which ${data.tables[0].path} does not have (columns: ${data.columns.map((c) => c.name).join(', ')})`);
    if (name === id.output.name) continue;
    const numeric = col.kind === 'numeric' || col.kind === 'boolean';
    carried.push({ name, type: numeric ? 'DOUBLE' : 'VARCHAR' });
    if (!request.some((q) => q.name === name)) request.push({ name, as: numeric ? 'number' : 'text' });
  }
  const columns: OutputColumn[] = [id.output, ...models.flatMap((m) => m.outputs), ...carried];
  const ranked = models.flatMap((m) => m.ranked ?? []);
  const logs = new Map(ranked.map((r) => [r.source, { values: new ValueLog(), excluded: r.excludeIf ? new ValueLog() : undefined }]));
  const names = new Set<string>();
  for (const c of [...columns, ...rankedColumns(ranked)]) {
    if (names.has(c.name)) throw new UserError(`two outputs are named "${c.name}": score models with distinct names`);
    names.add(c.name);
  }
  const dir = path.resolve(opts.output);
  prepareOutput(dir, opts.overwrite ?? false);
  const writer = new PartWriter(dir, SCORE_PREFIX, columns, opts.rowsPerFile);
  const progress = opts.progress ?? silentProgress;
  let rows = 0;
  let imputed = 0;
  try {
    // Batch i+1 is read and transformed while the backend scores batch i.
    const transformed = prefetch(
      (async function* () {
        for await (const batch of data.read(request)) yield { batch, blocks: models.map((m) => transform(m.transform, batch)) };
      })(),
    );
    for await (const { batch, blocks } of transformed) {
      const out: Record<string, OutputData> = {};
      for (const [i, m] of models.entries()) {
        const block = blocks[i];
        if (i === 0) {
          out[id.output.name] = block.ids;
          imputed += block.imputed;
        }
        Object.assign(out, await m.score(block));
      }
      for (const c of carried) out[c.name] = batch.columns.get(c.name) as OutputData;
      for (const r of ranked) {
        const log = logs.get(r.source)!;
        log.values.push(out[r.source] as Float32Array);
        if (r.excludeIf) log.excluded!.push(out[r.excludeIf] as Int32Array);
      }
      await writer.write(batch.rows, out);
      rows += batch.rows;
      progress.update(rows, data.rowCount);
    }
    const files = await writer.close();
    const written = ranked.length
      ? await addPercentiles(
          dir,
          files,
          columns,
          ranked,
          new Map(ranked.map((r) => {
            const log = logs.get(r.source)!;
            const excluded = log.excluded ? Uint8Array.from(log.excluded.values()) : undefined;
            return [r.source, buildRanking(log.values.values(), excluded, Boolean(r.rank))];
          })),
        )
      : columns;
    const built = opts.audiences
      ? await buildAudiences({ dir, files, columns: written, models, set: opts.audiences, idColumn: id.output.name, rows })
      : undefined;
    if (built) {
      // In words: what sets each audience apart, on the first model's features; then the summary file.
      const profiles = await profileAudiences(data, models[0].transform, built.membership);
      built.summaries.forEach((s, a) => (s.profile = profiles[a].entries));
      fs.writeFileSync(path.join(dir, 'audiences', 'summary.json'), JSON.stringify({ summaries: built.summaries, overlap: built.overlap }, null, 1));
    }
    const seconds = (performance.now() - started) / 1000;
    const manifest: ScoreManifest = {
      files: files.map((f) => ({ path: path.relative(dir, f.path), rows: f.rows })),
      rows,
      columns: built?.columns ?? written,
      ...(built && { audiences: { summaries: built.summaries, overlap: built.overlap } }),
      models: models.map((m) => ({ name: m.manifest.name, version: m.manifest.version, kind: m.manifest.kind })),
      inputs: data.tables.map((t) => t.path),
      backend: { name: backendName(), device: backend.device },
      imputed,
      seconds,
      rowsPerSecond: rows / Math.max(seconds, 1e-9),
      createdAt: new Date().toISOString(),
    };
    fs.writeFileSync(path.join(dir, `${MANIFEST}.tmp`), JSON.stringify(manifest, null, 1));
    fs.renameSync(path.join(dir, `${MANIFEST}.tmp`), path.join(dir, MANIFEST));
    return manifest;
  } catch (err) {
    writer.abort();
    throw err;
  }
}

/**
 * The finalize of a score job as one DuckDB plan over the staged parts: the parts are read
 * once into a temporary table with their output order (`__row`: part index x 2^32 + row in
 * the part), the ranked outputs' percentiles, buckets and ranks are added by window
 * functions, audiences are built over that table (audiences/build.ts), and each visible score
 * part is written once (`COPY ... TO` its temporary name, renamed) with every column. Nothing
 * of the staged parts changes, so a finalize killed anywhere can run again from them.
 *
 * Percentile: the mid-rank percentile within the ranked rows, 100 x (below + equal / 2) / n,
 * compared at float32 (ties share one); bucket: high from 80, medium from 50, else low;
 * rank: 1 for the highest value, ties by row order. Rows excluded from a ranking (seeds) or
 * without a value get none of the three.
 */
import { MISSING_GROUP, selectionByGroup } from '../metrics/fairness.js';
import fs from 'node:fs';
import path from 'node:path';
import { listValue, type DuckDBConnection } from '@duckdb/node-api';
import { audienceColumns, buildAudiences, copyTo, definitionInputs, type AudiencesResult } from '../audiences/build.js';
import type { AudienceSet } from '../audiences/definition.js';
import { profileAudiences, type ProfileSource } from '../audiences/profile.js';
import type { FittedTransform } from '../features/transform.js';
import { connect, ident } from '../io/duckdb.js';
import { idKeySql } from '../io/ids.js';
import { SOURCE_ROW, type OutputColumn, type WrittenFile } from '../io/writer.js';
import { BUCKET_FROM, type ModelOutline, type RankedOutput } from '../models/model.js';
import { UserError } from '../util/errors.js';
import { shardName } from './output.js';

/** Column names the finalize's table uses for itself; no output may take them. */
export const RESERVED_COLUMNS = ['__row', 'file_row_number', SOURCE_ROW];

/** The prefix of staged-only input columns (for audience profiles); no output may start with it. */
export const PROFILED_PREFIX = '__in_';

/** What the finalize reads: the staged parts in output order and what to compute over them. */
export interface FinalizeInput {
  /** The output folder: visible parts are written here, audiences under `audiences/`. */
  dir: string;
  /** Staged parts in output order, each with its shard index (the visible part's name). */
  parts: Array<{ index: number; path: string; rows: number }>;
  /** The columns of the staged parts. */
  columns: OutputColumn[];
  /** Staged columns left out of the visible parts (read by the caller from the staged parts). */
  hidden?: string[];
  ranked: RankedOutput[];
  idColumn: string;
  /** Whether ids are the input's own (count repeats); false for row numbers. */
  hasIds: boolean;
  /** Audiences to build; with `profile`, each summary gets the audience's profile on that transform's features (staged columns). */
  audiences?: {
    set: AudienceSet;
    models: ModelOutline[];
    profile?: { transform: FittedTransform; profiled: ProfileSource['profiled'] };
    /** Sensitive columns staged in the parts (`staged`), for each audience's members by group. */
    grouped?: Array<{ attribute: string; staged: string }>;
  };
}

export interface FinalizeResult {
  files: WrittenFile[];
  columns: OutputColumn[];
  audiences?: Omit<AudiencesResult, 'tables' | 'columns'>;
  /** Scored rows whose id repeats an earlier row's (0 without ids). */
  duplicateIds: number;
  /** Seconds per step: loading the staged parts with ranks, audiences, writing the parts, profiles (absent when the parts were only linked). */
  stages?: FinalizeStages;
}

/** Seconds the finalize spent per step. */
export interface FinalizeStages {
  load: number;
  audiences: number;
  parts: number;
  profiles: number;
}

const PART_SHIFT = 4_294_967_296; // 2^32 rows per part at most

/** The ranked outputs' added columns: percentile (FLOAT), bucket (VARCHAR) and rank (INTEGER) where asked for. */
export function rankedColumns(ranked: RankedOutput[]): OutputColumn[] {
  return ranked.flatMap((r) => [
    { name: r.percentile, type: 'FLOAT' as const },
    ...(r.bucket ? [{ name: r.bucket, type: 'VARCHAR' as const }] : []),
    ...(r.rank ? [{ name: r.rank, type: 'INTEGER' as const }] : []),
  ]);
}

/** Whether the ids are text (else integers). */
function textIds(input: FinalizeInput): boolean {
  return input.columns.find((c) => c.name === input.idColumn)!.type === 'VARCHAR';
}

/** The staged parts as one relation with `__row`, reading `select` (a column list) from each; `bind` binds the paths. */
function partsUnion(input: FinalizeInput, select: string, bind: (v: unknown) => string): string {
  return input.parts
    .map((p, i) => `SELECT ${select}, CAST(${bind(i)} AS BIGINT) * ${PART_SHIFT} + file_row_number AS __row FROM read_parquet(${bind(p.path)}, file_row_number = true)`)
    .join(' UNION ALL ');
}

/** A statement's bound values: `bind` returns the `$n` that stands for a value. */
function binder() {
  const values: unknown[] = [];
  const bind = (v: unknown) => {
    values.push(v);
    return `$${values.length}`;
  };
  return { values, bind };
}

/**
 * CREATE TEMP TABLE ranks (`__row`, percentiles, buckets, ranks), stored in `__row` order:
 * window functions over a narrow relation (row, ranked value, eligibility) read from the
 * staged parts on its own (DuckDB reads only those columns).
 */
async function loadRanks(con: DuckDBConnection, input: FinalizeInput): Promise<void> {
  const narrow = binder();
  // Per ranked output: whether the row is ranked (__g) and its float32 value (__v).
  const flags = input.ranked.map((r, i) => {
    const src = ident(r.source);
    const eligible = r.excludeIf ? `coalesce(CAST(${ident(r.excludeIf)} AS DOUBLE), 0) = 0 AND ` : '';
    return `(${eligible}${src} IS NOT NULL AND NOT isnan(CAST(${src} AS DOUBLE))) AS __g${i}, CAST(${src} AS FLOAT) AS __v${i}`;
  });
  const narrowColumns = [...new Set(input.ranked.flatMap((r) => [r.source, ...(r.excludeIf ? [r.excludeIf] : [])]))].map(ident).join(', ');
  const windows = input.ranked.map((r, i) => {
    const g = `__g${i}`;
    const v = `__v${i}`;
    // One descending sort serves the percentile and the rank (DuckDB shares it between windows whose
    // orders share a prefix): with n ranked rows, rank() - 1 = rows above, round(cume_dist() x n) =
    // rows above or equal, so 2 x (below + equal / 2) = 2n - round(cume_dist() x n) - (rank() - 1),
    // an exact integer; the percentile is 100 x that / 2 / n, the same double as before. Measured at
    // 10M rows: 2.8 s against 5.3 s for a hash partition on (ranked, value) beside two sorts.
    const desc = `(PARTITION BY ${g} ORDER BY ${v} DESC)`;
    const n = `count(*) OVER (PARTITION BY ${g})`;
    const pct = `CASE WHEN ${g} THEN CAST(100.0::DOUBLE * (2 * ${n} - round(cume_dist() OVER ${desc} * ${n}) - (rank() OVER ${desc} - 1)) / 2 / CAST(${n} AS DOUBLE) AS FLOAT) END AS ${ident(r.percentile)}`;
    const rank = r.rank ? `, CASE WHEN ${g} THEN CAST(row_number() OVER (PARTITION BY ${g} ORDER BY ${v} DESC, __row) AS INTEGER) END AS ${ident(r.rank)}` : '';
    return pct + rank;
  });
  // Buckets from the stored (float32) percentiles.
  const buckets = input.ranked
    .filter((r) => r.bucket)
    .map((r) => `CASE WHEN ${ident(r.percentile)} >= ${BUCKET_FROM.high} THEN 'high' WHEN ${ident(r.percentile)} >= ${BUCKET_FROM.medium} THEN 'medium' WHEN ${ident(r.percentile)} IS NOT NULL THEN 'low' END AS ${ident(r.bucket!)}`);
  const flagged = `SELECT __row, ${flags.join(', ')} FROM (${partsUnion(input, narrowColumns, narrow.bind)})`;
  const ranked = `SELECT __row${windows.map((w) => `, ${w}`).join('')} FROM (${flagged})`;
  await con.run(`CREATE OR REPLACE TEMP TABLE ranks AS SELECT * ${buckets.map((b) => `, ${b}`).join('')} FROM (${ranked}) ORDER BY __row`, narrow.values as never);
}

/**
 * CREATE TEMP TABLE scored for the audiences: `__row`, the id, the columns they read
 * (`needed`) and the ranked columns; nothing else of the staged parts.
 */
async function loadScored(con: DuckDBConnection, input: FinalizeInput, needed: string[]): Promise<void> {
  const b = binder();
  const cols = [...new Set([input.idColumn, ...needed])].filter((c) => input.columns.some((x) => x.name === c));
  const union = partsUnion(input, cols.map(ident).join(', '), b.bind);
  const ranks = input.ranked.length ? ' JOIN ranks r USING (__row)' : '';
  await con.run(`CREATE OR REPLACE TEMP TABLE scored AS SELECT u.*${ranks ? ', r.* EXCLUDE (__row)' : ''} FROM (${union}) u${ranks}`, b.values as never);
}

/**
 * Writes each visible part once: the staged part's visible columns, its rows' ranks and
 * audience memberships joined by `__row` (both read for that part's rows only), in row order.
 */
async function writeParts(con: DuckDBConnection, input: FinalizeInput, ranked: OutputColumn[], membership: OutputColumn[], statusTables: string[]): Promise<WrittenFile[]> {
  const visible = input.columns.filter((c) => !input.hidden?.includes(c.name));
  const range = 'WHERE __row >= $3 AND __row < $4';
  const joins = [...(ranked.length ? [`LEFT JOIN (SELECT * FROM ranks ${range}) r USING (__row)`] : []), ...statusTables.map((t, k) => `LEFT JOIN (SELECT * FROM ${t} ${range}) a${k} USING (__row)`)];
  const select = [
    ...visible.map((c) => `p.${ident(c.name)}`),
    ...ranked.map((c) => `r.${ident(c.name)}`),
    ...membership.map((c, k) => `CASE a${k}.status WHEN 1 THEN 'member' WHEN 2 THEN 'holdout' END AS ${ident(c.name)}`),
  ].join(', ');
  const query = `SELECT ${select} FROM (SELECT *, CAST($1 AS BIGINT) * ${PART_SHIFT} + file_row_number AS __row FROM read_parquet($2, file_row_number = true)) p ${joins.join(' ')} ORDER BY __row`;
  const files: WrittenFile[] = [];
  for (const [i, p] of input.parts.entries()) {
    const target = path.join(input.dir, shardName(p.index));
    await copyTo(con, query, [i, p.path, i * PART_SHIFT, (i + 1) * PART_SHIFT], target, `${target}.tmp`);
    files.push({ path: target, rows: p.rows });
  }
  return files;
}

/** Hard links (or copies) of the staged parts as the visible parts: nothing to add to them. */
function linkParts(input: FinalizeInput): WrittenFile[] {
  return input.parts.map((p) => {
    const target = path.join(input.dir, shardName(p.index));
    fs.rmSync(target, { force: true });
    try {
      fs.linkSync(p.path, target);
    } catch {
      fs.copyFileSync(p.path, target); // a file system without hard links
    }
    return { path: target, rows: p.rows };
  });
}

/**
 * Builds the visible output from the staged parts: score parts with percentile, bucket, rank
 * and audience columns, the audiences' files; counts repeated ids. Idempotent.
 * @throws UserError when an audience refers to something the run lacks (nothing written).
 */
export async function finalizeParts(input: FinalizeInput): Promise<FinalizeResult> {
  const con = await connect();
  try {
    if (input.ranked.length === 0 && !input.audiences && !input.hidden?.length) {
      const files = linkParts(input);
      return { files, columns: input.columns, duplicateIds: await countDuplicateIds(con, input) };
    }
    for (const c of input.columns) if (RESERVED_COLUMNS.includes(c.name)) throw new UserError(`a scored column is named "${c.name}", which the finalize uses for itself; rename it`);
    const t0 = performance.now();
    const stages: FinalizeStages = { load: 0, audiences: 0, parts: 0, profiles: 0 };
    let last = t0;
    const tick = (stage: keyof FinalizeStages) => {
      const now = performance.now();
      stages[stage] = (now - last) / 1000;
      last = now;
    };
    if (input.ranked.length) await loadRanks(con, input);
    const columns = [...input.columns.filter((c) => !input.hidden?.includes(c.name)), ...rankedColumns(input.ranked)];
    if (input.audiences) await loadScored(con, input, audienceColumns(input.audiences.set, input.audiences.models, columns));
    tick('load');
    const rankBase = new Map<string, number>();
    for (const r of input.ranked) if (r.rank) rankBase.set(r.rank, Number((await con.runAndReadAll(`SELECT count(${ident(r.rank)}) FROM ranks`)).getRows()[0][0]));
    const built = input.audiences
      ? await buildAudiences({ con, table: 'scored', columns, idColumn: input.idColumn, textIds: textIds(input), dir: input.dir }, input.audiences.models, input.audiences.set, rankBase)
      : undefined;
    tick('audiences');
    const files = await writeParts(con, input, rankedColumns(input.ranked), built?.columns ?? [], built?.tables ?? []);
    tick('parts');
    const profile = input.audiences?.profile;
    if (built && profile) {
      // In words: what sets each audience apart, on the model's features (read from the staged parts).
      const b = binder();
      const relation = `(${partsUnion(input, profile.profiled.map((p) => ident(p.column.name)).join(', '), b.bind)})`;
      const profiles = await profileAudiences({ con, relation, values: b.values, profiled: profile.profiled }, profile.transform, built.tables);
      built.summaries.forEach((s, a) => (s.profile = profiles[a].entries));
    }
    const grouped = input.audiences?.grouped ?? [];
    if (built && grouped.length) {
      const b = binder();
      const relation = `(${partsUnion(input, grouped.map((g) => ident(g.staged)).join(', '), b.bind)})`;
      for (const [a, status] of built.tables.entries()) {
        built.summaries[a].fairness = [];
        for (const g of grouped) {
          // Members (status 1, not the holdout) among each group's visitors; missing is a group of its own.
          const r = await con.runAndReadAll(
            `SELECT coalesce(trim(CAST(t.${ident(g.staged)} AS VARCHAR)), '${MISSING_GROUP}') AS g, count(*) AS n, count(*) FILTER (WHERE s.status = 1) AS m
             FROM ${relation} t LEFT JOIN ${status} s USING (__row) GROUP BY 1`,
            b.values as never,
          );
          const counts = r.getRows().map(([group, n, m]) => ({ group: String(group) === '' ? MISSING_GROUP : String(group), count: Number(n), selected: Number(m) }));
          const { set, models } = input.audiences!;
          const byRule = definitionInputs(set, set.audiences[a], models).includes(g.attribute);
          built.summaries[a].fairness!.push({ ...selectionByGroup(g.attribute, counts), ...(byRule && { byRule }) });
        }
      }
    }
    tick('profiles');
    return {
      files,
      columns: [...columns, ...(built?.columns ?? [])],
      duplicateIds: await countDuplicateIds(con, input),
      ...(built && { audiences: { summaries: built.summaries, overlap: built.overlap } }),
      stages,
    };
  } finally {
    con.closeSync();
  }
}

/** Scored rows whose id repeats an earlier row's, compared by value (0 when ids are row numbers); missing ids are not counted. */
async function countDuplicateIds(con: DuckDBConnection, input: FinalizeInput): Promise<number> {
  if (!input.hasIds || input.parts.length === 0) return 0;
  // Integer ids repeat exactly when their decimal texts (their keys) do: counted as integers, not cast to text.
  const key = textIds(input) ? idKeySql(ident(input.idColumn), true) : ident(input.idColumn);
  const r = await con.runAndReadAll(`SELECT count(k) - count(DISTINCT k) FROM (SELECT ${key} AS k FROM read_parquet($1))`, [listValue(input.parts.map((p) => p.path))]);
  return Number(r.getRows()[0][0]);
}

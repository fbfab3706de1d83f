/**
 * Builds audiences in DuckDB from the table of scored rows the finalize made (one row per
 * scored visitor, `__row` giving the output order): each rule compiled to SQL (audiences/sql.ts,
 * identifiers quoted, literals bound) selects candidates; suppressions remove them in order
 * (an id list by anti-join on ids compared by value, a rule, repeated ids, earlier
 * audiences); a cap keeps the best by a score (`QUALIFY row_number()`), and a holdout drawn
 * from a hash of the id (stable across runs) is set aside for measurement. Each audience's
 * files are written once (`COPY ... TO` a temporary name, renamed): member ids as Parquet
 * and CSV, the holdout's ids, and the hashed identifiers per ad platform (normalized in
 * JavaScript by libphonenumber-js, so that part streams the members through this process).
 */
import type { SelectionByGroup } from '../metrics/fairness.js';
import fs from 'node:fs';
import path from 'node:path';
import { listValue, type DuckDBConnection } from '@duckdb/node-api';
import { ident } from '../io/duckdb.js';
import { canonicalId, ID_MATCH_MIN_SHARE, idKeySql, keyOfIntegerIdSql, matchText } from '../io/ids.js';
import { openTable } from '../io/table.js';
import { FileWriter, type OutputColumn } from '../io/writer.js';
import type { ModelOutline } from '../models/model.js';
import type { ProfileEntry } from '../models/profile.js';
import { UserError } from '../util/errors.js';
import { warn } from '../util/warn.js';
import { namingTarget } from '../util/files.js';
import type { AudienceSet } from './definition.js';
import { identifierText, normalizeEmail, normalizePhone, phoneForPlatform, sha256Hex } from './identifiers.js';
import { references, type Rule } from './rules.js';
import { holdoutPrefix } from './holdout.js';
import { ruleSql, SqlParams, sqlColumn } from './sql.js';

export interface AudienceSummary {
  name: string;
  rule: string;
  members: number;
  holdout: number;
  /** Members and holdout, as a share of all scored visitors. */
  share: number;
  removed: { suppressedIds: number; suppressedRule: number; suppressedAudiences: number; capped: number; duplicateIds: number };
  /** The suppression id list: its distinct ids, and how many of them are scored visitors. */
  suppressList?: { file: string; ids: number; matched: number };
  /** Mean of each probability and value output (propensity, CLTV, BG/NBD) among members. */
  means: Record<string, number>;
  /** Share of members per segment, for each segment output. */
  segmentMix: Record<string, Record<string, number>>;
  /**
   * Activation export: members with at least one valid identifier (rows), the hashed emails
   * and phones, and the members whose identifier was present but invalid (dropped, never hashed).
   */
  activation: { rows: number; emails: number; phones: number; invalidEmails: number; invalidPhones: number };
  files: Record<string, string>;
  /** Most distinguishing features of the audience vs all visitors (filled in by the caller). */
  profile?: ProfileEntry[];
  /** Members by the groups of each sensitive column of the models (trained with --sensitive; filled in by the caller). */
  fairness?: SelectionByGroup[];
}

export interface AudiencesResult {
  summaries: AudienceSummary[];
  /** Visitors in both audiences (members or holdout), by pair. */
  overlap: Array<{ a: string; b: string; both: number }>;
  /** Per audience: the temporary table (`__row`, `status`: 1 member, 2 holdout) of its visitors. */
  tables: string[];
  /** The membership columns (`aud_<name>`: member, holdout or null) the score files get. */
  columns: OutputColumn[];
}

/** Model outputs whose best value is the smallest: a rank (1 = most similar), a distance to the segment's centre. */
const SMALLER_IS_BETTER = /_(rank|distance)$/;

/**
 * Maps a rule reference to a score-file column: `model.output` (model name, or a unique kind;
 * split at the last dot, since a model's name may hold dots and an output's never does) or an
 * input column.
 */
export function referenceResolver(models: ModelOutline[]) {
  return (ref: string): { column: string; fromModel: boolean } => {
    const dot = ref.lastIndexOf('.');
    if (dot > 0) {
      const prefix = ref.slice(0, dot);
      const output = ref.slice(dot + 1);
      const byName = models.find((m) => m.manifest.name === prefix);
      const byKind = models.filter((m) => m.manifest.kind === prefix);
      if (!byName && byKind.length > 1) {
        throw new UserError(`"${ref}": several ${prefix} models are scored (${byKind.map((m) => m.manifest.name).join(', ')}); name one, e.g. ${byKind[0].manifest.name}.${output}`);
      }
      const model = byName ?? byKind[0];
      if (model) return { column: `${model.manifest.name}_${output}`, fromModel: true };
    }
    return { column: ref, fromModel: false };
  };
}

type Audience = AudienceSet['audiences'][number];

/** Input columns (not model outputs) that an audience's rule and suppression rule read. */
function ruleInputs(a: Audience, models: ModelOutline[]): string[] {
  const resolve = referenceResolver(models);
  const cols = new Set<string>();
  for (const rule of [a.rule, a.suppress.rule].filter(Boolean) as Rule[]) {
    for (const ref of references(rule)) {
      const r = resolve(ref);
      if (!r.fromModel) cols.add(r.column);
    }
  }
  return [...cols];
}

/**
 * Input columns that decide who is in audience `a` of `set`: its rule's and suppression
 * rule's, and those of the audiences it suppresses (defined earlier, so no cycle).
 */
export function definitionInputs(set: AudienceSet, a: Audience, models: ModelOutline[]): string[] {
  const suppressed = set.audiences.filter((x) => a.suppress.audiences.includes(x.name));
  return [...new Set([...ruleInputs(a, models), ...suppressed.flatMap((x) => definitionInputs(set, x, models))])];
}

/** Input columns the audiences read (attributes in rules, identifiers): scoring must carry them. */
export function audienceInputs(set: AudienceSet, models: ModelOutline[]): string[] {
  const cols = new Set(set.audiences.flatMap((a) => ruleInputs(a, models)));
  for (const k of ['email', 'phone'] as const) if (set.identifiers[k]) cols.add(set.identifiers[k]!);
  return [...cols];
}

/** Outputs whose mean over an audience's members the summary gives: probabilities and values (CLTV, BG/NBD). */
function isMeanColumn(name: string): boolean {
  return name.endsWith('_probability') || name.endsWith('_value');
}

/**
 * The columns of the scores `buildAudiences` reads for a set: rule and cap references that
 * exist among `columns`, identifiers, probabilities and segments (for the summaries).
 */
export function audienceColumns(set: AudienceSet, models: ModelOutline[], columns: OutputColumn[]): string[] {
  const resolve = referenceResolver(models);
  const refs = set.audiences.flatMap((a) => [...[a.rule, a.suppress.rule].filter(Boolean).flatMap((r) => references(r!)), ...(a.cap?.by ? [a.cap.by] : [])]);
  const names = new Set([...refs.map((r) => resolve(r).column), set.identifiers.email, set.identifiers.phone]);
  return columns.filter((c) => names.has(c.name) || isMeanColumn(c.name) || c.name.endsWith('_segment')).map((c) => c.name);
}

/** Every model reference of the rules names an output the run will write (`columns`); fails with the audience's name. */
export function checkModelReferences(set: AudienceSet, models: ModelOutline[], columns: string[]): void {
  const resolve = referenceResolver(models);
  for (const a of set.audiences) {
    for (const rule of [a.rule, a.suppress.rule].filter(Boolean) as Rule[]) {
      for (const ref of references(rule)) {
        const r = resolve(ref);
        if (!r.fromModel || columns.includes(r.column)) continue;
        const prefix = r.column.slice(0, r.column.length - ref.length + ref.lastIndexOf('.') + 1);
        const outputs = columns.filter((c) => c.startsWith(prefix)).map((c) => c.slice(prefix.length));
        throw new UserError(`${set.source}: audience "${a.name}": "${ref}" is not a score of this run (that model has: ${outputs.join(', ')})`);
      }
    }
  }
}

/** The canonical ids of an id list's first column (see io/ids.ts). @throws UserError as openTable for a file it cannot read. */
export async function readIdList(file: string): Promise<string[]> {
  const table = await openTable(file);
  const column = table.columns[0];
  const ids = new Set<string>();
  for await (const b of table.read([{ name: column.name, as: 'text' }])) {
    for (const v of b.columns.get(column.name) as (string | null)[]) {
      const id = canonicalId(v);
      if (id !== null) ids.add(id);
    }
  }
  return [...ids];
}

/** What `buildAudiences` reads: the scored table and how its ids compare. */
export interface AudienceSource {
  con: DuckDBConnection;
  /** The temporary table of scored rows, with `__row` (output order). */
  table: string;
  /** Its columns (model outputs, percentiles and ranks, carried inputs); `__row` is not listed. */
  columns: OutputColumn[];
  idColumn: string;
  /** Whether the ids are text (compared by their canonical text), else 64-bit integers. */
  textIds: boolean;
  /** The output folder: audiences go to `audiences/<name>/`. */
  dir: string;
}

async function count(con: DuckDBConnection, sql: string, values: unknown[] = []): Promise<number> {
  const r = await con.runAndReadAll(sql, values as never);
  return Number(r.getRows()[0][0]);
}

/**
 * Writes a query's rows to `file` (Parquet or CSV by extension) under a temporary name
 * (default `.<name>.tmp` beside it), renamed when whole. `values` bind the query's `$n`.
 * @throws the query's or the file system's error, naming `file` rather than the temporary
 *   file (namingTarget), which is removed: a failed copy leaves `file` as it was and nothing beside it.
 */
export async function copyTo(con: DuckDBConnection, query: string, values: unknown[], file: string, tmp = path.join(path.dirname(file), `.${path.basename(file)}.tmp`)): Promise<void> {
  const format = file.endsWith('.csv') ? 'FORMAT csv, HEADER true' : 'FORMAT parquet, COMPRESSION zstd';
  try {
    await con.run(`COPY (${query}) TO $${values.length + 1} (${format})`, [...values, tmp] as never);
    fs.renameSync(tmp, file);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw namingTarget(err, file);
  }
}

/** A rule reference's score-file column, checked against the run's columns, and a column's type. */
interface ColumnLookup {
  resolve: ReturnType<typeof referenceResolver>;
  /** The column `ref` names. @throws UserError starting with `where` when the run has no such column. */
  column: (ref: string, where: string) => string;
  typeOf: (column: string) => OutputColumn['type'];
}

/** How `buildAudiences` finds each reference among `columns` (the scored table's). */
function columnLookup(models: ModelOutline[], columns: OutputColumn[]): ColumnLookup {
  const resolve = referenceResolver(models);
  const known = new Set(columns.map((c) => c.name));
  const column = (ref: string, where: string): string => {
    const { column: c, fromModel } = resolve(ref);
    if (!known.has(c)) {
      const outputs = columns.filter((x) => fromModel && x.name.startsWith(c.slice(0, c.lastIndexOf('_') + 1))).map((x) => x.name);
      throw new UserError(
        `${where}: "${ref}" is not a score or column of this run` +
          (outputs.length ? ` (that model has: ${outputs.map((o) => o.slice(o.lastIndexOf('_') + 1)).join(', ')})` : ` (columns: ${columns.map((x) => x.name).join(', ')})`),
      );
    }
    return c;
  };
  return { resolve, column, typeOf: (c) => columns.find((x) => x.name === c)!.type };
}

/** One audience ready to build: its rules' SQL (binding into `params`) and the cap's score column and order. */
interface AudiencePlan {
  a: Audience;
  by?: string;
  ascending: boolean;
  sqlOf: (rule: Rule, params: SqlParams) => string;
}

/**
 * Plans audience `a`: compiles its rule and suppression rule once (so a bad reference fails
 * before any work) and finds the cap's score column.
 * @throws UserError naming the definitions (`source`) and the audience for a reference the run lacks or a cap with no score.
 */
function planAudience(source: string, a: Audience, cols: ColumnLookup, rankBase: Map<string, number>): AudiencePlan {
  const { resolve, column, typeOf } = cols;
  const where = `${source}: audience "${a.name}"`;
  const sqlOf = (rule: Rule, params: SqlParams) => {
    const col = (ref: string) => {
      const c = column(ref, where);
      return sqlColumn(c, typeOf(c));
    };
    try {
      return ruleSql(rule, col, (ref) => rankBase.get(column(ref, where)) ?? 0, params);
    } catch (err) {
      if (err instanceof UserError && !err.message.startsWith(where)) throw new UserError(`${where}: ${err.message}`);
      throw err;
    }
  };
  sqlOf(a.rule, new SqlParams());
  if (a.suppress.rule) sqlOf(a.suppress.rule, new SqlParams());
  let by: string | undefined;
  let ascending = false;
  if (a.cap) {
    const byRef = a.cap.by ?? references(a.rule).find((r) => resolve(r).fromModel);
    if (!byRef) throw new UserError(`${where}: "cap" needs "by" (a score to keep the best by), since the rule uses no score`);
    by = column(byRef, `${where}: cap.by`);
    if (typeOf(by) === 'VARCHAR') throw new UserError(`${where}: cap.by "${byRef}" is not numeric`);
    // The best of a rank (1 = most similar) or a distance to the segment's centre is the smallest.
    ascending = resolve(byRef).fromModel && SMALLER_IS_BETTER.test(by);
  }
  return { a, by, ascending, sqlOf };
}

/** `rank <= N%` on a rank column the finalize did not rank itself: its ranked rows are those with a rank (added to `rankBase`). */
async function countUnrankedBases(src: AudienceSource, set: AudienceSet, cols: ColumnLookup, rankBase: Map<string, number>): Promise<void> {
  for (const a of set.audiences) {
    for (const ref of references(a.rule)) {
      const c = cols.column(ref, `${set.source}: audience "${a.name}"`);
      if (/_rank$/.test(c) && !rankBase.has(c)) rankBase.set(c, await count(src.con, `SELECT count(${ident(c)}) FROM ${src.table}`));
    }
  }
}

/**
 * Removes from candidates table `cand` the ids of audience `a`'s id list (compared by their
 * canonical text), warning when few of the list's ids are scored visitors.
 * @returns the rows removed and the list's summary.
 */
async function suppressIds(src: AudienceSource, a: Audience, k: number, cand: string): Promise<{ removed: number; list: AudienceSummary['suppressList'] }> {
  const { con, table, idColumn } = src;
  const ids = await readIdList(a.suppress.ids!);
  const list = `aud_list_${k}`;
  await con.run(`CREATE OR REPLACE TEMP TABLE ${list} AS SELECT unnest($1::VARCHAR[]) AS key`, [listValue(ids)]);
  const removed = (await con.run(`DELETE FROM ${cand} WHERE key IN (SELECT key FROM ${list})`)).rowsChanged;
  const scored = src.textIds ? `key IN (SELECT ${idKeySql(ident(idColumn), true)} FROM ${table})` : keyOfIntegerIdSql('key', `SELECT ${ident(idColumn)} FROM ${table}`);
  const matched = await count(con, `SELECT count(*) FROM ${list} WHERE ${scored}`);
  if (matched < ID_MATCH_MIN_SHARE * ids.length) {
    warn(`audience "${a.name}": suppress.ids ${a.suppress.ids}: only ${matchText(matched, ids.length)} are scored visitors; check that the list holds the same ids as the "${idColumn}" column`);
  }
  await con.run(`DROP TABLE ${list}`);
  return { removed, list: { file: a.suppress.ids!, ids: ids.length, matched } };
}

/**
 * Selects audience `k` of `set` into the temporary table `status` (`__row`, `status`: 1
 * member, 2 holdout): rule candidates, then in order the id-list suppression, the rule
 * suppression, repeated ids, earlier audiences (their tables in `tables`), the cap, and the
 * holdout drawn from a hash of the id.
 * @returns the rows each step removed, and the id list's summary.
 */
async function selectAudience(
  src: AudienceSource,
  set: AudienceSet,
  k: number,
  plan: AudiencePlan,
  status: string,
  tables: string[],
): Promise<{ removed: AudienceSummary['removed']; suppressList: AudienceSummary['suppressList'] }> {
  const { con, table, idColumn } = src;
  const { a, by, ascending, sqlOf } = plan;
  const cand = `aud_cand_${k}`;
  const where = new SqlParams();
  const rule = sqlOf(a.rule, where);
  const byExpr = by ? `CAST(${ident(by)} AS DOUBLE)` : 'NULL::DOUBLE';
  // Each candidate's key: the id compared by value (computed for the rule's rows only).
  await con.run(`CREATE OR REPLACE TEMP TABLE ${cand} AS SELECT __row, coalesce(${idKeySql(ident(src.idColumn), src.textIds)}, '') AS key, ${byExpr} AS cap_by FROM ${table} WHERE ${rule}`, where.values as never);
  // Each removal's count is the rows its DELETE changed.
  const removedBy = async (sql: string, values: unknown[] = []) => (await con.run(sql, values as never)).rowsChanged;
  const byIds = a.suppress.ids ? await suppressIds(src, a, k, cand) : undefined;
  let suppressedRule = 0;
  if (a.suppress.rule) {
    const p = new SqlParams();
    suppressedRule = await removedBy(`DELETE FROM ${cand} WHERE __row IN (SELECT __row FROM ${table} WHERE ${sqlOf(a.suppress.rule, p)})`, p.values);
  }
  // An audience lists each visitor once: a repeated id keeps its first row.
  const duplicateIds = await removedBy(`DELETE FROM ${cand} WHERE __row IN (SELECT __row FROM ${cand} QUALIFY row_number() OVER (PARTITION BY key ORDER BY __row) > 1)`);
  if (duplicateIds) warn(`audience "${a.name}": ${duplicateIds} rows repeat an id already in the audience; each id is listed once`);
  let suppressedAudiences = 0;
  for (const other of a.suppress.audiences) {
    suppressedAudiences += await removedBy(`DELETE FROM ${cand} WHERE __row IN (SELECT __row FROM ${tables[set.audiences.findIndex((x) => x.name === other)]})`);
  }
  const capped = a.cap ? await removedBy(`DELETE FROM ${cand} WHERE __row IN (SELECT __row FROM ${cand} QUALIFY row_number() OVER (ORDER BY cap_by ${ascending ? 'ASC' : 'DESC'} NULLS LAST, __row) > $1)`, [a.cap.size]) : 0;
  // The holdout (holdout.ts): sha256 of "seed:audience:id", its first 32 bits as a fraction of 2^32.
  const idText = `coalesce(CAST(s.${ident(idColumn)} AS VARCHAR), 'null')`;
  await con.run(
    `CREATE OR REPLACE TEMP TABLE ${status} AS SELECT c.__row, CASE WHEN $1 > 0 AND CAST(('0x' || left(sha256($2 || ${idText}), 8)) AS UBIGINT) / 4294967296.0 < $1 THEN 2 ELSE 1 END AS status
     FROM ${cand} c JOIN ${table} s USING (__row)`,
    [a.holdout, holdoutPrefix(set.seed, a.name)],
  );
  await con.run(`DROP TABLE ${cand}`);
  return { removed: { suppressedIds: byIds?.removed ?? 0, suppressedRule, duplicateIds, suppressedAudiences, capped }, suppressList: byIds?.list };
}

/** Visitors in both of each pair of audiences (members or holdout), from their status `tables`. */
async function pairOverlaps(con: DuckDBConnection, set: AudienceSet, tables: string[]): Promise<AudiencesResult['overlap']> {
  const overlap: AudiencesResult['overlap'] = [];
  for (let x = 0; x < tables.length; x++) {
    for (let y = x + 1; y < tables.length; y++) {
      overlap.push({ a: set.audiences[x].name, b: set.audiences[y].name, both: await count(con, `SELECT count(*) FROM ${tables[x]} JOIN ${tables[y]} USING (__row)`) });
    }
  }
  return overlap;
}

/**
 * Builds every audience of `set` in DuckDB over `src.table`: rule candidates, then in order
 * the id-list suppression (ids compared by value), the rule suppression, one row per id (the
 * first), earlier audiences, the cap (best by a score: its highest values, a rank's or a
 * distance's lowest; missing last, ties by row order), and
 * the holdout drawn from a hash of the id; writes each audience's member, holdout and
 * per-platform activation files.
 * @param rankBase ranked visitors per rank column (for `rank <= N%`).
 * @returns summaries (sizes, removals, means, segment mix, activation counts), the status
 *   table per audience, and pairwise overlaps.
 * @throws UserError naming the audience when a rule refers to something the run lacks.
 */
export async function buildAudiences(src: AudienceSource, models: ModelOutline[], set: AudienceSet, rankBase: Map<string, number>): Promise<AudiencesResult> {
  const { con, table } = src;
  const cols = columnLookup(models, src.columns);
  const known = new Set(src.columns.map((c) => c.name));
  const { email, phone } = set.identifiers;
  for (const c of [email, phone]) if (c && !known.has(c)) throw new UserError(`${set.source}: identifiers: column "${c}" was not carried into the scores`);
  // Every reference checked before any work: a bad one fails the job with nothing written.
  const plans = set.audiences.map((a) => planAudience(set.source, a, cols, rankBase));
  await countUnrankedBases(src, set, cols, rankBase);
  const rows = await count(con, `SELECT count(*) FROM ${table}`);
  fs.rmSync(path.join(src.dir, 'audiences'), { recursive: true, force: true });
  const tables: string[] = [];
  const summaries: AudienceSummary[] = [];
  for (const [k, plan] of plans.entries()) {
    const status = `aud_status_${k}`;
    tables.push(status);
    const { removed, suppressList } = await selectAudience(src, set, k, plan, status, tables);
    summaries.push(await summarize(src, set, k, status, rows, removed, suppressList));
  }
  const overlap = await pairOverlaps(con, set, tables);
  return { summaries, overlap, tables, columns: set.audiences.map((a) => ({ name: `aud_${a.name}`, type: 'VARCHAR' as const })) };
}

/** One audience's files and summary: members and holdout ids, activation files, means and segment mix among members. */
async function summarize(
  src: AudienceSource,
  set: AudienceSet,
  k: number,
  status: string,
  rows: number,
  removed: AudienceSummary['removed'],
  suppressList: AudienceSummary['suppressList'],
): Promise<AudienceSummary> {
  const { con, table, columns, idColumn } = src;
  const a = set.audiences[k];
  const d = path.join(src.dir, 'audiences', a.name);
  fs.mkdirSync(d, { recursive: true });
  const ids = (s: number) => `SELECT t.${ident(idColumn)} FROM ${status} JOIN ${table} t USING (__row) WHERE status = ${s} ORDER BY __row`;
  const files: Record<string, string> = {};
  for (const [kind, name, s] of [['members', 'members.parquet', 1], ['membersCsv', 'members.csv', 1], ['holdout', 'holdout.csv', 2]] as const) {
    await copyTo(con, ids(s), [], path.join(d, name));
    files[kind] = path.join('audiences', a.name, name);
  }
  const [members, holdout] = (await con.runAndReadAll(`SELECT count(*) FILTER (WHERE status = 1), count(*) FILTER (WHERE status = 2) FROM ${status}`)).getRows()[0].map(Number);
  const means: Record<string, number> = {};
  for (const c of columns.filter((x) => isMeanColumn(x.name))) {
    means[c.name] = (await count(con, `SELECT coalesce(sum(CAST(t.${ident(c.name)} AS DOUBLE)), 0) FROM ${status} JOIN ${table} t USING (__row) WHERE status = 1`)) / Math.max(1, members);
  }
  const segmentMix: AudienceSummary['segmentMix'] = {};
  for (const c of columns.filter((x) => x.name.endsWith('_segment'))) {
    const r = await con.runAndReadAll(`SELECT t.${ident(c.name)} AS v, count(*) AS n FROM ${status} JOIN ${table} t USING (__row) WHERE status = 1 GROUP BY v ORDER BY n DESC, min(__row)`);
    segmentMix[c.name] = Object.fromEntries(r.getRows().map(([v, n]) => [v === null ? 'NaN' : String(Number(v)), Number(n) / Math.max(1, members)]));
  }
  const activation = { rows: 0, emails: 0, phones: 0, invalidEmails: 0, invalidPhones: 0 };
  const { email, phone } = set.identifiers;
  if (email || phone) {
    Object.assign(activation, await writeActivation(src, set, status, d));
    for (const p of set.platforms) files[`activation-${p}`] = path.join('audiences', a.name, `activation-${p}.csv`);
  }
  return {
    name: a.name,
    rule: a.ruleText,
    members,
    holdout,
    share: (members + holdout) / Math.max(1, rows),
    removed,
    ...(suppressList && { suppressList }),
    means,
    segmentMix,
    activation,
    files,
  };
}

/**
 * Streams the members' identifiers (row order) through the normalizers and writes one
 * activation file per platform: an email and an E.164 phone per member with at least one
 * valid identifier, hashed (SHA-256). Present but invalid values are counted, never hashed.
 */
async function writeActivation(src: AudienceSource, set: AudienceSet, status: string, dir: string): Promise<AudienceSummary['activation']> {
  const { email, phone, defaultCountryCode } = set.identifiers;
  const pick = (c: string | undefined) => (c ? `t.${ident(c)}` : 'NULL');
  const result = await src.con.stream(`SELECT ${pick(email)}, ${pick(phone)} FROM ${status} JOIN ${src.table} t USING (__row) WHERE status = 1 ORDER BY __row`);
  const writers = set.platforms.map((p) => ({
    p,
    w: new FileWriter(path.join(dir, `activation-${p}.csv`), [
      { name: 'email_sha256', type: 'VARCHAR' },
      { name: 'phone_sha256', type: 'VARCHAR' },
    ]),
  }));
  const counts = { rows: 0, emails: 0, phones: 0, invalidEmails: 0, invalidPhones: 0 };
  try {
    for (let chunk = await result.fetchChunk(); chunk && chunk.rowCount > 0; chunk = await result.fetchChunk()) {
      const emails: (string | null)[] = [];
      const phones: (string | null)[] = [];
      for (const [rawE, rawP] of chunk.getRows()) {
        const textE = email ? identifierText(rawE) : null;
        const textP = phone ? identifierText(rawP) : null;
        const e = normalizeEmail(textE);
        const ph = normalizePhone(textP, defaultCountryCode);
        if (textE !== null && e === null) counts.invalidEmails++;
        if (textP !== null && ph === null) counts.invalidPhones++;
        if (e === null && ph === null) continue;
        emails.push(e);
        phones.push(ph);
      }
      counts.rows += emails.length;
      counts.emails += emails.filter((e) => e !== null).length;
      counts.phones += phones.filter((p) => p !== null).length;
      const hashedEmails = emails.map((e) => e && sha256Hex(e));
      for (const { p, w } of writers) await w.write(emails.length, { email_sha256: hashedEmails, phone_sha256: phones.map((ph) => ph && sha256Hex(phoneForPlatform(ph, p))) });
    }
    for (const { w } of writers) await w.close();
  } catch (err) {
    for (const { w } of writers) w.abort();
    throw err;
  }
  return counts;
}

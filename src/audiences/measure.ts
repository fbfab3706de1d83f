/**
 * `audience measure`: what each audience earned against its holdout, read from an outcomes
 * file. The member and holdout ids of every audience folder (`members.parquet` or
 * `members.csv`, `holdout.csv`: a score run's `audiences/` or any tool's split; counted once
 * each, see measure-ids.ts) and the outcomes are joined in one DuckDB plan, ids compared by
 * value (io/ids.ts), and the
 * statistics per audience, group and segment come from aggregates (count, avg, var_samp,
 * covar_samp); metrics/lift.ts turns them into lifts, intervals, p-values and CUPED.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { listValue, type DuckDBConnection } from '@duckdb/node-api';
import { fitsInt64, type ColumnInfo } from '../io/columns.js';
import { openDataset, type Dataset } from '../io/dataset.js';
import { connect, duckMessage, ident } from '../io/duckdb.js';
import { canonicalIdSql, ID_MATCH_MIN_SHARE, matchText } from '../io/ids.js';
import { stageColumns } from '../io/stage.js';
import { copyTo } from './build.js';
import { openTable } from '../io/table.js';
import { cupedLiftOf, liftOf, type CovariateStats, type CupedEstimate, type LiftEstimate } from '../metrics/lift.js';
import { UserError } from '../util/errors.js';
import { readScoreManifest } from '../io/score-manifest.js';
import { warn } from '../util/warn.js';
import { distinctIds, keySql, openIdFiles, Params, type AudienceFolder, type DistinctIds, type KeyType } from './measure-ids.js';

export interface MeasureOptions {
  /** A score run's `audiences/` folder, a folder of audience folders, or one audience folder. */
  audiences: string;
  /** The outcomes: files, globs or a dataset folder (any input format), one row per id. */
  outcomes: string[];
  /** The id column of the outcomes, and of the member and holdout files. */
  id: string;
  /** Outcome columns (0/1 or numeric). */
  outcomeColumns: string[];
  /** A pre-campaign covariate for CUPED. */
  pre?: string;
  /** 'zero': an id without an outcome (unmatched, or an empty cell) counts as 0; 'skip' (default) leaves it out. */
  missing?: 'skip' | 'zero';
  /**
   * Also write the campaign's table for `audience train uplift` (Parquet): every input column
   * of the score run for the audience's members and holdout, `treatment` (1 member, 0 holdout)
   * and the outcomes.
   */
  campaignData?: { file: string; audience?: string };
}

/** An audience's lift on one outcome within one segment (no CUPED). */
export interface SegmentLift extends LiftEstimate {
  column: string;
  segment: string;
}

export interface OutcomeMeasure extends LiftEstimate {
  outcome: string;
  /** Measured ids whose outcome cell was empty (left out, or 0 with --missing zero). */
  missing: { members: number; holdout: number };
  cuped?: CupedEstimate;
  /** The lift within each segment of each segment column of the scores (when they carry one). */
  bySegment?: SegmentLift[];
}

export interface AudienceMeasure {
  name: string;
  /** Distinct ids in the members and holdout files. */
  members: number;
  holdout: number;
  /** Ids of each group not found in the outcomes. */
  unmatched: { members: number; holdout: number };
  outcomes: OutcomeMeasure[];
  /** Why the audience could not be measured (no holdout); its outcomes are then empty. */
  notMeasurable?: string;
}

export interface MeasureReport {
  audiences: AudienceMeasure[];
  id: string;
  missing: 'skip' | 'zero';
  pre?: string;
  /** The score columns the breakdown is by, and where they were read (absent without scores). */
  segments?: { columns: string[]; scores: string };
  outcomesRows: number | undefined;
}

export type { AudienceFolder } from './measure-ids.js';

const first = (dir: string, names: string[]) => names.map((n) => path.join(dir, n)).find((f) => fs.statSync(f, { throwIfNoEntry: false })?.isFile());

/** Whether a CSV file holds a line after its header (read from its first MiB). */
function csvHasRows(file: string): boolean {
  const fd = fs.openSync(file, 'r');
  try {
    const buf = Buffer.alloc(1 << 20);
    const n = fs.readSync(fd, buf, 0, buf.length, 0);
    return buf.subarray(0, n).toString('utf8').split(/\r?\n|\r/).filter((l) => l.trim() !== '').length > 1;
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * The audience folders under `dir` (in summary.json's order when there is one, else by name),
 * or `dir` itself when it holds a members file. An audience whose holdout file is missing or
 * empty gets a `reason`.
 * @throws UserError when `dir` is no folder or holds no audience folder.
 */
export function audienceFolders(dir: string): AudienceFolder[] {
  if (!fs.statSync(dir, { throwIfNoEntry: false })?.isDirectory()) throw new UserError(`--audiences ${dir}: not a folder (give a score run's audiences/ folder, or folders with members.csv and holdout.csv)`);
  const folderOf = (d: string, name: string): AudienceFolder | undefined => {
    const members = first(d, ['members.parquet', 'members.csv']);
    if (!members) return undefined;
    const holdout = first(d, ['holdout.parquet', 'holdout.csv']);
    if (!holdout) return { name, members, reason: `no holdout file (${path.join(d, 'holdout.csv')})` };
    if (holdout.endsWith('.csv') && !csvHasRows(holdout)) return { name, members, holdout, reason: `its holdout is empty (${holdout} holds no ids: the audience was built without a "holdout" share)` };
    return { name, members, holdout };
  };
  const own = folderOf(dir, path.basename(path.resolve(dir)));
  if (own) return [own];
  let order: string[] = [];
  try {
    order = (JSON.parse(fs.readFileSync(path.join(dir, 'summary.json'), 'utf8')) as { summaries?: Array<{ name: string }> }).summaries?.map((s) => s.name) ?? [];
  } catch {
    // a plain folder of audience folders
  }
  const names = fs
    .readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort((a, b) => (order.indexOf(a) + 1 || Infinity) - (order.indexOf(b) + 1 || Infinity) || a.localeCompare(b));
  const folders = names.map((n) => folderOf(path.join(dir, n), n)).filter((f): f is AudienceFolder => f !== undefined);
  if (folders.length === 0) throw new UserError(`--audiences ${dir}: no audience folders in it (each a folder with members.csv or members.parquet, and holdout.csv)`);
  return folders;
}

/** Whether DuckDB can read these columns of the dataset's files as they are: Parquet files whose columns are stored (not inferred), the values numeric or boolean. */
function readsDirectly(data: Dataset, id: string, values: string[]): boolean {
  return data.tables.every((t) => {
    if (t.format !== 'parquet' || t.readPath) return false;
    const col = (n: string) => t.columns.find((c) => c.name === n);
    const idCol = col(id);
    if (!idCol || idCol.inferred || idCol.type !== data.columns.find((c) => c.name === id)?.type) return false;
    return values.every((v) => {
      const c = col(v);
      return c && !c.inferred && (c.kind === 'numeric' || c.kind === 'boolean');
    });
  });
}

/** A column of `columns` by name. @throws UserError naming the file, the column and the columns it has. */
function requireColumn(columns: ColumnInfo[], name: string, file: string, flag: string): ColumnInfo {
  const col = columns.find((c) => c.name === name);
  if (!col) throw new UserError(`${file}: ${flag} column "${name}" not found (columns: ${columns.map((c) => c.name).join(', ')})`);
  return col;
}

/**
 * The SQL relation of the outcomes, `key`, `y0`.. and `x` (DOUBLE): the Parquet files read
 * where they are, anything else staged by the product's readers first (into `tmp`).
 */
async function outcomesRelation(opts: MeasureOptions, tmp: string, params: Params): Promise<{ sql: string; rows: number | undefined; keyType: KeyType }> {
  const data = await openDataset(opts.outcomes);
  const where = data.tables[0].path;
  const idCol = requireColumn(data.columns, opts.id, where, '--id');
  const values = [...opts.outcomeColumns, ...(opts.pre ? [opts.pre] : [])];
  for (const [i, v] of values.entries()) {
    const col = requireColumn(data.columns, v, where, i < opts.outcomeColumns.length ? '--outcome' : '--pre');
    if (col.kind === 'other' || (col.kind === 'text' && !col.inferred)) throw new UserError(`${where}: column "${v}" holds ${col.type} values; an outcome or --pre column holds numbers or 0/1`);
  }
  const alias = (i: number) => (i < opts.outcomeColumns.length ? `y${i}` : 'x');
  if (readsDirectly(data, opts.id, values)) {
    const files = params.bind(listValue(data.tables.map((t) => t.path)));
    const cols = values.map((v, i) => `CAST(${ident(v)} AS DOUBLE) AS ${alias(i)}`).join(', ');
    const keyType: KeyType = fitsInt64(idCol.type) ? 'BIGINT' : 'VARCHAR';
    return { sql: `SELECT ${keySql(opts.id, idCol.type, keyType).key} AS key, ${cols} FROM read_parquet(${files}, binary_as_string = true, hive_partitioning = false)`, rows: data.rowCount, keyType };
  }
  const staged = await stageColumns(data, [{ alias: 'id', name: opts.id, as: 'text' }, ...values.map((v, i) => ({ alias: alias(i), name: v, as: 'number' as const }))], path.join(tmp, 'outcomes.parquet'));
  return { sql: `SELECT ${canonicalIdSql('id')} AS key, ${values.map((_, i) => alias(i)).join(', ')} FROM read_parquet(${params.bind(staged)})`, rows: data.rowCount, keyType: 'VARCHAR' };
}

/** The score run above an audiences folder: its score files, id column and segment columns (none when it has none or names ids otherwise). */
function scoresOf(audiencesDir: string, id: string): { files: string[]; columns: string[]; dir: string } | undefined {
  const dir = path.dirname(path.resolve(audiencesDir));
  let manifest: { files?: Array<{ path: string }>; columns?: Array<{ name: string }> };
  try {
    manifest = readScoreManifest(dir);
  } catch (err) {
    // A folder of members and holdout files of another tool has none; a newer run's is refused by name.
    if (err instanceof UserError && /newer audience-engine/.test(err.message)) throw err;
    return undefined;
  }
  const names = (manifest.columns ?? []).map((c) => c.name);
  const columns = names.filter((n) => n.endsWith('_segment'));
  const files = (manifest.files ?? []).map((f) => path.join(dir, f.path)).filter((f) => f.endsWith('.parquet'));
  if (!columns.length || !files.length || !names.includes(id)) return undefined;
  return { files, columns, dir };
}

/** The SQL of the score run's segment columns per id of `ids` (`key`, `s0`..), the first row of an id that repeats. */
function segmentsRelation(scores: NonNullable<ReturnType<typeof scoresOf>>, key: { id: string; idType: string; keyType: KeyType }, ids: DistinctIds, params: Params): string {
  const cols = scores.columns.map((c, k) => `CAST(${ident(c)} AS VARCHAR) AS s${k}`).join(', ');
  return `SELECT * FROM (SELECT ${keySql(key.id, key.idType, key.keyType).key} AS key, ${cols} FROM read_parquet(${params.bind(listValue(scores.files))})) WHERE key IN (SELECT key FROM ${ids.sql(params)}) QUALIFY row_number() OVER (PARTITION BY key) = 1`;
}

/** Aggregates per outcome i: measured rows, mean, variance, empty cells, and with a covariate its mean, variance and covariance. */
function outcomeAggregates(k: number, pre: boolean): string {
  const y = `y${k}`;
  const parts = [`count(${y}) AS n${k}`, `avg(${y}) AS mean${k}`, `var_samp(${y}) AS var${k}`, `count(*) FILTER (WHERE m${k}) AS miss${k}`];
  if (pre) parts.push(`avg(x) FILTER (WHERE ${y} IS NOT NULL) AS xmean${k}`, `var_samp(x) FILTER (WHERE ${y} IS NOT NULL) AS xvar${k}`, `covar_samp(x, ${y}) AS cov${k}`, `count(*) FILTER (WHERE ${y} IS NOT NULL AND x IS NULL) AS xnull${k}`);
  return parts.join(', ');
}

type Row = Record<string, unknown>;
const numOf = (r: Row, k: string) => (r[k] === null || r[k] === undefined ? NaN : Number(r[k]));

/** The statistics of outcome k in one result row (a group). */
function statsOf(r: Row, k: number): CovariateStats {
  return { n: numOf(r, `n${k}`), mean: numOf(r, `mean${k}`), variance: numOf(r, `var${k}`), preMean: numOf(r, `xmean${k}`), preVariance: numOf(r, `xvar${k}`), covariance: numOf(r, `cov${k}`) };
}

/**
 * Measures every audience of `opts.audiences` against the outcomes (see the module comment):
 * per audience, distinct member and holdout ids, those not in the outcomes, and per outcome
 * the lift with its interval, p-value, incremental outcomes, minimum detectable lift, CUPED
 * with `pre`, and the lift per segment when the score run above the folder has segments.
 * @throws UserError for a missing folder, file or column, an id in both members and
 *   holdout, an id repeated in the outcomes, a missing --pre value (without --missing zero),
 *   or outcomes that match none of the ids.
 */
export async function measureAudiences(opts: MeasureOptions): Promise<MeasureReport> {
  const folders = audienceFolders(opts.audiences);
  const missing = opts.missing ?? 'skip';
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'audience-measure-'));
  const con = await connect();
  try {
    const params = new Params();
    const [outcomes, idFiles] = await Promise.all([outcomesRelation(opts, tmp, params), openIdFiles(folders, opts.id, tmp)]);
    const ids = await distinctIds(con, idFiles, folders, outcomes.keyType, opts.id);
    const sizes = ids.sizes;
    const scores = scoresOf(opts.audiences, opts.id);
    const scoreIdType = scores && (await openTable(scores.files[0])).columns.find((c) => c.name === opts.id)!.type;
    const segs = scores ? `LEFT JOIN (${segmentsRelation(scores, { id: opts.id, idType: scoreIdType!, keyType: outcomes.keyType }, ids, params)}) s ON i.key = s.key` : '';
    const segCols = scores ? scores.columns.map((_, k) => `s${k}`) : [];
    const ys = opts.outcomeColumns.map((_, k) => `${missing === 'zero' ? `coalesce(o.y${k}, 0)` : `o.y${k}`} AS y${k}, (o.key IS NOT NULL AND o.y${k} IS NULL) AS m${k}`);
    const x = opts.pre ? [`${missing === 'zero' ? 'coalesce(o.x, 0)' : 'o.x'} AS x`] : [];
    const joined = `SELECT i.aud, i.status, o.key IS NOT NULL AS matched${segCols.map((s) => `, s.${s}`).join('')}, ${[...ys, ...x].join(', ')} FROM ${ids.sql(params)} i LEFT JOIN (${outcomes.sql}) o ON i.key = o.key ${segs}`;
    const sets = ['(aud, status)', ...segCols.map((s) => `(aud, status, ${s})`)].join(', ');
    const select = `SELECT aud, status${segCols.map((s) => `, ${s}`).join('')}${segCols.length ? `, grouping(${segCols.join(', ')}) AS g` : ', 0 AS g'}, count(*) AS n_rows, count(*) FILTER (WHERE matched) AS n_matched, ${opts.outcomeColumns.map((_, k) => outcomeAggregates(k, Boolean(opts.pre))).join(', ')} FROM (${joined}) GROUP BY GROUPING SETS (${sets})`;
    let rows: Row[];
    try {
      rows = (await con.runAndReadAll(select, params.values as never)).getRowObjectsJS() as Row[];
    } catch (err) {
      throw new UserError(`${opts.outcomes.join(', ')}: cannot measure: ${duckMessage(err)}`, { cause: err });
    }
    await refuseRepeats(con, rows, { sizes, ids, outcomesSql: outcomes.sql, outcomesFiles: params.values[0] }, opts, (1 << segCols.length) - 1);
    const report = assemble(folders, rows, sizes, opts, segCols.length ? scores!.columns : []);
    if (opts.campaignData) await writeCampaignData(con, { opts, folders, outcomes, ids, params, tmp });
    return { audiences: report, id: opts.id, missing, ...(opts.pre && { pre: opts.pre }), ...(scores && { segments: { columns: scores.columns, scores: scores.dir } }), outcomesRows: outcomes.rows };
  } finally {
    con.closeSync();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/**
 * @throws UserError when an id of the audiences repeats in the outcomes (the join gave more rows
 *   than ids), naming one; or with `pre` and no --missing zero, when an outcome has no pre value.
 */
async function refuseRepeats(con: DuckDBConnection, rows: Row[], m: { sizes: Map<string, number>; ids: DistinctIds; outcomesSql: string; outcomesFiles: unknown }, opts: MeasureOptions, totalG: number): Promise<void> {
  const totals = rows.filter((r) => Number(r.g) === totalG);
  if (totals.some((r) => Number(r.n_rows) > (m.sizes.get(`${r.aud}:${r.status}`) ?? 0))) {
    // The outcomes relation binds its file(s) as $1 and nothing else.
    const params = new Params();
    params.bind(m.outcomesFiles);
    const ex = (await con.runAndReadAll(`SELECT key, count(*) AS n FROM (${m.outcomesSql}) WHERE key IN (SELECT key FROM ${m.ids.sql(params)}) GROUP BY key HAVING count(*) > 1 ORDER BY key LIMIT 1`, params.values as never)).getRows()[0];
    throw new UserError(`${opts.outcomes.join(', ')}: id ${JSON.stringify(String(ex?.[0]))} is on ${ex?.[1]} rows of column "${opts.id}"; the outcomes hold one row per id`);
  }
  if (!opts.pre) return;
  for (const [k, name] of opts.outcomeColumns.entries()) {
    const n = totals.reduce((s, r) => s + Number(r[`xnull${k}`] ?? 0), 0);
    if (n > 0) throw new UserError(`${opts.outcomes.join(', ')}: ${n} measured ids have outcome "${name}" but no --pre value in "${opts.pre}"; fill them, or give --missing zero to count a missing value as 0`);
  }
}

/** The report of each audience from the aggregate rows (group totals and per-segment rows). */
function assemble(folders: AudienceFolder[], rows: Row[], sizes: Map<string, number>, opts: MeasureOptions, segColumns: string[]): AudienceMeasure[] {
  const total = (aud: number, status: number) => rows.find((r) => Number(r.aud) === aud && Number(r.status) === status && Number(r.g) === (1 << segColumns.length) - 1);
  let matchedAll = 0;
  let idsAll = 0;
  const out = folders.map((f, aud): AudienceMeasure => {
    const members = sizes.get(`${aud}:1`) ?? 0;
    const holdout = sizes.get(`${aud}:2`) ?? 0;
    const m = total(aud, 1);
    const h = total(aud, 2);
    const matched = { members: m ? Number(m.n_matched) : 0, holdout: h ? Number(h.n_matched) : 0 };
    const base = { name: f.name, members, holdout, unmatched: { members: members - matched.members, holdout: holdout - matched.holdout } };
    if (f.reason) return { ...base, holdout: 0, unmatched: { ...base.unmatched, holdout: 0 }, outcomes: [], notMeasurable: f.reason };
    matchedAll += matched.members + matched.holdout;
    idsAll += members + holdout;
    if ((members && matched.members < ID_MATCH_MIN_SHARE * members) || (holdout && matched.holdout < ID_MATCH_MIN_SHARE * holdout)) {
      warn(`audience "${f.name}": only ${matchText(matched.members + matched.holdout, members + holdout)} of its members and holdout are in the outcomes; check that they hold the same ids as column "${opts.id}"`);
    }
    if (!m || !h || Number(m.n0 ?? 0) + Number(h.n0 ?? 0) === 0) return { ...base, outcomes: [], notMeasurable: 'none of its ids has an outcome' };
    const outcomes = opts.outcomeColumns.map((name, k): OutcomeMeasure => {
      const lift = liftOf(statsOf(m, k), statsOf(h, k), members);
      const bySegment = segColumns.length ? segmentLifts(rows, aud, k, segColumns) : undefined;
      return {
        outcome: name,
        ...lift,
        missing: { members: Number(m[`miss${k}`]), holdout: Number(h[`miss${k}`]) },
        ...(opts.pre && { cuped: cupedLiftOf(statsOf(m, k), statsOf(h, k), members) }),
        ...(bySegment && { bySegment }),
      };
    });
    return { ...base, outcomes };
  });
  if (idsAll > 0 && matchedAll === 0) throw new UserError(`${opts.outcomes.join(', ')}: none of the ${idsAll.toLocaleString('en-US')} member and holdout ids is in column "${opts.id}"; check --id and that the files hold the same ids`);
  return out;
}

/** Per segment column and value: the lift of members over holdout within it (segments with at least one of each). */
function segmentLifts(rows: Row[], aud: number, k: number, segColumns: string[]): SegmentLift[] {
  const out: SegmentLift[] = [];
  for (const [j, column] of segColumns.entries()) {
    const g = ((1 << segColumns.length) - 1) & ~(1 << (segColumns.length - 1 - j)); // grouping(): bit set for each column not grouped by
    const mine = rows.filter((r) => Number(r.aud) === aud && Number(r.g) === g);
    const values = [...new Set(mine.map((r) => r[`s${j}`] as string | null))].sort((a, b) => String(a).localeCompare(String(b), 'en', { numeric: true }));
    for (const v of values) {
      const m = mine.find((r) => Number(r.status) === 1 && r[`s${j}`] === v);
      const h = mine.find((r) => Number(r.status) === 2 && r[`s${j}`] === v);
      if (!m || !h) continue;
      // The segment's incremental outcomes: its lift times its members (all of them, measured or not).
      out.push({ column, segment: v ?? 'none', ...liftOf(statsOf(m, k), statsOf(h, k), Number(m.n_rows)) });
    }
  }
  return out;
}

/**
 * Writes the campaign table of one audience (`opts.campaignData`): the score run's input rows
 * (read through the product's readers, staged, joined by id) of its members and holdout,
 * `treatment` 1 for a member and 0 for the holdout, and each outcome (null where the id has
 * none, 0 with --missing zero). Input columns named like an outcome or `treatment` are left out.
 * @throws UserError when the folder is no score run's, the audience is not named (several are
 *   measurable) or unknown, or the inputs lack the id column.
 */
async function writeCampaignData(
  con: DuckDBConnection,
  c: { opts: MeasureOptions; folders: AudienceFolder[]; outcomes: { sql: string; keyType: KeyType }; ids: DistinctIds; params: Params; tmp: string },
): Promise<void> {
  const { opts, folders } = c;
  // The outcomes relation binds its file(s) as $1 and nothing else; the segments' values are not needed here.
  const params = new Params();
  params.bind(c.params.values[0]);
  const want = opts.campaignData!;
  const measurable = folders.map((f, i) => ({ f, i })).filter(({ f }) => !f.reason);
  const pick = want.audience === undefined ? (measurable.length === 1 ? measurable[0] : undefined) : measurable.find(({ f }) => f.name === want.audience);
  if (!pick) {
    const names = measurable.map(({ f }) => f.name).join(', ') || 'none';
    throw new UserError(want.audience === undefined ? `--campaign-data: name the audience with --campaign-audience (measurable: ${names})` : `--campaign-audience ${want.audience}: not a measurable audience of ${opts.audiences} (measurable: ${names})`);
  }
  const run = path.dirname(path.resolve(opts.audiences));
  let inputs: string[] | undefined;
  try {
    inputs = (JSON.parse(fs.readFileSync(path.join(run, 'manifest.json'), 'utf8')) as { inputs?: string[] }).inputs;
  } catch {
    inputs = undefined;
  }
  if (!inputs?.length) throw new UserError(`--campaign-data: ${opts.audiences} is not a score run's audiences folder (${path.join(run, 'manifest.json')} names the scored inputs, whose columns the table takes)`);
  const data = await openDataset(inputs);
  requireColumn(data.columns, opts.id, data.tables[0].path, '--id');
  const taken = new Set(['treatment', ...opts.outcomeColumns, ...(opts.pre ? [opts.pre] : [])]);
  const kept = data.columns.filter((col) => col.name === opts.id || !taken.has(col.name));
  const staged = await stageColumns(data, kept.map((col) => ({ alias: col.name, name: col.name, as: col.name !== opts.id && (col.kind === 'numeric' || col.kind === 'boolean') ? ('number' as const) : ('text' as const) })), path.join(c.tmp, 'inputs.parquet'));
  const y = (name: string, k: number) => `${opts.missing === 'zero' ? `coalesce(o.y${k}, 0)` : `o.y${k}`} AS ${ident(name)}`;
  const outcomes = [...opts.outcomeColumns.map(y), ...(opts.pre ? [`${opts.missing === 'zero' ? 'coalesce(o.x, 0)' : 'o.x'} AS ${ident(opts.pre)}`] : [])].join(', ');
  const key = keySql(opts.id, 'VARCHAR', c.outcomes.keyType).key;
  const query = `SELECT f.* EXCLUDE (__key), CASE WHEN i.status = 1 THEN 1 ELSE 0 END AS treatment, ${outcomes}
    FROM ${c.ids.sql(params)} i JOIN (SELECT *, ${key} AS __key FROM read_parquet(${params.bind(staged)}) QUALIFY row_number() OVER (PARTITION BY __key) = 1) f ON f.__key = i.key
    LEFT JOIN (${c.outcomes.sql}) o ON o.key = i.key WHERE i.aud = ${params.bind(pick.i)} ORDER BY i.status, f.__key`;
  fs.mkdirSync(path.dirname(path.resolve(want.file)), { recursive: true });
  await copyTo(con, query, params.values, want.file);
}

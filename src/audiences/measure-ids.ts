/**
 * The member and holdout ids of `audience measure` (measure.ts): each audience folder's files
 * read by DuckDB, ids compared by value (io/ids.ts), every id counted once per audience and
 * group, an id in both groups refused. Integer ids over a bounded range are checked with one
 * bitmap per audience and group (bitstring_agg): when no id repeats, the files' own rows are
 * the distinct ids and nothing is grouped or stored; otherwise (or for text ids) one grouping
 * of all ids into the temporary table `ids_u`.
 */
import path from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { datasetOf } from '../io/dataset.js';
import { ident } from '../io/duckdb.js';
import { canonicalIdSql } from '../io/ids.js';
import { stageColumns } from '../io/stage.js';
import { openTable, type Table } from '../io/table.js';
import { UserError } from '../util/errors.js';
import { warn } from '../util/warn.js';

/** One audience folder's files. */
export interface AudienceFolder {
  name: string;
  members: string;
  holdout?: string;
  /** Why it cannot be measured, found before any data is read. */
  reason?: string;
}

/** How ids are compared: as BIGINT when the outcomes' ids are stored as 64-bit integers (a faster join), else as canonical text. */
export type KeyType = 'BIGINT' | 'VARCHAR';

const INTEGER_TYPE = /^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|UHUGEINT)$/i;

/** Text of at most 18 ASCII digits (RE2, matched whole): a BIGINT by a plain cast, with the value canonicalId gives it. */
const PLAIN_INTEGER = '-?[0-9]{1,18}';

/**
 * The SQL of a column's id key, compared as canonicalId does (an integer as its decimal digits,
 * anything else canonicalized), of whether the row has an id at all (its canonical text is
 * not null), and of the id's text where its key is NULL (`odd`, so such ids are counted by
 * value too). As BIGINT keys, an id that is no integer has a NULL key (it can match no integer
 * id) but is present. Integer columns are cast; text of plain digits takes a cast after one
 * match, the rest the canonical text's expressions.
 */
export function keySql(column: string, type: string, keyType: KeyType): { key: string; present: string; odd: string } {
  const c = ident(column);
  if (INTEGER_TYPE.test(type)) return { key: keyType === 'BIGINT' ? `TRY_CAST(${c} AS BIGINT)` : `CAST(${c} AS VARCHAR)`, present: `${c} IS NOT NULL`, odd: `(CASE WHEN TRY_CAST(${c} AS BIGINT) IS NULL THEN CAST(${c} AS VARCHAR) END)` };
  const raw = `CAST(${c} AS VARCHAR)`;
  const text = canonicalIdSql(raw);
  if (keyType === 'VARCHAR') return { key: text, present: `${text} IS NOT NULL`, odd: 'NULL::VARCHAR' };
  const plain = `regexp_full_match(${raw}, '${PLAIN_INTEGER}')`;
  return { key: `(CASE WHEN ${plain} THEN CAST(${raw} AS BIGINT) ELSE TRY_CAST(${text} AS BIGINT) END)`, present: `(CASE WHEN ${plain} THEN true ELSE ${text} IS NOT NULL END)`, odd: `(CASE WHEN ${plain} THEN NULL ELSE ${text} END)` };
}

/** Binds values as `$n` in the order they are asked for. */
export class Params {
  readonly values: unknown[] = [];
  bind(v: unknown): string {
    this.values.push(v);
    return `$${this.values.length}`;
  }
}

/** An id file to read: its table (opened and checked), its id column, the audience's index and the group (1 members, 2 holdout). */
interface IdFile {
  table: Table;
  column: string;
  aud: number;
  status: 1 | 2;
  /** An Arrow file's ids staged as Parquet (column `id`, text). */
  staged?: string;
}

/**
 * Opens (sniffs, checks, counts) every audience's member and holdout files at once; their id
 * column is the one named `id`, or their only column. Arrow files' ids are staged into `tmp`.
 * @throws UserError naming a file without that column.
 */
export async function openIdFiles(folders: AudienceFolder[], id: string, tmp: string): Promise<IdFile[]> {
  const files = folders.flatMap((f, aud) => [{ file: f.members, aud, status: 1 as const }, ...(f.reason ? [] : [{ file: f.holdout!, aud, status: 2 as const }])]);
  return Promise.all(
    files.map(async ({ file, aud, status }): Promise<IdFile> => {
      const table = await openTable(file);
      const col = table.columns.find((c) => c.name === id) ?? (table.columns.length === 1 ? table.columns[0] : undefined);
      if (!col) throw new UserError(`${file}: no id column "${id}" (columns: ${table.columns.map((c) => c.name).join(', ')}); the member and holdout files name their ids as the outcomes do`);
      const staged = table.textScan ? undefined : await stageColumns(datasetOf([table]), [{ alias: 'id', name: col.name, as: 'text' }], path.join(tmp, `ids-${aud}-${status}.parquet`));
      return { table, column: col.name, aud, status, ...(staged && { staged }) };
    }),
  );
}

/**
 * The SQL of all id files' rows (aud, status, key, present; see keySql), their paths bound in
 * `params`: Parquet and CSV files read by DuckDB where they are (a CSV as text, without a
 * trailing totals row), Arrow files from their staged ids.
 */
function idRows(files: IdFile[], keyType: KeyType, params: Params): string {
  const scans = files.map(({ table, column, aud, status, staged }) => {
    const head = (k: { key: string; present: string; odd: string }) => `SELECT ${aud} AS aud, ${status}::UTINYINT AS status, ${k.key} AS key, ${k.present} AS present, ${k.odd} AS odd`;
    if (staged) return `${head(keySql('id', 'VARCHAR', keyType))} FROM read_parquet(${params.bind(staged)})`;
    const scan = table.textScan!.replace(/\$1\b/, params.bind(table.readPath ?? table.path));
    // openTable's count leaves a CSV's trailing totals row out: read no more rows than that.
    const rows = table.layout.csv?.trailer ? ` LIMIT ${params.bind(table.rowCount)}` : '';
    return `${head(keySql(column, table.format === 'csv' ? 'VARCHAR' : table.columns.find((c) => c.name === column)!.type, keyType))} FROM (SELECT * FROM ${scan}${rows})`;
  });
  return `(${scans.join(' UNION ALL ')})`;
}

/** The distinct ids: a relation (aud, status, key; no NULL key) to read them from, and their number per audience and group (`aud:status`). */
export interface DistinctIds {
  /** The relation's SQL, any paths it reads bound in `params`. */
  sql(params: Params): string;
  sizes: Map<string, number>;
}

/**
 * Every audience's distinct member and holdout ids (see the module comment). Ids that can
 * match no outcome id (text that is no integer, when the outcomes' ids are integers) are
 * counted in the sizes and warned about.
 * @throws UserError when an id is both a member and in the holdout of one audience (the split is not a split).
 */
export async function distinctIds(con: DuckDBConnection, files: IdFile[], folders: AudienceFolder[], keyType: KeyType, outcomesId: string): Promise<DistinctIds> {
  const odd = (aud: number, status: number, n: number) => {
    const f = folders[aud];
    warn(`${status === 1 ? f.members : f.holdout}: ${n === 1 ? '1 id is not a whole number' : `${n} ids are not whole numbers`} while column "${outcomesId}" of the outcomes holds integers; they are counted as unmatched`);
  };
  const unique = keyType === 'BIGINT' ? await uniqueByBitmap(con, files, folders.length, odd) : undefined;
  if (unique) return { sql: (params) => `(SELECT aud, status, key FROM ${idRows(files, keyType, params)} WHERE key IS NOT NULL)`, sizes: unique };
  const params = new Params();
  await con.run(
    `CREATE OR REPLACE TEMP TABLE ids_u AS SELECT aud, key, min(status) AS status, max(status) AS status_max, count(*) AS n FROM ${idRows(files, keyType, params)} WHERE present GROUP BY aud, key, CASE WHEN key IS NULL THEN status END, CASE WHEN key IS NULL THEN odd END`,
    params.values as never,
  );
  return { sql: () => '(SELECT aud, status, key FROM ids_u WHERE key IS NOT NULL)', sizes: await groupedSizes(con, folders, odd) };
}

/** The widest range of integer ids (bits per bitmap, times the audiences) checked by bitmaps: 32 MiB. */
const BITMAP_BITS = 2 ** 28;

/**
 * Ids per audience and group when no integer id repeats within an audience (neither in one
 * file nor across its members and holdout), checked by their minimum and maximum, then one
 * bitmap each (bitstring_agg, bit_count); undefined when some id repeats, or the ids span more
 * than BITMAP_BITS.
 */
async function uniqueByBitmap(con: DuckDBConnection, files: IdFile[], audiences: number, odd: (aud: number, status: number, n: number) => void): Promise<Map<string, number> | undefined> {
  let params = new Params();
  const stats = (await con.runAndReadAll(`SELECT aud, status, min(key), max(key), count(key), count(*) FILTER (WHERE present AND key IS NULL) FROM ${idRows(files, 'BIGINT', params)} GROUP BY ALL`, params.values as never)).getRows();
  const keyed = stats.filter((r) => r[2] !== null);
  if (!keyed.length) return undefined;
  const lo = keyed.reduce((m, r) => (BigInt(r[2] as bigint) < m ? BigInt(r[2] as bigint) : m), BigInt(keyed[0][2] as bigint));
  const hi = keyed.reduce((m, r) => (BigInt(r[3] as bigint) > m ? BigInt(r[3] as bigint) : m), BigInt(keyed[0][3] as bigint));
  if ((hi - lo + 1n) * BigInt(audiences) > BigInt(BITMAP_BITS)) return undefined;
  params = new Params();
  // lo and hi are integers this process computed: written into the SQL (bitstring_agg takes constants).
  const bits = (status: number) => `bitstring_agg(key, ${lo}, ${hi}) FILTER (WHERE status = ${status})`;
  const sql = `SELECT aud, coalesce(bit_count(${bits(1)}), 0), coalesce(bit_count(${bits(2)}), 0), coalesce(bit_count(${bits(1)} & ${bits(2)}), 0) FROM ${idRows(files, 'BIGINT', params)} WHERE key IS NOT NULL GROUP BY aud`;
  const distinct = new Map((await con.runAndReadAll(sql, params.values as never)).getRows().map(([aud, m, h, both]) => [Number(aud), [Number(m), Number(h), Number(both)]]));
  const sizes = new Map<string, number>();
  for (const [aud, status, , , n] of stats) {
    const [m, h, both] = distinct.get(Number(aud)) ?? [0, 0, 0];
    if (both > 0 || Number(n) !== (Number(status) === 1 ? m : h)) return undefined;
    sizes.set(`${aud}:${status}`, Number(n));
  }
  // Ids that are no integer, counted once per value (read again only when there are any).
  if (stats.some((r) => Number(r[5]) > 0)) {
    params = new Params();
    const odds = (await con.runAndReadAll(`SELECT aud, status, count(DISTINCT odd) FROM ${idRows(files, 'BIGINT', params)} WHERE present AND key IS NULL GROUP BY ALL`, params.values as never)).getRows();
    for (const [aud, status, n] of odds) {
      sizes.set(`${aud}:${status}`, (sizes.get(`${aud}:${status}`) ?? 0) + Number(n));
      odd(Number(aud), Number(status), Number(n));
    }
  }
  return sizes;
}

/**
 * Distinct ids per audience and group (`aud:status`) from `ids_u`.
 * @throws UserError when an id is both a member and in the holdout of one audience, naming one.
 */
async function groupedSizes(con: DuckDBConnection, folders: AudienceFolder[], odd: (aud: number, status: number, n: number) => void): Promise<Map<string, number>> {
  const sizes = new Map<string, number>();
  // Ids with no key (text that is no integer) are grouped by their text: one row each.
  const rows = (await con.runAndReadAll('SELECT aud, status, status_max, key IS NULL AS odd, count(*) FROM ids_u GROUP BY ALL ORDER BY aud, status')).getRows();
  const both = rows.find(([, status, max, isOdd]) => !isOdd && status !== max);
  if (both) {
    const f = folders[Number(both[0])];
    const [[example]] = (await con.runAndReadAll('SELECT min(key) FROM ids_u WHERE aud = $1 AND status <> status_max', [both[0]])).getRows();
    throw new UserError(`audience "${f.name}": ${both[4]} ids are both in ${f.members} and in ${f.holdout} (e.g. ${JSON.stringify(String(example))}); a holdout must be apart from the members`);
  }
  for (const [aud, status, , isOdd, count] of rows) {
    const at = `${aud}:${status}`;
    sizes.set(at, (sizes.get(at) ?? 0) + Number(count));
    if (isOdd) odd(Number(aud), Number(status), Number(count));
  }
  return sizes;
}

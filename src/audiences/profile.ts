/**
 * Profiles of audiences: each audience's members (and holdout) vs all scored visitors, on
 * one model's features, as totals in SQL over the staged score parts, which hold the model's
 * input columns as the shards read them (`__in_<name>`): the input is not read again and no
 * row passes through JavaScript. The totals are those
 * GroupProfiler accumulates row by row (models/profile.ts): values and model values
 * (log1p where the feature is logged) of numeric features, true rates of booleans, rows per
 * level (categoricals are staged as their level codes).
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { listValue } from '@duckdb/node-api';
import { MAX_MAGNITUDE, OTHER, type FittedCategorical, type FittedTransform } from '../features/transform.js';
import { levelIndex } from '../io/levels.js';
import type { ColumnRequest } from '../io/columns.js';
import { ident } from '../io/duckdb.js';
import { trimSql } from '../io/ids.js';
import { FALSE, TRUE } from '../io/number-text.js';
import type { OutputColumn } from '../io/writer.js';
import { GroupProfiler, type GroupProfile, type ProfileTotals } from '../models/profile.js';

/** Where the profile reads: a relation of the scored rows (`__row` and the staged input columns; its `values` bind its `$n`), and each input column's staged name. */
export interface ProfileSource {
  con: DuckDBConnection;
  relation: string;
  values: unknown[];
  profiled: Array<{ column: OutputColumn; request: ColumnRequest }>;
}

/** Totals of the rows of `from` (the table, or the table joined with an audience's status table). */
async function totals(src: ProfileSource, transform: FittedTransform, from: string): Promise<{ rows: number; totals: ProfileTotals }> {
  const staged = new Map(src.profiled.map((p) => [p.request.name, p.column]));
  const exprs: string[] = ['count(*)'];
  const values: unknown[] = [...src.values];
  const words = () => {
    if (values.length === src.values.length) values.push(listValue([...TRUE]), listValue([...FALSE]));
  };
  const trueWords = `$${src.values.length + 1}`;
  const falseWords = `$${src.values.length + 2}`;
  const numeric: string[] = [];
  const boolean: string[] = [];
  for (const f of transform.features) {
    const c = staged.get(f.name);
    if (!c) continue;
    const x = `t.${ident(c.name)}`;
    if (f.kind === 'numeric') {
      const ok = `(isfinite(${x}) AND abs(${x}) <= ${MAX_MAGNITUDE}${f.log ? ` AND ${x} >= 0` : ''})`;
      // greatest(): DuckDB evaluates the expression on every row, the filter only keeps the valid ones.
      const m = f.log ? `ln(1 + greatest(${x}, 0))` : x;
      exprs.push(`sum(${x}) FILTER (WHERE ${ok}), count(*) FILTER (WHERE ${ok}), sum(${m}) FILTER (WHERE ${ok}), sum(${m} * ${m}) FILTER (WHERE ${ok})`);
      numeric.push(f.name);
    } else if (f.kind === 'boolean') {
      if (c.type === 'VARCHAR') words();
      const b = c.type === 'VARCHAR' ? `(CASE WHEN lower(${trimSql(x)}) = ANY(${trueWords}) THEN 1 WHEN lower(${trimSql(x)}) = ANY(${falseWords}) THEN 0 END)` : `(CASE WHEN ${x} IN (0, 1) THEN ${x} END)`;
      exprs.push(`sum(${b}), count(${b})`);
      boolean.push(f.name);
    }
  }
  const row = (await src.con.runAndReadAll(`SELECT ${exprs.join(', ')} FROM ${from}`, values as never)).getRows()[0].map((v) => Number(v ?? 0));
  const out: ProfileTotals = { numeric: {}, boolean: {}, categorical: {} };
  let at = 1;
  for (const name of numeric) out.numeric[name] = [row[at++], row[at++], row[at++], row[at++]];
  for (const name of boolean) out.boolean[name] = [row[at++], row[at++]];
  for (const f of transform.features) {
    const c = staged.get(f.name);
    if (!c || f.kind !== 'categorical') continue;
    // Staged as level codes (features/transform.ts levelCoding): each code counted under its level's key.
    const r = await src.con.runAndReadAll(`SELECT t.${ident(c.name)} AS code, count(*) FROM ${from} GROUP BY code`, src.values as never);
    out.categorical[f.name] = levelCounts(f, r.getRows().map(([code, n]) => [Number(code), Number(n)]));
  }
  return { rows: row[0], totals: out };
}

/** Rows per level key from rows per level code; the codes past the levels (unseen) under a key no level has, which GroupProfiler counts as other. */
function levelCounts(f: FittedCategorical, codes: Array<[code: number, rows: number]>): Record<string, number> {
  const index = levelIndex(f.levels);
  const keys = new Map([...index].map(([key, j]) => [j, key]));
  let unseen = OTHER;
  while (index.has(unseen)) unseen += ' ';
  const out: Record<string, number> = {};
  for (const [code, rows] of codes) {
    const key = keys.get(code) ?? unseen;
    out[key] = (out[key] ?? 0) + rows;
  }
  return out;
}

/**
 * Profiles each audience (its status table: members and holdout) against all scored visitors.
 * @returns one profile per status table, its 12 most distinguishing entries.
 */
export async function profileAudiences(src: ProfileSource, transform: FittedTransform, statusTables: string[]): Promise<GroupProfile[]> {
  const population = await totals(src, transform, `${src.relation} t`);
  const out: GroupProfile[] = [];
  for (const [a, status] of statusTables.entries()) {
    const profiler = new GroupProfiler(transform, 1);
    profiler.setTotals(1, population.rows, population.totals);
    const group = await totals(src, transform, `${status} JOIN ${src.relation} t USING (__row)`);
    profiler.setTotals(0, group.rows, group.totals);
    const [profile] = profiler.result();
    out.push({ ...profile, group: a, entries: profile.entries.slice(0, 12) });
  }
  return out;
}

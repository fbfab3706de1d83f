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

type SlotTotals = { rows: number; totals: ProfileTotals };

/**
 * Totals of each audience's visitors (members and holdout: a row of its status table) and,
 * last, of all scored rows, in one scan of the relation for the numbers and booleans (each
 * aggregate once per slot, over the slot's rows) and one per categorical. Ungrouped, so a run
 * adds the same values in the same order as the last (grouped partial sums added up varied
 * in the last bit between runs).
 */
async function slotTotals(src: ProfileSource, transform: FittedTransform, statusTables: string[]): Promise<SlotTotals[]> {
  const staged = new Map(src.profiled.map((p) => [p.request.name, p.column]));
  const from = `${src.relation} t${statusTables.map((s, k) => ` LEFT JOIN ${s} s${k} USING (__row)`).join('')}`;
  const flags = statusTables.map((_, k) => `s${k}.status IS NOT NULL AS f${k}`);
  const A = statusTables.length;
  // Slot s < A: rows in audience s (flag f<s>); slot A: every row. A grouped row's flags are its first A values.
  const inSlot = (r: unknown[], s: number) => s === A || r[s] === true;
  const over = (s: number, fn: string, arg: string) => `${fn}(${s === A ? arg : `CASE WHEN f${s} THEN ${arg === '*' ? 1 : arg} END`})`;
  const values: unknown[] = [...src.values];
  const words = () => {
    if (values.length === src.values.length) values.push(listValue([...TRUE]), listValue([...FALSE]));
  };
  const trueWords = `$${src.values.length + 1}`;
  const falseWords = `$${src.values.length + 2}`;
  // Per row: each numeric feature's valid value (v, else NULL) and then its model value (m); each boolean's 1/0 (b).
  const numeric: string[] = [];
  const boolean: string[] = [];
  const perRow: string[] = [...flags];
  const modelValues: string[] = [];
  const aggregates: Array<[fn: string, arg: string]> = [['count', '*']];
  for (const f of transform.features) {
    const c = staged.get(f.name);
    if (!c) continue;
    const x = `t.${ident(c.name)}`;
    if (f.kind === 'numeric') {
      const [v, m] = [`v${numeric.length}`, `m${numeric.length}`];
      perRow.push(`CASE WHEN isfinite(${x}) AND abs(${x}) <= ${MAX_MAGNITUDE}${f.log ? ` AND ${x} >= 0` : ''} THEN ${x} END AS ${v}`);
      modelValues.push(`${f.log ? `ln(1 + ${v})` : v} AS ${m}`);
      aggregates.push(['sum', v], ['count', v], ['sum', m], ['sum', `${m} * ${m}`]);
      numeric.push(f.name);
    } else if (f.kind === 'boolean') {
      if (c.type === 'VARCHAR') words();
      const b = `b${boolean.length}`;
      perRow.push(c.type === 'VARCHAR' ? `CASE WHEN lower(${trimSql(x)}) = ANY(${trueWords}) THEN 1 WHEN lower(${trimSql(x)}) = ANY(${falseWords}) THEN 0 END AS ${b}` : `CASE WHEN ${x} IN (0, 1) THEN ${x} END AS ${b}`);
      aggregates.push(['sum', b], ['count', b]);
      boolean.push(f.name);
    }
  }
  const rows = `(SELECT *${modelValues.map((m) => `, ${m}`).join('')} FROM (SELECT ${perRow.join(', ') || '1'} FROM ${from}))`;
  const exprs = Array.from({ length: A + 1 }, (_, s) => aggregates.map(([fn, arg]) => over(s, fn, arg))).flat();
  const row = (await src.con.runAndReadAll(`SELECT ${exprs.join(', ')} FROM ${rows}`, values as never)).getRows()[0].map((v) => Number(v ?? 0));
  const out: SlotTotals[] = [];
  for (let s = 0; s <= A; s++) {
    const sum = row.slice(s * aggregates.length, (s + 1) * aggregates.length);
    const totals: ProfileTotals = { numeric: {}, boolean: {}, categorical: {} };
    let at = 1;
    for (const name of numeric) totals.numeric[name] = [sum[at++], sum[at++], sum[at++], sum[at++]];
    for (const name of boolean) totals.boolean[name] = [sum[at++], sum[at++]];
    out.push({ rows: sum[0], totals });
  }
  for (const f of transform.features) {
    const c = staged.get(f.name);
    if (!c || f.kind !== 'categorical') continue;
    // Staged as level codes (features/transform.ts levelCoding): each code counted under its level's key.
    const r = (await src.con.runAndReadAll(`SELECT ${[...flags, `t.${ident(c.name)} AS code`].join(', ')}, count(*) FROM ${from} GROUP BY ALL`, src.values as never)).getRows();
    out.forEach((o, s) => (o.totals.categorical[f.name] = levelCounts(f, r.filter((v) => inSlot(v, s)).map((v) => [Number(v[A]), Number(v[A + 1])]))));
  }
  return out;
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
  const all = await slotTotals(src, transform, statusTables);
  const population = all[statusTables.length];
  return statusTables.map((_, a) => {
    const profiler = new GroupProfiler(transform, 1);
    profiler.setTotals(1, population.rows, population.totals);
    profiler.setTotals(0, all[a].rows, all[a].totals);
    const [profile] = profiler.result();
    return { ...profile, group: a, entries: profile.entries.slice(0, 12) };
  });
}

/**
 * Audience rules (audiences/rules.ts) compiled to DuckDB SQL: every column name quoted as an
 * identifier, every literal bound as a parameter, never pasted into the text. The SQL keeps
 * the rule language's meaning exactly (see `compile` in rules.ts, which it replaces on the
 * finalize path): a comparison with a missing value (NULL, NaN) is false, so every leaf is
 * TRUE or FALSE and `not` negates it; literals compared with a float32 column are rounded to
 * float32 first; text compares with a number as JavaScript's `String(number)` would. Unlike
 * `compile`, it refuses a comparison that could never hold for its column's type (checkTypes).
 */
import { ident } from '../io/duckdb.js';
import { UserError } from '../util/errors.js';
import type { OutputType } from '../io/writer.js';
import type { Rule, Value } from './rules.js';

/** Bound parameters of one statement: `add` returns the `$n` that stands for a value. */
export class SqlParams {
  readonly values: unknown[] = [];

  /** Appends a value; returns its placeholder (`$1`, `$2`...). */
  add(value: unknown): string {
    this.values.push(value);
    return `$${this.values.length}`;
  }
}

/** A column a rule can read: its quoted name in the statement and its stored type. */
export interface SqlColumn {
  sql: string;
  type: OutputType;
}

const FLOATS: OutputType[] = ['FLOAT', 'DOUBLE'];

/** TRUE where the column holds a value (not NULL, not NaN). */
function present(c: SqlColumn): string {
  return FLOATS.includes(c.type) ? `(${c.sql} IS NOT NULL AND NOT isnan(${c.sql}))` : `(${c.sql} IS NOT NULL)`;
}

/** The column as a number: float32 columns stay float32 (so float32 literals compare exactly), the rest DOUBLE. */
function numeric(c: SqlColumn): string {
  return c.type === 'FLOAT' ? c.sql : `CAST(${c.sql} AS DOUBLE)`;
}

/** A number literal bound for the column: rounded to float32 for a FLOAT column. */
function numberParam(c: SqlColumn, w: number, p: SqlParams): string {
  return c.type === 'FLOAT' ? `CAST(${p.add(w)} AS FLOAT)` : `CAST(${p.add(w)} AS DOUBLE)`;
}

/** `same(v, w)` of rules.ts: the value equals the literal (false when the value is missing). */
function same(c: SqlColumn, w: Value, p: SqlParams): string {
  const text = c.type === 'VARCHAR';
  if (typeof w === 'boolean') return text ? `(${present(c)} AND lower(${c.sql}) = ${p.add(String(w))})` : `(${present(c)} AND ${numeric(c)} = ${w ? 1 : 0})`;
  if (text) return `(${present(c)} AND ${c.sql} = ${p.add(String(w))})`;
  if (typeof w === 'number') return `(${present(c)} AND ${numeric(c)} = ${numberParam(c, w, p)})`;
  // Text against a number column (checkTypes let only a number's own JavaScript text through).
  return `(${present(c)} AND CAST(${c.sql} AS DOUBLE) = CAST(${p.add(Number(w))} AS DOUBLE))`;
}

/**
 * Refuses a comparison that could never hold for the column's type, which would otherwise
 * select nobody without a word: text against a number column (a boolean column holds 1/0:
 * `vip = "true"`), and <, <=, >, >= on a text column (the parser already refuses them with
 * anything but a number).
 * @throws UserError naming the reference and what to write instead.
 */
function checkTypes(ref: string, c: SqlColumn, values: Value[], ordering: boolean): void {
  if (ordering && c.type === 'VARCHAR') throw new UserError(`"${ref}" holds text: <, <=, > and >= compare numbers; compare it with = or in, e.g. ${ref} = "${values[0]}"`);
  for (const w of values) {
    if (typeof w === 'string' && c.type !== 'VARCHAR' && (w.trim() === '' || String(Number(w)) !== w)) {
      throw new UserError(`"${ref}" holds numbers (a yes/no or true/false column as 1/0), so it never equals the text "${w}"; write ${ref} = true, = false or a number`);
    }
  }
}

/**
 * The SQL boolean expression (never NULL) of a rule.
 * @param column maps a rule reference to its column (quoted name and type).
 * @param rankBase the number of ranked visitors of a rank reference, for `rank <= N%`.
 * @param params receives every literal; pass its `values` with the statement.
 */
export function ruleSql(rule: Rule, column: (ref: string) => SqlColumn, rankBase: (ref: string) => number, params: SqlParams): string {
  const sub = (r: Rule) => ruleSql(r, column, rankBase, params);
  switch (rule.op) {
    case 'and':
    case 'or':
      return `(${sub(rule.left)} ${rule.op.toUpperCase()} ${sub(rule.right)})`;
    case 'not':
      return `(NOT ${sub(rule.rule)})`;
    case 'null':
      return rule.negate ? present(column(rule.ref)) : `(NOT ${present(column(rule.ref))})`;
    case 'in': {
      const c = column(rule.ref);
      checkTypes(rule.ref, c, rule.values, false);
      return `(${rule.values.map((w) => same(c, w, params)).join(' OR ')})`;
    }
    case 'cmp': {
      const c = column(rule.ref);
      const target: Value = rule.percent ? Math.round((rule.value as number) * rankBase(rule.ref)) : rule.value;
      checkTypes(rule.ref, c, [target], rule.cmp !== '=' && rule.cmp !== '!=');
      if (rule.cmp === '=') return same(c, target, params);
      if (rule.cmp === '!=') return `(${present(c)} AND NOT ${same(c, target, params)})`;
      // An ordering: a number (the parser's rule) on a number column (checkTypes').
      const literal = rule.percent ? `CAST(${params.add(target)} AS DOUBLE)` : numberParam(c, target as number, params);
      return `(${present(c)} AND ${numeric(c)} ${rule.cmp} ${literal})`;
    }
  }
}

/** A column reference for `ruleSql`: the name quoted. */
export function sqlColumn(name: string, type: OutputType): SqlColumn {
  return { sql: ident(name), type };
}

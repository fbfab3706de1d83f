/**
 * The audience rule language: comparisons over scores and attributes combined with
 * and / or / not and parentheses.
 *
 *   purchase.score >= 70 and not has_account = 1
 *   behavior.segment in [2, 5] or lookalike.rank <= 5%
 *   (purchase.bucket = "high" or purchase.percentile >= 95) and country != "US"
 *
 * A reference is `model.output` (a model's name, or its kind when only one model has that
 * kind) or a bare input column; a column whose name has other characters (a space, a
 * leading digit, accents) is written in backquotes: `order value` > 100. `N%` is allowed on ranks only: `rank <= 5%` keeps exactly
 * round(5% of the ranked visitors). Comparisons with a missing value are false.
 * Errors give the column (1-based) where the rule went wrong.
 *
 * Limits (a rule comes from a request or a file): at most MAX_RULE_DEPTH levels of
 * parentheses and `not`, and at most MAX_RULE_TERMS comparisons (each value of an `in [...]`
 * list counts as one). A chain of `and` or `or` is built as a balanced tree, so the tree's
 * depth, hence every recursion over it (references, compile, SQL), stays near
 * MAX_RULE_DEPTH + log2(MAX_RULE_TERMS).
 */
import { UserError } from '../util/errors.js';

export type Value = number | string | boolean;

export type Rule =
  | { op: 'and' | 'or'; left: Rule; right: Rule }
  | { op: 'not'; rule: Rule }
  | { op: 'cmp'; ref: string; cmp: '>=' | '>' | '<=' | '<' | '=' | '!='; value: Value; percent: boolean }
  | { op: 'in'; ref: string; values: Value[] }
  | { op: 'null'; ref: string; negate: boolean };

interface Token {
  kind: 'ident' | 'number' | 'string' | 'op' | 'punct' | 'end';
  text: string;
  pos: number;
  /** A `backquoted` name: never a keyword. */
  quoted?: boolean;
}

function tokenize(src: string, fail: (pos: number, msg: string) => never): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i];
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const start = i;
    if (/[A-Za-z_]/.test(c)) {
      while (i < src.length && /[A-Za-z0-9_.-]/.test(src[i])) i++;
      out.push({ kind: 'ident', text: src.slice(start, i), pos: start });
    } else if (c === '`') {
      // A column name with any other characters (spaces, a leading digit, accents): `order value`.
      i++;
      while (i < src.length && src[i] !== '`') i++;
      if (i >= src.length) fail(start, 'unterminated column name starting with `');
      if (i === start + 1) fail(start, 'an empty column name ``');
      i++;
      out.push({ kind: 'ident', text: src.slice(start + 1, i - 1), pos: start, quoted: true });
    } else if (/[0-9]/.test(c) || (c === '-' && /[0-9.]/.test(src[i + 1] ?? '')) || (c === '.' && /[0-9]/.test(src[i + 1] ?? ''))) {
      i++;
      while (i < src.length && /[0-9.eE]/.test(src[i])) i++;
      if (src[i] === '%') i++;
      out.push({ kind: 'number', text: src.slice(start, i), pos: start });
    } else if (c === '"' || c === "'") {
      i++;
      while (i < src.length && src[i] !== c) i++;
      if (i >= src.length) fail(start, `unterminated string starting with ${c}`);
      i++;
      out.push({ kind: 'string', text: src.slice(start + 1, i - 1), pos: start });
    } else if (/[<>=!]/.test(c)) {
      while (i < src.length && /[<>=!]/.test(src[i])) i++;
      const op = src.slice(start, i);
      if (!['>=', '>', '<=', '<', '=', '==', '!='].includes(op)) fail(start, `unknown operator "${op}" (use >=, >, <=, <, =, !=)`);
      out.push({ kind: 'op', text: op === '==' ? '=' : op, pos: start });
    } else if ('()[],'.includes(c)) {
      i++;
      out.push({ kind: 'punct', text: c, pos: start });
    } else fail(start, `unexpected character "${c}"`);
  }
  out.push({ kind: 'end', text: 'the end of the rule', pos: src.length });
  return out;
}

/** The most levels of parentheses and `not` a rule may nest. */
export const MAX_RULE_DEPTH = 32;
/** The most comparisons a rule may hold (each value of an `in [...]` list counts as one). */
export const MAX_RULE_TERMS = 1000;

/** `items` joined by `op` as a balanced tree: depth log2(n), not n as a left-deep chain. */
function balanced(op: 'and' | 'or', items: Rule[]): Rule {
  if (items.length === 1) return items[0];
  const half = items.length >> 1;
  return { op, left: balanced(op, items.slice(0, half)), right: balanced(op, items.slice(half)) };
}

const KEYWORDS = new Set(['and', 'or', 'not', 'in', 'is', 'null', 'true', 'false']);

/**
 * Parses a rule into its tree (recursive descent: or > and > not > comparison), within
 * MAX_RULE_DEPTH and MAX_RULE_TERMS (checked before each level is entered, so no rule can
 * drive the recursion past the stack).
 * @param where names the rule in errors.
 * @throws UserError with the 1-based column where the rule went wrong and a caret under it,
 *   or naming the limit a rule goes beyond.
 */
export function parseRule(src: string, where = 'rule'): Rule {
  const fail = (pos: number, msg: string): never => {
    throw new UserError(`${where}: at column ${pos + 1}: ${msg}\n  ${src}\n  ${' '.repeat(pos)}^`);
  };
  if (!src.trim()) fail(0, 'the rule is empty');
  const tokens = tokenize(src, fail);
  let at = 0;
  const peek = () => tokens[at];
  const word = (t: Token, w: string) => t.kind === 'ident' && !t.quoted && t.text.toLowerCase() === w;
  const describe = (t: Token) => (t.kind === 'end' ? t.text : `"${t.text}"`);
  let depth = 0;
  let terms = 0;
  /** Enters one more level of parentheses or `not` at token `t`, within MAX_RULE_DEPTH. */
  const deeper = (t: Token) => {
    if (++depth > MAX_RULE_DEPTH) fail(t.pos, `the rule nests parentheses and "not" more than ${MAX_RULE_DEPTH} levels deep, the most a rule may; write it flatter`);
  };
  /** Counts one more comparison (or listed value) at token `t`, within MAX_RULE_TERMS. */
  const term = (t: Token) => {
    if (++terms > MAX_RULE_TERMS) fail(t.pos, `the rule holds more than ${MAX_RULE_TERMS} comparisons (a value of an "in [...]" list counts as one), the most a rule may; split it, or use fewer values`);
  };

  const value = (): { value: Value; percent: boolean } => {
    const t = tokens[at++];
    if (t.kind === 'number') {
      const percent = t.text.endsWith('%');
      const n = Number(percent ? t.text.slice(0, -1) : t.text);
      if (!Number.isFinite(n)) fail(t.pos, `"${t.text}" is not a number`);
      return { value: percent ? n / 100 : n, percent };
    }
    if (t.kind === 'string') return { value: t.text, percent: false };
    if (word(t, 'true') || word(t, 'false')) return { value: word(t, 'true'), percent: false };
    return fail(t.pos, `expected a number, a "quoted string", true or false, found ${describe(t)}`);
  };

  const primary = (): Rule => {
    const t = peek();
    if (t.kind === 'punct' && t.text === '(') {
      at++;
      deeper(t);
      const inner = or();
      const close = tokens[at++];
      if (!(close.kind === 'punct' && close.text === ')')) fail(close.pos, `expected ")" to close the "(" at column ${t.pos + 1}, found ${describe(close)}`);
      depth--;
      return inner;
    }
    if (t.kind !== 'ident' || (!t.quoted && KEYWORDS.has(t.text.toLowerCase()))) {
      fail(t.pos, `expected a score or column name (e.g. purchase.score, or \`a column\` in backquotes), found ${describe(t)}`);
    }
    at++;
    const ref = t.text;
    const next = tokens[at];
    term(t);
    if (word(next, 'in')) {
      at++;
      const open = tokens[at++];
      if (!(open.kind === 'punct' && open.text === '[')) fail(open.pos, `expected "[" after "in", found ${describe(open)}`);
      const values: Value[] = [];
      for (;;) {
        if (values.length > 0) term(peek());
        const v = value();
        if (v.percent) fail(tokens[at - 1].pos, 'a percentage cannot be listed in "in [...]"');
        values.push(v.value);
        const sep = tokens[at++];
        if (sep.kind === 'punct' && sep.text === ']') break;
        if (!(sep.kind === 'punct' && sep.text === ',')) fail(sep.pos, `expected "," or "]" in the list, found ${describe(sep)}`);
      }
      return { op: 'in', ref, values };
    }
    if (word(next, 'is')) {
      at++;
      const negate = word(peek(), 'not');
      if (negate) at++;
      const n = tokens[at++];
      if (!word(n, 'null')) fail(n.pos, `expected "null" after "is${negate ? ' not' : ''}", found ${describe(n)}`);
      return { op: 'null', ref, negate };
    }
    if (next.kind !== 'op') fail(next.pos, `expected a comparison (>=, >, <=, <, =, !=, in [...], is null) after "${ref}", found ${describe(next)}`);
    at++;
    const v = value();
    if (v.percent && !/(^|\.)rank$/.test(ref)) fail(tokens[at - 1].pos, `a percentage applies to a rank (e.g. lookalike.rank <= 5%), not to "${ref}"`);
    if (v.percent && next.text !== '<=' && next.text !== '<') fail(next.pos, 'a rank percentage takes <= or < (the top share)');
    if (['>=', '>', '<=', '<'].includes(next.text) && typeof v.value !== 'number') {
      fail(tokens[at - 1].pos, `"${next.text}" compares numbers; ${JSON.stringify(v.value)} is not one (use = or != for text)`);
    }
    return { op: 'cmp', ref, cmp: next.text as '>=' | '>' | '<=' | '<' | '=' | '!=', value: v.value, percent: v.percent };
  };

  const unary = (): Rule => {
    const t = peek();
    if (word(t, 'not')) {
      at++;
      deeper(t);
      const rule: Rule = { op: 'not', rule: unary() };
      depth--;
      return rule;
    }
    return primary();
  };
  const and = (): Rule => {
    const items = [unary()];
    while (word(peek(), 'and')) {
      at++;
      items.push(unary());
    }
    return balanced('and', items);
  };
  const or = (): Rule => {
    const items = [and()];
    while (word(peek(), 'or')) {
      at++;
      items.push(and());
    }
    return balanced('or', items);
  };

  const rule = or();
  const end = peek();
  if (end.kind !== 'end') fail(end.pos, `expected "and", "or" or the end of the rule, found ${describe(end)}`);
  return rule;
}

/** Every reference a rule reads. */
export function references(rule: Rule): string[] {
  switch (rule.op) {
    case 'and':
    case 'or':
      return [...new Set([...references(rule.left), ...references(rule.right)])];
    case 'not':
      return references(rule.rule);
    default:
      return [rule.ref];
  }
}

/** A column's value at a row: a number (NaN = missing), a string, or null. */
export type Lookup = (ref: string, row: number) => number | string | null;

function same(v: number | string | null, w: Value): boolean {
  if (v === null || (typeof v === 'number' && Number.isNaN(v))) return false;
  if (typeof w === 'boolean') return typeof v === 'number' ? v === (w ? 1 : 0) : v.toLowerCase() === String(w);
  if (typeof v === 'number' && typeof w === 'number') return v === w;
  return String(v) === String(w);
}

/**
 * Compiles a rule to a row predicate. `rankBase(ref)` is the number of ranked visitors,
 * which turns `rank <= 5%` into `rank <= round(0.05 * that)`. For references stored as
 * float32 (`isFloat32`), literals are rounded to float32 too: a stored 0.9 is 0.89999998,
 * and `>= 0.9` must still include it.
 */
export function compile(rule: Rule, get: Lookup, rankBase: (ref: string) => number, isFloat32: (ref: string) => boolean = () => false): (row: number) => boolean {
  switch (rule.op) {
    case 'and':
    case 'or': {
      const l = compile(rule.left, get, rankBase, isFloat32);
      const r = compile(rule.right, get, rankBase, isFloat32);
      return rule.op === 'and' ? (row) => l(row) && r(row) : (row) => l(row) || r(row);
    }
    case 'not': {
      const inner = compile(rule.rule, get, rankBase, isFloat32);
      return (row) => !inner(row);
    }
    case 'null':
      return (row) => {
        const v = get(rule.ref, row);
        const missing = v === null || (typeof v === 'number' && Number.isNaN(v));
        return rule.negate ? !missing : missing;
      };
    case 'in': {
      const values = rule.values.map((w) => (typeof w === 'number' && isFloat32(rule.ref) ? Math.fround(w) : w));
      return (row) => {
        const v = get(rule.ref, row);
        return values.some((w) => same(v, w));
      };
    }
    case 'cmp': {
      const { ref, cmp } = rule;
      const literal = typeof rule.value === 'number' && isFloat32(ref) ? Math.fround(rule.value) : rule.value;
      const target = rule.percent ? Math.round((rule.value as number) * rankBase(ref)) : literal;
      if (cmp === '=') return (row) => same(get(ref, row), target);
      if (cmp === '!=') return (row) => {
        const v = get(ref, row);
        return v !== null && !(typeof v === 'number' && Number.isNaN(v)) && !same(v, target);
      };
      return (row) => {
        const v = get(ref, row);
        if (typeof v !== 'number' || Number.isNaN(v) || typeof target !== 'number') return false;
        return cmp === '>=' ? v >= target : cmp === '>' ? v > target : cmp === '<=' ? v <= target : v < target;
      };
    }
  }
}

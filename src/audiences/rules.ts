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
  return new RuleParser(tokenize(src, fail), fail).parse();
}

/** Whether `t` is the keyword `w` (any case; a backquoted name never is). */
const word = (t: Token, w: string) => t.kind === 'ident' && !t.quoted && t.text.toLowerCase() === w;
/** A token as errors name it: "text" in quotes, or "the end of the rule". */
const describe = (t: Token) => (t.kind === 'end' ? t.text : `"${t.text}"`);

/** The recursive descent over one rule's tokens, counting depth and comparisons as it goes. */
class RuleParser {
  private at = 0;
  private depth = 0;
  private terms = 0;

  constructor(
    private readonly tokens: Token[],
    private readonly fail: (pos: number, msg: string) => never,
  ) {}

  /** The whole rule, which must end at the last token. */
  parse(): Rule {
    const rule = this.or();
    const end = this.peek();
    if (end.kind !== 'end') this.fail(end.pos, `expected "and", "or" or the end of the rule, found ${describe(end)}`);
    return rule;
  }

  private peek(): Token {
    return this.tokens[this.at];
  }

  private next(): Token {
    return this.tokens[this.at++];
  }

  /** Enters one more level of parentheses or `not` at token `t`, within MAX_RULE_DEPTH. */
  private deeper(t: Token): void {
    if (++this.depth > MAX_RULE_DEPTH) this.fail(t.pos, `the rule nests parentheses and "not" more than ${MAX_RULE_DEPTH} levels deep, the most a rule may; write it flatter`);
  }

  /** Counts one more comparison (or listed value) at token `t`, within MAX_RULE_TERMS. */
  private term(t: Token): void {
    if (++this.terms > MAX_RULE_TERMS) this.fail(t.pos, `the rule holds more than ${MAX_RULE_TERMS} comparisons (a value of an "in [...]" list counts as one), the most a rule may; split it, or use fewer values`);
  }

  /** A literal: a number (`N%` a share), a "string", true or false. */
  private value(): { value: Value; percent: boolean } {
    const t = this.next();
    if (t.kind === 'number') {
      const percent = t.text.endsWith('%');
      const n = Number(percent ? t.text.slice(0, -1) : t.text);
      if (!Number.isFinite(n)) this.fail(t.pos, `"${t.text}" is not a number`);
      return { value: percent ? n / 100 : n, percent };
    }
    if (t.kind === 'string') return { value: t.text, percent: false };
    if (word(t, 'true') || word(t, 'false')) return { value: word(t, 'true'), percent: false };
    return this.fail(t.pos, `expected a number, a "quoted string", true or false, found ${describe(t)}`);
  }

  /** A parenthesized rule, or a comparison: `ref in [...]`, `ref is [not] null`, `ref op value`. */
  private primary(): Rule {
    const t = this.peek();
    if (t.kind === 'punct' && t.text === '(') return this.parenthesized(t);
    if (t.kind !== 'ident' || (!t.quoted && KEYWORDS.has(t.text.toLowerCase()))) {
      this.fail(t.pos, `expected a score or column name (e.g. purchase.score, or \`a column\` in backquotes), found ${describe(t)}`);
    }
    this.at++;
    const ref = t.text;
    const next = this.peek();
    this.term(t);
    if (word(next, 'in')) return this.inList(ref);
    if (word(next, 'is')) return this.isNull(ref);
    return this.comparison(ref);
  }

  /** `( rule )`, with `open` the "(" token not yet consumed. */
  private parenthesized(open: Token): Rule {
    this.at++;
    this.deeper(open);
    const inner = this.or();
    const close = this.next();
    if (!(close.kind === 'punct' && close.text === ')')) this.fail(close.pos, `expected ")" to close the "(" at column ${open.pos + 1}, found ${describe(close)}`);
    this.depth--;
    return inner;
  }

  /** `ref in [v, ...]`, at the "in" token. */
  private inList(ref: string): Rule {
    this.at++;
    const open = this.next();
    if (!(open.kind === 'punct' && open.text === '[')) this.fail(open.pos, `expected "[" after "in", found ${describe(open)}`);
    const values: Value[] = [];
    for (;;) {
      if (values.length > 0) this.term(this.peek());
      const v = this.value();
      if (v.percent) this.fail(this.tokens[this.at - 1].pos, 'a percentage cannot be listed in "in [...]"');
      values.push(v.value);
      const sep = this.next();
      if (sep.kind === 'punct' && sep.text === ']') break;
      if (!(sep.kind === 'punct' && sep.text === ',')) this.fail(sep.pos, `expected "," or "]" in the list, found ${describe(sep)}`);
    }
    return { op: 'in', ref, values };
  }

  /** `ref is null` or `ref is not null`, at the "is" token. */
  private isNull(ref: string): Rule {
    this.at++;
    const negate = word(this.peek(), 'not');
    if (negate) this.at++;
    const n = this.next();
    if (!word(n, 'null')) this.fail(n.pos, `expected "null" after "is${negate ? ' not' : ''}", found ${describe(n)}`);
    return { op: 'null', ref, negate };
  }

  /** `ref op value`, at the operator; a percentage only on a rank, with <= or <. */
  private comparison(ref: string): Rule {
    const op = this.peek();
    if (op.kind !== 'op') this.fail(op.pos, `expected a comparison (>=, >, <=, <, =, !=, in [...], is null) after "${ref}", found ${describe(op)}`);
    this.at++;
    const v = this.value();
    if (v.percent && !/(^|\.)rank$/.test(ref)) this.fail(this.tokens[this.at - 1].pos, `a percentage applies to a rank (e.g. lookalike.rank <= 5%), not to "${ref}"`);
    if (v.percent && op.text !== '<=' && op.text !== '<') this.fail(op.pos, 'a rank percentage takes <= or < (the top share)');
    if (['>=', '>', '<=', '<'].includes(op.text) && typeof v.value !== 'number') {
      this.fail(this.tokens[this.at - 1].pos, `"${op.text}" compares numbers; ${JSON.stringify(v.value)} is not one (use = or != for text)`);
    }
    return { op: 'cmp', ref, cmp: op.text as '>=' | '>' | '<=' | '<' | '=' | '!=', value: v.value, percent: v.percent };
  }

  /** `not unary`, or a primary. */
  private unary(): Rule {
    const t = this.peek();
    if (!word(t, 'not')) return this.primary();
    this.at++;
    this.deeper(t);
    const rule: Rule = { op: 'not', rule: this.unary() };
    this.depth--;
    return rule;
  }

  /** unary (and unary)*, as a balanced tree. */
  private and(): Rule {
    const items = [this.unary()];
    while (word(this.peek(), 'and')) {
      this.at++;
      items.push(this.unary());
    }
    return balanced('and', items);
  }

  /** and (or and)*, as a balanced tree. */
  private or(): Rule {
    const items = [this.and()];
    while (word(this.peek(), 'or')) {
      this.at++;
      items.push(this.and());
    }
    return balanced('or', items);
  }
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

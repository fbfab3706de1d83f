/**
 * The one problem worth reporting when a JSON value fails a TypeBox schema, in words a user
 * can act on. TypeBox lists every failed branch of a union and every keyword; this picks the
 * most specific one (the deepest path; there an unknown key, else the union or field itself)
 * and says what was expected there: the schema node's `expected` text when it has one (e.g.
 * `Type.Integer({ minimum: 1, expected: 'an integer from 1 to 1000' })`), else TypeBox's message.
 */
import type { TSchema } from 'typebox';
import { Value } from 'typebox/value';

/** Where a value fails its schema, and how. */
export interface SchemaProblem {
  /** The path to the failing value, e.g. ["numeric", "0", "impute"] ([] for the value itself). */
  path: string[];
  /** What is wrong there: `must be <expected>` or `unknown key "x" (known: a, b)`. */
  problem: string;
}

type Node = Record<string, unknown>;

/** The schema node a JSON pointer such as "#/properties/a/items/anyOf/1" names. */
function nodeAt(schema: TSchema, pointer: string): Node | undefined {
  let node: unknown = schema;
  for (const part of pointer.replace(/^#\/?/, '').split('/').filter(Boolean)) {
    if (!node || typeof node !== 'object') return undefined;
    node = (node as Node)[part.replace(/~1/g, '/').replace(/~0/g, '~')];
  }
  return node && typeof node === 'object' ? (node as Node) : undefined;
}

const RANK: Record<string, number> = { additionalProperties: 0, anyOf: 1, required: 2 };

/**
 * The most specific problem of `value` against `schema`, or undefined when it conforms.
 * An object schema's unknown keys are named with the keys it knows.
 */
export function schemaProblem(schema: TSchema, value: unknown): SchemaProblem | undefined {
  if (Value.Check(schema, value)) return undefined;
  const errors = [...Value.Errors(schema, value)].filter((e) => e.keyword !== 'boolean');
  if (errors.length === 0) return { path: [], problem: 'does not match its schema' };
  const depth = (p: string) => (p ? p.split('/').length : 0);
  const deepest = Math.max(...errors.map((e) => depth(e.instancePath)));
  const error = errors.filter((e) => depth(e.instancePath) === deepest).sort((a, b) => (RANK[a.keyword] ?? 3) - (RANK[b.keyword] ?? 3))[0];
  const path = error.instancePath.split('/').slice(1).map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  const node = nodeAt(schema, error.schemaPath);
  if (error.keyword === 'additionalProperties') {
    const extra = (error.params as { additionalProperties?: string[] }).additionalProperties ?? [];
    const known = Object.keys((node?.properties as Node | undefined) ?? {});
    return { path, problem: `unknown key "${extra[0]}"${known.length ? ` (known: ${known.join(', ')})` : ''}` };
  }
  if (error.keyword === 'required') {
    const missing = (error.params as { requiredProperties?: string[] }).requiredProperties ?? [];
    return { path, problem: `needs ${missing.map((m) => `"${m}"`).join(', ') || 'more keys'}${node?.expected ? `: ${node.expected as string}` : ''}` };
  }
  // A keyword of a field's schema (minimum, type, a union's anyOf): what that field expects.
  return { path, problem: typeof node?.expected === 'string' ? `must be ${node.expected}` : error.message };
}

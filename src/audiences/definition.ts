/**
 * Audience definitions (JSON), validated with messages that name the audience and field:
 *
 * { "identifiers": { "email": "email", "phone": "phone", "defaultCountryCode": "1" },
 *   "platforms": ["google", "meta"],
 *   "audiences": [
 *     { "name": "high_intent", "rule": "purchase.score >= 70",
 *       "suppress": { "ids": "customers.csv", "rule": "has_account = 1", "audiences": ["vip"] },
 *       "cap": { "size": 50000, "by": "purchase.probability" },
 *       "holdout": 0.1 },
 *     { "name": "prospects_5pct", "rule": "lookalike.rank <= 5%" } ] }
 */
import path from 'node:path';
import { Type, type Static } from 'typebox';
import { UserError } from '../util/errors.js';
import { readUserJson } from '../util/files.js';
import { schemaProblem } from '../util/schema.js';
import { PLATFORMS, isDefaultCountry, type Platform } from './identifiers.js';
import { parseRule, type Rule } from './rules.js';

export interface AudienceDef {
  name: string;
  rule: Rule;
  ruleText: string;
  suppress: { ids?: string; rule?: Rule; audiences: string[] };
  cap?: { size: number; by?: string };
  /** Share of members set aside as a random control group (not exported for activation). */
  holdout: number;
}

export interface AudienceSet {
  audiences: AudienceDef[];
  identifiers: { email?: string; phone?: string; defaultCountryCode?: string };
  /** Ad platforms that get an activation file per audience (default: all of PLATFORMS). */
  platforms: Platform[];
  /** Seeds the holdout draw: the same id lands in the same group every run. */
  seed: number;
  /** Where the definitions came from, for messages: the file, or "audiences" for a request body's field. */
  source: string;
}

const NAME = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;

const Text = (expected: string) => Type.String({ minLength: 1, expected });

/** One audience: its name, rule, suppression, cap and holdout (see the module comment). */
export const AudienceSchema = Type.Object(
  {
    name: Type.String({ pattern: NAME.source, expected: "1-64 letters, digits, '_' or '-', starting with a letter" }),
    rule: Type.String({ expected: 'a string such as "purchase.score >= 70"' }),
    description: Type.Optional(Type.String()),
    suppress: Type.Optional(
      Type.Object(
        {
          ids: Type.Optional(Text('a file of ids')),
          rule: Type.Optional(Type.String({ expected: 'a rule string' })),
          audiences: Type.Optional(Type.Array(Type.String(), { expected: 'a list of audience names' })),
        },
        { additionalProperties: false, expected: 'an object with "ids", "rule" and/or "audiences"' },
      ),
    ),
    cap: Type.Optional(
      Type.Object(
        { size: Type.Integer({ minimum: 1, expected: 'an integer >= 1' }), by: Type.Optional(Text('a score, e.g. "purchase.probability"')) },
        { additionalProperties: false, expected: '{ "size": N, "by": "score" } with N >= 1' },
      ),
    ),
    holdout: Type.Optional(Type.Number({ minimum: 0, exclusiveMaximum: 1, expected: 'a share from 0 up to (not including) 1' })),
  },
  { additionalProperties: false, expected: 'an object with a "name" and a "rule"' },
);

/**
 * Audience definitions, as a file or a score job's `audiences` field: the audiences in order
 * (one may suppress those before it), the identifier columns for activation files, the ad
 * platforms (default all) and the holdout draw's seed.
 */
export const AudienceDefinitionsSchema = Type.Object(
  {
    audiences: Type.Array(AudienceSchema, { minItems: 1, expected: 'a non-empty list' }),
    identifiers: Type.Optional(
      Type.Object(
        { email: Type.Optional(Text('a column name')), phone: Type.Optional(Text('a column name')), defaultCountryCode: Type.Optional(Text('a calling code such as "1" or "44", or a region such as "US"')) },
        { additionalProperties: false, expected: 'an object' },
      ),
    ),
    platforms: Type.Optional(Type.Array(Type.Union(PLATFORMS.map((p) => Type.Literal(p)), { expected: `one of ${PLATFORMS.map((p) => `"${p}"`).join(', ')}` }), { minItems: 1, expected: `a non-empty list of ${PLATFORMS.map((p) => `"${p}"`).join(', ')}` })),
    seed: Type.Optional(Type.Integer({ expected: 'an integer' })),
    $comment: Type.Optional(Type.String()),
  },
  { additionalProperties: false, expected: 'a JSON object with an "audiences" list' },
);

/** Where in the definitions a path points, as messages name it: `audience "vip": "cap.size"`. */
function place(raw: unknown, path: string[]): string {
  const [top, index, ...rest] = path;
  if (top !== 'audiences' || index === undefined) return path.map((p, i) => (i === 0 ? `"${p}"` : /^\d+$/.test(p) ? `[${p}]` : `.${p}`)).join('');
  const name = ((raw as { audiences: Array<{ name?: unknown }> }).audiences[Number(index)] ?? {}).name;
  const at = typeof name === 'string' && NAME.test(name) ? `audience "${name}"` : `audiences[${index}]`;
  return rest.length ? `${at}: "${rest.join('.')}"` : at;
}

/** What is wrong with the shape of audience definitions (AudienceDefinitionsSchema), in words, or undefined. */
export function audiencesProblem(raw: unknown): string | undefined {
  const bad = schemaProblem(AudienceDefinitionsSchema, raw);
  if (!bad) return undefined;
  if (bad.path.length === 0) {
    if (bad.problem.startsWith('unknown key')) return bad.problem;
    return raw && typeof raw === 'object' && !Array.isArray(raw) ? '"audiences" must be a non-empty list' : 'expected a JSON object with an "audiences" list';
  }
  const at = place(raw, bad.path);
  return bad.problem.startsWith('unknown key') ? `${at}: ${bad.problem}` : `${at} ${bad.problem}`;
}

/**
 * Reads and validates an audience definitions file (JSON; see the module comment). `option`
 * names where the user gave it (`--audiences`) in the messages about the file itself.
 * @throws UserError naming the file when it is missing or not JSON, and the audience and the field that is wrong.
 */
export function loadAudiences(file: string, option?: string): AudienceSet {
  return parseAudiences(readUserJson(file, option ? `${option} ${file}` : file, 'audience definitions'), file);
}

/**
 * Validates definitions from JSON (a file's or a request body's) against
 * AudienceDefinitionsSchema, then what a schema cannot say: rules parse, names are unique,
 * an audience suppresses only those defined before it, the country code is one. `where`
 * names the definitions in errors; relative id files are found from `base` (default: where's folder).
 * @throws UserError naming `where`, the audience and the field that is wrong.
 */
export function parseAudiences(raw: unknown, where = 'audiences', base = path.dirname(path.resolve(where))): AudienceSet {
  const fail = (msg: string): never => {
    throw new UserError(`${where}: ${msg}`);
  };
  const problem = audiencesProblem(raw);
  if (problem) fail(problem);
  const obj = raw as Static<typeof AudienceDefinitionsSchema>;
  const identifiers = obj.identifiers ?? {};
  if (identifiers.defaultCountryCode !== undefined && !isDefaultCountry(identifiers.defaultCountryCode)) {
    fail(`"identifiers.defaultCountryCode" must be a calling code such as "1" or "44", or a region such as "US"`);
  }
  const names = new Set<string>();
  const audiences = obj.audiences.map((d): AudienceDef => {
    const at = `audience "${d.name}"`;
    if (names.has(d.name)) fail(`${at} is defined twice`);
    // Its column aud_<name> and its folder: DuckDB's column names and some file systems ignore case.
    const same = [...names].find((n) => n.toLowerCase() === d.name.toLowerCase());
    if (same !== undefined) fail(`${at} and audience "${same}" differ only in case; their columns (aud_<name>) and folders would collide: rename one`);
    const rule = parseRule(d.rule, `${where}: ${at}: rule`);
    const s = d.suppress ?? {};
    const others = s.audiences ?? [];
    for (const o of others) if (!names.has(o)) fail(`${at}: suppresses audience "${o}", which must be defined before it`);
    names.add(d.name);
    return {
      name: d.name,
      rule,
      ruleText: d.rule,
      suppress: {
        ...(s.ids !== undefined && { ids: path.resolve(base, s.ids) }),
        ...(s.rule !== undefined && { rule: parseRule(s.rule, `${where}: ${at}: suppress.rule`) }),
        audiences: others,
      },
      ...(d.cap && { cap: d.cap }),
      holdout: d.holdout ?? 0,
    };
  });
  return { audiences, identifiers, platforms: [...new Set(obj.platforms ?? [...PLATFORMS])], seed: obj.seed ?? 0, source: where };
}

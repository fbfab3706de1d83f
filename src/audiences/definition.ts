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
import fs from 'node:fs';
import path from 'node:path';
import { UserError, errorMessage } from '../util/errors.js';
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
}

const NAME = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;

/**
 * Reads and validates an audience definitions file (JSON; see the module comment).
 * @throws UserError naming the file, the audience and the field that is wrong.
 */
export function loadAudiences(file: string): AudienceSet {
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new UserError(`${file}: cannot read audience definitions: ${errorMessage(err)}`);
  }
  return parseAudiences(raw, file);
}

/** `where` names the definitions in errors; relative id files are found from `base` (default: where's folder). */
export function parseAudiences(raw: unknown, where = 'audiences', base = path.dirname(path.resolve(where))): AudienceSet {
  const fail = (msg: string): never => {
    throw new UserError(`${where}: ${msg}`);
  };
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) fail('expected a JSON object with an "audiences" list');
  const obj = raw as Record<string, unknown>;
  for (const k of Object.keys(obj)) if (!['audiences', 'identifiers', 'platforms', 'seed', '$comment'].includes(k)) fail(`unknown key "${k}"`);
  if (!Array.isArray(obj.audiences) || obj.audiences.length === 0) fail('"audiences" must be a non-empty list');
  const idents = (obj.identifiers ?? {}) as Record<string, unknown>;
  if (typeof idents !== 'object' || Array.isArray(idents)) fail('"identifiers" must be an object');
  for (const k of Object.keys(idents)) {
    if (!['email', 'phone', 'defaultCountryCode'].includes(k)) fail(`"identifiers": unknown key "${k}" (email, phone, defaultCountryCode)`);
    if (typeof idents[k] !== 'string' || !idents[k]) fail(`"identifiers.${k}" must be a non-empty string`);
  }
  if (idents.defaultCountryCode !== undefined && !isDefaultCountry(idents.defaultCountryCode as string)) {
    fail(`"identifiers.defaultCountryCode" must be a calling code such as "1" or "44", or a region such as "US"`);
  }
  const platforms = obj.platforms ?? [...PLATFORMS];
  if (!Array.isArray(platforms) || platforms.length === 0 || platforms.some((p) => !PLATFORMS.includes(p as Platform))) {
    fail(`"platforms" must be a non-empty list of ${PLATFORMS.map((p) => `"${p}"`).join(', ')}`);
  }
  const names = new Set<string>();
  const audiences = (obj.audiences as unknown[]).map((a, i): AudienceDef => {
    if (!a || typeof a !== 'object') return fail(`audiences[${i}] must be an object`);
    const d = a as Record<string, unknown>;
    const name = d.name;
    if (typeof name !== 'string' || !NAME.test(name)) return fail(`audiences[${i}]: "name" must be 1-64 letters, digits, '_' or '-', starting with a letter`);
    const at = `audience "${name}"`;
    if (names.has(name)) fail(`${at} is defined twice`);
    for (const k of Object.keys(d)) if (!['name', 'rule', 'suppress', 'cap', 'holdout', 'description'].includes(k)) fail(`${at}: unknown key "${k}"`);
    if (typeof d.rule !== 'string') fail(`${at}: "rule" must be a string such as "purchase.score >= 70"`);
    const rule = parseRule(d.rule as string, `${where}: ${at}: rule`);
    const s = (d.suppress ?? {}) as Record<string, unknown>;
    for (const k of Object.keys(s)) if (!['ids', 'rule', 'audiences'].includes(k)) fail(`${at}: "suppress": unknown key "${k}" (ids, rule, audiences)`);
    if (s.ids !== undefined && typeof s.ids !== 'string') fail(`${at}: "suppress.ids" must be a file of ids`);
    if (s.rule !== undefined && typeof s.rule !== 'string') fail(`${at}: "suppress.rule" must be a rule string`);
    const others = s.audiences ?? [];
    if (!Array.isArray(others) || others.some((o) => typeof o !== 'string')) fail(`${at}: "suppress.audiences" must be a list of audience names`);
    for (const o of others as string[]) {
      if (!names.has(o)) fail(`${at}: suppresses audience "${o}", which must be defined before it`);
    }
    let cap: AudienceDef['cap'];
    if (d.cap !== undefined) {
      const c = d.cap as Record<string, unknown>;
      if (!c || typeof c !== 'object' || !Number.isInteger(c.size) || (c.size as number) < 1) fail(`${at}: "cap" must be { "size": N, "by": "score" } with N >= 1`);
      if (c.by !== undefined && typeof c.by !== 'string') fail(`${at}: "cap.by" must name a score, e.g. "purchase.probability"`);
      cap = { size: c.size as number, ...(c.by !== undefined && { by: c.by as string }) };
    }
    const holdout = d.holdout ?? 0;
    if (typeof holdout !== 'number' || holdout < 0 || holdout >= 1) fail(`${at}: "holdout" must be a share from 0 up to (not including) 1`);
    names.add(name);
    return {
      name,
      rule,
      ruleText: d.rule as string,
      suppress: {
        ...(s.ids !== undefined && { ids: path.resolve(base, s.ids as string) }),
        ...(s.rule !== undefined && { rule: parseRule(s.rule as string, `${where}: ${at}: suppress.rule`) }),
        audiences: others as string[],
      },
      ...(cap && { cap }),
      holdout: holdout as number,
    };
  });
  const seed = obj.seed ?? 0;
  if (!Number.isInteger(seed)) fail('"seed" must be an integer');
  return { audiences, identifiers: idents as AudienceSet['identifiers'], platforms: [...new Set(platforms as Platform[])], seed: seed as number };
}

/**
 * Audience rules have limits on nesting and size (issue 30, item 10): a rule of 5,000 nested
 * parentheses or 12,000 `or` terms crashed the parser (RangeError: Maximum call stack size
 * exceeded, a 500), and 6,000 terms were accepted, then failed in the run. Beyond the limits a
 * rule is refused as bad input naming them (400 in the service, exit 2 on the CLI); up to them,
 * it builds its audience.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../src/cli/main.js';
import { parseAudiences } from '../src/audiences/definition.js';
import { compile, MAX_RULE_DEPTH, MAX_RULE_TERMS, parseRule, references } from '../src/audiences/rules.js';
import { PartWriter, type OutputColumn } from '../src/io/writer.js';
import { finalizeParts } from '../src/scoring/finalize.js';
import type { ScoringModel } from '../src/models/model.js';
import { UserError } from '../src/util/errors.js';

const nested = (levels: number) => `${'('.repeat(levels)}p.score >= 1${')'.repeat(levels)}`;
const ors = (terms: number) => Array.from({ length: terms }, (_, i) => `p.score = ${i}`).join(' or ');

/** The error parseRule throws for `src` (fails the test when it parses). */
function refusal(src: string): unknown {
  try {
    parseRule(src);
  } catch (err) {
    return err;
  }
  throw new Error('the rule was accepted');
}

describe('rule limits', () => {
  it.each([
    ['5,000 nested parentheses', nested(5000), new RegExp(`more than ${MAX_RULE_DEPTH} levels deep`)],
    ['5,000 nested nots', `${'not '.repeat(5000)}p.score >= 1`, new RegExp(`more than ${MAX_RULE_DEPTH} levels deep`)],
    ['12,000 or terms', ors(12_000), new RegExp(`more than ${MAX_RULE_TERMS} comparisons`)],
    ['6,000 or terms', ors(6000), new RegExp(`more than ${MAX_RULE_TERMS} comparisons`)],
    ['an in list of 5,000 values', `p.score in [${Array.from({ length: 5000 }, (_, i) => i).join(', ')}]`, new RegExp(`more than ${MAX_RULE_TERMS} comparisons`)],
  ])('refuses %s as bad input naming the limit', (_what, src, message) => {
    const err = refusal(src);
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toMatch(message);
  });

  it('takes a rule at the limits, with a tree of logarithmic depth', () => {
    expect(() => parseRule(nested(MAX_RULE_DEPTH))).not.toThrow();
    expect(() => parseRule(nested(MAX_RULE_DEPTH + 1))).toThrow(UserError);
    const rule = parseRule(ors(MAX_RULE_TERMS));
    const depth = (r: ReturnType<typeof parseRule>): number => (r.op === 'and' || r.op === 'or' ? 1 + Math.max(depth(r.left), depth(r.right)) : r.op === 'not' ? 1 + depth(r.rule) : 0);
    expect(depth(rule)).toBeLessThanOrEqual(Math.ceil(Math.log2(MAX_RULE_TERMS)));
    expect(references(rule)).toEqual(['p.score']);
    const f = compile(rule, (_ref, row) => row, () => 0);
    expect([0, 999, 1000].map(f)).toEqual([true, true, false]);
  });

  describe('end to end', () => {
    let dir: string;
    const columns: OutputColumn[] = [
      { name: 'visitor_id', type: 'BIGINT' },
      { name: 'p_score', type: 'DOUBLE' },
    ];
    beforeAll(() => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ae-rule-limits-'));
    });
    afterEach(() => vi.restoreAllMocks());

    it(`builds an audience from a rule of ${MAX_RULE_TERMS} terms nested ${MAX_RULE_DEPTH} deep (DuckDB takes its SQL)`, async () => {
      const N = 3000;
      const w = new PartWriter(path.join(dir, 'scores', '.shards'), 'scores', columns, 3000);
      await w.write(N, { visitor_id: BigInt64Array.from({ length: N }, (_, i) => BigInt(i + 1)), p_score: Float64Array.from({ length: N }, (_, i) => i) });
      const parts = (await w.close()).map((f, index) => ({ index, ...f }));
      // Both limits at once: the terms split over the nesting levels.
      const inner = ors(MAX_RULE_TERMS - MAX_RULE_DEPTH);
      const rule = Array.from({ length: MAX_RULE_DEPTH }, (_, i) => `p.score != ${-1 - i} and (`).join('') + inner + ')'.repeat(MAX_RULE_DEPTH);
      const set = parseAudiences({ audiences: [{ name: 'many', rule }] }, path.join(dir, 'aud.json'));
      const models = [{ manifest: { name: 'p', kind: 'propensity' } }] as unknown as ScoringModel[];
      const done = await finalizeParts({ dir: path.join(dir, 'scores'), parts, columns, ranked: [], idColumn: 'visitor_id', hasIds: true, audiences: { set, models } });
      expect(done.audiences!.summaries[0].members).toBe(MAX_RULE_TERMS - MAX_RULE_DEPTH);
    });

    it('the CLI refuses a file with a deeper rule: exit 2 naming the limit, no stack trace', async () => {
      const file = path.join(dir, 'deep.json');
      fs.writeFileSync(file, JSON.stringify({ audiences: [{ name: 'deep', rule: nested(5000) }] }));
      let stderr = '';
      vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => ((stderr += String(chunk)), true));
      const code = await main(['score', '--input', path.join(dir, 'none.parquet'), '--model', 'p', '--output', path.join(dir, 'out'), '--audiences', file]);
      expect(code).toBe(2);
      expect(stderr).toMatch(new RegExp(`^error: .*audience "deep": rule: at column ${MAX_RULE_DEPTH + 1}: the rule nests parentheses and "not" more than ${MAX_RULE_DEPTH} levels deep`));
      expect(stderr).not.toMatch(/RangeError| {4}at /);
    });
  });
});

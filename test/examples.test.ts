/**
 * The files examples/ ships for the README's "Using it" fit the data its first command makes
 * (`audience generate --visitors N`, seed 1): the seed list is what it says it is, and the
 * audience definitions read only the models trained there and the generated columns.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAudiences } from '../src/audiences/definition.js';
import { references, type Rule } from '../src/audiences/rules.js';
import { generateVisitors, VISITOR_COLUMNS } from '../src/synthetic/visitors.js';

const EXAMPLES = path.resolve('examples');
/** The models "Using it" trains and scores with the audiences, and each one's outputs. */
const MODELS: Record<string, string[]> = {
  behavior: ['segment', 'distance'],
  purchase: ['probability', 'score', 'percentile', 'bucket'],
  lookalike: ['similarity', 'is_seed', 'rank', 'percentile'],
};

describe('examples/ for the generated visitors', () => {
  it('best_customers.csv is every loyal buyer (planted segment 1) who converted among the first 20,000 visitors', async () => {
    const [header, ...ids] = fs.readFileSync(path.join(EXAMPLES, 'best_customers.csv'), 'utf8').trim().split('\n');
    expect(header).toBe('visitor_id');
    const expected: number[] = [];
    for await (const { rows, columns } of generateVisitors({ visitors: 20_000, seed: 1 })) {
      const c = columns as unknown as { visitor_id: BigInt64Array; true_segment: Int32Array; converted: Int32Array };
      for (let i = 0; i < rows; i++) if (c.true_segment[i] === 1 && c.converted[i] === 1) expected.push(Number(c.visitor_id[i]));
    }
    expect(ids.map(Number)).toEqual(expected);
    expect(ids.length).toBe(1841); // as the README says
  });

  it('visitors.audiences.json reads the README\'s models and generated columns only, and its id list is beside it', () => {
    const file = path.join(EXAMPLES, 'visitors.audiences.json');
    const set = parseAudiences(JSON.parse(fs.readFileSync(file, 'utf8')), file);
    const columns = new Set(VISITOR_COLUMNS.map((c) => c.name));
    expect(columns.has(set.identifiers.email!)).toBe(true);
    expect(set.identifiers.phone).toBeUndefined(); // the data has no phone
    for (const a of set.audiences) {
      for (const rule of [a.rule, a.suppress.rule].filter(Boolean) as Rule[]) {
        for (const ref of references(rule)) {
          const [model, output] = ref.split('.');
          if (output !== undefined) expect(MODELS[model], ref).toContain(output);
          else expect(columns.has(ref), ref).toBe(true);
        }
      }
      if (a.suppress.ids) expect(fs.existsSync(a.suppress.ids), a.suppress.ids).toBe(true);
    }
    expect(set.audiences.map((a) => a.name)).toEqual(['high_intent', 'prospects_5pct', 'deal_seekers']);
  });
});

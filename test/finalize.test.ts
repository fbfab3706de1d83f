import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseAudiences } from '../src/audiences/definition.js';
import { connect } from '../src/io/duckdb.js';
import { canonicalId, canonicalIdSql, idKeySql, keyOfIntegerIdSql } from '../src/io/ids.js';
import { PartWriter } from '../src/io/writer.js';
import { finalizeParts, type FinalizeInput } from '../src/scoring/finalize.js';
import { AUDIENCES, COLUMNS, dumpOutput, fixtureRows, MODELS, PART_ROWS, RANKED, SUPPRESS_IDS } from './finalize-fixture.js';

const expected = JSON.parse(fs.readFileSync(path.join(import.meta.dirname, 'fixtures/finalize/expected.json'), 'utf8'));

/** The fixture's staged parts in `<dir>/.shards/`, and the finalize's input over them. */
async function staged(dir: string, audiences: object = AUDIENCES): Promise<FinalizeInput> {
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'customers.csv'), SUPPRESS_IDS);
  const parts: FinalizeInput['parts'] = [];
  let start = 0;
  for (const [i, rows] of PART_ROWS.entries()) {
    const w = new PartWriter(path.join(dir, 'scores/.shards'), `p${i}`, COLUMNS, Infinity);
    await w.write(rows, fixtureRows(start, rows));
    const [f] = await w.close();
    parts.push({ index: i, path: f.path, rows });
    start += rows;
  }
  const set = parseAudiences(audiences, path.join(dir, 'aud.json'));
  return { dir: path.join(dir, 'scores'), parts, columns: COLUMNS, ranked: RANKED, idColumn: 'visitor_id', hasIds: true, audiences: { set, models: MODELS } };
}

/** Means are sums in another order: equal to 12 digits, not bit for bit; the id list's folder differs. */
function roundMeans(summaries: Array<{ means: Record<string, number>; suppressList?: { file: string } }>) {
  return summaries.map((s) => ({
    ...s,
    means: Object.fromEntries(Object.entries(s.means).map(([k, v]) => [k, Number(v.toPrecision(12))])),
    ...(s.suppressList && { suppressList: { ...s.suppressList, file: path.basename(s.suppressList.file) } }),
  }));
}

describe('the DuckDB finalize', () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ae-fin-'));
  });

  it('gives the JavaScript finalize\'s output on the fixture: percentiles, ranks, buckets, memberships, caps, holdouts, files', async () => {
    const input = await staged(path.join(dir, 'a'));
    const done = await finalizeParts(input);
    expect(done.columns).toEqual(expected.columns);
    expect(roundMeans(done.audiences!.summaries)).toEqual(roundMeans(expected.summaries));
    expect(done.audiences!.overlap).toEqual(expected.overlap);
    const files = await dumpOutput(input.dir);
    expect(Object.keys(files).sort()).toEqual(Object.keys(expected.files).sort());
    for (const [name, content] of Object.entries(expected.files)) expect([name, files[name]]).toEqual([name, content]);
    // Seeds are not ranked, each rank appears once, and rank <= 5% took exactly round(5% of the ranked).
    const [top5] = done.audiences!.summaries;
    expect(top5.members + top5.holdout).toBe(Math.round(0.05 * (3000 - 150)));
    expect(done.duplicateIds).toBe(31); // every 97th row from row 50 repeats an id by value ("12.0", " 12 ")
  });

  it('a rule\'s quotes, backslashes and SQL in text are data: they match the rows holding that text and nothing else', async () => {
    const done = await finalizeParts(await staged(path.join(dir, 'b')));
    const quoted = done.audiences!.summaries.find((s) => s.name === 'quoted')!;
    const injection = done.audiences!.summaries.find((s) => s.name === 'injection')!;
    // country "O'Brien\land" is every 5th row (600), and p.score > 20 keeps those above.
    expect(quoted.members).toBeGreaterThan(400);
    expect(quoted.members).toBeLessThan(600);
    expect(injection.members + injection.holdout).toBe(0);
  });

  it('run again over the same staged parts, after a kill at any point, gives the same output', async () => {
    const input = await staged(path.join(dir, 'c'));
    await finalizeParts(input);
    const first = await dumpOutput(input.dir);
    // What a kill leaves: a half-written part's temporary file, one part gone, an audience folder half done.
    fs.writeFileSync(path.join(input.dir, 'scores-00001.parquet.tmp'), 'partial');
    fs.rmSync(path.join(input.dir, 'scores-00002.parquet'));
    fs.rmSync(path.join(input.dir, 'audiences/likely/holdout.csv'));
    fs.writeFileSync(path.join(input.dir, 'audiences/likely/.members.csv.tmp'), 'partial');
    await finalizeParts(input);
    expect(await dumpOutput(input.dir)).toEqual(first);
    expect(fs.existsSync(path.join(input.dir, 'audiences/likely/.members.csv.tmp'))).toBe(false);
  });

  it('names an unknown score with what the model has, and writes nothing', async () => {
    const input = await staged(path.join(dir, 'd'), { audiences: [{ name: 'x', rule: 'p.scroe >= 1' }] });
    await expect(finalizeParts(input)).rejects.toThrow(/audience "x": "p.scroe" is not a score or column of this run \(that model has: probability, score, percentile, bucket\)/);
    expect(fs.readdirSync(input.dir)).toEqual(['.shards']);
  });

  it('compares ids in SQL exactly as canonicalId does (property)', async () => {
    const con = await connect();
    try {
      const piece = fc.oneof(fc.constantFrom(' ', '\t', '\u00a0', '\u3000', '\ufeff', '+', '-', '0', '.', '.0', 'e', 'x'), fc.integer({ min: 0, max: 99999 }).map(String));
      const ids = fc.array(fc.array(piece, { maxLength: 6 }).map((p) => p.join('')), { minLength: 1, maxLength: 200 });
      await fc.assert(
        fc.asyncProperty(ids, async (xs) => {
          const r = await con.runAndReadAll(`SELECT ${canonicalIdSql('x')} FROM (SELECT unnest($1::VARCHAR[]) AS x, generate_subscripts($1::VARCHAR[], 1) AS i) ORDER BY i`, [
            (await import('@duckdb/node-api')).listValue(xs),
          ]);
          expect(r.getRows().map((row) => row[0])).toEqual(xs.map(canonicalId));
        }),
        { numRuns: 50 },
      );
    } finally {
      con.closeSync();
    }
  });

  it('matches canonical keys to integer ids as their decimal texts would, without casting the ids (property)', async () => {
    const con = await connect();
    try {
      const { listValue } = await import('@duckdb/node-api');
      // DuckDB casts '0x1F' (31), '1_000', '1e3' (1000), '0b101' (5) and '5.5' (6) to integers: none of them is an integer's key.
      const int = fc.oneof(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), fc.bigInt({ min: -20n, max: 20n }), fc.constantFrom(31n, 1000n));
      const key = fc.oneof(int.map(String), fc.constantFrom('0', '-0', '007', '+5', '5.0', '1e3', '0x1F', '1_000', '0b101', '5.5', '9223372036854775808', '-9223372036854775809', '', 'x'), fc.string({ maxLength: 4 }));
      await fc.assert(
        fc.asyncProperty(fc.array(int, { minLength: 1, maxLength: 30 }), fc.array(key, { minLength: 1, maxLength: 30 }), async (ids, raw) => {
          const keys = raw.map(canonicalId).filter((k): k is string => k !== null);
          if (keys.length === 0) return;
          const bind = [listValue(keys), listValue(ids.map(String))];
          const run = async (where: string) => (await con.runAndReadAll(`WITH l AS (SELECT unnest($1::VARCHAR[]) AS key), t AS (SELECT CAST(unnest($2::VARCHAR[]) AS BIGINT) AS id) SELECT count(*) FROM l WHERE ${where}`, bind as never)).getRows()[0][0];
          expect(await run(keyOfIntegerIdSql('key', 'SELECT id FROM t'))).toBe(await run(`key IN (SELECT ${idKeySql('id', false)} FROM t)`));
        }),
        { numRuns: 60 },
      );
    } finally {
      con.closeSync();
    }
  });

  it('percentiles by mid-rank (ties share one), buckets from 80 and 50, ranks by row order on ties (by hand)', async () => {
    const d = path.join(dir, 'e');
    const cols = [
      { name: 'row_id', type: 'BIGINT' as const },
      { name: 'm_probability', type: 'FLOAT' as const },
    ];
    const w = new PartWriter(path.join(d, '.shards'), 'p', cols, Infinity);
    const values = [0.1, 0.2, 0.2, 0.4, 0.95, 0.3, 0.5, 0.6, 0.7, 0.8];
    await w.write(values.length, { row_id: BigInt64Array.from(values, (_, i) => BigInt(i)), m_probability: Float32Array.from(values) });
    const [part] = await w.close();
    const ranked = [{ source: 'm_probability', percentile: 'm_percentile', bucket: 'm_bucket', rank: 'm_rank' }];
    await finalizeParts({ dir: d, parts: [{ index: 0, ...part }], columns: cols, ranked, idColumn: 'row_id', hasIds: false });
    const con = await connect();
    const rows = (await con.runAndReadAll('SELECT m_percentile, m_bucket, m_rank FROM read_parquet($1)', [path.join(d, 'scores-00000.parquet')])).getRows();
    con.closeSync();
    // 10 values: 0.1 has none below (mid-rank 0.5 -> 5%); the two 0.2s have 1 below and share 1 + 2/2 -> 20%.
    expect(rows.map((r) => r[0])).toEqual([5, 20, 20, 45, 95, 35, 55, 65, 75, 85]);
    expect(rows.map((r) => r[1])).toEqual(['low', 'low', 'low', 'low', 'high', 'low', 'medium', 'medium', 'medium', 'high']);
    expect(rows.map((r) => r[2])).toEqual([10, 8, 9, 6, 1, 7, 5, 4, 3, 2]);
  });
});

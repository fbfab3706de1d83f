/** `audience measure`: lift, intervals and CUPED by hand, against an independent numpy/scipy script, and its refusals. */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { measureAudiences, type MeasureOptions } from '../src/audiences/measure.js';
import { main } from '../src/cli/main.js';
import { openDataset } from '../src/io/dataset.js';
import { writeFile } from '../src/io/writer.js';
import { cupedLiftOf, liftOf, normalTail, pooledCovariate, type CovariateStats } from '../src/metrics/lift.js';
import { Rng } from '../src/util/rng.js';
import { cupedEffect } from '../src/report/lift.js';

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ae-measure-'));
});

const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;
const cov = (a: number[], b: number[]) => {
  const ma = mean(a);
  const mb = mean(b);
  return a.reduce((s, v, i) => s + (v - ma) * (b[i] - mb), 0) / (a.length - 1);
};
const statsOf = (y: number[], x: number[]): CovariateStats => ({ n: y.length, mean: mean(y), variance: cov(y, y), preMean: mean(x), preVariance: cov(x, x), covariance: cov(x, y) });

/** Writes an audience folder: members.csv and holdout.csv with the id column `id`. */
function audienceFolder(root: string, name: string, members: Array<string | number>, holdout: Array<string | number>): void {
  fs.mkdirSync(path.join(root, name), { recursive: true });
  fs.writeFileSync(path.join(root, name, 'members.csv'), ['id', ...members].join('\n') + '\n');
  fs.writeFileSync(path.join(root, name, 'holdout.csv'), ['id', ...holdout].join('\n') + '\n');
}

describe('lift statistics', () => {
  it('the normal tail matches scipy.stats.norm.sf', () => {
    // scipy 1.17: norm.sf(z) for these z.
    expect(normalTail(0)).toBeCloseTo(0.5, 15);
    expect(normalTail(1.959963984540054) / 0.025).toBeCloseTo(1, 12);
    expect(normalTail(3) / 0.0013498980316301035).toBeCloseTo(1, 12);
    // Beyond 7.07 the continued fraction: 1e-8 relative (a p-value of 1e-15).
    expect(normalTail(8) / 6.220960574271785e-16).toBeCloseTo(1, 7);
    expect(normalTail(-1) / 0.8413447460685429).toBeCloseTo(1, 12);
  });

  it('members [1,0,1,1] against holdout [0,0,1,0], by hand', () => {
    // Means 0.75 and 0.25, sample variances 0.25 each: se = sqrt(0.25/4 + 0.25/4) = sqrt(1/8).
    const e = liftOf({ n: 4, mean: 0.75, variance: 0.25 }, { n: 4, mean: 0.25, variance: 0.25 }, 10);
    const se = Math.sqrt(1 / 8);
    expect(e.lift).toBeCloseTo(0.5, 15);
    expect(e.liftLow).toBeCloseTo(0.5 - 1.959963984540054 * se, 12);
    expect(e.liftHigh).toBeCloseTo(0.5 + 1.959963984540054 * se, 12);
    expect(e.relativeLift).toBeCloseTo(2, 15);
    // z = 0.5 / sqrt(1/8) = sqrt(2); scipy: 2 * norm.sf(sqrt(2)) = 0.15729920705028522.
    expect(e.pValue).toBeCloseTo(0.15729920705028522, 12);
    expect(e.incremental).toBeCloseTo(5, 12);
    // (z_0.975 + z_0.8) se = 2.8015852181 x 0.3535533906 = 0.99050995.
    expect(e.minDetectableLift).toBeCloseTo(0.99050995, 7);
  });

  it('CUPED from group statistics equals the lift of the adjusted values themselves (any data)', () => {
    const arb = fc.array(fc.tuple(fc.double({ min: -50, max: 50, noNaN: true }), fc.double({ min: -50, max: 50, noNaN: true })), { minLength: 3, maxLength: 40 });
    fc.assert(
      fc.property(arb, arb, (m, h) => {
        const [ym, xm, yh, xh] = [m.map((p) => p[0]), m.map((p) => p[1]), h.map((p) => p[0]), h.map((p) => p[1])];
        const xs = [...xm, ...xh];
        const ys = [...ym, ...yh];
        const pooled = pooledCovariate(statsOf(ym, xm), statsOf(yh, xh));
        expect(pooled.preMean).toBeCloseTo(mean(xs), 8);
        expect(pooled.covariance).toBeCloseTo(cov(xs, ys), 6);
        if (cov(xs, xs) < 1e-6) return;
        const theta = cov(xs, ys) / cov(xs, xs);
        const adj = (y: number[], x: number[]) => y.map((v, i) => v - theta * (x[i] - mean(xs)));
        const direct = liftOf(statsOf(adj(ym, xm), xm), statsOf(adj(yh, xh), xh), 7);
        const cuped = cupedLiftOf(statsOf(ym, xm), statsOf(yh, xh), 7);
        expect(cuped.theta).toBeCloseTo(theta, 8);
        expect(cuped.lift).toBeCloseTo(direct.lift, 6);
        expect(cuped.liftHigh - cuped.liftLow).toBeCloseTo(direct.liftHigh - direct.liftLow, 5);
      }),
      { numRuns: 200 },
    );
  });
});

describe('CUPED in words', () => {
  it('says the variance removed, or that a covariate unrelated to the outcome removed none (not "removed -0.0%")', () => {
    expect(cupedEffect(0.4321)).toBe("removed 43.2% of the lift's variance");
    expect(cupedEffect(-0.0004)).toBe("did not reduce the lift's variance (it grew 0.04%: the covariate hardly relates to the outcome, and its estimated theta adds noise)");
    expect(cupedEffect(0.0001)).toBe("removed under 0.05% of the lift's variance: the covariate hardly relates to the outcome");
  });
});

describe('measureAudiences', () => {
  it('joins ids by value, counts unmatched ids and empty cells, lists an audience without holdout', async () => {
    const root = path.join(dir, 'hand');
    audienceFolder(path.join(root, 'auds'), 'a', [1, 2, '3.0', ' 4 ', 99], [5, 6, 7, 8]);
    audienceFolder(path.join(root, 'auds'), 'b', [1, 2], []);
    // id 9 is nobody's; 99 (a member) is not in the outcomes; 4's spend is empty.
    fs.writeFileSync(path.join(root, 'outcomes.csv'), 'id,bought,spend\n1,1,10\n2,0,0\n3,1,4\n4,1,\n5,0,0\n6,0,2\n7,1,6\n8,0,0\n9,1,1\n');
    const opts: MeasureOptions = { audiences: path.join(root, 'auds'), outcomes: [path.join(root, 'outcomes.csv')], id: 'id', outcomeColumns: ['bought', 'spend'] };
    const r = await measureAudiences(opts);
    const [a, b] = r.audiences;
    expect(b).toMatchObject({ name: 'b', members: 2, outcomes: [] });
    expect(b.notMeasurable).toMatch(/holdout is empty/);
    expect(a).toMatchObject({ name: 'a', members: 5, holdout: 4, unmatched: { members: 1, holdout: 0 } });
    const bought = a.outcomes[0];
    // Members 1..4: [1,0,1,1]; holdout: [0,0,1,0] (the hand case above), incremental = lift x 5 members.
    expect(bought).toMatchObject({ outcome: 'bought', nMembers: 4, nHoldout: 4, missing: { members: 0, holdout: 0 } });
    expect(bought.lift).toBeCloseTo(0.5, 12);
    expect(bought.pValue).toBeCloseTo(0.15729920705028522, 12);
    expect(bought.incremental).toBeCloseTo(2.5, 12);
    // Spend: members [10, 0, 4] (4's cell empty, left out), holdout [0, 2, 6, 0].
    const spend = a.outcomes[1];
    expect(spend).toMatchObject({ nMembers: 3, nHoldout: 4, missing: { members: 1, holdout: 0 } });
    expect(spend.memberMean).toBeCloseTo(14 / 3, 12);
    expect(spend.holdoutMean).toBeCloseTo(2, 12);

    // --missing zero: 99 and 4's empty spend count as 0.
    const z = (await measureAudiences({ ...opts, missing: 'zero' })).audiences[0];
    expect(z.outcomes[0]).toMatchObject({ nMembers: 5, memberMean: 0.6 });
    expect(z.outcomes[1]).toMatchObject({ nMembers: 5, memberMean: 14 / 5 });
  });

  it('agrees with an independent numpy/scipy computation (bench/peers/measure_peer.py)', async (ctx) => {
    if (spawnSync('python3', ['-c', 'import numpy, scipy'], { encoding: 'utf8' }).status !== 0) return ctx.skip();
    const root = path.join(dir, 'peer');
    const rng = new Rng(7);
    const lines = ['id,bought,spend,pre'];
    const members: number[] = [];
    const holdout: number[] = [];
    for (let i = 0; i < 3000; i++) {
      const pre = rng.next() * 40;
      const isMember = rng.next() < 0.8;
      (isMember ? members : holdout).push(i);
      const bought = rng.next() < (isMember ? 0.14 : 0.1) ? 1 : 0;
      // Every 37th id has no outcome row; every 53rd an empty spend.
      if (i % 37 === 0) continue;
      lines.push(`${i},${bought},${i % 53 === 0 ? '' : (pre * 0.8 + rng.normal() * 5 + 3 * bought).toFixed(3)},${pre.toFixed(3)}`);
    }
    fs.mkdirSync(root, { recursive: true });
    fs.writeFileSync(path.join(root, 'outcomes.csv'), lines.join('\n') + '\n');
    audienceFolder(path.join(root, 'auds'), 'campaign', members, holdout);
    audienceFolder(path.join(root, 'auds'), 'small', members.slice(0, 300), holdout.slice(0, 60));
    for (const missing of ['skip', 'zero'] as const) {
      const peer = spawnSync('python3', ['bench/peers/measure_peer.py', path.join(root, 'auds'), path.join(root, 'outcomes.csv'), 'id', 'bought,spend', '--pre', 'pre', '--missing', missing], { encoding: 'utf8' });
      expect(peer.stderr).toBe('');
      const expected = JSON.parse(peer.stdout).audiences;
      const ours = await measureAudiences({ audiences: path.join(root, 'auds'), outcomes: [path.join(root, 'outcomes.csv')], id: 'id', outcomeColumns: ['bought', 'spend'], pre: 'pre', missing });
      expect(ours.audiences.map((a) => a.name)).toEqual(expected.map((a: { name: string }) => a.name));
      for (const [i, a] of ours.audiences.entries()) {
        const e = expected[i];
        expect({ members: a.members, holdout: a.holdout, unmatched: a.unmatched }).toEqual({ members: e.members, holdout: e.holdout, unmatched: e.unmatched });
        for (const [k, o] of a.outcomes.entries()) {
          for (const [got, want] of [
            [o, e.outcomes[k]],
            [o.cuped, e.outcomes[k].cuped],
          ] as const) {
            for (const key of Object.keys(want)) {
              if (typeof want[key] !== 'number') continue;
              const g = (got as unknown as Record<string, number>)[key];
              expect(Math.abs(g - want[key]), `${missing} ${a.name} ${o.outcome} ${key}: ${g} vs ${want[key]}`).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(want[key])));
            }
          }
        }
      }
    }
  });

  it('Parquet outcomes with integer ids: ids compared as integers, an id that is no integer counted as unmatched', async () => {
    const root = path.join(dir, 'ints');
    fs.mkdirSync(root, { recursive: true });
    await writeFile(path.join(root, 'o.parquet'), [{ name: 'id', type: 'BIGINT' }, { name: 'y', type: 'DOUBLE' }], (async function* () {
      yield { rows: 4, columns: { id: BigInt64Array.from([1n, 2n, 3n, 4n]), y: Float64Array.from([1, 1, 0, 1]) } };
    })());
    // 'abc' twice and ' abc ' are one id that is no integer (counted once, by value), 'xyz' another.
    audienceFolder(path.join(root, 'auds'), 'a', ['1', ' 2.0', 'abc', 'abc', ' abc ', 'xyz'], ['+3', '004']);
    // The same with an integer id repeated: the grouping, not the bitmaps, counts them.
    audienceFolder(path.join(root, 'auds'), 'b', ['1', '1', ' 2.0', 'abc', 'abc', ' abc ', 'xyz'], ['+3', '004']);
    const r = await measureAudiences({ audiences: path.join(root, 'auds'), outcomes: [path.join(root, 'o.parquet')], id: 'id', outcomeColumns: ['y'] });
    for (const a of r.audiences) {
      expect(a).toMatchObject({ members: 4, holdout: 2, unmatched: { members: 2, holdout: 0 } });
      expect(a.outcomes[0]).toMatchObject({ nMembers: 2, nHoldout: 2, memberMean: 1, holdoutMean: 0.5 });
    }
  });

  it('breaks the lift down by the segment of the score run above the folder', async () => {
    const run = path.join(dir, 'run');
    fs.mkdirSync(run, { recursive: true });
    // Ids 0..19: segment 0 for 0..9, 1 for 10..19. Members: even ids, holdout: odd ids.
    const ids = BigInt64Array.from({ length: 20 }, (_, i) => BigInt(i));
    await writeFile(path.join(run, 'scores-00000.parquet'), [{ name: 'visitor', type: 'BIGINT' }, { name: 'seg_segment', type: 'INTEGER' }], (async function* () {
      yield { rows: 20, columns: { visitor: ids, seg_segment: Int32Array.from({ length: 20 }, (_, i) => (i < 10 ? 0 : 1)) } };
    })());
    fs.writeFileSync(path.join(run, 'manifest.json'), JSON.stringify({ files: [{ path: 'scores-00000.parquet', rows: 20 }], columns: [{ name: 'visitor', type: 'BIGINT' }, { name: 'seg_segment', type: 'INTEGER' }] }));
    const even = [...Array(10).keys()].map((i) => 2 * i);
    fs.mkdirSync(path.join(run, 'audiences', 'x'), { recursive: true });
    fs.writeFileSync(path.join(run, 'audiences', 'x', 'members.csv'), ['visitor', ...even].join('\n') + '\n');
    fs.writeFileSync(path.join(run, 'audiences', 'x', 'holdout.csv'), ['visitor', ...even.map((i) => i + 1)].join('\n') + '\n');
    // Outcome: segment 0 members convert 4 of 5, its holdout 1 of 5; segment 1: 2 of 5 each.
    const y = (i: number) => (i < 10 ? (i % 2 === 0 ? Number(i < 8) : Number(i === 1)) : Number(i % 4 < 2));
    fs.writeFileSync(path.join(run, 'outcomes.csv'), ['visitor,y', ...Array.from({ length: 20 }, (_, i) => `${i},${y(i)}`)].join('\n') + '\n');
    const r = await measureAudiences({ audiences: path.join(run, 'audiences'), outcomes: [path.join(run, 'outcomes.csv')], id: 'visitor', outcomeColumns: ['y'] });
    expect(r.segments?.columns).toEqual(['seg_segment']);
    const segs = r.audiences[0].outcomes[0].bySegment!;
    expect(segs.map((s) => [s.segment, s.nMembers, s.nHoldout])).toEqual([
      ['0', 5, 5],
      ['1', 5, 5],
    ]);
    expect(segs[0].memberMean).toBeCloseTo(0.8, 12);
    expect(segs[0].holdoutMean).toBeCloseTo(0.2, 12);
    expect(segs[0].incremental).toBeCloseTo(0.6 * 5, 12);
    expect(segs[1].memberMean).toBeCloseTo(segs[1].holdoutMean, 12);
  });

  it('integer ids: the bitmap check, the grouping it falls back to and text ids give one result (property)', async () => {
    const root = path.join(dir, 'paths');
    // Ids 0..60 written as 7, "07", " 7 " or "7.0"; "abc"; 2^40 (then the ids span too much for a bitmap): repeats and all.
    const idText = fc.oneof(
      { weight: 12, arbitrary: fc.tuple(fc.integer({ min: 0, max: 60 }), fc.constantFrom('', '0', ' ', '.0')).map(([n, f]) => (f === '0' ? `0${n}` : f === ' ' ? ` ${n} ` : `${n}${f}`)) },
      { weight: 1, arbitrary: fc.constantFrom('abc', String(2 ** 40)) },
    );
    const value = (t: string) => (t.trim() === 'abc' ? t : String(Number(t)));
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(idText, { minLength: 1, maxLength: 12 }), fc.array(idText, { minLength: 1, maxLength: 6 }), fc.array(fc.constantFrom(0, 1), { minLength: 32, maxLength: 32 }), async (members, held, ys) => {
        // A text id that is no integer is counted once a row on the integer path (not once a value), and a group of only such ids is not measured there: each at most once, beside integers.
        const holdout = held.filter((h) => !members.some((m) => value(m) === value(h)));
        const integers = (xs: string[]) => xs.filter((x) => x !== 'abc').length > 0 && xs.filter((x) => x === 'abc').length <= 1;
        if (!integers(members) || !integers(holdout)) return;
        const d = path.join(root, String(run++));
        audienceFolder(path.join(d, 'auds'), 'a', members, holdout);
        // Outcomes for the even ids and 2^40: one row each.
        const ids = [...Array.from({ length: 31 }, (_, i) => 2 * i), 2 ** 40];
        await writeFile(path.join(d, 'o.parquet'), [{ name: 'id', type: 'BIGINT' }, { name: 'y', type: 'DOUBLE' }], (async function* () {
          yield { rows: ids.length, columns: { id: BigInt64Array.from(ids, BigInt), y: Float64Array.from(ids, (_, i) => ys[i]) } };
        })());
        fs.writeFileSync(path.join(d, 'o.csv'), ['id,y', ...ids.map((id, i) => `${id},${ys[i]}`)].join('\n') + '\n');
        const measure = (file: string) => measureAudiences({ audiences: path.join(d, 'auds'), outcomes: [path.join(d, file)], id: 'id', outcomeColumns: ['y'] }).then((r) => r.audiences[0]);
        if (![...members, ...holdout].some((m) => Number(value(m)) % 2 === 0)) {
          // No id has an outcome: both refuse.
          for (const file of ['o.parquet', 'o.csv']) await expect(measure(file)).rejects.toThrow(/none of the \d+ member and holdout ids is in column "id"/);
          return;
        }
        const [ints, texts] = [await measure('o.parquet'), await measure('o.csv')];
        expect(ints).toMatchObject({ members: new Set(members.map(value)).size, holdout: new Set(holdout.map(value)).size, unmatched: texts.unmatched });
        expect(ints.holdout).toBe(texts.holdout);
        for (const k of ['nMembers', 'nHoldout', 'memberMean', 'holdoutMean', 'lift'] as const) expect(ints.outcomes[0]?.[k] ?? null).toEqual(texts.outcomes[0]?.[k] ?? null);
      }),
      { numRuns: 25 },
    );
    // An id in both groups is refused on the bitmap's path too, with an example.
    audienceFolder(path.join(root, 'both', 'auds'), 'a', [2, 4, 6], ['4.0', 8]);
    await writeFile(path.join(root, 'both', 'o.parquet'), [{ name: 'id', type: 'BIGINT' }], (async function* () {
      yield { rows: 3, columns: { id: BigInt64Array.from([2n, 4n, 8n]) } };
    })());
    await expect(measureAudiences({ audiences: path.join(root, 'both', 'auds'), outcomes: [path.join(root, 'both', 'o.parquet')], id: 'id', outcomeColumns: ['id'] })).rejects.toThrow(/audience "a": 1 ids are both in .*members.csv and in .*holdout.csv \(e.g. "4"\)/);
  });

  it('refuses an id in both groups, an id repeated in the outcomes, a missing pre value, a missing column', async () => {
    const root = path.join(dir, 'bad');
    fs.mkdirSync(root, { recursive: true });
    fs.writeFileSync(path.join(root, 'o.csv'), 'id,y,pre\n1,1,2\n2,0,\n3,1,1\n3,0,1\n4,0,1\n');
    const base = { outcomes: [path.join(root, 'o.csv')], id: 'id', outcomeColumns: ['y'] };
    audienceFolder(path.join(root, 'overlap'), 'a', [1, 2], ['2.0', 4]);
    await expect(measureAudiences({ ...base, audiences: path.join(root, 'overlap') })).rejects.toThrow(/audience "a": 1 ids are both in .*members.csv and in .*holdout.csv \(e.g. "2"\)/);
    audienceFolder(path.join(root, 'repeat'), 'a', [1, 3], [4]);
    await expect(measureAudiences({ ...base, audiences: path.join(root, 'repeat') })).rejects.toThrow(/id "3" is on 2 rows of column "id"; the outcomes hold one row per id/);
    audienceFolder(path.join(root, 'pre'), 'a', [1, 2], [4]);
    await expect(measureAudiences({ ...base, audiences: path.join(root, 'pre'), pre: 'pre' })).rejects.toThrow(/1 measured ids have outcome "y" but no --pre value in "pre"; .*--missing zero/);
    await expect(measureAudiences({ ...base, audiences: path.join(root, 'pre'), outcomeColumns: ['bought'] })).rejects.toThrow(/o.csv: --outcome column "bought" not found \(columns: id, y, pre\)/);
    await expect(measureAudiences({ ...base, audiences: path.join(root, 'pre'), id: 'visitor' })).rejects.toThrow(/members.csv: no id column "visitor"|--id column "visitor" not found/);
  });
});

describe('audience measure (CLI)', () => {
  it('prints the table, writes the JSON and the page whole, and exits 2 on bad input', async () => {
    const root = path.join(dir, 'cli');
    audienceFolder(path.join(root, 'auds'), 'a', [1, 2, 3, 4], [5, 6, 7, 8]);
    fs.writeFileSync(path.join(root, 'o.csv'), 'id,y\n1,1\n2,0\n3,1\n4,1\n5,0\n6,0\n7,1\n8,0\n');
    let stdout = '';
    let stderr = '';
    const out = vi.spyOn(process.stdout, 'write').mockImplementation((c) => ((stdout += String(c)), true));
    const err = vi.spyOn(process.stderr, 'write').mockImplementation((c) => ((stderr += String(c)), true));
    try {
      const json = path.join(root, 'm.json');
      fs.writeFileSync(json, 'earlier');
      const args = ['measure', '--audiences', path.join(root, 'auds'), '--outcomes', path.join(root, 'o.csv'), '--id', 'id', '--outcome', 'y'];
      expect(await main([...args, '--out', json, '--report', path.join(root, 'm.html'), '--overwrite'])).toBe(0);
      expect(stdout).toMatch(/a\s+y\s+4\s+4\s+0\.7500\s+0\.2500\s+\+0\.5000/);
      const written = JSON.parse(fs.readFileSync(json, 'utf8'));
      expect(written.audiences[0]).toMatchObject({ name: 'a', members: 4, holdout: 4, unmatched: { members: 0, holdout: 0 } });
      expect(Object.keys(written.audiences[0].outcomes[0])).toEqual(expect.arrayContaining(['outcome', 'memberMean', 'holdoutMean', 'lift', 'liftLow', 'liftHigh', 'relativeLift', 'pValue', 'incremental']));
      expect(fs.readFileSync(path.join(root, 'm.html'), 'utf8')).toMatch(/<h2>a<\/h2>/);
      // A bad outcome column: exit 2, one line naming the file and column; the earlier JSON stays, with --overwrite too.
      fs.writeFileSync(json, 'earlier');
      stderr = '';
      expect(await main([...args.slice(0, -1), 'nope', '--out', json, '--overwrite'])).toBe(2);
      expect(stderr).toMatch(/^error: .*o\.csv: --outcome column "nope" not found/);
      expect(fs.readFileSync(json, 'utf8')).toBe('earlier');
      expect(fs.readdirSync(root).filter((f) => f.includes('.tmp'))).toEqual([]);
    } finally {
      out.mockRestore();
      err.mockRestore();
    }
  });
});

describe('audience measure --campaign-data', () => {
  it("writes the campaign's table for train uplift: the scored inputs' columns, treatment and outcomes, by id", async () => {
    const run = path.join(dir, 'campaign-run');
    fs.mkdirSync(path.join(run, 'audiences', 'a'), { recursive: true });
    const input = path.join(dir, 'visitors.csv');
    // 'y' is an input column too: the outcome's value wins, the input's is left out.
    fs.writeFileSync(input, 'id,age,city,y\n1,30,Rome,9\n2,40,Oslo,9\n3,50,Lima,9\n4,60,Rome,9\n5,70,Oslo,9\n');
    fs.writeFileSync(path.join(run, 'manifest.json'), JSON.stringify({ files: [], columns: [], inputs: [input] }));
    fs.writeFileSync(path.join(run, 'audiences', 'a', 'members.csv'), 'id\n1\n2\n');
    fs.writeFileSync(path.join(run, 'audiences', 'a', 'holdout.csv'), 'id\n3\n4.0\n');
    fs.writeFileSync(path.join(run, 'o.csv'), 'id,y\n1,1\n2,0\n3,1\n');
    const file = path.join(dir, 'campaign-table.parquet');
    await measureAudiences({ audiences: path.join(run, 'audiences'), outcomes: [path.join(run, 'o.csv')], id: 'id', outcomeColumns: ['y'], campaignData: { file } });
    const data = await openDataset([file]);
    expect(data.columns.map((c) => c.name)).toEqual(['id', 'age', 'city', 'treatment', 'y']);
    const rows: string[] = [];
    for await (const b of data.read(['id', 'age', 'city', 'treatment', 'y'].map((name) => ({ name, as: 'text' as const })))) {
      for (let i = 0; i < b.rows; i++) rows.push(['id', 'age', 'city', 'treatment', 'y'].map((c) => String((b.columns.get(c) as (string | null)[])[i])).join(','));
    }
    // Members first; id 4 has no outcome (null), id 5 is in neither group.
    expect(rows).toEqual(['1,30.0,Rome,1,1.0', '2,40.0,Oslo,1,0.0', '3,50.0,Lima,0,1.0', '4,60.0,Rome,0,null']);
  });
});

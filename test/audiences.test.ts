import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { referenceResolver } from '../src/audiences/build.js';
import { parseAudiences } from '../src/audiences/definition.js';
import { identifierText, normalizeEmail, normalizePhone, phoneForPlatform, sha256Hex } from '../src/audiences/identifiers.js';
import { compile, parseRule } from '../src/audiences/rules.js';
import { ruleSql, SqlParams, sqlColumn } from '../src/audiences/sql.js';
import { numberColumn, textColumn } from '../src/io/columns.js';
import { openDataset } from '../src/io/dataset.js';
import { PartWriter, type OutputColumn } from '../src/io/writer.js';
import { finalizeParts } from '../src/scoring/finalize.js';
import type { AudienceSet } from '../src/audiences/definition.js';
import type { ScoringModel } from '../src/models/model.js';

describe('rule language', () => {
  it.each([
    ['purchase.score >== 70', /at column 16: unknown operator ">=="/],
    ['purchase.score >= ', /at column 19: expected a number, a "quoted string", true or false, found the end of the rule/],
    ['(purchase.score > 1', /at column 20: expected "\)" to close the "\(" at column 1/],
    ['behavior.segment in [2, 5', /at column 26: expected "," or "\]" in the list/],
    ['purchase.score >= 5%', /at column 19: a percentage applies to a rank/],
    ['purchase.score > 1 lookalike.rank < 3', /at column 20: expected "and", "or" or the end of the rule, found "lookalike.rank"/],
    ['and x > 1', /at column 1: expected a score or column name/],
    ['name = "open', /at column 8: unterminated string/],
    ['', /the rule is empty/],
    ['`order value > 1', /at column 1: unterminated column name/],
  ])('rejects %j with the position', (rule, message) => {
    expect(() => parseRule(rule)).toThrow(message);
  });

  it('evaluates and / or / not / in / is null with missing values false', () => {
    const rows: Array<Record<string, number | string | null>> = [
      { 'p.score': 80, 'b.segment': 2, country: 'US' },
      { 'p.score': 50, 'b.segment': 5, country: 'DE' },
      { 'p.score': NaN, 'b.segment': 1, country: null },
    ];
    const test = (src: string) => {
      const f = compile(parseRule(src), (ref, i) => rows[i][ref] ?? null, () => 0);
      return rows.map((_, i) => f(i));
    };
    expect(test('p.score >= 70')).toEqual([true, false, false]);
    expect(test('not p.score >= 70')).toEqual([false, true, true]);
    expect(test('b.segment in [2, 5] and country != "US"')).toEqual([false, true, false]);
    expect(test('p.score < 60 or country is null')).toEqual([false, true, true]);
    expect(test('(p.score > 10 or b.segment = 1) and not country = "DE"')).toEqual([true, false, true]);
  });

  it('reads a column whose name is not a plain word in backquotes, never as a keyword', () => {
    const rows: Array<Record<string, number | null>> = [{ 'order value': 150, and: 1, '2nd visit': 0 }, { 'order value': 50, and: 0, '2nd visit': 1 }];
    const test = (src: string) => rows.map((_, i) => compile(parseRule(src), (ref, j) => rows[j][ref] ?? null, () => 0)(i));
    expect(test('`order value` > 100 and `and` = 1')).toEqual([true, false]);
    expect(test('`2nd visit` = 1 or emp.var.rate is not null')).toEqual([false, true]);
  });

  it('turns rank <= N% into an exact count of the ranked visitors', () => {
    const f = compile(parseRule('look.rank <= 5%'), (_ref, i) => i + 1, () => 1000);
    expect(Array.from({ length: 1000 }, (_, i) => f(i)).filter(Boolean)).toHaveLength(50);
  });
});

describe('rule types', () => {
  const sql = (rule: string, type: 'DOUBLE' | 'VARCHAR') => () => ruleSql(parseRule(rule), (ref) => sqlColumn(ref, type), () => 0, new SqlParams());
  it('refuses comparisons that could never hold for the column (they selected nobody without a word)', () => {
    expect(sql('vip = "true"', 'DOUBLE')).toThrow(/"vip" holds numbers \(a yes\/no or true\/false column as 1\/0\), so it never equals the text "true"; write vip = true/);
    expect(sql('vip in [1, "yes"]', 'DOUBLE')).toThrow(/never equals the text "yes"/);
    expect(sql('tier >= 5', 'VARCHAR')).toThrow(/"tier" holds text: <, <=, > and >= compare numbers/);
  });
  it('takes the comparisons that can hold', () => {
    for (const [rule, type] of [['vip = true', 'DOUBLE'], ['vip = "1"', 'DOUBLE'], ['tier = 5', 'VARCHAR'], ['tier in ["gold", 5]', 'VARCHAR'], ['x >= 2', 'DOUBLE']] as const) {
      expect(sql(rule, type), rule).not.toThrow();
    }
  });
});

describe('rule references', () => {
  it('a model named with dots is found (split at the last dot); a dotted input column stays a column', () => {
    const models = [{ manifest: { name: 'p.q', kind: 'kmeans' } }, { manifest: { name: 'buy', kind: 'propensity' } }] as unknown as ScoringModel[];
    const resolve = referenceResolver(models);
    expect(resolve('p.q.segment')).toEqual({ column: 'p.q_segment', fromModel: true });
    expect(resolve('propensity.probability')).toEqual({ column: 'buy_probability', fromModel: true });
    expect(resolve('emp.var.rate')).toEqual({ column: 'emp.var.rate', fromModel: false });
  });
});

describe('identifiers for customer match', () => {
  it('normalizes and hashes emails to the known SHA-256 vectors', () => {
    expect(sha256Hex('test@example.com')).toBe('973dfe463ec85785f5f95af5ba3906eedb2d931c24e69824a89ea65dba4e813b');
    expect(sha256Hex(normalizeEmail('  Test@Example.COM ')!)).toBe('973dfe463ec85785f5f95af5ba3906eedb2d931c24e69824a89ea65dba4e813b');
    expect(normalizeEmail('not an email')).toBeNull();
    // Not addresses, counted as invalid rather than hashed as written (no platform would match them).
    for (const bad of ['<c@x.com>', 'f@x.com.', 'a@x', 'a@@x.com', '.a@x.com', 'a..b@x.com', 'a@-x.com', 'a b@x.com', 'a@x.c']) expect(normalizeEmail(bad), bad).toBeNull();
    for (const good of ["o'brien+ads@mail.example.co.uk", 'x_y.z@sub-domain.example.xn--p1ai', 'A1@B2.IO']) expect(normalizeEmail(good), good).toBe(good.toLowerCase());
  });

  it('normalizes phones to E.164 by libphonenumber rules before hashing', () => {
    expect(normalizePhone('+1 (415) 555-0100')).toBe('+14155550100');
    expect(normalizePhone('(415) 555-0100', '1')).toBe('+14155550100');
    expect(normalizePhone('(415) 555-0100', 'US')).toBe('+14155550100');
    // The national prefix "1" is not a second country code.
    expect(normalizePhone('14155550100', '1')).toBe('+14155550100');
    // The trunk prefix "(0)" is dropped; an extension is not part of the number.
    expect(normalizePhone('+44 (0)20 7946 0103')).toBe('+442079460103');
    expect(normalizePhone('+1-415-555-0111 ext. 22')).toBe('+14155550111');
    expect(normalizePhone('0044 20 7946 0958', 'GB')).toBe('+442079460958');
    // A calling code stands for its main region, whose international prefix then parses too.
    expect(normalizePhone('011 44 20 7946 0114', '1')).toBe('+442079460114');
    expect(normalizePhone('020 7946 0958', '44')).toBe('+442079460958');
    // Too short, too long for the country, or no country known: refused.
    expect(normalizePhone('555-0110', '1')).toBeNull();
    expect(normalizePhone('447700900107', '1')).toBeNull();
    expect(normalizePhone('415 555 0100')).toBeNull();
    expect(normalizePhone('   ')).toBeNull();
    // A number stored as DOUBLE reads as its digits, once.
    expect(normalizePhone(identifierText(14155550100), '1')).toBe('+14155550100');
    expect(identifierText(null)).toBeNull();
  });

  it('hashes each platform\'s form: Google E.164 with "+", Meta digits only', () => {
    // sha256 of the UTF-8 text "+14155550100" and "14155550100" (sha256sum).
    expect(sha256Hex(phoneForPlatform('+14155550100', 'google'))).toBe('40d3f4e02db27d66cf4cfdda506c2c945f115a7955cc8491dda98ce5beabcda0');
    expect(sha256Hex(phoneForPlatform('+14155550100', 'meta'))).toBe('5e7ec4c79ccac6e420876e65ad0e6b4b2ccf73ec3dccb50297bf2890a1ec73b9');
  });
});

describe('definitions', () => {
  it.each([
    [{}, /"audiences" must be a non-empty list/],
    [{ audiences: [{ name: '9x', rule: 'a > 1' }] }, /"name" must be/],
    [{ audiences: [{ name: 'a', rule: 'x > 1', holdout: 1 }] }, /audience "a": "holdout" must be a share/],
    [{ audiences: [{ name: 'a', rule: 'x > 1', suppress: { audiences: ['b'] } }] }, /suppresses audience "b", which must be defined before it/],
    [{ audiences: [{ name: 'a', rule: 'x >' }] }, /audience "a": rule: at column 4/],
    [{ audiences: [{ name: 'a', rule: 'x > 1', cap: { size: 0 } }] }, /audience "a": "cap.size" must be an integer >= 1/],
    [{ audiences: [{ name: 'a', rule: 'x > 1' }], identifiers: { fax: 'f' } }, /unknown key "fax"/],
    [{ audiences: [{ name: 'Top', rule: 'x > 1' }, { name: 'top', rule: 'x > 2' }] }, /audience "top" and audience "Top" differ only in case/],
  ])('rejects %j', (raw, message) => {
    expect(() => parseAudiences(raw, 'aud.json')).toThrow(message);
  });
});

describe('building audiences from scores', () => {
  let dir: string;
  const N = 2000;
  const columns: OutputColumn[] = [
    { name: 'visitor_id', type: 'BIGINT' },
    { name: 'p_probability', type: 'FLOAT' },
    { name: 'look_rank', type: 'INTEGER' },
    { name: 'email', type: 'VARCHAR' },
  ];
  const models = [
    { manifest: { name: 'p', kind: 'propensity' } },
    { manifest: { name: 'look', kind: 'lookalike' } },
  ] as unknown as ScoringModel[];

  /** The scores staged in `scores/.shards/` (parts of 700 rows). */
  async function scores(): Promise<{ path: string; rows: number }[]> {
    const out = path.join(dir, 'scores');
    fs.rmSync(out, { recursive: true, force: true });
    const w = new PartWriter(path.join(out, '.shards'), 'scores', columns, 700);
    const id = BigInt64Array.from({ length: N }, (_, i) => BigInt(i + 1));
    const prob = Float32Array.from({ length: N }, (_, i) => (i % 100) / 100);
    // Rows 0-99 are seeds (no rank); the others ranked 1..1900 in reverse row order.
    const rank = Float64Array.from({ length: N }, (_, i) => (i < 100 ? NaN : N - i));
    const email = Array.from({ length: N }, (_, i) => (i % 2 ? null : ` Visitor${i + 1}@Example.com`));
    await w.write(N, { visitor_id: id, p_probability: prob, look_rank: rank, email });
    return w.close();
  }

  /** The finalize over the staged scores: membership columns and audience files in `scores/`. */
  async function buildAudiences(files: { path: string; rows: number }[], set: AudienceSet) {
    const parts = files.map((f, index) => ({ index, ...f }));
    const done = await finalizeParts({ dir: path.join(dir, 'scores'), parts, columns, ranked: [], idColumn: 'visitor_id', hasIds: true, audiences: { set, models } });
    return done.audiences!;
  }

  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ae-aud-'));
    fs.writeFileSync(path.join(dir, 'customers.csv'), 'id\n2\n4\n6\n8\n99999\n');
  });

  it('applies rules, exact rank shares, id and audience suppression, caps and a stable holdout', async () => {
    const set = parseAudiences(
      {
        identifiers: { email: 'email' },
        audiences: [
          { name: 'top10', rule: 'look.rank <= 10%' },
          { name: 'likely', rule: 'p.probability >= 0.5', suppress: { ids: 'customers.csv', audiences: ['top10'] }, holdout: 0.2 },
          { name: 'capped', rule: 'propensity.probability >= 0.9', cap: { size: 7 } },
          // Capped by its rank: the best are the lowest ranks (1 = most similar), not the highest.
          { name: 'closest', rule: 'look.rank <= 10%', cap: { size: 5 } },
        ],
      },
      path.join(dir, 'aud.json'),
    );
    const files = await scores();
    const result = await buildAudiences(files, set);
    const [top10, likely, capped, closest] = result.summaries;
    expect(closest.members).toBe(5);
    expect(top10.members).toBe(190); // exactly 10% of the 1,900 ranked visitors
    expect(capped.members).toBe(7);
    // probability >= 0.9 holds on 10 rows per 100, 0.90 included although float32(0.9) < 0.9.
    expect(capped.removed.capped).toBe(20 * 10 - 7);
    // likely: probability >= 0.5 holds on 1,000 rows; every one ends up a member, in the holdout, or removed.
    const totalLikely = likely.members + likely.holdout;
    expect(totalLikely + likely.removed.suppressedIds + likely.removed.suppressedAudiences).toBe(1000);
    expect(likely.holdout / totalLikely).toBeGreaterThan(0.12);
    expect(likely.holdout / totalLikely).toBeLessThan(0.28);

    // Membership columns agree with the files; the activation export hashes the normalized emails.
    const scored = await openDataset([path.join(dir, 'scores/scores-*.parquet')]);
    const closestRanks: number[] = [];
    for await (const b of scored.read([{ name: 'aud_closest', as: 'text' }, { name: 'look_rank', as: 'number' }])) {
      const status = textColumn(b, 'aud_closest');
      const rank = numberColumn(b, 'look_rank');
      for (let i = 0; i < b.rows; i++) if (status[i] !== null) closestRanks.push(rank[i]);
    }
    expect(closestRanks.sort((x, y) => x - y)).toEqual([1, 2, 3, 4, 5]);
    const byStatus = new Map<string, number>();
    for await (const b of scored.read([{ name: 'aud_likely', as: 'text' }, { name: 'aud_top10', as: 'text' }])) {
      for (const v of textColumn(b, 'aud_likely')) byStatus.set(String(v), (byStatus.get(String(v)) ?? 0) + 1);
      const t = textColumn(b, 'aud_top10');
      const l = textColumn(b, 'aud_likely');
      for (let i = 0; i < b.rows; i++) expect(t[i] !== null && l[i] !== null).toBe(false); // suppressed by top10
    }
    expect(byStatus.get('member')).toBe(likely.members);
    expect(byStatus.get('holdout')).toBe(likely.holdout);
    const members = await openDataset([path.join(dir, 'scores/audiences/likely/members.parquet')]);
    expect(members.rowCount).toBe(likely.members);
    const activation = fs.readFileSync(path.join(dir, 'scores/audiences/likely/activation-google.csv'), 'utf8').trim().split('\n');
    expect(activation[0]).toBe('email_sha256,phone_sha256');
    expect(activation.length - 1).toBe(likely.activation.rows);
    expect(activation.every((l, i) => i === 0 || /^[0-9a-f]{64},$/.test(l))).toBe(true);

    // The holdout draw depends only on the id: a second run puts the same visitors there.
    const again = await buildAudiences(await scores(), set);
    expect(again.summaries[1].holdout).toBe(likely.holdout);
    expect(result.overlap.find((o) => o.a === 'top10' && o.b === 'likely')!.both).toBe(0);
  });

  it('suppression by an id list removes exactly the listed ids', async () => {
    const set = parseAudiences(
      { audiences: [{ name: 'all', rule: 'p.probability >= 0', suppress: { ids: 'customers.csv' } }] },
      path.join(dir, 'aud2.json'),
    );
    const files = await scores();
    const [all] = (await buildAudiences(files, set)).summaries;
    expect(all.removed.suppressedIds).toBe(4); // 2, 4, 6, 8 (99999 is not a visitor)
    expect(all.members).toBe(N - 4);
    const ids: number[] = [];
    for await (const b of (await openDataset([path.join(dir, 'scores/audiences/all/members.parquet')])).read([{ name: 'visitor_id', as: 'number' }])) ids.push(...numberColumn(b, 'visitor_id'));
    expect(ids.filter((i) => [2, 4, 6, 8].includes(i))).toEqual([]);
    expect(ids).toHaveLength(N - 4);
  });

  it('names an unknown score with what the model has', async () => {
    const set = parseAudiences({ audiences: [{ name: 'x', rule: 'p.scroe >= 1' }] }, path.join(dir, 'aud3.json'));
    await expect(buildAudiences(await scores(), set)).rejects.toThrow(
      /audience "x": "p.scroe" is not a score or column of this run \(that model has: probability\)/,
    );
  });

  it('names the definitions file in a bad cap.by, as in its other errors', async () => {
    const file = path.join(dir, 'aud4.json');
    const capBy = (by: string) => parseAudiences({ audiences: [{ name: 'c', rule: 'p.probability >= 0.5', cap: { size: 3, by } }] }, file);
    const files = await scores();
    await expect(buildAudiences(files, capBy('p.scroe'))).rejects.toThrow(`${file}: audience "c": cap.by: "p.scroe" is not a score or column of this run (that model has: probability)`);
    await expect(buildAudiences(files, capBy('email'))).rejects.toThrow(`${file}: audience "c": cap.by "email" is not numeric`);
  });
});

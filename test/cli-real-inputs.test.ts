/**
 * The CLI on inputs as users bring them: ids written as floats, repeated ids, phone numbers
 * as people type them, identifier columns of other types, values far outside the training
 * range, a model store with stray files. Expected values are written out by hand.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { connect } from '../src/io/duckdb.js';

const BIN = path.resolve('bin/audience.js');
let dir: string;

function audience(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: dir, encoding: 'utf8', env: { ...process.env, AUDIENCE_MODEL_STORE: path.join(dir, 'models') } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const sha = (s: string) => createHash('sha256').update(s).digest('hex');
const lines = (file: string) => fs.readFileSync(path.join(dir, file), 'utf8').trim().split('\n');
const summary = (out: string) => JSON.parse(fs.readFileSync(path.join(dir, out, 'audiences/summary.json'), 'utf8')).summaries;

/** Visitors with a float-written id ("1.0"), two behavior groups, emails and phones. */
function visitorsCsv(n: number, id: (i: number) => string, phone: (i: number) => string = () => ''): string {
  const rows = Array.from({ length: n }, (_, i) => `${id(i)},${i % 2 ? 20 + (i % 7) : i % 5},${i % 2 ? 300 + i : 10 + (i % 9)},u${i}@Example.com ,${phone(i)}`);
  return `visitor_id,sessions,page_views,email,phone\n${rows.join('\n')}\n`;
}

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ae-cli-real-'));
  fs.writeFileSync(path.join(dir, 'v.csv'), visitorsCsv(400, (i) => `${i + 1}.0`));
  const train = audience('train', 'kmeans', '--input', 'v.csv', '--id', 'visitor_id', '--exclude', 'email,phone', '--k', '2', '--name', 'seg', '--quiet');
  expect(train.stderr).toBe('');
  expect(train.code).toBe(0);
});

describe('ids as writers store them', () => {
  it('suppresses float-written ids with an integer id list, and reports how many matched', () => {
    fs.writeFileSync(path.join(dir, 'customers.csv'), `visitor_id\n${Array.from({ length: 100 }, (_, i) => i + 1).join('\n')}\n`);
    fs.writeFileSync(path.join(dir, 'others.csv'), `visitor_id\n${Array.from({ length: 50 }, (_, i) => 10_000 + i).join('\n')}\n`);
    fs.writeFileSync(
      path.join(dir, 'supp.json'),
      JSON.stringify({
        audiences: [
          { name: 'prospects', rule: 'seg.segment >= 0', suppress: { ids: 'customers.csv' } },
          { name: 'wrong_list', rule: 'seg.segment >= 0', suppress: { ids: 'others.csv' } },
        ],
      }),
    );
    const r = audience('score', '--input', 'v.csv', '--model', 'seg', '--audiences', 'supp.json', '--output', 'supp', '--quiet');
    expect(r.code).toBe(0);
    const [prospects, wrong] = summary('supp');
    expect(prospects.members).toBe(300);
    expect(prospects.removed.suppressedIds).toBe(100);
    expect(prospects.suppressList).toMatchObject({ ids: 100, matched: 100 });
    expect(wrong.suppressList).toMatchObject({ ids: 50, matched: 0 });
    expect(r.stderr).toMatch(/warning: audience "wrong_list": suppress\.ids .*others\.csv: only 0 of 50 ids \(0\.0%\) are scored visitors/);
    expect(r.stdout).toMatch(/suppression list .*customers\.csv: 100 of 100 ids \(100\.0%\) are scored visitors/);
  });

  it('lists a repeated id once in an audience and says so', () => {
    fs.writeFileSync(path.join(dir, 'dup.csv'), visitorsCsv(60, (i) => String((i % 30) + 1)));
    fs.writeFileSync(path.join(dir, 'all.json'), JSON.stringify({ audiences: [{ name: 'all', rule: 'seg.segment >= 0' }] }));
    const r = audience('score', '--input', 'dup.csv', '--model', 'seg', '--audiences', 'all.json', '--output', 'dup', '--quiet');
    expect(r.code).toBe(0);
    const members = lines('dup/audiences/all/members.csv').slice(1);
    expect(members.length).toBe(30);
    expect(new Set(members).size).toBe(30);
    expect(summary('dup')[0].removed.duplicateIds).toBe(30);
    expect(r.stderr).toMatch(/30 rows repeat an id already in the audience/);
    expect(r.stdout).toMatch(/30 rows repeat the id of an earlier row/);
  });

  it('refuses a seed list that mostly does not match the population', () => {
    fs.writeFileSync(path.join(dir, 'seeds.csv'), `visitor_id\n${Array.from({ length: 200 }, (_, i) => 5000 + i).join('\n')}\n`);
    const r = audience('train', 'lookalike', '--input', 'v.csv', '--id', 'visitor_id', '--exclude', 'email,phone', '--seed-ids', 'seeds.csv', '--name', 'lal', '--quiet');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/only 0 of 200 seeds are in the population \(under 50%\)/);
  });

  it('takes a seed filter on a numeric column', () => {
    const r = audience('train', 'lookalike', '--input', 'v.csv', '--id', 'visitor_id', '--exclude', 'email,phone', '--seed-filter', 'sessions = 20', '--min-seeds', '10', '--name', 'lal2', '--quiet');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Seeds: \d+ of \d+ found/);
  });
});

describe('activation files per ad platform', () => {
  it('normalizes phones with libphonenumber and hashes each platform\'s form; invalid values are counted, never hashed', () => {
    const phones = ['+1 (415) 555-0100', '14155550101', '+44 (0)20 7946 0103', '+1-415-555-0111 ext. 22', '555-0110', '', 'not a phone'];
    fs.writeFileSync(path.join(dir, 'contacts.csv'), visitorsCsv(7, (i) => String(i + 1), (i) => `"${phones[i]}"`));
    fs.writeFileSync(
      path.join(dir, 'act.json'),
      JSON.stringify({ identifiers: { email: 'email', phone: 'phone', defaultCountryCode: '1' }, audiences: [{ name: 'all', rule: 'seg.segment >= 0' }] }),
    );
    const r = audience('score', '--input', 'contacts.csv', '--model', 'seg', '--audiences', 'act.json', '--output', 'act', '--quiet');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const valid = ['+14155550100', '+14155550101', '+442079460103', '+14155550111'];
    const google = lines('act/audiences/all/activation-google.csv');
    const meta = lines('act/audiences/all/activation-meta.csv');
    expect(google[0]).toBe('email_sha256,phone_sha256');
    const phoneHashes = (rows: string[]) => rows.slice(1).map((l) => l.split(',')[1]).filter(Boolean);
    expect(phoneHashes(google)).toEqual(valid.map(sha));
    expect(phoneHashes(meta)).toEqual(valid.map((p) => sha(p.slice(1))));
    // Emails: trimmed and lower-cased, the same for both platforms.
    expect(google[1].split(',')[0]).toBe(sha('u0@example.com'));
    expect(meta[1].split(',')[0]).toBe(sha('u0@example.com'));
    const act = summary('act')[0].activation;
    expect(act).toMatchObject({ rows: 7, emails: 7, phones: 4, invalidPhones: 2 });
  });

  it('writes only the platforms asked for', () => {
    fs.writeFileSync(path.join(dir, 'meta.json'), JSON.stringify({ identifiers: { email: 'email' }, platforms: ['meta'], audiences: [{ name: 'all', rule: 'seg.segment >= 0' }] }));
    expect(audience('score', '--input', 'contacts.csv', '--model', 'seg', '--audiences', 'meta.json', '--output', 'meta', '--quiet').code).toBe(0);
    expect(fs.readdirSync(path.join(dir, 'meta/audiences/all')).filter((f) => f.startsWith('activation')).sort()).toEqual(['activation-meta.csv']);
  });

  it('exports nothing (and does not fail) from an identifier column that is all null and typed INTEGER', async () => {
    const file = path.join(dir, 'nullmail.parquet');
    const con = await connect();
    await con.run(`COPY (SELECT i + 1 AS visitor_id, i % 9 AS sessions, i * 3 AS page_views, CAST(NULL AS INTEGER) AS email FROM range(50) t(i)) TO '${file}' (FORMAT parquet)`);
    con.closeSync();
    fs.writeFileSync(path.join(dir, 'mail.json'), JSON.stringify({ identifiers: { email: 'email' }, audiences: [{ name: 'all', rule: 'seg.segment >= 0' }] }));
    const r = audience('score', '--input', 'nullmail.parquet', '--model', 'seg', '--audiences', 'mail.json', '--output', 'nullmail', '--quiet');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(summary('nullmail')[0].activation).toMatchObject({ rows: 0, emails: 0, invalidEmails: 0 });
  });
});

describe('values and failures', () => {
  it('imputes and counts values far beyond the training range instead of scoring them as normal', () => {
    fs.writeFileSync(path.join(dir, 'huge.csv'), 'visitor_id,sessions,page_views,email,phone\n1,1e300,5,a@b.co,\n2,3,1e30,a@b.co,\n3,1e9,5,a@b.co,\n4,3,5,a@b.co,\n');
    const r = audience('score', '--input', 'huge.csv', '--model', 'seg', '--output', 'huge', '--quiet');
    expect(r.code).toBe(0);
    // 1e300 and 1e30 are beyond 1e15; 1e9 sessions lies past the training range (0..26) widened 100x.
    expect(r.stdout).toMatch(/3 missing or invalid values were imputed/);
  });

  it('a failed run leaves no output behind', () => {
    fs.writeFileSync(path.join(dir, 'broken.csv'), 'visitor_id,sessions,page_views,email,phone\n1,3,5,a@b.co,\n2,lots,5,a@b.co,\n');
    const r = audience('score', '--input', 'broken.csv', '--model', 'seg', '--output', 'broken', '--quiet');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/column "sessions", data row 2: "lots" is not a number/);
    expect(fs.existsSync(path.join(dir, 'broken'))).toBe(false);
  });

  it('skips stray files and damaged versions in the model store, and names an unknown model', () => {
    fs.writeFileSync(path.join(dir, 'models/README.md'), 'models live here\n');
    fs.mkdirSync(path.join(dir, 'models/seg/7'));
    fs.writeFileSync(path.join(dir, 'models/seg/7/manifest.json'), '{"kind": "kmea');
    const unknown = audience('score', '--input', 'v.csv', '--model', 'nope', '--output', 'nope');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/no model named "nope"/);
    const list = audience('models');
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/seg\s+kmeans\s+1\b/);
    expect(list.stderr).toMatch(/warning: .*seg\/7\/manifest\.json: damaged/);
  });
});

describe('labels as datasets write them', () => {
  it('training says how many values of a column it imputed, a boolean\'s unreadable text ("oui") included', () => {
    const rows = Array.from({ length: 400 }, (_, i) => `${i % 37},${i % 2 ? 'yes' : i % 4 ? 'oui' : ''}`);
    fs.writeFileSync(path.join(dir, 'oui.csv'), `sessions,has_account\n${rows.join('\n')}\n`);
    fs.writeFileSync(path.join(dir, 'oui.json'), JSON.stringify({ numeric: ['sessions'], boolean: ['has_account'] }));
    const r = audience('train', 'kmeans', '--input', 'oui.csv', '--features', 'oui.json', '--k', '2', '--name', 'oui');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('has_account: 200 missing or invalid value(s) imputed with 1 (a boolean column holds true/false, yes/no or 1/0)');
    expect(r.stderr).not.toMatch(/sessions: .* imputed/);
  });

  it('a YES/NO label (read as boolean) with --positive counts by its text: YES as without it, NO the other way round', () => {
    const rows = Array.from({ length: 3000 }, (_, i) => `${20 + (i % 50)},${(i % 9) / 3},${i % 4 === 0 ? 'YES' : 'NO'}`);
    fs.writeFileSync(path.join(dir, 'yesno.csv'), `age,rate,Revenue\n${rows.join('\n')}\n`);
    const train = (...extra: string[]) => audience('train', 'propensity', '--input', 'yesno.csv', '--label', 'Revenue', '--name', 'yn', '--allow-small', '--max-epochs', '1', ...extra);
    for (const [extra, positives] of [[[], 750], [['--positive', 'YES'], 750], [['--positive', 'NO'], 2250]] as const) {
      const r = train(...extra);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain(`Data: 3000 labeled rows, ${positives} positive`);
    }
    const lower = train('--positive', 'yes');
    expect(lower.code).toBe(2);
    expect(lower.stderr).toMatch(/--positive yes: no row of label "Revenue" holds it \(values found: "(YES|NO)", "(YES|NO)"\)/);
  });

  it('a text label such as ">50K" / "<=50K" is refused with the way out, then trains with --positive, counting what it should', async () => {
    // Semicolon-separated, quoted, dotted column names (as bank-marketing exports are written); income is the label.
    const rows = Array.from({ length: 3000 }, (_, i) => `${20 + (i % 50)};"${i % 3 ? 'single' : 'married'}";${(i % 9) / 3};"${i % 4 === 0 || (i % 7 === 0 && i % 3 === 0) ? '>50K' : '<=50K'}"`);
    fs.writeFileSync(path.join(dir, 'income.csv'), `"age";"marital";"emp.var.rate";"income"\n${rows.join('\n')}\n`);
    const refused = audience('train', 'propensity', '--input', 'income.csv', '--label', 'income', '--name', 'rich', '--quiet', '--allow-small');
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/label "income": none of its 3000 values is 0\/1, true\/false or yes\/no\. .*give --positive VALUE/);
    // A value that matches nothing (case matters) names the values there are.
    const nothing = audience('train', 'propensity', '--input', 'income.csv', '--label', 'income', '--positive', '>50k', '--name', 'rich', '--quiet', '--allow-small');
    expect(nothing.code).toBe(2);
    expect(nothing.stderr).toMatch(/--positive >50k: no row of label "income" holds it \(values found: "(<=50K|>50K)", "(<=50K|>50K)"\)/);
    // Without --name the model is named after its kind.
    const trained = audience('train', 'propensity', '--input', 'income.csv', '--label', 'income', '--positive', '>50K', '--quiet', '--allow-small', '--max-epochs', '3');
    expect(trained.stderr).toBe('');
    expect(trained.code).toBe(0);
    const positives = rows.filter((r) => r.endsWith('">50K"')).length;
    expect(trained.stdout).toContain(`Data: 3000 labeled rows, ${positives} positive`);
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'models/propensity/1/manifest.json'), 'utf8')).params.positive).toBe('>50K');

    // Scored with the label kept beside the scores, row for row (row_id is the 0-based row).
    const scored = audience('score', '--input', 'income.csv', '--model', 'propensity', '--output', 'income-scores', '--keep', 'income,emp.var.rate', '--quiet');
    expect(scored.stderr).toBe('');
    expect(scored.code).toBe(0);
    const con = await connect();
    const kept = (await con.runAndReadAll(`SELECT row_id, income, "emp.var.rate" FROM '${path.join(dir, 'income-scores/scores-00000.parquet')}' ORDER BY row_id`)).getRows();
    con.closeSync();
    expect(kept.length).toBe(3000);
    expect(kept[4]).toEqual([4n, rows[4].endsWith('">50K"') ? '>50K' : '<=50K', (4 % 9) / 3]);
    const missing = audience('score', '--input', 'income.csv', '--model', 'propensity', '--output', 'income-scores2', '--keep', 'salary');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/--keep: column "salary", which .*income\.csv does not have \(columns: age, marital, emp\.var\.rate, income\)/);
  });
});

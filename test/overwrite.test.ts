/**
 * Every command that writes a named file (generate, events, features, report, measure,
 * models export) refuses one that exists: exit 2 and one line naming the option, the file
 * and the remedy, given before any work (the refused runs below name inputs that do not
 * exist, or a model that is not stored, and the refusal is still about the output), the file
 * unchanged byte for byte; with --overwrite the new file replaces it.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runMain } from './helpers.js';

let dir: string;
const at = (name: string) => path.join(dir, name);

/** Runs `audience ARGS`; expects it to succeed. */
async function ok(args: string[]): Promise<string> {
  const r = await runMain(args);
  expect(r.code, `${args.join(' ')}\n${r.stderr}`).toBe(0);
  return r.stdout;
}

/**
 * Puts random bytes at `file`, runs `refused` (expecting exit 2 and the message for `flag`,
 * the bytes kept), then `replaced` with --overwrite (expecting exit 0 and other bytes).
 * @returns the new file's content.
 */
async function refusedThenReplaced(flag: string, file: string, refused: string[], replaced: string[]): Promise<Buffer> {
  const earlier = crypto.randomBytes(64);
  fs.writeFileSync(file, earlier);
  const r = await runMain(refused);
  expect(r.code, r.stderr).toBe(2);
  expect(r.stderr).toBe(`error: ${flag} ${file}: the file exists; pass --overwrite to replace it, or name another file\n`);
  expect(fs.readFileSync(file).equals(earlier)).toBe(true);
  await ok([...replaced, '--overwrite']);
  const now = fs.readFileSync(file);
  expect(now.equals(earlier)).toBe(false);
  expect(fs.readdirSync(path.dirname(file)).filter((f) => f.includes('.tmp'))).toEqual([]);
  return now;
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ae-overwrite-'));
  await ok(['generate', '--visitors', '300', '--seed', '1', '--out', at('v.csv'), '--quiet']);
  await ok(['generate', '--events', '--customers', '30', '--seed', '1', '--out', at('e.csv'), '--quiet']);
  await ok(['train', 'kmeans', '--input', at('v.csv'), '--k', '2', '--n-init', '1', '--name', 'seg', '--exclude', 'converted,true_segment,email', '--store', at('models'), '--quiet']);
});

afterAll(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe('an output file that exists is refused without --overwrite, and replaced with it', () => {
  it('generate (visitors, events, campaign)', async () => {
    for (const [kind, file] of [[[], 'g.csv'], [['--events', '--customers', '5'], 'g-events.csv'], [['--campaign'], 'g-campaign.parquet']] as const) {
      const args = ['generate', ...kind, ...(kind[0] === '--events' ? [] : ['--visitors', '20']), '--out', at(file), '--quiet'];
      const now = await refusedThenReplaced('--out', at(file), args, args);
      if (file.endsWith('.csv')) expect(now.toString('utf8')).toMatch(kind[0] === '--events' ? /^customer_id,date,amount,category\n/ : /^visitor_id,/);
      else expect(now.subarray(0, 4).toString()).toBe('PAR1');
    }
  });

  it('events', async () => {
    const args = (input: string) => ['events', '--input', input, '--id', 'customer_id', '--time', 'date', '--amount', 'amount', '--as-of', '2024-03-01', '--horizon', '30d', '--out', at('customers.parquet')];
    const now = await refusedThenReplaced('--out', at('customers.parquet'), args(at('missing.csv')), args(at('e.csv')));
    expect(now.subarray(0, 4).toString()).toBe('PAR1');
  });

  it('features', async () => {
    const args = (input: string) => ['features', '--input', input, '--exclude', 'converted,true_segment', '--out', at('features.json')];
    const now = await refusedThenReplaced('--out', at('features.json'), args(at('missing.csv')), args(at('v.csv')));
    expect(JSON.parse(now.toString('utf8'))).toMatchObject({ id: 'visitor_id' });
    const alone = await runMain(['features', '--input', at('v.csv'), '--overwrite']);
    expect([alone.code, alone.stderr]).toEqual([2, 'error: --overwrite goes with --out\n']);
  });

  it('report, also under its default name', async () => {
    const store = ['--store', at('models')];
    const refused = ['report', 'seg', '--out', at('seg.html'), '--input', at('missing.csv'), '--sensitive', 'device', ...store];
    const now = await refusedThenReplaced('--out', at('seg.html'), refused, ['report', 'seg', '--out', at('seg.html'), ...store]);
    expect(now.toString('utf8')).toMatch(/^<!doctype html>/i);
    const cwd = process.cwd();
    process.chdir(dir);
    try {
      // The default NAME-vVERSION.html, in the current folder: refused as --out's value.
      fs.writeFileSync('seg-v1.html', 'mine');
      const r = await runMain(['report', 'seg', ...store]);
      expect([r.code, r.stderr]).toEqual([2, 'error: the default --out seg-v1.html: the file exists; pass --overwrite to replace it, or name another file\n']);
      expect(fs.readFileSync('seg-v1.html', 'utf8')).toBe('mine');
    } finally {
      process.chdir(cwd);
    }
  });

  it('measure --out, --report and --campaign-data', async () => {
    // A score run's folder as measure reads it: the manifest names the scored inputs.
    const run = at('run');
    fs.mkdirSync(path.join(run, 'audiences', 'a'), { recursive: true });
    fs.writeFileSync(path.join(run, 'in.csv'), 'id,age\n1,30\n2,40\n3,50\n4,60\n');
    fs.writeFileSync(path.join(run, 'manifest.json'), JSON.stringify({ files: [], columns: [], inputs: [path.join(run, 'in.csv')] }));
    fs.writeFileSync(path.join(run, 'audiences', 'a', 'members.csv'), 'id\n1\n2\n');
    fs.writeFileSync(path.join(run, 'audiences', 'a', 'holdout.csv'), 'id\n3\n4\n');
    fs.writeFileSync(path.join(run, 'o.csv'), 'id,y\n1,1\n2,0\n3,1\n4,0\n');
    const args = (audiences: string, flag: string, file: string) => ['measure', '--audiences', audiences, '--outcomes', path.join(run, 'o.csv'), '--id', 'id', '--outcome', 'y', flag, file, '--quiet'];
    const missing = at('no-audiences');
    const json = await refusedThenReplaced('--out', at('m.json'), args(missing, '--out', at('m.json')), args(path.join(run, 'audiences'), '--out', at('m.json')));
    expect(JSON.parse(json.toString('utf8')).audiences[0]).toMatchObject({ name: 'a', members: 2, holdout: 2 });
    const page = await refusedThenReplaced('--report', at('m.html'), args(missing, '--report', at('m.html')), args(path.join(run, 'audiences'), '--report', at('m.html')));
    expect(page.toString('utf8')).toMatch(/<h2>a<\/h2>/);
    const table = await refusedThenReplaced('--campaign-data', at('c.parquet'), args(missing, '--campaign-data', at('c.parquet')), args(path.join(run, 'audiences'), '--campaign-data', at('c.parquet')));
    expect(table.subarray(0, 4).toString()).toBe('PAR1');
  });

  it('measure: --out and --report naming one file are refused (the second write would replace the first)', async () => {
    const r = await runMain(['measure', '--audiences', at('none'), '--outcomes', at('none.csv'), '--id', 'id', '--outcome', 'y', '--out', at('same.json'), '--report', at('same.json')]);
    expect([r.code, r.stderr]).toEqual([2, `error: --out and --report name the same file (${at('same.json')}); give each its own\n`]);
    expect(fs.existsSync(at('same.json'))).toBe(false);
  });

  it('models export', async () => {
    const store = ['--store', at('models')];
    const now = await refusedThenReplaced('--out', at('seg.onnx'), ['models', 'export', 'nope', '--out', at('seg.onnx'), ...store], ['models', 'export', 'seg', '--out', at('seg.onnx'), ...store]);
    expect(now.length).toBeGreaterThan(100);
    const show = await runMain(['models', 'show', 'seg', '--overwrite', ...store]);
    expect([show.code, show.stderr]).toEqual([2, 'error: --out, --format and --overwrite go with models export\n']);
  });

  it('score: a folder holding scores is refused before any input is opened or model loaded', async () => {
    const out = at('scores');
    await ok(['score', '--input', at('v.csv'), '--model', 'seg', '--output', out, '--store', at('models'), '--quiet']);
    const before = fs.readdirSync(out).sort();
    // A missing input and an unknown model: the refusal is still about the folder.
    const r = await runMain(['score', '--input', at('missing.csv'), '--model', 'nope', '--output', out, '--store', at('models'), '--quiet']);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/scores already holds scores \(.*\); choose another folder or set --overwrite/);
    expect(fs.readdirSync(out).sort()).toEqual(before);
  });

  it('refuses what is no regular file even with --overwrite, naming the option', async () => {
    fs.mkdirSync(at('folder.csv'));
    const r = await runMain(['generate', '--visitors', '5', '--out', at('folder.csv'), '--overwrite']);
    expect([r.code, r.stderr]).toEqual([2, `error: --out ${at('folder.csv')} is a folder, not a regular file; refusing to write over it (remove it or choose another path)\n`]);
  });
});

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../src/cli/main.js';
import { ModelStore } from '../src/models/registry.js';
import { numberColumn } from '../src/io/columns.js';
import { openDataset } from '../src/io/dataset.js';
import { adjustedRandIndex } from '../src/metrics/clustering.js';

const BIN = path.resolve('bin/audience.js');
let dir: string;

function audience(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: dir, encoding: 'utf8', env: { ...process.env, AUDIENCE_MODEL_STORE: path.join(dir, 'models') } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/**
 * The CLI in this process (what is tested is the message and the exit code, not start-up:
 * a spawn costs ~2 s): run in the test folder with its model store, output captured.
 */
async function inProcess(...args: string[]) {
  let stdout = '';
  let stderr = '';
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((c) => ((stdout += String(c)), true));
  const err = vi.spyOn(process.stderr, 'write').mockImplementation((c) => ((stderr += String(c)), true));
  const [cwd, store] = [process.cwd(), process.env.AUDIENCE_MODEL_STORE];
  process.chdir(dir);
  process.env.AUDIENCE_MODEL_STORE = path.join(dir, 'models');
  try {
    const code = await main(args);
    return { code, stdout, stderr };
  } finally {
    process.chdir(cwd);
    if (store === undefined) delete process.env.AUDIENCE_MODEL_STORE;
    else process.env.AUDIENCE_MODEL_STORE = store;
    out.mockRestore();
    err.mockRestore();
  }
}

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ae-cli-'));
});

describe('audience CLI: generate, train, score, models', () => {
  it('runs the whole path and recovers the planted segments', async () => {
    expect(audience('generate', '--visitors', '30000', '--out', 'v.parquet', '--seed', '4').code).toBe(0);
    const train = audience('train', 'kmeans', '--input', 'v.parquet', '--k', '6', '--name', 'behavior', '--exclude', 'converted,true_segment,email', '--seed', '1', '--quiet');
    expect(train.stderr).toBe('');
    expect(train.code).toBe(0);
    expect(train.stdout).toMatch(/Saved behavior@1 \(wasm\): k=6, 30\.0k rows/);
    expect(train.stdout).toMatch(/Segment 5: /);

    const score = audience('score', '--input', 'v.parquet', '--model', 'behavior', '--output', 'out', '--quiet');
    expect(score.code).toBe(0);
    expect(score.stdout).toMatch(/Scored 30,000 visitors with behavior@1/);
    const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'out/manifest.json'), 'utf8'));
    expect(manifest.rows).toBe(30_000);

    const scores = await openDataset([path.join(dir, 'out/scores-*.parquet')]);
    const truth = await openDataset([path.join(dir, 'v.parquet')]);
    const seg: number[] = [];
    const ids: number[] = [];
    for await (const b of scores.read([{ name: 'visitor_id', as: 'number' }, { name: 'behavior_segment', as: 'number' }, { name: 'behavior_distance', as: 'number' }])) {
      seg.push(...numberColumn(b, 'behavior_segment'));
      ids.push(...numberColumn(b, 'visitor_id'));
      expect(numberColumn(b, 'behavior_distance').every((d) => d >= 0)).toBe(true);
    }
    const planted: number[] = [];
    for await (const b of truth.read([{ name: 'true_segment', as: 'number' }])) planted.push(...numberColumn(b, 'true_segment'));
    expect(ids).toEqual(Array.from({ length: 30_000 }, (_, i) => i + 1));
    expect(adjustedRandIndex(planted, seg)).toBeGreaterThan(0.7);

    const show = audience('models', 'show', 'behavior');
    expect(show.code).toBe(0);
    expect(show.stdout).toMatch(/behavior@1 {2}kind kmeans/);
    expect(show.stdout).toMatch(/Segment 0: /);
    // The report's 1,000-point map in one line, not as its JSON points.
    expect(show.stdout).toMatch(/^map {7}1000 visitors on the first two principal components \(\d+% and \d+% of the variance\): drawn in the report/m);
    expect(show.stdout).not.toContain('"points"');
    expect(show.stdout.length).toBeLessThan(5000);
    expect(audience('models').stdout).toMatch(/behavior\s+kmeans\s+1/);
  });
});

describe('audience CLI: output through a pipe', () => {
  it('prints all of an output larger than a pipe holds (64 KiB) before it exits', () => {
    // 1,500 columns: a spec of about 75 KB, which process.exit cut at 65,536 bytes.
    const names = Array.from({ length: 1500 }, (_, i) => `feature_number_${String(i).padStart(5, '0')}`);
    fs.writeFileSync(path.join(dir, 'wide.csv'), `id,${names.join(',')}\n${[1, 2, 3].map((r) => `${r},${names.map((_, i) => (r * i) % 7).join(',')}`).join('\n')}\n`);
    const r = audience('features', '--input', 'wide.csv');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.length).toBeGreaterThan(65_536);
    expect(JSON.parse(r.stdout).numeric.length).toBeGreaterThan(1000); // whole: it parses
  });
});

describe('audience CLI: propensity', () => {
  it('trains on a label, reports test metrics beside the baseline, and scores with two models in one pass', async () => {
    const train = audience('train', 'propensity', '--input', 'v.parquet', '--label', 'converted', '--name', 'purchase', '--exclude', 'true_segment,email', '--seed', '2', '--max-epochs', '8', '--quiet');
    expect(train.stderr).toBe('');
    expect(train.code).toBe(0);
    const auc = /ROC-AUC\s+([\d.]+)\s+([\d.]+)/.exec(train.stdout);
    expect(auc).not.toBeNull();
    expect(Number(auc![1])).toBeGreaterThan(0.7); // the synthetic label depends on behavior
    expect(train.stdout).toMatch(/all metrics below are on the test split/);
    expect(audience('models', 'show', 'purchase').stdout).toMatch(/kind propensity[\s\S]*ROC-AUC/);

    const score = audience('score', '--input', 'v.parquet', '--model', 'behavior', '--model', 'purchase', '--output', 'both', '--quiet');
    expect(score.code).toBe(0);
    const out = await openDataset([path.join(dir, 'both/scores-*.parquet')]);
    const buckets = new Map<string, number>();
    let rows = 0;
    for await (const b of out.read([{ name: 'purchase_probability', as: 'number' }, { name: 'purchase_percentile', as: 'number' }, { name: 'purchase_bucket', as: 'text' }, { name: 'behavior_segment', as: 'number' }])) {
      rows += b.rows;
      for (const v of b.columns.get('purchase_bucket') as string[]) buckets.set(v, (buckets.get(v) ?? 0) + 1);
      expect(numberColumn(b, 'purchase_probability').every((p) => p >= 0 && p <= 1)).toBe(true);
    }
    expect(rows).toBe(30_000);
    // Buckets by percentile within the scored population: top 20% high, next 30% medium (ties may shift a few rows).
    expect(Math.abs(buckets.get('high')! - 6000)).toBeLessThan(300);
    expect(Math.abs(buckets.get('medium')! - 9000)).toBeLessThan(300);
  });

  it('refuses a label with too few positives, with the reason', () => {
    const r = audience('train', 'propensity', '--input', 'v.parquet', '--label', 'converted', '--name', 'p2', '--min-class', '100000');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/at least 100000 of each are needed/);
  });
});

describe('audience CLI: audiences and segments', () => {
  it('builds audiences from scores and input attributes, with hashed exports', async () => {
    fs.writeFileSync(
      path.join(dir, 'aud.json'),
      JSON.stringify({
        identifiers: { email: 'email' },
        audiences: [
          { name: 'likely_mobile', rule: 'purchase.bucket = "high" and device = "mobile"', holdout: 0.1 },
          { name: 'segment0', rule: 'behavior.segment = 0', suppress: { audiences: ['likely_mobile'] }, cap: { size: 100, by: 'purchase.probability' } },
        ],
      }),
    );
    const r = audience('score', '--input', 'v.parquet', '--model', 'behavior', '--model', 'purchase', '--audiences', 'aud.json', '--output', 'aud-out', '--quiet');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Audience likely_mobile: [\d.k]+ members \+ [\d.k]+ holdout/);
    expect(r.stdout).toMatch(/Audience segment0: 100 members/);
    expect(r.stdout).toMatch(/likely_mobile[\s\S]*profile: \w+/);
    const summary = JSON.parse(fs.readFileSync(path.join(dir, 'aud-out/audiences/summary.json'), 'utf8'));
    const likely = summary.summaries[0];
    // Every member is on mobile: the audience profile says so.
    expect(likely.profile.find((e: { feature: string }) => e.feature === 'device=mobile').value).toBe(1);
    const members = await openDataset([path.join(dir, 'aud-out/audiences/likely_mobile/members.parquet')]);
    expect(members.rowCount).toBe(likely.members);
    const lines = fs.readFileSync(path.join(dir, 'aud-out/audiences/likely_mobile/activation-meta.csv'), 'utf8').trim().split('\n');
    expect(lines.length - 1).toBe(likely.activation.rows);
    expect(likely.activation.rows).toBeGreaterThan(0.5 * likely.members); // 60% of visitors have an email
    expect(lines[1]).toMatch(/^[0-9a-f]{64},$/);
  });

  it('prints segment profiles in words', () => {
    const r = audience('segments', '--model', 'behavior', '--top', '3');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Segment 0: [\d.k]+ visitors \([\d.]+%\)\n {2}[+-] \w+/);
    expect(audience('segments', '--model', 'purchase').stderr).toMatch(/has no segment profiles/);
  });
});

describe('audience CLI: usage and input errors exit 2 with a clear message', () => {
  it.each([
    [['frobnicate'], /unknown command "frobnicate"/],
    [['train', 'kmeans', '--name', 'x'], /--input <file\|glob> is required/],
    [['train', 'kmeans', '--input', 'missing.parquet', '--name', 'x'], /missing\.parquet: file not found/],
    [['train', 'kmeans', '--input', 'v.parquet', '--name', 'x', '--k', '1'], /--k 1: expected an integer from 2 to 10000/],
    [['train', 'kmeans', '--input', 'v.parquet', '--name', 'x', '--k', '9..3'], /a range must be lo\.\.hi/],
    [['train', 'kmeans', '--input', 'v.parquet', '--name', '../x'], /model name "\.\.\/x"/],
    [['train', 'svm', '--input', 'v.parquet', '--name', 'x'], /unknown model kind "svm"/],
    [['train', 'propensity', '--input', 'v.parquet', '--name', 'x'], /--label is required/],
    [['train', 'propensity', '--input', 'v.parquet', '--name', 'x', '--label', 'nope'], /no label column "nope"/],
    [['train', 'propensity', '--input', 'v.parquet', '--name', 'x', '--label', 'converted', '--hidden', 'big'], /--hidden big: expected layer sizes/],
    [['train', 'kmeans', '--input', 'v.parquet', '--name', 'x', '--colour'], /audience train: --colour is not an option\n/],
    [['train', 'kmeans', '--input', 'v.parquet', '--name', 'x', '--ninit', '2'], /--ninit is not an option; did you mean --n-init\?/],
    // A negative value is read as the value, and checked as one.
    [['train', 'kmeans', '--input', 'v.parquet', '--name', 'x', '--tol', '-1'], /--tol -1: expected a number >= 0 and <= 1/],
    [['score', '--input', 'v.parquet', '--models', 'behavior', '--output', 'o4'], /--models is not an option; did you mean --model\?/],
    // An unquoted glob expands in the shell: the files after the first arrive as arguments, refused rather than left out.
    [['score', '--input', 'v.parquet', 'w.parquet', '--model', 'behavior', '--output', 'o5'], /audience score: unexpected argument "w\.parquet"\. To read several files, repeat --input .*quote a glob/],
    [['train', 'kmeans', '--input', 'v.parquet', 'w.parquet', '--name', 'x'], /audience train: unexpected argument "w\.parquet"/],
    [['info', 'now'], /audience info: unexpected argument "now"\nRun 'audience info --help'/],
    // A value flag given twice is refused, not read as its last value; repeatable ones (--input, --model) still repeat.
    [['train', 'kmeans', '--input', 'v.parquet', '--k', '3', '--k=5'], /audience train: --k is given 2 times \("3", "5"\); give it once/],
    [['score', '--input', 'v.parquet', '--model', 'behavior', '--output', 'o6', '--output', 'o7'], /--output is given 2 times/],
    [['score', '--input', 'v.parquet', '--model', 'nobody', '--output', 'o2'], /no model named "nobody"/],
    [['score', '--input', 'v.parquet', '--model', 'behavior'], /--output is required/],
    [['score', '--input', 'v.parquet', '--model', 'behavior', '--output', 'out'], /already holds scores/],
    [['train', 'kmeans', '--input', 'v.parquet', '--name', 'x', '--features', 'nofile.json'], /^error: --features nofile\.json: file not found\n/],
    [['train', 'kmeans', '--input', 'v.parquet', '--name', 'x', '--features', '.'], /^error: --features \.: is a folder, not a file\n/],
    [['train', 'kmeans', '--input', 'v.parquet', '--name', 'x', '--features', 'v.parquet'], /^error: --features v\.parquet: cannot read feature spec: .*JSON/],
    [['score', '--input', 'v.parquet', '--model', 'behavior', '--output', 'o3', '--audiences', 'nofile.json'], /^error: --audiences nofile\.json: file not found\n/],
    // --top is a whole number >= 1, refused before the model is read (it was read as NaN, 0 or -1: every segment "close to the average").
    [['segments', '--model', 'behavior', '--top', 'abc'], /^error: --top abc: expected an integer >= 1\n/],
    [['segments', '--model', 'behavior', '--top', '0'], /--top 0: expected an integer >= 1/],
    [['segments', '--model', 'behavior', '--top', '-1'], /--top -1: expected an integer >= 1/],
    [['segments', '--model', 'behavior', '--top', '2.5'], /--top 2\.5: expected an integer >= 1/],
    [['train', 'lookalike', '--input', 'v.parquet', '--name', 'x'], /give the seed audience as --seed-ids FILE or --seed-filter/],
    [['train', 'lookalike', '--input', 'v.parquet', '--name', 'x', '--seed-filter', 'nope = 1'], /no seed filter column "nope"/],
  ])('audience %j', async (args, message) => {
    const r = await inProcess(...args);
    expect(r.stderr).toMatch(message);
    expect(r.code).toBe(2);
  });

  it('refuses, before scoring, output columns whose names differ only in case (DuckDB renamed one, unlike the manifest), and a membership column named like a model output', async () => {
    const store = new ModelStore(path.join(dir, 'models'));
    const { manifest, weights } = store.load('behavior');
    const copy = (name: string) => store.versions(name).length || store.save({ ...manifest, name } as never, [...weights.values()]);
    copy('BEHAVIOR');
    copy('aud');
    const twice = await inProcess('score', '--input', 'v.parquet', '--model', 'behavior', '--model', 'BEHAVIOR', '--output', 'o-case');
    expect([twice.code, twice.stderr]).toEqual([2, 'error: two outputs are named "behavior_segment" and "BEHAVIOR_segment" (column names ignore case): score models with distinct names\n']);
    fs.writeFileSync(path.join(dir, 'seg-aud.json'), JSON.stringify({ audiences: [{ name: 'segment', rule: 'aud.segment = 1' }] }));
    const member = await inProcess('score', '--input', 'v.parquet', '--model', 'aud', '--audiences', 'seg-aud.json', '--output', 'o-member');
    expect([member.code, member.stderr]).toEqual([2, 'error: audience "segment": its membership column would be "aud_segment", the name of another output column; rename the audience or the model\n']);
    expect(fs.existsSync(path.join(dir, 'o-case'))).toBe(false);
  });

  it('a spawned CLI exits 2 with the message on stderr (the process path the table above skips)', () => {
    const r = audience('train', 'kmeans', '--input', 'missing.parquet', '--name', 'x');
    expect(r.stderr).toMatch(/^error: .*missing\.parquet: file not found/);
    expect(r.code).toBe(2);
  });

  it('prints its version', async () => {
    let stdout = '';
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((c) => ((stdout += String(c)), true));
    try {
      expect(await main(['--version'])).toBe(0);
    } finally {
      spy.mockRestore();
    }
    expect(stdout.trim()).toBe(JSON.parse(fs.readFileSync('package.json', 'utf8')).version);
  });

  it('answers --help for every command', async () => {
    // In process: what is tested is the text, not start-up (a spawn costs ~2 s each).
    for (const cmd of ['info', 'generate', 'events', 'features', 'train', 'score', 'segments', 'models', 'report', 'serve', 'worker']) {
      let stdout = '';
      const spy = vi.spyOn(process.stdout, 'write').mockImplementation((c) => ((stdout += String(c)), true));
      try {
        expect(await main([cmd, '--help'])).toBe(0);
      } finally {
        spy.mockRestore();
      }
      expect(stdout).toMatch(new RegExp(`audience ${cmd}`));
    }
  });
});

/**
 * A score run never succeeds on data it did not plan from, and never loses the output it
 * replaces (issue 30): an input replaced while the run reads it fails the run naming the file
 * (when a shard opens it, and before the finalize); a Parquet footer whose row counts cannot
 * be true is refused before any shard, one whose counts the data does not hold fails the
 * shard that reads it; an overwrite that fails leaves the earlier output whole, in the CLI's
 * run and in the service's runner.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { initBackend } from '../src/compute/backend.js';
import { fitTransform } from '../src/features/fit.js';
import { parseSpec } from '../src/features/spec.js';
import { openDataset } from '../src/io/dataset.js';
import { writeFile } from '../src/io/writer.js';
import { publishOutput } from '../src/scoring/publish.js';
import { runStoredJob } from '../src/server/jobs/run-job.js';
import { removeScoreOutput } from '../src/scoring/output.js';
import { scoreDataset } from '../src/execution/score-dataset.js';
import { JobStore } from '../src/server/jobs/store.js';
import { trainKMeans } from '../src/models/kmeans/train.js';
import { loadScoringModel } from '../src/models/load.js';
import { ModelStore } from '../src/models/registry.js';
import { generateVisitors, VISITOR_COLUMNS } from '../src/synthetic/visitors.js';
import type { Progress } from '../src/util/progress.js';
import { lieAboutRows } from './parquet-footer.js';

let dir: string;
let store: ModelStore;

/** A CSV of `rows` visitors (id, x, y); `shift` moves every x (another version of the file); a row index in `bad` holds text in x. */
function writeCsv(file: string, rows: number, shift = 0, bad = -1): string {
  const lines = Array.from({ length: rows }, (_, i) => `${i + 1},${i === bad ? 'oops' : (i % 7) + shift},${i % 3}`);
  fs.writeFileSync(path.join(dir, file), `id,x,y\n${lines.join('\n')}\n`);
  return path.join(dir, file);
}

/** Scores `input` into `output` in this process (the CLI's run) with the model `name` (default "seg"). */
async function score(input: string, output: string, opts: { shardRows?: number; maxRejects?: number; overwrite?: boolean; progress?: Progress; model?: string } = {}) {
  const model = await loadScoringModel(store, opts.model ?? 'seg');
  try {
    return await scoreDataset(await openDataset([input]), [model], { output: path.join(dir, output), shardRows: 100, ...opts });
  } finally {
    model.dispose();
  }
}

/** Every file under `folder` (relative path -> bytes), to compare an output before and after. */
function snapshot(folder: string, rel = ''): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of fs.readdirSync(path.join(folder, rel), { withFileTypes: true })) {
    const p = path.join(rel, e.name);
    if (e.isDirectory()) Object.assign(out, snapshot(folder, p));
    else out[p] = fs.readFileSync(path.join(folder, p)).toString('base64');
  }
  return out;
}

/** Progress that calls `act` once, the first time `when(done)` holds. */
function onceAt(when: (done: number) => boolean, act: () => void): Progress {
  let fired = false;
  return {
    update(done) {
      if (!fired && when(done)) {
        fired = true;
        act();
      }
    },
    done() {},
  };
}

beforeAll(async () => {
  await initBackend();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ae-integrity-'));
  const train = await openDataset([writeCsv('train.csv', 300)]);
  const transform = await fitTransform(train, parseSpec({ id: 'id', numeric: ['x', 'y'] }));
  store = new ModelStore(path.join(dir, 'models'));
  (await trainKMeans(train, transform, store, { k: 2, name: 'seg', nInit: 1 })).model.dispose();
});

describe('an input replaced while the run reads it', () => {
  it('after 3 of 9 shards: the run fails naming the file, and leaves nothing', async () => {
    const input = writeCsv('in.csv', 900);
    const next = writeCsv('next.csv', 900, 100);
    const run = score(input, 'replaced', { progress: onceAt((done) => done >= 300, () => fs.renameSync(next, input)) });
    await expect(run).rejects.toThrow(new RegExp(`an input changed while the job ran: ${input} changed .*resubmit the job`));
    expect(fs.existsSync(path.join(dir, 'replaced'))).toBe(false);
  });

  it('after the last shard, before the finalize: the run fails naming the file', async () => {
    // The last row is rejected: the progress reaches the total only once the last shard is staged.
    const input = writeCsv('late.csv', 900, 0, 899);
    const next = writeCsv('late-next.csv', 900, 100);
    const run = score(input, 'late', { maxRejects: 1, progress: onceAt((done) => done >= 900, () => fs.renameSync(next, input)) });
    await expect(run).rejects.toThrow(new RegExp(`an input changed while the job ran: ${input} changed`));
    expect(fs.existsSync(path.join(dir, 'late'))).toBe(false);
  });
});

describe('Parquet row counts', () => {
  let honest: string;
  const opts = { shardRows: 500_000, model: 'visits' };
  beforeAll(async () => {
    // 20,000 generated visitors in one row group: when the footer claims more, DuckDB reads these columns short (18,432 rows), without an error.
    honest = path.join(dir, 'honest.parquet');
    await writeFile(honest, VISITOR_COLUMNS, generateVisitors({ visitors: 20_000, batchRows: 20_000, seed: 3 }));
    const data = await openDataset([honest]);
    const transform = await fitTransform(data, parseSpec({ id: 'visitor_id', numeric: ['avg_session_seconds', 'days_since_last_visit', 'bounce_rate', 'discount_share'] }));
    (await trainKMeans(data, transform, store, { k: 2, name: 'visits', nInit: 1 })).model.dispose();
  });

  it('a row group claiming more rows than its columns hold values is refused before any shard, naming the file', async () => {
    const lying = lieAboutRows(honest, path.join(dir, 'rg.parquet'), 20_000, 10 ** 12, 'row counts');
    await expect(score(lying, 'rg', opts)).rejects.toThrow(
      new RegExp(`${lying}: Parquet row group 0 claims 1000000000000 rows, but its column chunks hold 20000 values at most: the file's metadata cannot be true`),
    );
    expect(fs.existsSync(path.join(dir, 'rg'))).toBe(false);
  });

  it('10^12 rows claimed everywhere in a footer of 20,000: more than the column chunks\' bytes can hold, refused', async () => {
    const lying = lieAboutRows(honest, path.join(dir, 'huge.parquet'), 20_000, 10 ** 12, 'everywhere');
    await expect(score(lying, 'huge', opts)).rejects.toThrow(/Parquet row group 0 claims 1000000000000 rows, but its column chunks' bytes can hold at most \d+ values/);
  });

  it('counts the data does not hold, stated consistently: the shard that reads fewer rows fails the run, naming the file', async () => {
    const lying = lieAboutRows(honest, path.join(dir, 'more.parquet'), 20_000, 30_000, 'everywhere');
    await expect(score(lying, 'more', opts)).rejects.toThrow(new RegExp(`${lying}: shard 0 was planned as rows 0-30000 \\(30000 rows, from the file's metadata\\) but \\d+ rows were read`));
    expect(fs.existsSync(path.join(dir, 'more'))).toBe(false);
    // The honest file scores every row.
    expect((await score(honest, 'honest', opts)).rows).toBe(20_000);
  });
});

describe('overwrite keeps the earlier output until the new one is whole', () => {
  it('in the CLI\'s run: a failed overwrite leaves the earlier output as it was; a finished one replaces it, other files kept', async () => {
    const good = writeCsv('good.csv', 900);
    await score(good, 'kept');
    const out = path.join(dir, 'kept');
    fs.writeFileSync(path.join(out, 'notes.txt'), 'mine');
    const before = snapshot(out);
    expect(Object.keys(before).filter((f) => f.startsWith('scores-')).length).toBe(9);
    const bad = writeCsv('bad.csv', 900, 0, 850);
    await expect(score(bad, 'kept', { overwrite: true })).rejects.toThrow(/data row 851: "oops" is not a number/);
    expect(snapshot(out)).toEqual(before);
    // Done: 3 parts replace 9, the manifest lists the new ones, the user's file stays.
    const m = await score(good, 'kept', { overwrite: true, shardRows: 300 });
    expect(m.files.map((f) => f.path)).toEqual(['scores-00000.parquet', 'scores-00001.parquet', 'scores-00002.parquet']);
    expect(fs.readdirSync(out).sort()).toEqual(['manifest.json', 'notes.txt', 'scores-00000.parquet', 'scores-00001.parquet', 'scores-00002.parquet']);
  });

  it('in the service\'s runner: a failed overwrite job leaves the earlier output as it was', async () => {
    await score(writeCsv('svc.csv', 900), 'svc');
    const out = path.join(dir, 'svc');
    const before = snapshot(out);
    const db = path.join(dir, 'jobs.sqlite');
    const jobs = new JobStore(db);
    const job = jobs.create('score', { input: [writeCsv('svc-bad.csv', 900, 0, 850)], models: ['seg'], output: out, overwrite: true, maxRejects: 0, shardRows: 100 });
    jobs.claimNext();
    await runStoredJob(db, job.id, store.root);
    const failed = jobs.get(job.id)!;
    jobs.close();
    expect(failed.status).toBe('failed');
    expect(failed.error).toMatch(/data row 851: "oops" is not a number/);
    expect(snapshot(out)).toEqual(before);
  });

  it('a swap cut short between two renames runs again from the start to the whole new output; the cleanup removes both outputs\' names', async () => {
    const input = writeCsv('swap.csv', 900);
    await score(input, 'swap-new', { shardRows: 300 });
    const fresh = snapshot(path.join(dir, 'swap-new'));
    for (const name of ['swap', 'swap-gone']) {
      await score(input, name);
      fs.mkdirSync(path.join(dir, name, '.shards'));
      fs.writeFileSync(path.join(dir, name, '.shards', 'owner.json'), '{}');
    }
    // The new output as the finalize leaves it in staging (built again from the staged parts on each try).
    const stage = (name: string) => fs.cpSync(path.join(dir, 'swap-new'), path.join(dir, name, '.shards', 'output'), { recursive: true });
    const rename = fs.renameSync;
    const crash = () =>
      vi.spyOn(fs, 'renameSync').mockImplementation((from, to) => {
        if (path.basename(String(to)) === 'scores-00001.parquet') throw new Error('killed');
        rename(from, to);
      });
    for (const name of ['swap', 'swap-gone']) {
      stage(name);
      crash();
      expect(() => publishOutput(path.join(dir, name))).toThrow('killed');
      vi.restoreAllMocks();
      expect(fs.existsSync(path.join(dir, name, 'manifest.json'))).toBe(false);
    }
    stage('swap');
    publishOutput(path.join(dir, 'swap'));
    fs.rmSync(path.join(dir, 'swap', '.shards'), { recursive: true });
    expect(snapshot(path.join(dir, 'swap'))).toEqual(fresh);
    removeScoreOutput(path.join(dir, 'swap-gone'), true);
    expect(fs.readdirSync(path.join(dir, 'swap-gone'))).toEqual([]);
  });
});

/**
 * Paths are checked when a job is opened, not only when it is submitted (issue 30, item 8): a
 * symlink swapped in after submission must not make the job read a file outside the data roots
 * or write its scores there. Each case holds the job before it opens anything, deterministically:
 * the job is stored as the server stores it (checkScore, JobStore), the link is swapped, and only
 * then is its runner run (runStoredJob, what the runner process does), or a shard task called
 * (what a worker thread or an `audience worker` runs for each queued shard).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../src/cli/main.js';
import { writeFile } from '../src/io/writer.js';
import { runStoredJob } from '../src/server/jobs/run-job.js';
import { kmeansLoad } from '../src/execution/kmeans-queue.js';
import scoreShardTask, { type ShardTask } from '../src/execution/shard-task.js';
import { crossedError } from '../src/util/errors.js';
import { JobStore } from '../src/server/jobs/store.js';
import { ModelStore } from '../src/models/registry.js';
import { DataRoots } from '../src/server/paths.js';
import { checkScore } from '../src/server/submit.js';
import type { ScoreJobBody } from '../src/server/schemas.js';
import { generateVisitors, VISITOR_COLUMNS } from '../src/synthetic/visitors.js';
import { UserError } from '../src/util/errors.js';

let dir: string;
let root: string;
let outside: string;
let store: string;
let jobs: JobStore;

async function visitors(file: string, seed: number): Promise<void> {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  await writeFile(file, VISITOR_COLUMNS, generateVisitors({ visitors: 2000, batchRows: 2000, seed }));
}

/** Replaces the folder `p` by a symlink to `target` (the folder itself kept aside). */
function swapForLink(p: string, target: string): void {
  fs.renameSync(p, `${p}-kept-${Date.now()}`);
  fs.symlinkSync(target, p);
}

/** Every file under `d`, relative. */
function filesUnder(d: string): string[] {
  return fs.readdirSync(d, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => path.relative(d, path.join(e.parentPath ?? e.path, e.name))).sort();
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ae-guard-'));
  root = path.join(dir, 'root');
  outside = path.join(dir, 'outside');
  store = path.join(dir, 'models');
  await visitors(path.join(root, 'data', 'v.parquet'), 1);
  await visitors(path.join(outside, 'v.parquet'), 2); // a file of the same shape outside the roots
  const quiet = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
  const code = await main(['train', 'kmeans', '--input', path.join(root, 'data', 'v.parquet'), '--name', 'behavior', '--k', '3', '--n-init', '1', '--store', store]);
  quiet.mockRestore();
  expect(code).toBe(0);
  jobs = new JobStore(path.join(dir, 'jobs.sqlite'));
});

afterEach(() => {
  // Back to a plain folder for the next case.
  for (const name of ['data', 'scores']) {
    const p = path.join(root, name);
    if (fs.lstatSync(p, { throwIfNoEntry: false })?.isSymbolicLink()) {
      fs.rmSync(p);
      const kept = fs.readdirSync(root).find((n) => n.startsWith(`${name}-kept-`));
      if (kept) fs.renameSync(path.join(root, kept), p);
    }
  }
});

/** Submits a score job as the server does (checked, then stored); returns its id, not yet run. */
async function submit(over: Partial<ScoreJobBody>): Promise<string> {
  const body = { type: 'score', input: ['data/v.parquet'], models: ['behavior'], output: 'scores/run', ...over } as ScoreJobBody;
  const spec = await checkScore(body, new DataRoots([root]), new ModelStore(store), () => jobs.activeIds());
  return jobs.create('score', spec as unknown as Record<string, unknown>).id;
}

/** Runs the queued job `id` as its runner process would. */
async function run(id: string) {
  expect(jobs.claimNext()?.id).toBe(id);
  await runStoredJob(jobs.file, id, store);
  return jobs.get(id)!;
}

describe('the runner resolves paths when it opens them', () => {
  it('a folder of the input replaced by a link out of the roots after submission: the job fails naming it, reads nothing there', async () => {
    fs.mkdirSync(path.join(root, 'scores'), { recursive: true });
    const id = await submit({ output: 'scores/in-swap' });
    swapForLink(path.join(root, 'data'), outside);
    const job = await run(id);
    expect(job.status).toBe('failed');
    expect(job.error).toMatch(/^input: .*data\/v\.parquet leads outside the data roots \(to .*outside\/v\.parquet/);
    expect(fs.existsSync(path.join(root, 'scores', 'in-swap', 'manifest.json'))).toBe(false);
  });

  it('the output folder replaced by a link out of the roots after submission: nothing is written outside', async () => {
    fs.mkdirSync(path.join(root, 'scores'), { recursive: true });
    const before = filesUnder(outside);
    const id = await submit({ output: 'scores/out-swap' });
    swapForLink(path.join(root, 'scores'), outside);
    const job = await run(id);
    expect(job.status).toBe('failed');
    expect(job.error).toMatch(/^output: .*scores\/out-swap leads outside the data roots/);
    expect(filesUnder(outside)).toEqual(before);
  });

  it('an unchanged job still runs (the guard refuses only what leads out)', async () => {
    fs.mkdirSync(path.join(root, 'scores'), { recursive: true });
    const job = await run(await submit({ output: 'scores/plain' }));
    expect(job.status, job.error ?? '').toBe('succeeded');
    expect(fs.existsSync(path.join(root, 'scores', 'plain', 'manifest.json'))).toBe(true);
  });
});

describe('a shard task (worker thread or queue worker) resolves paths before it opens or writes', () => {
  const task = (staging: string, over: Partial<ShardTask['job']> = {}): ShardTask =>
    ({
      job: { input: [path.join(fs.realpathSync(root), 'data', 'v.parquet')], models: ['behavior'], store, maxRejects: 0, roots: [root], ...over },
      shard: { index: 0, table: 0, start: 0, end: 2000, first: 0 },
      staging,
      rejectBudget: 0,
    }) as ShardTask;

  /** The task's rejection, as its caller (the pool or the queue worker) sees it. */
  async function refusal(t: ShardTask): Promise<unknown> {
    try {
      await scoreShardTask(t);
    } catch (err) {
      return crossedError(err);
    }
    throw new Error('the shard task ran');
  }

  it('an input folder swapped for a link after the job was planned, before the worker took the shard: refused as bad input', async () => {
    const staging = path.join(root, 'scores', 'shard-in', '.shards');
    swapForLink(path.join(root, 'data'), outside);
    const err = await refusal(task(staging, { keep: ['email'] }));
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toMatch(/^input: .*data\/v\.parquet leads outside the data roots/);
    expect(fs.existsSync(staging)).toBe(false);
  });

  it('the output folder swapped for a link before the shard writes its part: refused, nothing written outside', async () => {
    fs.mkdirSync(path.join(root, 'scores', 'shard-out'), { recursive: true });
    const staging = path.join(fs.realpathSync(root), 'scores', 'shard-out', '.shards');
    const before = filesUnder(outside);
    swapForLink(path.join(root, 'scores'), outside);
    const err = await refusal(task(staging, { keep: ['sessions'] }));
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toMatch(/^output: .*scores\/shard-out\/\.shards (leads outside the data roots|changed since)/);
    expect(filesUnder(outside)).toEqual(before);
  });
});

describe('a K-Means load job on a queue worker resolves its inputs before it opens them', () => {
  it('an input folder swapped for a link after the fit was planned: refused as bad input, nothing read', async () => {
    const staging = fs.mkdtempSync(path.join(dir, 'kmeans-staging-'));
    swapForLink(path.join(root, 'data'), outside);
    const job = { inputs: [path.join(fs.realpathSync(root), 'data', 'v.parquet')], roots: [root], transform: {}, shard: { index: 0, table: 0, start: 0, end: 2000, first: 0 }, staging, pick: { rows: [], slots: [] } };
    await expect(kmeansLoad(job as unknown as Parameters<typeof kmeansLoad>[0])).rejects.toThrow(/^input: .*data\/v\.parquet leads outside the data roots/);
    expect(fs.readdirSync(staging)).toEqual([]);
  });
});

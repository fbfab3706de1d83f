/**
 * Issue 30 against real processes: a server with `--redis`, Debian's redis-server and
 * `audience worker` processes frozen and thawed with SIGSTOP/SIGCONT. A cancelled job's shard
 * that finishes after another job took the same output folder never lands in that job; an input
 * replaced while workers read it fails the job naming the file; a Parquet footer whose row
 * counts cannot be true is refused at submission; the same job submitted again while it runs
 * is a 409 naming it.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFile } from '../src/io/writer.js';
import { SHARD_QUEUE } from '../src/execution/queue-client.js';
import { generateVisitors, VISITOR_COLUMNS } from '../src/synthetic/visitors.js';
import { lieAboutRows } from './parquet-footer.js';
import { hasRedis, startRedis } from './redis-helpers.js';
import { differingRows, runnerPid, startServer, waitJob, type Server } from './service-helpers.js';

const BIN = path.resolve('bin/audience.js');

let dir: string;
let redis: ChildProcess | undefined;
let url: string;
let server: Server;
let queue: Queue;
const procs: ChildProcess[] = [];
const workers: Watched[] = [];

/** A process whose output is kept; `waitFor` resolves once the output (from `from` on) matches. */
interface Watched {
  proc: ChildProcess;
  output(): string;
  waitFor(re: RegExp, from?: number, ms?: number): Promise<void>;
}

function watch(args: string[]): Watched {
  const proc = spawn(process.execPath, [BIN, ...args], { cwd: dir, env: { ...process.env, AUDIENCE_MODEL_STORE: path.join(dir, 'models'), AUDIENCE_WORKERS: '1' } });
  procs.push(proc);
  let out = '';
  proc.stdout!.on('data', (c) => (out += c));
  proc.stderr!.on('data', (c) => (out += c));
  return {
    proc,
    output: () => out,
    async waitFor(re, from = 0, ms = 60_000) {
      const end = Date.now() + ms;
      while (!re.test(out.slice(from))) {
        if (Date.now() > end) throw new Error(`no ${re} in:\n${out}`);
        await new Promise((r) => setTimeout(r, 5));
      }
    },
  };
}

/** An `audience worker` taking one shard at a time, whose lock outlasts the freezes below (it is never found stalled). */
async function worker(): Promise<Watched> {
  const w = watch(['worker', '--redis', url, '--concurrency', '1', '--lock-seconds', '120']);
  await w.waitFor(/shard\(s\) at a time/);
  workers.push(w);
  return w;
}

/** `rows` generated visitors written to `file` (CSV or Parquet by its name) in the data root. */
async function visitors(file: string, rows: number, seed: number): Promise<string> {
  await writeFile(path.join(dir, file), VISITOR_COLUMNS, generateVisitors({ visitors: rows, batchRows: rows, seed }));
  return path.join(dir, file);
}

/** Staged parts in an output folder's staging (any run's). */
const stagedParts = (output: string) => (fs.existsSync(path.join(dir, output, '.shards')) ? fs.readdirSync(path.join(dir, output, '.shards')).filter((f) => /^scores-\d{5}(\..+)?\.parquet$/.test(f)) : []);

async function until(check: () => boolean | Promise<boolean>, what: string, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const scoreJob = (input: string, output: string, shardRows: number) => ({ type: 'score', input: [input], models: ['seg'], output, options: { shardRows } });

describe.skipIf(!hasRedis)('several hosts under faults (issue 30)', () => {
  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ae-fence-'));
    ({ server: redis, url } = await startRedis(dir));
    await visitors('a.csv', 20_000, 1);
    await visitors('b.csv', 20_000, 2);
    const train = spawnSync(process.execPath, [BIN, 'train', 'kmeans', '--input', 'a.csv', '--k', '3', '--n-init', '1', '--name', 'seg', '--exclude', 'email,converted,true_segment', '--quiet'], {
      cwd: dir,
      encoding: 'utf8',
      env: { ...process.env, AUDIENCE_MODEL_STORE: path.join(dir, 'models') },
    });
    expect(train.status, train.stderr).toBe(0);
    server = await startServer(['--data-root', dir, '--data-dir', path.join(dir, 'data'), '--store', path.join(dir, 'models'), '--redis', url]);
    queue = new Queue(SHARD_QUEUE, { connection: { url } });
  }, 120_000);

  afterAll(async () => {
    for (const p of procs) p.kill('SIGKILL');
    await queue?.close();
    await server?.stop();
    redis?.kill('SIGKILL');
  });

  it('a cancelled job\'s shard finishing late never lands in the next job on the same folder; resubmitting that job while it runs is a 409 naming it', async () => {
    const w1 = await worker();
    const reference = await server.request('POST', '/v1/jobs', scoreJob('b.csv', 'b-alone', 5_000));
    expect((await waitJob(server, reference.body.id, undefined, 120_000)).status).toBe('succeeded');
    // Job A: its first shard starts on w1, which is frozen there; A is cancelled.
    const seen = w1.output().length;
    const a = await server.request('POST', '/v1/jobs', scoreJob('a.csv', 'shared', 5_000));
    expect(a.status, a.text).toBe(202);
    await w1.waitFor(/shard 0 of \S*shared/, seen);
    w1.proc.kill('SIGSTOP');
    expect((await server.request('POST', `/v1/jobs/${a.body.id}/cancel`)).body.status).toBe('cancelled');
    // Job B on the same folder, another input, on a second worker; its runner is frozen once B's shards are queued.
    const w2 = await worker();
    const b = await server.request('POST', '/v1/jobs', scoreJob('b.csv', 'shared', 5_000));
    expect(b.status, b.text).toBe(202);
    await w2.waitFor(/shard 0 of \S*shared/);
    const runner = runnerPid(path.join(dir, 'data'), b.body.id);
    process.kill(runner, 'SIGSTOP');
    try {
      const again = await server.request('POST', '/v1/jobs', scoreJob('b.csv', 'shared', 5_000));
      expect(again.status, again.text).toBe(409);
      expect(again.body.message).toMatch(new RegExp(`shared.* job ${b.body.id}`));
      await until(() => stagedParts('shared').length === 4, "B's 4 parts in staging");
      // A's shard goes on now, while B's parts are staged, and ends (fenced out, or renamed in).
      w1.proc.kill('SIGCONT');
      await until(async () => (await queue.getActiveCount()) === 0, "A's shard to end");
    } finally {
      process.kill(runner, 'SIGCONT');
    }
    const done = await waitJob(server, b.body.id, undefined, 120_000);
    expect(done.error).toBeNull();
    expect(done.status).toBe('succeeded');
    expect(await differingRows(path.join(dir, 'shared', 'scores-*.parquet'), path.join(dir, 'b-alone', 'scores-*.parquet'))).toBe(0);
    expect(fs.readdirSync(path.join(dir, 'shared')).sort()).toEqual(['manifest.json', 'scores-00000.parquet', 'scores-00001.parquet', 'scores-00002.parquet', 'scores-00003.parquet']);
    expect(w1.output()).toMatch(/shard \d+ failed: the staging folder \S+ is no longer this run's/);
  }, 240_000);

  it('an input replaced after 3 of 9 shards fails the job naming the file, and leaves nothing', async () => {
    const input = await visitors('c.csv', 180_000, 3);
    const next = await visitors('c-next.csv', 180_000, 4);
    while (workers.length < 2) await worker();
    const job = await server.request('POST', '/v1/jobs', scoreJob('c.csv', 'replaced', 20_000));
    expect(job.status, job.text).toBe(202);
    await waitJob(server, job.body.id, (j) => j.progress.shardsDone >= 3 || !['queued', 'running'].includes(j.status), 120_000);
    // The workers are frozen while the file is replaced: the shards they hold and those after read it after the change.
    for (const w of workers) w.proc.kill('SIGSTOP');
    fs.renameSync(next, input);
    for (const w of workers) w.proc.kill('SIGCONT');
    const done = await waitJob(server, job.body.id, undefined, 120_000);
    expect(done.status).toBe('failed');
    expect(done.error).toMatch(new RegExp(`an input changed while the job ran: ${input} changed`));
    expect(fs.existsSync(path.join(dir, 'replaced'))).toBe(false);
  }, 240_000);

  it('a Parquet footer claiming 10^12 rows for 20,000 is refused at submission, naming the file', async () => {
    const honest = await visitors('honest.parquet', 20_000, 5);
    lieAboutRows(honest, path.join(dir, 'lying.parquet'), 20_000, 10 ** 12, 'row counts');
    const r = await server.request('POST', '/v1/jobs', scoreJob('lying.parquet', 'lying', 500_000));
    expect(r.status, r.text).toBe(400);
    expect(r.body.message).toMatch(/lying\.parquet: Parquet row group 0 claims 1000000000000 rows, but its column chunks hold 20000 values at most/);
  });
});

/**
 * Redis failing under a running `audience worker` (a real process, on Debian's redis-server
 * started here): its job's keys gone (a Redis restart without persistence), writes refused
 * (maxmemory), the worker frozen past its lock (SIGSTOP, SIGCONT), a full disk under a shard
 * or a distributed K-Means fit (a small tmpfs). The worker survives each and keeps serving;
 * the coordinator names the cause (exit 2, no stack trace). A job whose
 * workers are all gone says so in its status, and goes on when one comes back.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QueueClient } from '../src/execution/queue-client.js';
import { startShardWorker } from '../src/execution/queue-worker.js';
import { hasRedis, redisCli, startRedis } from './redis-helpers.js';
import { startServer, waitJob, type Server } from './service-helpers.js';
import { mountTmpfs, NO_TMPFS, unmountAll } from './tmpfs.js';

const BIN = path.resolve('bin/audience.js');

let dir: string;
let redis: ChildProcess;
let url: string;
let port: number;
const procs: ChildProcess[] = [];

interface Proc {
  proc: ChildProcess;
  out: () => string;
  exited: Promise<number | null>;
}

/** Starts `audience ARGS` in the test folder, with the model store there and `env`. */
function audience(args: string[], env: Record<string, string> = {}): Proc {
  const proc = spawn(process.execPath, [BIN, ...args], { cwd: dir, env: { ...process.env, AUDIENCE_MODEL_STORE: path.join(dir, 'models'), AUDIENCE_WORKERS: '1', ...env } });
  procs.push(proc);
  let out = '';
  proc.stdout!.on('data', (c) => (out += c));
  proc.stderr!.on('data', (c) => (out += c));
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  return { proc, out: () => out, exited };
}

async function until(what: string, check: () => boolean, ms = 60_000): Promise<void> {
  for (const end = Date.now() + ms; !check(); await new Promise((r) => setTimeout(r, 25))) if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
}

/** An `audience worker` (one shard at a time, a lock of 1 s), once it listens on the queue. */
async function startWorker(): Promise<Proc> {
  const w = audience(['worker', '--redis', url, '--concurrency', '1', '--lock-seconds', '1']);
  await until('the worker', () => w.out().includes('shard(s) at a time') || w.proc.exitCode !== null);
  expect(w.proc.exitCode, w.out()).toBeNull();
  return w;
}

/** `audience score` of big.parquet in two shards through the queue, to `output`. */
const score = (output: string) => audience(['score', '--input', 'big.parquet', '--model', 'seg', '--shard-rows', '150000', '--output', output], { REDIS_URL: url });

describe.skipIf(!hasRedis)('a worker when Redis fails under it', () => {
  let worker: Proc;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ae-wfault-'));
    ({ server: redis, url, port } = await startRedis(dir));
    for (const args of [
      ['generate', '--visitors', '3000', '--out', 'small.csv', '--quiet'],
      ['generate', '--visitors', '300000', '--out', 'big.parquet', '--seed', '5', '--quiet'],
      ['train', 'kmeans', '--input', 'small.csv', '--k', '3', '--n-init', '1', '--name', 'seg', '--exclude', 'converted,true_segment,email', '--quiet'],
    ]) {
      const r = audience(args);
      expect(await r.exited, r.out()).toBe(0);
    }
    worker = await startWorker();
  }, 120_000);

  afterAll(async () => {
    for (const p of procs) if (p.exitCode === null) p.kill('SIGKILL');
    redis?.kill('SIGKILL');
    await new Promise((r) => setTimeout(r, 200)); // the killed processes let go of the mounts
    unmountAll();
  });

  /** The worker is still running and has logged no unhandled error. */
  function expectAlive(w: Proc) {
    expect(w.proc.exitCode, w.out()).toBeNull();
    expect(w.out()).not.toMatch(/internal error|Unhandled|\n\s+at /);
  }

  it("its job's keys gone mid-shard (Redis restarted without persistence): it stays up and serves the next job; the coordinator names the cause", async () => {
    const lost = score('lost');
    await until('a shard on the worker', () => /shard \d+ of .*lost/.test(worker.out()) || lost.proc.exitCode !== null);
    expect(lost.proc.exitCode, `${lost.out()}\n${worker.out()}`).toBeNull();
    redis.kill('SIGKILL');
    await new Promise((r) => redis.once('exit', r));
    ({ server: redis } = await startRedis(dir, port));
    expect(await lost.exited, lost.out()).toBe(2);
    expect(lost.out()).toMatch(/error: shard \d is no longer on the queue at redis:\/\/127\.0\.0\.1:\d+: its keys are gone \(Redis restarted without persistence, flushed, or evicting keys\)/);
    expect(lost.out()).not.toMatch(/internal error|\n\s+at /);
    await new Promise((r) => setTimeout(r, 1500)); // the worker's progress and completion calls have failed by now
    expectAlive(worker);
    const next = score('after-restart');
    expect(await next.exited, next.out()).toBe(0);
    expect(worker.out()).toMatch(/shard 0 of .*after-restart/);
    expectAlive(worker);
  }, 120_000);

  it('Redis refusing writes (maxmemory): a new job is refused naming it; a running one waits, the worker stays up, and it finishes once Redis takes writes', async () => {
    redisCli(port, 'CONFIG', 'SET', 'maxmemory', '1');
    const refused = score('refused');
    expect(await refused.exited, refused.out()).toBe(2);
    expect(refused.out()).toMatch(/error: Redis at redis:\/\/127\.0\.0\.1:\d+ refuses writes \(OOM command not allowed when used memory > 'maxmemory'/);
    expect(refused.out()).not.toMatch(/internal error|\n\s+at /);
    redisCli(port, 'CONFIG', 'SET', 'maxmemory', '0');

    const full = score('full');
    await until('a shard on the worker', () => /shard \d+ of .*full/.test(worker.out()));
    redisCli(port, 'CONFIG', 'SET', 'maxmemory', '1');
    await new Promise((r) => setTimeout(r, 2500)); // progress, lock renewals and the completion are refused meanwhile
    expectAlive(worker);
    redisCli(port, 'CONFIG', 'SET', 'maxmemory', '0');
    expect(await full.exited, full.out()).toBe(0);
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'full', 'manifest.json'), 'utf8')).rows).toBe(300_000);
    expectAlive(worker);
  }, 120_000);

  it('frozen past its lock (SIGSTOP) while another worker finishes its job, then resumed (SIGCONT): it stays up', async () => {
    const other = await startWorker();
    // One shard: whichever worker takes it is frozen; the other runs it once the lock lapses, and the job ends (its keys removed).
    const frozen = audience(['score', '--input', 'big.parquet', '--model', 'seg', '--shard-rows', '300000', '--output', 'frozen'], { REDIS_URL: url });
    const took = (w: Proc) => /shard \d+ of .*frozen/.test(w.out());
    await until('a shard on a worker', () => took(worker) || took(other));
    const [taker, spare] = took(worker) ? [worker, other] : [other, worker];
    taker.proc.kill('SIGSTOP');
    expect(await frozen.exited, frozen.out()).toBe(0);
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'frozen', 'manifest.json'), 'utf8')).rows).toBe(300_000);
    taker.proc.kill('SIGCONT'); // its progress reports and its completion now find no job
    await until('the resumed shard to end', () => /Missing key|progress not reported/.test(taker.out()) || taker.proc.exitCode !== null, 30_000);
    await new Promise((r) => setTimeout(r, 500));
    expectAlive(taker);
    spare.proc.kill('SIGKILL');
    worker = taker;
  }, 120_000);

  it("a shard's full disk on the worker, after its tries: the job fails naming the file and the reason (exit 2); the worker stays up", async (ctx) => {
    const small = path.join(dir, 'small-out');
    if (!mountTmpfs(small, '256k')) return ctx.skip(NO_TMPFS);
    const r = audience(['score', '--input', 'big.parquet', '--model', 'seg', '--shard-rows', '150000', '--output', path.join(small, 'out')], { REDIS_URL: url });
    expect(await r.exited, r.out()).toBe(2);
    expect(r.out()).toMatch(/error: shard \d failed on the workers after 3 attempt\(s\): worker \S+: cannot (read or )?write .*small-out\/out\/\.shards.*(no space left|No space left)/);
    expect(r.out()).not.toMatch(/internal error|\n\s+at /);
    // The worker's own log says it in the same words.
    expect(worker.out()).toMatch(/shard \d failed: worker \S+: cannot (read or )?write .*small-out/);
    expectAlive(worker);
  }, 120_000);

  it('a distributed K-Means fit on a full model store: exit 2 naming the staged file and the reason', async (ctx) => {
    const store = path.join(dir, 'small-store');
    if (!mountTmpfs(store, '256k')) return ctx.skip(NO_TMPFS);
    const args = ['train', 'kmeans', '--input', 'big.parquet', '--k', '3', '--n-init', '1', '--name', 'full', '--exclude', 'converted,true_segment,email', '--shard-rows', '150000', '--quiet'];
    const r = audience(args, { REDIS_URL: url, AUDIENCE_MODEL_STORE: store });
    expect(await r.exited, r.out()).toBe(2);
    expect(r.out()).toMatch(/error: K-Means shard \d failed on the workers after 3 attempt\(s\): worker \S+: cannot write .*small-store\/\.staging\/\S+: no space left on the device/);
    expect(r.out()).not.toMatch(/internal error|\n\s+at /);
    expectAlive(worker);
  }, 120_000);

  /**
   * Kills the only worker under running service job `id`: its stage must say so ("<stage>:
   * waiting: 0 workers connected for N s ..."); then a new worker lets it succeed. Returns the job.
   */
  async function orphanAndRescue(server: Server, id: string, stage: 'scoring' | 'training') {
    worker.proc.kill('SIGKILL');
    const waiting = await waitJob(server, id, (j) => /waiting: 0 workers connected for [1-9]\d* s/.test(j.stage ?? '') || j.status !== 'running', 30_000);
    expect(waiting.stage).toMatch(new RegExp(`^${stage}: waiting: 0 workers connected for \\d+ s \\(\\d+ of \\d+ shards done\\)$`));
    worker = await startWorker();
    const done = await waitJob(server, id, undefined, 120_000);
    expect(done.error).toBeNull();
    expect(done.status).toBe('succeeded');
    return done;
  }

  it('a service job whose workers are all gone says so in its stage, and finishes when a worker comes back', async () => {
    const server = await startServer(['--data-root', dir, '--data-dir', path.join(dir, 'data'), '--store', path.join(dir, 'models'), '--redis', url]);
    try {
      const job = await server.request('POST', '/v1/jobs', { type: 'score', input: ['big.parquet'], models: ['seg'], output: 'orphaned', options: { shardRows: 30_000 } });
      expect(job.status, job.text).toBe(202);
      const mid = await waitJob(server, job.body.id, (j) => j.progress.shardsDone >= 1 || !['queued', 'running'].includes(j.status), 60_000);
      expect(mid.status).toBe('running');
      const done = await orphanAndRescue(server, job.body.id, 'scoring');
      expect(done.progress.rowsDone).toBe(300_000);
    } finally {
      await server.stop();
    }
  }, 180_000);

  it('audience score through Redis with its only worker gone prints why it waits, and finishes when a worker comes back', async () => {
    const r = audience(['score', '--input', 'big.parquet', '--model', 'seg', '--shard-rows', '30000', '--output', 'cli-orphaned', '--quiet'], { REDIS_URL: url });
    // Once a shard is done (the run checks that a worker is connected before it starts), the only worker goes.
    const staging = path.join(dir, 'cli-orphaned', '.shards');
    await until('a finished shard', () => fs.existsSync(staging) && fs.readdirSync(staging).some((f) => /^scores-\d+\..*\.parquet$/.test(f)), 60_000);
    worker.proc.kill('SIGKILL');
    await until('the waiting line', () => /waiting: 0 workers connected for [1-9]\d* s \(\d+ of \d+ shards done\)/.test(r.out()), 30_000).catch((err) => {
      throw new Error(`${err.message}; it printed: ${r.out()}`);
    });
    worker = await startWorker();
    expect(await r.exited, r.out()).toBe(0);
    expect(r.out()).toMatch(/Scored 300,000 visitors/);
  }, 180_000);

  it('a service K-Means fit whose workers are all gone says so in its stage, and finishes when a worker comes back', async () => {
    const server = await startServer(['--data-root', dir, '--data-dir', path.join(dir, 'data-fit'), '--store', path.join(dir, 'models'), '--redis', url]);
    try {
      const params = { k: 3, 'n-init': 1, 'shard-rows': 30_000, exclude: 'converted,true_segment,email' };
      const loads = () => redisCli(port, '--scan', '--pattern', 'bull:audience-shards:*-load-*').split('\n').filter(Boolean);
      const earlier = new Set(loads()); // failed fits' jobs stay on the queue a day
      const job = await server.request('POST', '/v1/jobs', { type: 'train', model: 'kmeans', name: 'seg-fit', input: ['big.parquet'], params });
      expect(job.status, job.text).toBe(202);
      await until('a K-Means job on the queue', () => loads().some((k) => !earlier.has(k)));
      await orphanAndRescue(server, job.body.id, 'training');
    } finally {
      await server.stop();
    }
  }, 180_000);

  it('a queue whose shards stall with a worker connected, or whose Redis does not answer, says how long', async () => {
    // A worker that takes the job and never answers (what a frozen or wedged host looks like).
    const wedged = startShardWorker(url, { concurrency: 1, runTask: () => new Promise(() => {}), handlers: { wedge: () => new Promise(() => {}) } });
    const client = await QueueClient.open(url);
    const said: string[] = [];
    const abort = new AbortController();
    try {
      worker.proc.kill('SIGKILL'); // only the wedged one takes the job
      const run = client.run([{ id: `wedge-${process.pid}`, name: 'wedge', label: 'step 0', data: {} }], { signal: abort.signal, stallSeconds: 1, onWaiting: (why) => why && said.push(why) });
      const outcome = run.then(
        () => 'finished',
        (err: Error) => err.message,
      );
      await until('a stall report', () => said.some((s) => /no shard has finished or reported progress for [1-9]\d* s \(0 of 1 shards done\)/.test(s)), 20_000);
      // Redis itself frozen: the calls hang, and the report says so.
      redis.kill('SIGSTOP');
      try {
        await until('a report of Redis not answering', () => said.some((s) => /^Redis at redis:\/\/127\.0\.0\.1:\d+ has not answered for [1-9]\d* s \(0 of 1 shards done\)$/.test(s)), 20_000);
      } finally {
        redis.kill('SIGCONT');
      }
      abort.abort(new Error('stopped by the test'));
      expect(await outcome).toBe('stopped by the test');
    } finally {
      await client.close();
      await wedged.close(true);
    }
  }, 60_000);
});

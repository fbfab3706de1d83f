/**
 * Several hosts through BullMQ on a real Redis (Debian's redis-server, started here on a
 * loopback port in a temporary folder): score jobs whose shards run on two `audience worker`
 * processes give the single-host output value for value, also when one worker is killed
 * mid-job (its shard is found stalled and retried on the other), and a worker that cannot
 * see a path fails the job with that reason.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QueueClient } from '../src/execution/queue-client.js';
import { startShardWorker } from '../src/execution/queue-worker.js';
import { runShardsOnQueue } from '../src/execution/shard-queue.js';
import { checkRedisUrl, requireRedis } from '../src/execution/redis.js';
import { crossedError, encodeError } from '../src/util/errors.js';
import { DeviceError } from '../src/compute/read.js';
import { dumpOutput } from './finalize-fixture.js';
import { differingRows, startServer, waitJob } from './service-helpers.js';
import { freePort, hasRedis, startRedis } from './redis-helpers.js';

const BIN = path.resolve('bin/audience.js');

let dir: string;
let redis: ChildProcess | undefined;
let url: string;
const workers: ChildProcess[] = [];

function cli(args: string[], env: Record<string, string> = {}) {
  return spawnSync(process.execPath, [BIN, ...args], { cwd: dir, encoding: 'utf8', env: { ...process.env, AUDIENCE_MODEL_STORE: path.join(dir, 'models'), ...env }, timeout: 120_000 });
}

/** Starts an `audience worker` and resolves once it listens on the queue. */
async function startWorker(): Promise<ChildProcess> {
  const w = spawn(process.execPath, [BIN, 'worker', '--redis', url, '--concurrency', '1', '--lock-seconds', '1'], { cwd: dir, env: { ...process.env, AUDIENCE_WORKERS: '1' } });
  let out = '';
  const log = path.join(dir, `worker-${workers.length}.log`);
  w.stdout!.on('data', (c) => {
    out += c;
    fs.appendFileSync(log, c);
  });
  w.stderr!.on('data', (c) => {
    out += c;
    fs.appendFileSync(log, c);
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`worker did not start:\n${out}`)), 60_000);
    w.stdout!.on('data', () => {
      if (out.includes('shard(s) at a time')) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  workers.push(w);
  return w;
}

describe.skipIf(!hasRedis)('shards over workers through Redis (BullMQ)', () => {
  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ae-queue-'));
    ({ server: redis, url } = await startRedis(dir));
    expect(cli(['generate', '--visitors', '60000', '--out', 'v.csv']).status).toBe(0);
    expect(cli(['generate', '--visitors', '400000', '--out', 'big.parquet', '--seed', '5']).status).toBe(0);
    expect(cli(['train', 'kmeans', '--input', 'v.csv', '--k', '4', '--name', 'seg', '--exclude', 'converted,true_segment,email', '--quiet']).status).toBe(0);
    fs.writeFileSync(path.join(dir, 'aud.json'), JSON.stringify({ identifiers: { email: 'email' }, audiences: [{ name: 'near', rule: 'seg.distance <= 2', holdout: 0.2 }] }));
    await startWorker();
    await startWorker();
  }, 180_000);

  afterAll(() => {
    for (const w of workers) w.kill('SIGKILL');
    redis?.kill('SIGKILL');
  });

  const score = (output: string, env: Record<string, string> = {}) => cli(['score', '--input', 'v.csv', '--model', 'seg', '--audiences', 'aud.json', '--shard-rows', '6000', '--output', output], env);

  /** Two output folders hold the same files with the same rows (Parquet as multisets, the rest byte for byte). */
  async function expectSameOutput(a: string, b: string) {
    const ma = JSON.parse(fs.readFileSync(path.join(a, 'manifest.json'), 'utf8'));
    const mb = JSON.parse(fs.readFileSync(path.join(b, 'manifest.json'), 'utf8'));
    expect(mb.files).toEqual(ma.files);
    expect(mb.audiences?.summaries).toEqual(ma.audiences?.summaries);
    for (const f of ma.files) expect(await differingRows(path.join(a, f.path), path.join(b, f.path)), f.path).toBe(0);
    for (const s of ma.audiences?.summaries ?? []) {
      for (const f of fs.readdirSync(path.join(a, 'audiences', s.name))) {
        if (f.endsWith('.parquet')) expect(await differingRows(path.join(a, 'audiences', s.name, f), path.join(b, 'audiences', s.name, f))).toBe(0);
        else expect(fs.readFileSync(path.join(b, 'audiences', s.name, f)).equals(fs.readFileSync(path.join(a, 'audiences', s.name, f))), f).toBe(true);
      }
    }
  }

  it('a 400k-row job over two workers (4 shards) gives the single-host output value for value', async () => {
    const big = (output: string, env: Record<string, string> = {}) =>
      cli(['score', '--input', 'big.parquet', '--model', 'seg', '--audiences', 'aud.json', '--shard-rows', '100000', '--output', output], env);
    const single = big('big-single');
    expect(single.status, single.stderr).toBe(0);
    const queued = big('big-queued', { REDIS_URL: url });
    expect(queued.status, queued.stderr).toBe(0);
    await expectSameOutput(path.join(dir, 'big-single'), path.join(dir, 'big-queued'));
    expect(fs.existsSync(path.join(dir, 'big-queued', '.shards'))).toBe(false);
    // Both workers took shards.
    for (const i of [0, 1]) expect(fs.readFileSync(path.join(dir, `worker-${i}.log`), 'utf8')).toMatch(/shard \d+ of .*big-queued/);
  }, 180_000);

  it('K-Means trained over the workers equals the single-process fit from the same seed', async () => {
    const args = ['train', 'kmeans', '--input', 'v.csv', '--k', '4', '--seed', '3', '--exclude', 'converted,true_segment,email', '--quiet'];
    const one = cli([...args, '--name', 'seg-one']);
    expect(one.status, one.stderr).toBe(0);
    const many = cli([...args, '--name', 'seg-many', '--shard-rows', '7000'], { REDIS_URL: url });
    expect(many.status, many.stderr).toBe(0);
    const read = (name: string) => {
      const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'models', name, '1', 'manifest.json'), 'utf8'));
      const bin = fs.readFileSync(path.join(dir, 'models', name, '1', 'weights.bin'));
      return { manifest, centroids: new Float32Array(bin.buffer, bin.byteOffset, bin.byteLength / 4) };
    };
    const a = read('seg-one');
    const b = read('seg-many');
    // The stated tolerance: the same sample, seeding, iterations and segment sizes; centroids
    // (standardized units) to 1e-3, inertia to 1e-4 relative (float32 summation order).
    expect(b.manifest.metrics.sizes).toEqual(a.manifest.metrics.sizes);
    expect(b.manifest.metrics.iterations).toBe(a.manifest.metrics.iterations);
    expect(b.manifest.metrics.silhouette).toBeCloseTo(a.manifest.metrics.silhouette, 6);
    expect(Math.abs(b.manifest.metrics.inertia - a.manifest.metrics.inertia) / a.manifest.metrics.inertia).toBeLessThan(1e-4);
    expect(b.centroids.length).toBe(a.centroids.length);
    for (let i = 0; i < a.centroids.length; i++) expect(Math.abs(b.centroids[i] - a.centroids[i])).toBeLessThan(1e-3);
    // The workers did the iterations; nothing is left staged in the store.
    expect(fs.readFileSync(path.join(dir, 'worker-0.log'), 'utf8') + fs.readFileSync(path.join(dir, 'worker-1.log'), 'utf8')).not.toMatch(/failed/);
    const staging = path.join(dir, 'models', '.staging');
    expect(fs.existsSync(staging) ? fs.readdirSync(staging) : []).toEqual([]);
    // Mini-batch mode streams through one backend: refused with the reason.
    const mini = cli([...args, '--name', 'seg-mini', '--mode', 'minibatch'], { REDIS_URL: url });
    expect(mini.status).toBe(2);
    expect(mini.stderr).toMatch(/--mode minibatch runs on one host/);
  }, 180_000);

  it('the server killed mid-job and restarted: the job resumes and finishes with the same output', async () => {
    const args = ['--data-root', dir, '--data-dir', path.join(dir, 'data-restart'), '--store', path.join(dir, 'models'), '--redis', url];
    let server = await startServer(args);
    try {
      const submitted = await server.request('POST', '/v1/jobs', { type: 'score', input: ['big.parquet'], models: ['seg'], output: 'big-restarted', audiences: JSON.parse(fs.readFileSync(path.join(dir, 'aud.json'), 'utf8')), options: { shardRows: 50_000 } });
      expect(submitted.status, submitted.text).toBe(202);
      const mid = await waitJob(server, submitted.body.id, (j) => j.progress?.shardsDone >= 2 || !['queued', 'running'].includes(j.status), 120_000);
      expect(mid.status).toBe('running');
      await server.kill9();
      server = await startServer(args);
      expect(server.output()).toMatch(/resuming 1 job\(s\) left running/);
      const done = await waitJob(server, submitted.body.id, undefined, 150_000);
      expect(done.error).toBeNull();
      expect(done.status).toBe('succeeded');
      await expectSameOutput(path.join(dir, 'big-single'), path.join(dir, 'big-restarted'));
    } finally {
      await server.stop();
    }
  }, 300_000);

  it('a worker killed mid-job: its shard is retried on the other, every row once, the same output', async () => {
    const single = score('single');
    expect(single.status, single.stderr).toBe(0);
    const job = spawn(process.execPath, [BIN, 'score', '--input', 'v.csv', '--model', 'seg', '--audiences', 'aud.json', '--shard-rows', '6000', '--output', 'killed'], {
      cwd: dir,
      env: { ...process.env, AUDIENCE_MODEL_STORE: path.join(dir, 'models'), REDIS_URL: url },
    });
    let err = '';
    job.stderr!.on('data', (c) => (err += c));
    const exited = new Promise<number | null>((resolve) => job.on('exit', resolve));
    await new Promise((r) => setTimeout(r, 1500));
    workers[0].kill('SIGKILL');
    expect(await exited, err).toBe(0);
    expect(await dumpOutput(path.join(dir, 'killed'))).toEqual(await dumpOutput(path.join(dir, 'single')));
  }, 120_000);

  it('cancel through the service: shards still queued are skipped, running ones leave nothing behind', async () => {
    const server = await startServer(['--data-root', dir, '--data-dir', path.join(dir, 'data'), '--store', path.join(dir, 'models'), '--redis', url]);
    try {
      const submitted = await server.request('POST', '/v1/jobs', { type: 'score', input: ['v.csv'], models: ['seg'], output: 'cancelled', options: { shardRows: 3000 } });
      expect(submitted.status, submitted.text).toBe(202);
      const running = await waitJob(server, submitted.body.id, (j) => j.progress?.shardsDone >= 1 || !['queued', 'running'].includes(j.status), 60_000);
      expect(running.status).toBe('running');
      expect((await server.request('POST', `/v1/jobs/${submitted.body.id}/cancel`)).body.status).toBe('cancelled');
      await new Promise((r) => setTimeout(r, 3000)); // shards in flight on the workers finish meanwhile
      expect(fs.existsSync(path.join(dir, 'cancelled'))).toBe(false);
      expect((await server.request('GET', '/readyz')).body).toEqual({ ready: true, redis: 'ok' });
    } finally {
      await server.stop();
    }
  }, 120_000);

  it('a worker that cannot see a path fails the job with the path and the reason, not an ENOENT trace', async () => {
    const staging = path.join(dir, 'unseen', '.shards');
    fs.mkdirSync(staging, { recursive: true });
    fs.writeFileSync(path.join(staging, 'owner.json'), '{}');
    const job = { input: ['/mnt/not-mounted-here/v.parquet'], models: ['seg@1'], store: path.join(dir, 'models'), maxRejects: 0 };
    await expect(runShardsOnQueue(url, job, [{ index: 0, table: 0, start: 0, end: 10, first: 0 }], { staging, fence: 'test', maxRejects: 0 })).rejects.toThrow(
      /worker \S+ cannot see \/mnt\/not-mounted-here\/v\.parquet: inputs, the output folder and the model store must be on a filesystem every worker mounts at the same path/,
    );
  }, 60_000);
});

describe('Redis URLs and reachability', () => {
  it('a malformed URL is refused with what was expected; an unreachable Redis fails fast with the reason', async () => {
    for (const bad of ['notaurl', 'http://127.0.0.1:6379', 'redis://127.0.0.1:99999', 'redis://', 'redis://h/db']) {
      expect(() => checkRedisUrl(bad)).toThrow(/expected a URL such as redis:\/\/127\.0\.0\.1:6379/);
    }
    expect(checkRedisUrl('rediss://user:pw@cache.internal:6380/2')).toBe('rediss://user:pw@cache.internal:6380/2');
    const port = await freePort(); // nothing listens there
    await expect(requireRedis(`redis://127.0.0.1:${port}`)).rejects.toThrow(/does not answer \(unreachable: .*\): start it, or run without REDIS_URL/);
  });

  it.skipIf(!hasRedis)('a Redis with no worker listening: the job is refused at once, not left waiting', async () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ae-noworker-'));
    const { server: lone, url: loneUrl } = await startRedis(tmp);
    try {
      await expect(QueueClient.open(loneUrl)).rejects.toThrow(/no 'audience worker' is connected to the queue "audience-shards"/);
    } finally {
      lone.kill('SIGKILL');
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  }, 30_000);

  it.skipIf(!hasRedis)('a shard whose GPU device failed: the worker is told (to stop), the shard is retried and the job finishes', async () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ae-devicefail-'));
    const { server: lone, url: loneUrl } = await startRedis(tmp);
    const failed: string[] = [];
    let calls = 0;
    try {
      // The first run fails as a thread whose device failed does; the retry (another worker's, in production) succeeds.
      const w = startShardWorker(loneUrl, {
        concurrency: 1,
        runTask: async (task) => {
          if (calls++ === 0) throw new Error(encodeError(new DeviceError('the GPU device (webgpu backend) failed a computation: Buffer is too large')));
          return { index: task.shard.index, rows: 10, imputed: 0, rejected: 0, seconds: 0.01 };
        },
        onDeviceError: (m) => failed.push(m),
      });
      try {
        await w.waitUntilReady();
        const staging = path.join(tmp, 'out', '.shards');
        fs.mkdirSync(staging, { recursive: true });
        fs.writeFileSync(path.join(staging, 'owner.json'), '{}');
        const job = { input: [tmp], models: ['seg@1'], store: tmp, maxRejects: 0 };
        const results = await runShardsOnQueue(loneUrl, job, [{ index: 0, table: 0, start: 0, end: 10, first: 0 }], { staging, fence: 'test', maxRejects: 0, attempts: 2 });
        expect(results).toEqual([{ index: 0, rows: 10, imputed: 0, rejected: 0, seconds: 0.01 }]);
        expect(calls).toBe(2);
        expect(failed).toEqual(['the GPU device (webgpu backend) failed a computation: Buffer is too large']);
        // In process (runShards' thread pool), the encoded message is a DeviceError again, which the CLI prints without a trace.
        const crossed = crossedError(new Error(encodeError(new DeviceError('it failed'))));
        expect(crossed).toBeInstanceOf(DeviceError);
        expect((crossed as DeviceError).message).toBe('it failed');
      } finally {
        await w.close();
      }
    } finally {
      lone.kill('SIGKILL');
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  }, 60_000);

  it('the service with Redis away: not ready, and jobs that need the queue are refused with 503, not failed later', async () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ae-noredis-'));
    const port = await freePort();
    const server = await startServer(['--data-root', tmp, '--data-dir', path.join(tmp, 'data'), '--store', path.join(tmp, 'models'), '--redis', `redis://127.0.0.1:${port}`]);
    try {
      const ready = await server.request('GET', '/readyz');
      expect(ready.status).toBe(503);
      expect(ready.body.redis).toMatch(/unreachable/);
      const res = await server.request('POST', '/v1/jobs', { type: 'score', input: ['v.csv'], models: ['seg'], output: 'out' });
      expect(res.status, res.text).toBe(503);
      expect(res.body.message).toMatch(/Redis \(REDIS_URL\) does not answer .*retry when \/readyz is ready/);
      const train = await server.request('POST', '/v1/jobs', { type: 'train', model: 'kmeans', name: 'seg', input: ['v.csv'] });
      expect(train.status).toBe(503);
    } finally {
      await server.stop();
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  }, 60_000);
});

/**
 * Several hosts through BullMQ on a real Redis (Debian's redis-server, started here on a
 * loopback port in a temporary folder): score jobs whose shards run on two `audience worker`
 * processes give the single-host output value for value, also when one worker is killed
 * mid-job (its shard is found stalled and retried on the other), and a worker that cannot
 * see a path fails the job with that reason.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkRedisUrl, requireRedis, runShardsOnQueue } from '../src/jobs/queue.js';
import { dumpOutput } from './finalize-fixture.js';
import { startServer, waitJob } from './service-helpers.js';

const BIN = path.resolve('bin/audience.js');
const hasRedis = spawnSync('redis-server', ['--version']).status === 0;

let dir: string;
let redis: ChildProcess | undefined;
let url: string;
const workers: ChildProcess[] = [];

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

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
    const port = await freePort();
    url = `redis://127.0.0.1:${port}`;
    redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: 'ignore' });
    for (let i = 0; i < 50 && spawnSync('redis-cli', ['-p', String(port), 'ping'], { encoding: 'utf8' }).stdout?.trim() !== 'PONG'; i++) await new Promise((r) => setTimeout(r, 100));
    expect(cli(['generate', '--visitors', '60000', '--out', 'v.csv']).status).toBe(0);
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

  it('gives the single-host output value for value', async () => {
    const single = score('single');
    expect(single.status, single.stderr).toBe(0);
    const queued = score('queued', { REDIS_URL: url });
    expect(queued.status, queued.stderr).toBe(0);
    expect(await dumpOutput(path.join(dir, 'queued'))).toEqual(await dumpOutput(path.join(dir, 'single')));
    expect(fs.existsSync(path.join(dir, 'queued', '.shards'))).toBe(false);
  }, 120_000);

  it('a worker killed mid-job: its shard is retried on the other, every row once, the same output', async () => {
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
    await expect(runShardsOnQueue(url, job, [{ index: 0, table: 0, start: 0, end: 10, first: 0 }], { staging, maxRejects: 0 })).rejects.toThrow(
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
});

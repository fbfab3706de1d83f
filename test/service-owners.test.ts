/**
 * Two servers with their own `--data-dir` on one output folder: the staging folder's
 * owner.json (pid, start time, host) is checked, so the second server refuses the job with
 * 409 naming the owner, and no run removes staging whose owner is alive.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { claimStaging, prepareOutput } from '../src/scoring/output.js';
import { processStartTime } from '../src/util/process.js';
import { startServer, visitorRoot, waitJob, type Server } from './service-helpers.js';

let dir: string;
let root: string;
const servers: Server[] = [];

const serverArgs = (data: string) => ['--data-root', root, '--data-dir', path.join(dir, data), '--store', path.join(dir, 'models')];

beforeAll(async () => {
  ({ dir, root } = await visitorRoot(6, 20_000));
}, 120_000);

afterAll(async () => {
  for (const s of servers) await s.stop();
});

describe('staging held by a live owner', () => {
  /** A staging folder in a fresh output folder whose owner.json names `owner`. */
  function staged(owner: Record<string, unknown>): string {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'ae-owned-'));
    fs.mkdirSync(path.join(out, '.shards'));
    fs.writeFileSync(path.join(out, '.shards', 'owner.json'), JSON.stringify(owner));
    fs.writeFileSync(path.join(out, '.shards', 'scores-00000.parquet'), 'a live part');
    return out;
  }

  it('a run never removes staging whose owner process is alive, here or on another host', async () => {
    const sleeper = spawn('sleep', ['30']);
    try {
      const live = { pid: sleeper.pid, start: processStartTime(sleeper.pid!), host: os.hostname(), job: 'job_elsewhere' };
      // The job is unknown to this store (another server's): its process decides.
      const held = staged(live);
      expect(() => prepareOutput(held, false, '--overwrite', () => false)).toThrow(new RegExp(`is in use by job job_elsewhere of another server \\(pid ${sleeper.pid} on ${os.hostname()}`));
      expect(fs.readFileSync(path.join(held, '.shards', 'scores-00000.parquet'), 'utf8')).toBe('a live part');
      // On another host the process cannot be checked: kept, and the message says what to do if that host is gone.
      const remote = staged({ ...live, pid: 1, host: 'other-host' });
      expect(() => prepareOutput(remote, true, '--overwrite', () => false)).toThrow(/pid 1 on other-host.*if that host is gone, remove .*owner\.json/);
      expect(fs.existsSync(path.join(remote, '.shards', 'scores-00000.parquet'))).toBe(true);
      // A CLI run (no job) that is alive is kept too; claiming over it is refused.
      const cli = staged({ pid: sleeper.pid, start: processStartTime(sleeper.pid!) });
      expect(() => prepareOutput(cli, false)).toThrow(/in use by another run \(pid \d+\)/);
      expect(() => claimStaging(cli, { pid: process.pid, start: '' })).toThrow(/in use by another run/);
    } finally {
      sleeper.kill('SIGKILL');
    }
    // Its process gone, the staging is stale: removed, and the folder is claimed.
    await new Promise((r) => sleeper.once('exit', r));
    const dead = staged({ pid: sleeper.pid, start: 'gone', host: os.hostname(), job: 'job_elsewhere' });
    prepareOutput(dead, false, '--overwrite', () => false);
    expect(fs.existsSync(path.join(dead, '.shards'))).toBe(false);
  });

  it('a second server (another --data-dir) refuses a job on an output folder the first is writing: 409 naming the owner', async () => {
    const a = await startServer(serverArgs('data-a'));
    servers.push(a);
    const train = await a.request('POST', '/v1/jobs', { type: 'train', model: 'kmeans', name: 'behavior', input: ['v-00.parquet'], params: { k: 3, 'n-init': 1 } });
    expect((await waitJob(a, train.body.id)).status).toBe('succeeded');
    const b = await startServer(serverArgs('data-b'));
    servers.push(b);

    const job = { type: 'score', input: ['v-*.parquet'], models: ['behavior'], output: 'shared', options: { shardRows: 4_000 } };
    const first = await a.request('POST', '/v1/jobs', job);
    expect(first.status).toBe(202);
    const mid = await waitJob(a, first.body.id, (j) => j.progress.shardsDone >= 1 || !['queued', 'running'].includes(j.status));
    expect(mid.status).toBe('running');
    const owner = JSON.parse(fs.readFileSync(path.join(root, 'shared', '.shards', 'owner.json'), 'utf8'));

    const second = await b.request('POST', '/v1/jobs', job);
    expect(second.status, second.text).toBe(409);
    expect(owner).toMatchObject({ job: first.body.id, host: os.hostname() });
    expect(second.body.message).toMatch(new RegExp(`output shared is in use by job ${first.body.id} of another server \\(pid ${owner.pid} on ${os.hostname()}, since `));
    // The first job is untouched by the refusal and finishes.
    const done = await waitJob(a, first.body.id);
    expect(done.error).toBeNull();
    expect(done.status).toBe('succeeded');
    expect(fs.existsSync(path.join(root, 'shared', 'manifest.json'))).toBe(true);
  }, 180_000);
});

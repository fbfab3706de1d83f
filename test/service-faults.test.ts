/**
 * Faults an operator meets: a runner killed mid-job, two servers on one data folder, an input
 * replaced between a crash and the resume, two jobs on one output folder, a damaged job store,
 * staging left by jobs whose store was lost; and requests the schema must refuse.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '../src/io/duckdb.js';
import { JobStore } from '../src/server/jobs/store.js';
import { differingRows, runnerPid, startServer, visitorRoot, waitJob, type Server } from './service-helpers.js';

let server: Server;
let dir: string;
let root: string;
let args: string[];

const score = (output: string, extra: Record<string, unknown> = {}) => ({ type: 'score', input: ['v-*.parquet'], models: ['behavior'], output, ...extra });

const runnerOf = (id: string) => runnerPid(path.join(dir, 'data'), id);


beforeAll(async () => {
  ({ dir, root } = await visitorRoot(10, 20_000));
  args = ['--data-root', root, '--data-dir', path.join(dir, 'data'), '--store', path.join(dir, 'models'), '--concurrency', '2'];
  server = await startServer(args);
  const train = await server.request('POST', '/v1/jobs', { type: 'train', model: 'kmeans', name: 'behavior', input: ['v-00.parquet'], params: { k: 4, 'n-init': 1 } });
  expect((await waitJob(server, train.body.id)).status).toBe('succeeded');
});

afterAll(async () => {
  await server?.stop();
});

describe('crashes and concurrency', () => {
  it('retries a job whose runner was killed (kill -9), resuming to output equal to a clean run', async () => {
    const clean = await server.request('POST', '/v1/jobs', score('clean', { options: { shardRows: 20_000 } }));
    expect((await waitJob(server, clean.body.id)).status).toBe('succeeded');

    const job = await server.request('POST', '/v1/jobs', score('killed', { options: { shardRows: 20_000 } }));
    const mid = await waitJob(server, job.body.id, (j) => j.progress.shardsDone >= 2 || !['queued', 'running'].includes(j.status));
    expect(mid.status).toBe('running');
    process.kill(runnerOf(job.body.id), 'SIGKILL');
    const retrying = await waitJob(server, job.body.id, (j) => /retrying/.test(j.stage ?? '') || j.status !== 'running');
    expect(retrying.stage).toMatch(/retrying in 2s \(attempt 2 of 3\): the job's runner exited \(SIGKILL\)/);
    const done = await waitJob(server, job.body.id);
    expect(done.error).toBeNull();
    expect(done.status).toBe('succeeded');
    expect(done.attempts).toBe(2);
    const a = JSON.parse(fs.readFileSync(path.join(root, 'clean', 'manifest.json'), 'utf8'));
    for (const f of a.files) expect(await differingRows(path.join(root, 'clean', f.path), path.join(root, 'killed', f.path))).toBe(0);
  });

  it('refuses a second job on an output folder in use', async () => {
    const first = await server.request('POST', '/v1/jobs', score('shared'));
    expect(first.status).toBe(202);
    const second = await server.request('POST', '/v1/jobs', score('shared/'));
    expect(second.status).toBe(409);
    expect(second.body.message).toMatch(new RegExp(`output shared/ is in use by job ${first.body.id}`));
    expect((await waitJob(server, first.body.id)).status).toBe('succeeded');
  });

  it('a second server on the same data folder refuses to start, naming the holder', () => {
    const r = spawnSync(process.execPath, [path.resolve('bin/audience.js'), 'serve', '--port', '0', ...args], { encoding: 'utf8', timeout: 60_000 });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`is in use by another server \\(pid ${server.proc.pid} on `));
  });

  it('fails a resumed job whose input changed while the server was down, naming the file', async () => {
    const job = await server.request('POST', '/v1/jobs', score('changed', { options: { shardRows: 20_000 } }));
    await waitJob(server, job.body.id, (j) => j.progress.shardsDone >= 2 || !['queued', 'running'].includes(j.status));
    await server.kill9();
    const victim = path.join(root, 'v-09.parquet');
    const con = await connect();
    await con.run(`COPY (SELECT * FROM read_parquet('${victim}') LIMIT 100) TO '${victim}.new' (FORMAT parquet)`);
    con.closeSync();
    fs.renameSync(`${victim}.new`, victim);
    server = await startServer(args);
    const done = await waitJob(server, job.body.id);
    expect(done.status).toBe('failed');
    expect(done.error).toMatch(/an input changed since the job started: .*v-09\.parquet changed/);
    // Nothing of the failed job stays behind to block a resubmission (its emptied folder neither).
    expect(fs.existsSync(path.join(root, 'changed'))).toBe(false);
    const again = await server.request('POST', '/v1/jobs', score('changed'));
    expect(again.status).toBe(202);
    expect((await waitJob(server, again.body.id)).status).toBe('succeeded');
  });
});

describe('giving up', () => {
  it('a job whose runner dies on its last attempt fails and leaves nothing in its folder', async () => {
    const once = await startServer(['--data-root', root, '--data-dir', path.join(dir, 'data-once'), '--store', path.join(dir, 'models'), '--max-attempts', '1']);
    try {
      const job = await once.request('POST', '/v1/jobs', score('gave-up', { options: { shardRows: 20_000 } }));
      await waitJob(once, job.body.id, (j) => j.progress.shardsDone >= 1 || !['queued', 'running'].includes(j.status));
      const store = new JobStore(path.join(dir, 'data-once', 'jobs.sqlite'));
      const pid = store.get(job.body.id)!.runnerPid!;
      store.close();
      process.kill(pid, 'SIGKILL');
      const done = await waitJob(once, job.body.id);
      expect(done.status).toBe('failed');
      expect(done.error).toMatch(/gave up after 1 attempts/);
      expect(fs.existsSync(path.join(root, 'gave-up'))).toBe(false);
    } finally {
      await once.stop();
    }
  });

  it('refuses at submission an overwrite over a user file with a name a run writes, and keeps the earlier output', async () => {
    fs.writeFileSync(path.join(root, 'clean', 'scores-00042.parquet'), 'mine');
    const r = await server.request('POST', '/v1/jobs', score('clean', { options: { overwrite: true } }));
    expect(r.status).toBe(400);
    expect(r.body.message).toMatch(/holds scores-00042\.parquet, which audience-engine did not write/);
    expect(fs.existsSync(path.join(root, 'clean', 'manifest.json'))).toBe(true);
    fs.rmSync(path.join(root, 'clean', 'scores-00042.parquet'));
  });
});

describe('the job store', () => {
  it('a damaged store is refused at start-up with its path and what to do', () => {
    const data = path.join(dir, 'broken-data');
    fs.mkdirSync(data);
    fs.writeFileSync(path.join(data, 'jobs.sqlite'), 'this is not a database'.repeat(300));
    const r = spawnSync(process.execPath, [path.resolve('bin/audience.js'), 'serve', '--port', '0', '--data-root', root, '--data-dir', data], { encoding: 'utf8', timeout: 60_000 });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/jobs\.sqlite: the job store is damaged or not a job store .*Move it aside/);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });

  it('staging left by a job of a lost store does not block a new job on that folder', async () => {
    const out = path.join(root, 'orphan');
    fs.mkdirSync(path.join(out, '.shards'), { recursive: true });
    fs.writeFileSync(path.join(out, '.shards', 'owner.json'), JSON.stringify({ pid: 1, start: '1', job: 'job_lost' }));
    fs.writeFileSync(path.join(out, '.shards', 'scores-00000.parquet'), 'half');
    const r = await server.request('POST', '/v1/jobs', score('orphan'));
    expect(r.status).toBe(202);
    expect((await waitJob(server, r.body.id)).status).toBe('succeeded');
    expect(fs.existsSync(path.join(out, 'manifest.json'))).toBe(true);
  });
});

describe('requests the schema refuses', () => {
  it.each([
    ['a string for the input list', score('x', { input: 'v-00.parquet' }), /body\.input must be array/],
    ['a numeric option as a string', score('x', { options: { shardRows: '500000' } }), /shardRows must be integer/],
    ['an absurd reject limit', score('x', { options: { maxRejects: 1e300 } }), /maxRejects must be <= 1000000000/],
    ['the data root itself as output', score('.'), /output: "\." is a data root itself/],
    ['an output name over 255 bytes', score('a'.repeat(300)), /output: "a{40}\.\.\." is longer than 255 bytes/],
    ['a rule comparing a number with text', score('x', { audiences: { audiences: [{ name: 'n', rule: "behavior.segment >= 'abc'" }] } }), /">=" compares numbers; "abc" is not one/],
    ['more than 100 input entries', score('x', { input: Array.from({ length: 101 }, () => 'v-*.parquet') }), /input must NOT have more than 100 items/],
    ['k = 0', { type: 'train', model: 'kmeans', name: 'm', input: ['v-00.parquet'], params: { k: 0 } }, /params\.k 0: expected an integer from 2/],
    ['dropout = 2', { type: 'train', model: 'propensity', name: 'm', input: ['v-00.parquet'], params: { label: 'converted', dropout: 2 } }, /params\.dropout 2: expected a number >= 0 and <= 0\.9/],
    ['learning-rate = 1e9', { type: 'train', model: 'propensity', name: 'm', input: ['v-00.parquet'], params: { label: 'converted', 'learning-rate': 1e9 } }, /params\.learning-rate 1000000000: expected a number > 0 and <= 1/],
    ['a boolean for a number', { type: 'train', model: 'kmeans', name: 'm', input: ['v-00.parquet'], params: { k: true } }, /params\.k: expected a number or string, got a boolean/],
    ['a name whose versions are of another kind', { type: 'train', model: 'anomaly', name: 'behavior', input: ['v-00.parquet'] }, /^name: model "behavior" is a kmeans model \(versions 1\); give the anomaly model another name$/],
  ])('refuses %s with 400', async (_what, body, message) => {
    const r = await server.request('POST', '/v1/jobs', body);
    expect(r.status).toBe(400);
    expect(r.body.message).toMatch(message);
  });

  it('answers 415 for a body that is not JSON', async () => {
    const res = await fetch(`${server.url}/v1/jobs`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'type=score' });
    expect(res.status).toBe(415);
    expect((await res.json()).message).toMatch(/send the body as JSON/);
  });

  it('reads a file listed many times once', async () => {
    const r = await server.request('POST', '/v1/jobs', score('dedup', { input: Array.from({ length: 50 }, () => 'v-00.parquet') }));
    expect(r.status).toBe(202);
    const done = await waitJob(server, r.body.id);
    expect(done.status).toBe('succeeded');
    expect(done.progress.rowsTotal).toBe(20_000);
  });

  it('names options.overwrite, not the CLI flag, when the output holds scores', async () => {
    const r = await server.request('POST', '/v1/jobs', score('clean'));
    expect(r.status).toBe(400);
    expect(r.body.message).toMatch(/already holds scores; choose another folder or set options\.overwrite/);
  });
});

describe('the log', () => {
  it('writes one JSON line per request and every job event with the job id', async () => {
    const r = await server.request('POST', '/v1/jobs', score('logged'));
    await waitJob(server, r.body.id);
    // The outcome is logged when the runner process exits, just after it recorded the outcome.
    const done = `"job":"${r.body.id}","status":"succeeded","msg":"job succeeded"`;
    for (let i = 0; i < 100 && !server.output().includes(done); i++) await new Promise((res) => setTimeout(res, 50));
    const lines = server
      .output()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l));
    expect(lines.some((l) => l.msg === 'request' && l.url === '/v1/jobs' && l.statusCode === 202 && typeof l.reqId === 'string')).toBe(true);
    for (const event of ['job submitted', 'job started', 'job succeeded']) expect(lines.some((l) => l.msg === event && l.job === r.body.id)).toBe(true);
  });
});

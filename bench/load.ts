/**
 * Load benchmark of the job service: while a score job of `--rows` visitors runs, status
 * polls arrive at `--polls` per second and `--submissions` score jobs are submitted (each
 * validated: inputs opened, models loaded, audiences checked). Latency is reported from the
 * first second on, per second of the run and over all of it (p50, p99, max), submissions
 * included, against the same polls to /healthz (no store, no validation) as a floor.
 * Then bursts: `--burst` (1,000) status polls sent at once while `--burst-submissions` (4)
 * submissions are validated (a score job as above, and a train job on a 5,000-column CSV, refused
 * for its label after its checks), `--rounds` (3) times; their latency, and the server's
 * event-loop lag over each burst (the maximum of Node's monitorEventLoopDelay, from /metrics).
 * The bursts' polls go through a light client (bench/http-get.ts: fetch's own CPU time, on the
 * same two cores, was measured as the server's latency), and the same bursts go to a bare
 * node:http server answering a body of the same size, in its own process: the floor of this
 * machine and client. Requests go to 127.0.0.1 only; every loop is bounded in count and time.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { startServer, visitorRoot, waitJob } from '../test/service-helpers.js';
import { option, report } from './common.js';
import { HttpGet } from './http-get.js';

function quantile(xs: number[], q: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
}

interface Sample {
  at: number; // seconds since the load started
  ms: number;
  kind: 'status' | 'submit' | 'healthz';
  status: number;
}

/** Runs the load for `seconds`; returns one sample per request. */
async function load(url: string, jobId: string, opts: { polls: number; submissions: number; seconds: number }): Promise<Sample[]> {
  const samples: Sample[] = [];
  const start = performance.now();
  const timed = async (kind: Sample['kind'], init: () => Promise<Response>) => {
    const t = performance.now();
    const res = await init();
    await res.arrayBuffer();
    samples.push({ at: (t - start) / 1000, ms: performance.now() - t, kind, status: res.status });
  };
  const inflight: Promise<void>[] = [];
  const total = Math.round(opts.polls * opts.seconds);
  const submitEvery = Math.max(1, Math.floor(total / Math.max(1, opts.submissions)));
  let submitted = 0;
  for (let i = 0; i < total; i++) {
    const due = start + (i * 1000) / opts.polls;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    inflight.push(timed(i % 2 ? 'healthz' : 'status', () => fetch(`${url}${i % 2 ? '/healthz' : `/v1/jobs/${jobId}`}`)));
    if (i % submitEvery === 0 && submitted < opts.submissions) {
      const n = submitted++;
      const body = JSON.stringify({ type: 'score', input: ['v-*.parquet'], models: ['behavior'], output: `load/${n}`, audiences: { audiences: [{ name: 'near', rule: 'behavior.distance <= 1' }] } });
      inflight.push(timed('submit', () => fetch(`${url}/v1/jobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body })));
    }
  }
  await Promise.all(inflight);
  return samples;
}

/** The server's largest event-loop delay (ms) since the previous scrape of /metrics (prom-client resets it on each). */
async function loopLag(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return Number(/^nodejs_eventloop_lag_max_seconds (\S+)/m.exec(text)?.[1] ?? NaN) * 1000;
}

/** A CSV of `columns` numeric columns and 20 rows: heavy to check (sniffed, its header split and compared). */
function wideCsv(file: string, columns: number): void {
  const header = Array.from({ length: columns }, (_, i) => `c${i}`).join(',');
  const rows = Array.from({ length: 20 }, (_, r) => Array.from({ length: columns }, (_, i) => (r * i) % 97).join(','));
  fs.writeFileSync(file, `${[header, ...rows].join('\n')}\n`);
}

/**
 * `rounds` times: `submissions` submissions started, then `polls` status polls sent at once while
 * they are validated. Returns the polls' samples and the server's event-loop lag of each round (ms).
 */
async function bursts(url: string, jobId: string, opts: { polls: number; submissions: number; rounds: number }): Promise<{ samples: Sample[]; lags: number[]; p99s: number[] }> {
  const samples: Sample[] = [];
  const lags: number[] = [];
  const p99s: number[] = [];
  const start = performance.now();
  const client = HttpGet.of(url);
  for (let round = 0; round < opts.rounds; round++) {
    await loopLag(url); // resets the server's histogram
    const submits = Array.from({ length: opts.submissions }, (_, n) => {
      const body =
        n % 2
          ? { type: 'train', model: 'propensity', name: 'wide', input: ['wide.csv'], params: { label: 'nope' } }
          : { type: 'score', input: ['v-*.parquet'], models: ['behavior'], output: `burst/${round}-${n}`, audiences: { audiences: [{ name: 'near', rule: 'behavior.distance <= 1' }] } };
      return fetch(`${url}/v1/jobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }).then((r) => r.arrayBuffer());
    });
    await new Promise((r) => setTimeout(r, 50)); // the checks are under way
    const polled = await burst(client, `/v1/jobs/${jobId}`, opts.polls, start);
    lags.push(await loopLag(url));
    samples.push(...polled);
    p99s.push(quantile(polled.map((x) => x.ms), 0.99));
    await Promise.all(submits);
  }
  client.close();
  return { samples, lags, p99s };
}

/** `polls` GETs of `route` sent at once through `client`; one sample each (`at` from `start`). */
async function burst(client: HttpGet, route: string, polls: number, start: number): Promise<Sample[]> {
  return Promise.all(
    Array.from({ length: polls }, async () => {
      const t = performance.now();
      const { status, ms } = await client.get(route);
      return { at: (t - start) / 1000, ms, kind: 'status' as const, status };
    }),
  );
}

/**
 * The floor of the bursts on this machine: a bare node:http server in its own process answering
 * every request with `bytes` of JSON, given the same bursts (`rounds` of `polls`) by the same client.
 */
async function floorBursts(bytes: number, polls: number, rounds: number): Promise<{ samples: Sample[]; p99s: number[] }> {
  const code = `const body = JSON.stringify({ pad: 'x'.repeat(${Math.max(0, bytes - 10)}) });
    const s = require('node:http').createServer((req, res) => { res.setHeader('content-type', 'application/json'); res.end(body); });
    s.listen({ port: 0, host: '127.0.0.1', backlog: 4096 }, () => console.log(s.address().port));`;
  const proc = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const port = await new Promise<number>((resolve, reject) => {
      proc.stdout.once('data', (c: Buffer) => resolve(Number(String(c).trim())));
      proc.once('exit', () => reject(new Error('the floor server exited')));
    });
    const client = new HttpGet('127.0.0.1', port);
    const samples: Sample[] = [];
    const p99s: number[] = [];
    const start = performance.now();
    for (let round = 0; round < rounds; round++) {
      const polled = await burst(client, '/', polls, start);
      samples.push(...polled);
      p99s.push(quantile(polled.map((x) => x.ms), 0.99));
    }
    client.close();
    return { samples, p99s };
  } finally {
    proc.kill();
  }
}

export async function run(args: string[]): Promise<void> {
  const rows = Number(option(args, 'rows') ?? 1_000_000);
  const polls = Number(option(args, 'polls') ?? 200);
  const submissions = Number(option(args, 'submissions') ?? 50);
  const seconds = Number(option(args, 'seconds') ?? 10);
  const burst = Number(option(args, 'burst') ?? 1000);
  const burstSubmissions = Number(option(args, 'burst-submissions') ?? 4);
  const rounds = Number(option(args, 'rounds') ?? 3);
  const files = Math.max(1, Math.round(rows / 250_000));
  const { dir, root } = await visitorRoot(files, Math.round(rows / files));
  wideCsv(path.join(root, 'wide.csv'), 5000);
  const server = await startServer(['--data-root', root, '--data-dir', path.join(dir, 'data'), '--store', path.join(dir, 'models'), '--max-queued', String(submissions + rounds * burstSubmissions + 10)]);
  try {
    const train = await server.request('POST', '/v1/jobs', { type: 'train', model: 'kmeans', name: 'behavior', input: ['v-00.parquet'], params: { k: 5, 'n-init': 1 } });
    await waitJob(server, train.body.id, undefined, 600_000);
    const job = await server.request('POST', '/v1/jobs', { type: 'score', input: ['v-*.parquet'], models: ['behavior'], output: 'main' });
    const samples = await load(server.url, job.body.id, { polls, submissions, seconds });
    const burstRun = await bursts(server.url, job.body.id, { polls: burst, submissions: burstSubmissions, rounds });
    const status = await server.request('GET', `/v1/jobs/${job.body.id}`);
    const floor = await floorBursts(Buffer.byteLength(status.text), burst, rounds);

    const out: Array<Record<string, string | number>> = [];
    const row = (label: string, xs: Sample[]) => {
      const ms = xs.map((s) => s.ms);
      out.push({ window: label, requests: xs.length, errors: xs.filter((s) => s.status >= 500).length, 'p50 ms': +quantile(ms, 0.5).toFixed(1), 'p99 ms': +quantile(ms, 0.99).toFixed(1), 'max ms': +Math.max(...ms).toFixed(1) });
    };
    for (let s = 0; s < Math.ceil(seconds); s++) row(`second ${s + 1} (all)`, samples.filter((x) => x.at >= s && x.at < s + 1));
    row('whole run: status', samples.filter((x) => x.kind === 'status'));
    row('whole run: submit', samples.filter((x) => x.kind === 'submit'));
    row('whole run: /healthz (floor)', samples.filter((x) => x.kind === 'healthz'));
    row(`${burst.toLocaleString('en-US')} concurrent status polls during submissions (${rounds} bursts)`, burstRun.samples);
    row(`the same bursts to a bare node:http server (floor, ${Buffer.byteLength(status.text)} bytes each)`, floor.samples);
    const p99First = quantile(samples.filter((x) => x.at < 1 && x.kind !== 'submit').map((x) => x.ms), 0.99);
    await report('load', out, [
      `${polls} requests/s (status and /healthz alternating) for ${seconds} s and ${submissions} score-job submissions, during a ${rows.toLocaleString('en-US')}-row score job`,
      `goal: p99 under 50 ms from the first second; status/healthz p99 in the first second: ${p99First.toFixed(1)} ms`,
      `bursts: ${burst} status polls at once while ${burstSubmissions} submissions are checked (half of them a train job on a 5,000-column CSV); goal p99 under 50 ms, event-loop lag under 100 ms; lag per burst: ${burstRun.lags.map((l) => l.toFixed(1)).join(', ')} ms`,
      `p99 per burst: ${burstRun.p99s.map((l) => l.toFixed(1)).join(', ')} ms; the floor's: ${floor.p99s.map((l) => l.toFixed(1)).join(', ')} ms (the first burst opens ${burst} connections, later ones reuse them)`,
    ]);
  } finally {
    await server.stop();
  }
}

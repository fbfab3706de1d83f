/**
 * Load benchmark of the job service: while a score job of `--rows` visitors runs, status
 * polls arrive at `--polls` per second and `--submissions` score jobs are submitted (each
 * validated: inputs opened, models loaded, audiences checked). Latency is reported from the
 * first second on, per second of the run and over all of it (p50, p99, max), submissions
 * included, against the same polls to /healthz (no store, no validation) as a floor.
 * Requests go to a real `audience serve` on 127.0.0.1 only; every loop is bounded in count
 * and time.
 */
import path from 'node:path';
import { startServer, visitorRoot, waitJob } from '../test/service-helpers.js';
import { option, report } from './common.js';

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

export async function run(args: string[]): Promise<void> {
  const rows = Number(option(args, 'rows') ?? 1_000_000);
  const polls = Number(option(args, 'polls') ?? 200);
  const submissions = Number(option(args, 'submissions') ?? 50);
  const seconds = Number(option(args, 'seconds') ?? 10);
  const files = Math.max(1, Math.round(rows / 250_000));
  const { dir, root } = await visitorRoot(files, Math.round(rows / files));
  const server = await startServer(['--data-root', root, '--data-dir', path.join(dir, 'data'), '--store', path.join(dir, 'models'), '--max-queued', String(submissions + 10)]);
  try {
    const train = await server.request('POST', '/v1/jobs', { type: 'train', model: 'kmeans', name: 'behavior', input: ['v-00.parquet'], params: { k: 5, 'n-init': 1 } });
    await waitJob(server, train.body.id, undefined, 600_000);
    const job = await server.request('POST', '/v1/jobs', { type: 'score', input: ['v-*.parquet'], models: ['behavior'], output: 'main' });
    const samples = await load(server.url, job.body.id, { polls, submissions, seconds });
    await server.request('GET', `/v1/jobs/${job.body.id}`);

    const out: Array<Record<string, string | number>> = [];
    const row = (label: string, xs: Sample[]) => {
      const ms = xs.map((s) => s.ms);
      out.push({ window: label, requests: xs.length, errors: xs.filter((s) => s.status >= 500).length, 'p50 ms': +quantile(ms, 0.5).toFixed(1), 'p99 ms': +quantile(ms, 0.99).toFixed(1), 'max ms': +Math.max(...ms).toFixed(1) });
    };
    for (let s = 0; s < Math.ceil(seconds); s++) row(`second ${s + 1} (all)`, samples.filter((x) => x.at >= s && x.at < s + 1));
    row('whole run: status', samples.filter((x) => x.kind === 'status'));
    row('whole run: submit', samples.filter((x) => x.kind === 'submit'));
    row('whole run: /healthz (floor)', samples.filter((x) => x.kind === 'healthz'));
    const p99First = quantile(samples.filter((x) => x.at < 1 && x.kind !== 'submit').map((x) => x.ms), 0.99);
    await report('load', out, [
      `${polls} requests/s (status and /healthz alternating) for ${seconds} s and ${submissions} score-job submissions, during a ${rows.toLocaleString('en-US')}-row score job`,
      `goal: p99 under 50 ms from the first second; status/healthz p99 in the first second: ${p99First.toFixed(1)} ms`,
    ]);
  } finally {
    await server.stop();
  }
}

/**
 * Service benchmark: score jobs (K-Means + propensity) of 1M and 10M synthetic visitors
 * submitted to a real `audience serve` through the API, end to end (submit to succeeded),
 * against the I/O floor measured in the same run: DuckDB alone reading the same Parquet
 * columns and writing them to Parquet. While each job runs, GET /v1/jobs/:id is polled
 * back to back to measure status latency.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { connect } from '../src/io/duckdb.js';
import { writeFile } from '../src/io/writer.js';
import { generateVisitors, VISITOR_COLUMNS } from '../src/synthetic/visitors.js';
import { startServer, visitorRoot, waitJob, type Server } from '../test/service-helpers.js';
import { median, option, report } from './common.js';

const FILE_ROWS = 1_000_000;
const EXCLUDE = 'converted,true_segment,email';

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
}

async function submit(server: Server, body: unknown): Promise<any> {
  const r = await server.request('POST', '/v1/jobs', body);
  if (r.status !== 202) throw new Error(`submission refused: ${r.text}`);
  const job = await waitJob(server, r.body.id, undefined, 3_600_000);
  if (job.status !== 'succeeded') throw new Error(`job ${job.id} ${job.status}: ${job.error}`);
  return job;
}

/** The floor: DuckDB reads the columns the job reads and writes them to one Parquet file. */
async function ioFloor(pattern: string, columns: string[], out: string): Promise<number> {
  const con = await connect();
  try {
    const select = columns.map((c) => `"${c}"`).join(', '); // fixed synthetic column names
    const t = performance.now();
    await con.run(`COPY (SELECT ${select} FROM read_parquet($1)) TO $2 (FORMAT parquet, COMPRESSION zstd)`, [pattern, out]);
    return (performance.now() - t) / 1000;
  } finally {
    con.closeSync();
    fs.rmSync(out, { force: true });
  }
}

/** The audiences of the "audiences" job: two rules, a suppression list, a cap, a holdout, activation files. */
function audienceSet(suppressFile: string) {
  return {
    identifiers: { email: 'email' },
    audiences: [
      { name: 'high_intent', rule: 'purchase.score >= 70 and has_account = 0', suppress: { ids: suppressFile }, holdout: 0.1 },
      { name: 'engaged', rule: 'behavior.segment in [1, 2, 4] or purchase.bucket = "high"', suppress: { audiences: ['high_intent'] }, cap: { size: 100_000, by: 'purchase.probability' } },
    ],
  };
}

/** One score job through the API, polled back to back for status latency; its row of the table. */
async function timedJob(server: Server, body: object, size: number, floor: number, label: Record<string, string | number>): Promise<Record<string, string | number>> {
  const r = await server.request('POST', '/v1/jobs', body);
  if (r.status !== 202) throw new Error(`submission refused: ${r.text}`);
  const latencies: number[] = [];
  let job: any;
  for (;;) {
    const t = performance.now();
    job = (await server.request('GET', `/v1/jobs/${r.body.id}`)).body;
    latencies.push(performance.now() - t);
    if (!['queued', 'running'].includes(job.status)) break;
    await new Promise((res) => setTimeout(res, 20));
  }
  if (job.status !== 'succeeded') throw new Error(`job ${job.id} ${job.status}: ${job.error}`);
  const jobSeconds = (Date.parse(job.timings.finishedAt) - Date.parse(job.timings.createdAt)) / 1000;
  const st = job.result.stageSeconds;
  return {
    rows: size,
    ...label,
    shards: job.progress.shardsTotal,
    'job s': jobSeconds.toFixed(1),
    'job rows/s': Math.round(size / jobSeconds),
    'scoring-pass rows/s': Math.round(job.result.rowsPerSecond),
    'setup / score / finalize s': [st.setup, st.scoring, st.finalizing].map((x: number) => x.toFixed(1)).join(' / '),
    'other s': (jobSeconds - st.setup - st.scoring - st.finalizing).toFixed(1),
    'finalize: load / audiences / parts / profiles s': job.result.finalizeStages
      ? ['load', 'audiences', 'parts', 'profiles'].map((k) => job.result.finalizeStages[k].toFixed(1)).join(' / ')
      : 'linked',
    'workers used': st.workers,
    'I/O floor s': floor.toFixed(2),
    'job / floor': (jobSeconds / floor).toFixed(1),
    'finalize / floor': (st.finalizing / floor).toFixed(2),
    'status p99 ms': quantile(latencies, 0.99).toFixed(1),
  };
}

/** The scores job through a server with --redis and two workers on this host; its table row. */
async function redisRow(dir: string, root: string, store: string, size: number, floor: number): Promise<Record<string, string | number>> {
  const port = 20_000 + Math.floor(Math.random() * 20_000);
  const url = `redis://127.0.0.1:${port}`;
  const redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: 'ignore' });
  const workers: ChildProcess[] = [];
  try {
    for (let i = 0; i < 50 && spawnSync('redis-cli', ['-p', String(port), 'ping'], { encoding: 'utf8' }).stdout?.trim() !== 'PONG'; i++) await new Promise((r) => setTimeout(r, 100));
    for (let i = 0; i < 2; i++) {
      const w = spawn(process.execPath, [path.resolve('bin/audience.js'), 'worker', '--redis', url, '--concurrency', '1'], { stdio: ['ignore', 'pipe', 'ignore'] });
      await new Promise<void>((resolve) => w.stdout!.on('data', (c) => String(c).includes('shard(s) at a time') && resolve()));
      workers.push(w);
    }
    const server = await startServer(['--data-root', root, '--data-dir', path.join(dir, 'data-redis'), '--store', store, '--redis', url]);
    try {
      const input = Array.from({ length: size / FILE_ROWS }, (_, i) => `v-${String(i).padStart(2, '0')}.parquet`);
      const row = await timedJob(server, { type: 'score', input, models: ['behavior', 'purchase'], output: `scores-${size}-redis` }, size, floor, { job: 'scores', AUDIENCE_WORKERS: 'Redis, 2 workers' });
      fs.rmSync(path.join(root, `scores-${size}-redis`), { recursive: true, force: true });
      return row;
    } finally {
      await server.stop();
    }
  } finally {
    for (const w of workers) w.kill('SIGTERM');
    redis.kill('SIGKILL');
  }
}

export async function run(args: string[]): Promise<void> {
  const sizes = (option(args, 'sizes') ?? '1000000,10000000').split(',').map(Number);
  // 'auto': AUDIENCE_WORKERS unset, the product's own choice (threads on this host only from 4M rows).
  const workerCounts = (option(args, 'workers') ?? `0,${os.cpus().length}`).split(',').map((w) => (w === 'auto' ? w : Number(w)));
  const engines = (option(args, 'engines') ?? 'onnx,tfjs').split(',');
  if (sizes.some((n) => !Number.isInteger(n / FILE_ROWS) || n <= 0)) throw new Error(`--sizes: each size must be a multiple of ${FILE_ROWS.toLocaleString('en-US')} (the rows per input file)`);
  const files = Math.ceil(Math.max(...sizes) / FILE_ROWS);
  process.stderr.write(`generating ${files} x ${FILE_ROWS} visitors...\n`);
  const { dir, root } = await visitorRoot(files, FILE_ROWS);
  await writeFile(path.join(root, 'train.parquet'), VISITOR_COLUMNS, generateVisitors({ visitors: 100_000, seed: 11 }));
  // A suppression list: every 20th visitor id of the first file (existing customers).
  const con = await connect();
  await con.run('COPY (SELECT visitor_id AS id FROM read_parquet($1) WHERE visitor_id % 20 = 0) TO $2 (FORMAT csv, HEADER true)', [path.join(root, 'v-00.parquet'), path.join(root, 'customers.csv')]);
  con.closeSync();
  const readColumns = VISITOR_COLUMNS.map((c) => c.name).filter((c) => !EXCLUDE.split(',').includes(c));
  const floors = new Map<number, number>();
  for (const size of sizes) {
    const f: number[] = [];
    for (let i = 0; i < 3; i++) f.push(await ioFloor(path.join(root, size === FILE_ROWS ? 'v-00.parquet' : 'v-*.parquet'), readColumns, path.join(dir, 'floor.parquet')));
    floors.set(size, median(f));
  }
  const store = path.join(dir, 'models');
  const rows: Array<Record<string, string | number>> = [];
  try {
    for (const [w, workers] of workerCounts.entries()) {
      const server = await startServer(['--data-root', root, '--data-dir', path.join(dir, `data-${workers}`), '--store', store], workers === 'auto' ? {} : { AUDIENCE_WORKERS: String(workers) });
      try {
        if (w === 0) {
          await submit(server, { type: 'train', model: 'kmeans', name: 'behavior', input: ['train.parquet'], params: { k: 8, exclude: EXCLUDE } });
          await submit(server, { type: 'train', model: 'propensity', name: 'purchase', input: ['train.parquet'], params: { label: 'converted', exclude: 'true_segment,email', 'max-epochs': 10, 'allow-small': true } });
        }
        for (const size of sizes) {
          for (const engine of engines) {
            const input = Array.from({ length: size / FILE_ROWS }, (_, i) => `v-${String(i).padStart(2, '0')}.parquet`);
            const plain = { type: 'score', input, models: ['behavior', 'purchase'], output: `scores-${size}-${workers}-${engine}`, options: { engine } };
            rows.push(await timedJob(server, plain, size, floors.get(size)!, { job: 'scores', engine, AUDIENCE_WORKERS: workers }));
            fs.rmSync(path.join(root, plain.output), { recursive: true, force: true });
            // The audiences job once per size and engine, with the default worker count (the last).
            if (w === workerCounts.length - 1) {
              const withAudiences = { ...plain, output: `audiences-${size}-${engine}`, audiences: audienceSet('customers.csv') };
              rows.push(await timedJob(server, withAudiences, size, floors.get(size)!, { job: 'scores + audiences', engine, AUDIENCE_WORKERS: workers }));
              fs.rmSync(path.join(root, withAudiences.output), { recursive: true, force: true });
            }
          }
        }
      } finally {
        await server.stop();
      }
    }
    // Through Redis: the same job with its shards on two local `audience worker` processes
    // (on 2 cores this measures the queue's overhead, not a speed-up).
    if (spawnSync('redis-server', ['--version']).status === 0 && option(args, 'redis') !== 'no') {
      const size = Math.min(...sizes);
      rows.push(await redisRow(dir, root, store, size, floors.get(size)!));
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  await report('service', rows, [
    `Score jobs with K-Means (k=8) and propensity (MLP) models through POST /v1/jobs on one server (concurrency 1), ${os.cpus().length} cores, on each engine (options.engine: onnx = onnxruntime-node, tfjs = the reference); input Parquet files of ${FILE_ROWS} rows, 500k-row shards (whole row groups). AUDIENCE_WORKERS: shard threads asked for (0: the runner scores every shard itself); "workers used" is what the runner used.`,
    '"scores + audiences": the same job with two audiences (a rule on a score and an input column with an id-list suppression of 5% of the visitors and a 10% holdout; a rule with a bucket, suppressing the first audience, capped at 100,000 by probability) and e-mail activation files.',
    'job s: submission to succeeded; setup / score / finalize: the runner\'s stages (finalize: percentiles, audiences, every output file, manifest); other: runner start-up and queueing. scoring-pass rows/s: the runner\'s own rate.',
    `I/O floor: DuckDB alone, COPY of the ${VISITOR_COLUMNS.length - 3} input columns the job reads from the same files to one zstd Parquet file, median of 3, same process as the client.`,
    'status latency: GET /v1/jobs/:id back to back (20 ms apart) for the whole job, client-measured over loopback.',
    '"Redis, 2 workers": the smallest job through a server started with --redis, its shards on two local `audience worker` processes (one shard at a time each), when redis-server is installed (--redis=no skips it); on one host this measures the queue\'s overhead, not a speed-up.',
  ]);
}

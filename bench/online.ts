/**
 * `npm run bench -- online [--seconds=30] [--rate=2000] [--events=1000]`: the online paths of
 * `audience serve` under load from another process (bench/online-load.ts) on 127.0.0.1:
 *
 * 1. the floor: GET /healthz at `--rate` requests/s for `--seconds`;
 * 2. POST /v1/score, one row, three models (cltv, propensity, kmeans trained on `audience
 *    events` features), at the same rate for the same time; goal p99 under 10 ms at 2,000/s;
 * 3. POST /v1/events at `--events` events/s in batches of 10 (one new visitor a batch), each
 *    followed by GETs of the visitor until it shows the batch, and a long poll on the
 *    changes of an audience each new visitor enters: the time from the POST's send to the
 *    visitor view showing it and to its enter arriving (goal: both p99 within 50 ms);
 * 4. kill -9 of the server during 5 s of that events load, a restart on the same data folder,
 *    and every acknowledged event read back.
 *
 * Latency is measured from each request's scheduled send time (open loop), so a generator or
 * server that falls behind shows in it. The run holds the machine for about 2 + 3 x seconds.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadScoringModel } from '../src/models/load.js';
import { onlineFixture } from '../test/online-fixture.js';
import { startServer, type Server } from '../test/service-helpers.js';
import { BENCH_DIR, option, report } from './common.js';

function quantile(xs: number[], q: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
}

/** Runs the load generator in its own process; its JSON result. */
function generate(args: Record<string, unknown>): Promise<Record<string, never>> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(BENCH_DIR, 'online-load.ts'), JSON.stringify(args)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (c) => (out += c));
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`load generator exited ${code}`))));
  });
}

const ms = (x: number) => Number(x.toFixed(2));

/**
 * A table row of a latency sample: p50, p99, max, the requests answered of those sent, and the
 * server's CPU time (user + system, all its threads) per request sent over the phase: what a
 * request costs the server, which other work on the machine moves far less than the latency.
 */
function row(name: string, samples: number[], sent: number, rate: number, statuses: Record<string, number> = {}, cpuMs = NaN) {
  return { path: name, rate, sent, answered: samples.length, statuses: JSON.stringify(statuses), p50_ms: ms(quantile(samples, 0.5)), p99_ms: ms(quantile(samples, 0.99)), max_ms: ms(quantile(samples, 1)), server_cpu_ms_per_request: Number.isNaN(cpuMs) ? '' : Number((cpuMs / Math.max(1, sent)).toFixed(3)) };
}

/** A process's CPU time so far (user + system, ms), from /proc (Linux); NaN elsewhere. */
function cpuMs(pid: number | undefined): number {
  try {
    const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // clock ticks of 1/100 s (USER_HZ)
  } catch {
    return NaN;
  }
}

/** A load phase and the server's CPU time over it. */
async function measured<T>(server: Server, phase: () => Promise<T>): Promise<[T, number]> {
  const before = cpuMs(server.proc.pid);
  const result = await phase();
  return [result, cpuMs(server.proc.pid) - before];
}

/** One row of features the three models read, from the fixture's features file. */
async function featureRow(store: string, features: string, models: string[]): Promise<Record<string, number | null>> {
  const { connect } = await import('../src/io/duckdb.js');
  const { ModelStore } = await import('../src/models/registry.js');
  const loaded = await Promise.all(models.map((m) => loadScoringModel(new ModelStore(store), m)));
  const reads = [...new Set(loaded.flatMap((m) => m.transform.features.map((f) => f.name)))];
  for (const m of loaded) m.dispose();
  const con = await connect();
  try {
    const r = (await con.runAndReadAll(`SELECT ${reads.map((c) => `"${c}"`).join(', ')} FROM read_parquet($1) LIMIT 1`, [features])).getRowObjectsJS()[0];
    return Object.fromEntries(Object.entries(r).map(([k, v]) => [k, typeof v === 'bigint' ? Number(v) : (v as number | null)]));
  } finally {
    con.closeSync();
  }
}

/** Phase 4: kill -9 during 5 s of the events load; after a restart, every acknowledged batch read back whole. */
async function killDuringEvents(server: Server, args: string[], rate: number): Promise<{ server: Server; acked: number; whole: number }> {
  const load = generate({ mode: 'events', url: server.url, rate, seconds: 5, batch: 10, prefix: 'k' });
  await new Promise((r) => setTimeout(r, 2500));
  await server.kill9();
  const { acked } = (await load) as unknown as { acked: string[] };
  const restarted = await startServer(args);
  let whole = 0;
  for (const id of acked) {
    const v = await restarted.request('GET', `/v1/visitors/${id}`);
    if (v.status === 200 && v.body.features.events === 10) whole++;
  }
  return { server: restarted, acked: acked.length, whole };
}

export async function run(args: string[]): Promise<void> {
  const seconds = Number(option(args, 'seconds') ?? 30);
  const rate = Number(option(args, 'rate') ?? 2000);
  const eventRate = Number(option(args, 'events') ?? 1000);
  const fx = await onlineFixture(2000);
  fs.writeFileSync(path.join(fx.dir, 'audiences.json'), JSON.stringify({ audiences: [{ name: 'recent', rule: 'events_7d >= 1' }, { name: 'valuable', rule: 'value.value >= 20 and purchase.probability >= 0.2' }] }));
  fs.writeFileSync(path.join(fx.dir, 'online.json'), JSON.stringify({ events: { id: 'customer_id', time: 'date', amount: 'amount', category: 'category' }, models: fx.models, audiences: 'audiences.json' }));
  const serveArgs = ['--online', path.join(fx.dir, 'online.json'), '--data-dir', path.join(fx.dir, 'data'), '--data-root', fx.dir, '--store', fx.store.root, '--log-level', 'silent'];
  const loadBefore = os.loadavg()[0];
  let server = await startServer(serveArgs);
  const rows: Array<Record<string, string | number>> = [];
  const notes: string[] = [];
  try {
    const features = await featureRow(fx.store.root, fx.features, fx.models);
    const body = JSON.stringify({ models: fx.models, rows: [features] });
    await generate({ mode: 'requests', url: server.url, method: 'POST', path: '/v1/score', body, rate: 200, seconds: 2 }); // warm-up: models loaded
    const [floor, floorCpu] = await measured(server, () => generate({ mode: 'requests', url: server.url, method: 'GET', path: '/healthz', rate, seconds }));
    rows.push(row('GET /healthz (floor)', floor.ms, floor.sent, rate, floor.statuses, floorCpu));
    const [scored, scoredCpu] = await measured(server, () => generate({ mode: 'requests', url: server.url, method: 'POST', path: '/v1/score', body, rate, seconds }));
    rows.push(row('POST /v1/score 1 row x 3 models', scored.ms, scored.sent, rate, scored.statuses, scoredCpu));
    const [ev, evCpu] = await measured(server, () => generate({ mode: 'events', url: server.url, rate: eventRate, seconds, batch: 10, prefix: 'v' }));
    rows.push(row('POST /v1/events (10 a batch)', ev.postMs, ev.sent, eventRate / 10, ev.statuses, evCpu));
    rows.push(row('  posted -> visitor view shows it', ev.visibleMs, ev.sent, eventRate / 10));
    rows.push(row('  posted -> its enter by long poll', ev.enterMs, ev.sent, eventRate / 10));
    // The rows so far are kept whatever the kill phase does.
    const killed = await killDuringEvents(server, serveArgs, eventRate).catch((err: Error) => ({ server: undefined, acked: NaN, whole: NaN, error: err.message }));
    if (killed.server) server = killed.server;
    rows.push({ path: 'kill -9 during events: batches acked / read back whole', rate: eventRate / 10, sent: killed.acked, answered: killed.whole, statuses: 'error' in killed ? String(killed.error) : '', p50_ms: '', p99_ms: '', max_ms: '', server_cpu_ms_per_request: '' });
    notes.push(
      `POST /v1/score p99 ${ms(quantile(scored.ms, 0.99))} ms at ${rate}/s for ${seconds} s (goal: under 10 ms): ${quantile(scored.ms, 0.99) < 10 ? 'met' : 'NOT met'}; floor /healthz p99 ${ms(quantile(floor.ms, 0.99))} ms.`,
      `Events at ${eventRate}/s: visible p99 ${ms(quantile(ev.visibleMs, 0.99))} ms, enter p99 ${ms(quantile(ev.enterMs, 0.99))} ms (goal: within 50 ms): ${Math.max(quantile(ev.visibleMs, 0.99), quantile(ev.enterMs, 0.99)) < 50 ? 'met' : 'NOT met'}.`,
      `kill -9 during the events load: ${killed.whole} of ${killed.acked} acknowledged batches of 10 read back whole after the restart: ${killed.whole === killed.acked ? 'met' : 'NOT met'}.`,
      'Load from another process (bench/online-load.ts) on 127.0.0.1; latency from each request\'s scheduled send (open loop). server_cpu_ms_per_request: the server process\'s CPU time (user + system) over the phase per request sent (an events batch includes its GETs and long polls).',
      `Machine load average (1 min) ${loadBefore.toFixed(1)} at the start and ${os.loadavg()[0].toFixed(1)} at the end, on ${os.availableParallelism()} cores: other work on the machine is in these numbers.`,
    );
  } finally {
    await server.stop().catch(() => undefined);
    fs.rmSync(fx.dir, { recursive: true, force: true });
  }
  await report('online', rows, notes);
}

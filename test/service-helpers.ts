/** A real `audience serve` process on a loopback port, for the service tests. */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { generateVisitors } from '../src/synthetic/visitors.js';
import { VISITOR_COLUMNS } from '../src/synthetic/visitors.js';
import { writeFile } from '../src/io/writer.js';
import { connect } from '../src/io/duckdb.js';
import { JobStore } from '../src/server/jobs/store.js';
import type { FastifyInstance } from 'fastify';
import { ModelStore } from '../src/models/registry.js';
import { buildApp } from '../src/server/app.js';
import { DataRoots } from '../src/server/paths.js';
import { Scheduler } from '../src/server/scheduler.js';

const BIN = path.resolve('bin/audience.js');

export interface Server {
  url: string;
  proc: ChildProcess;
  output: () => string;
  request(method: string, route: string, body?: unknown, headers?: Record<string, string>): Promise<{ status: number; body: any; text: string }>;
  stop(): Promise<void>;
  kill9(): Promise<void>;
}

export async function startServer(args: string[], env: Record<string, string> = {}): Promise<Server> {
  const proc = spawn(process.execPath, [BIN, 'serve', '--port', '0', ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', (c) => (out += c));
  proc.stderr!.on('data', (c) => (out += c));
  const exited = new Promise<void>((resolve) => proc.on('exit', () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${out}`)), 60_000);
    const check = () => {
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    };
    proc.stdout!.on('data', check);
    proc.on('exit', () => reject(new Error(`server exited:\n${out}`)));
  });
  return {
    url,
    proc,
    output: () => out,
    async request(method, route, body, headers = {}) {
      const res = await fetch(url + route, {
        method,
        headers: { ...(body !== undefined && { 'content-type': 'application/json' }), ...headers },
        body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      });
      const text = await res.text();
      let parsed: unknown = text;
      try {
        parsed = JSON.parse(text);
      } catch {
        // not JSON (metrics, docs)
      }
      return { status: res.status, body: parsed, text };
    },
    async stop() {
      proc.kill('SIGTERM');
      await exited;
    },
    async kill9() {
      proc.kill('SIGKILL');
      await exited;
    },
  };
}

/** Polls a job until it leaves queued/running (or `until` holds). */
export async function waitJob(server: Server, id: string, until?: (job: any) => boolean, timeoutMs = 240_000): Promise<any> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const { body } = await server.request('GET', `/v1/jobs/${id}`);
    if (until ? until(body) : !['queued', 'running'].includes(body.status)) return body;
    if (Date.now() > end) throw new Error(`job ${id} still ${body.status} (${JSON.stringify(body.progress)})`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A temp folder with a data root holding visitors split over `files` Parquet files. */
export async function visitorRoot(files: number, rowsPerFile: number): Promise<{ dir: string; root: string }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ae-svc-'));
  const root = path.join(dir, 'root');
  fs.mkdirSync(root);
  let i = 0;
  for await (const batch of generateVisitors({ visitors: files * rowsPerFile, batchRows: rowsPerFile, seed: 3 })) {
    await writeFile(path.join(root, `v-${String(i++).padStart(2, '0')}.parquet`), VISITOR_COLUMNS, (async function* () {
      yield batch;
    })());
  }
  return { dir, root };
}

/** Rows in one Parquet file (or glob) and not the other, both ways: 0 when equal as multisets. */
export async function differingRows(a: string, b: string): Promise<number> {
  const con = await connect();
  try {
    const r = await con.runAndReadAll(
      'SELECT (SELECT count(*) FROM (SELECT * FROM read_parquet($1) EXCEPT ALL SELECT * FROM read_parquet($2))) + (SELECT count(*) FROM (SELECT * FROM read_parquet($2) EXCEPT ALL SELECT * FROM read_parquet($1)))',
      [a, b],
    );
    return Number(r.getRows()[0][0]);
  } finally {
    con.closeSync();
  }
}

/** The pid of job `id`'s runner, from the job store in the server's `--data-dir`. */
export function runnerPid(dataDir: string, id: string): number {
  const store = new JobStore(path.join(dataDir, 'jobs.sqlite'));
  try {
    return store.get(id)!.runnerPid!;
  } finally {
    store.close();
  }
}

/** The service app in this process over a fresh job store and model store in `dir` (no listener, no runner started); close both after. */
export async function inProcessService(dir: string): Promise<{ app: FastifyInstance; jobs: JobStore }> {
  const jobs = new JobStore(path.join(dir, 'jobs.sqlite'));
  const models = new ModelStore(path.join(dir, 'models'));
  const app = await buildApp({ jobs, scheduler: new Scheduler(jobs, { concurrency: 1, modelStore: models.root, maxAttempts: 1 }), models, roots: new DataRoots([dir]), backend: { name: 'test', device: 'cpu' }, maxQueued: 10, bodyLimit: 1 << 20, logLevel: 'silent' });
  return { app, jobs };
}

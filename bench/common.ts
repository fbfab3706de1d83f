/** Benchmark helpers: timing, medians, the Python peer, tables and JSON results. */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { initBackend, type BackendInfo } from '../src/compute/backend.js';
import { table } from '../src/render/table.js';

export const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));

/** The value of a `--name=value` command-line option, if given. */
export function option(args: string[], name: string): string | undefined {
  return args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** "mean ± sd" of `xs` (the sample standard deviation), 4 decimals; one value alone as itself. */
export function meanSd(xs: number[]): string {
  const m = xs.reduce((a, b) => a + b, 0) / xs.length;
  if (xs.length === 1) return m.toFixed(4);
  const s = Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / Math.max(1, xs.length - 1));
  return `${m.toFixed(4)} ± ${s.toFixed(4)}`;
}

/** Runs fn `reps` times after `warmup` runs; returns the times in ms. */
export async function timeIt(fn: () => Promise<unknown> | unknown, reps: number, warmup = 1): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await fn();
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t = performance.now();
    await fn();
    times.push(performance.now() - t);
  }
  return times;
}

let python: string | null | undefined;

/** A Python 3 that can import the given modules (Debian's /usr/bin/python3 first), or null. */
export function findPython(modules: string[]): string | null {
  if (python !== undefined && python !== null) {
    const ok = spawnSync(python, ['-c', `import ${modules.join(', ')}`]).status === 0;
    return ok ? python : null;
  }
  for (const candidate of ['/usr/bin/python3', 'python3']) {
    if (spawnSync(candidate, ['-c', `import ${modules.join(', ')}`]).status === 0) return (python = candidate);
  }
  return null;
}

/** Runs a peer script in bench/peers with JSON args; returns its JSON stdout. */
export function runPeer(pythonBin: string, script: string, args: unknown): Record<string, unknown> {
  const r = spawnSync(pythonBin, [path.join(BENCH_DIR, 'peers', script), JSON.stringify(args)], { encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`${script} failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!);
}

export interface Report {
  suite: string;
  date: string;
  backend: BackendInfo;
  machine: { cpus: number; platform: string };
  rows: Array<Record<string, string | number>>;
  notes: string[];
}

export async function report(suite: string, rows: Report['rows'], notes: string[] = []): Promise<Report> {
  const backend = await initBackend();
  const os = await import('node:os');
  const r: Report = { suite, date: new Date().toISOString(), backend, machine: { cpus: os.cpus().length, platform: `${os.platform()} ${os.arch()}` }, rows, notes };
  process.stdout.write(`\n${suite} (backend ${backend.backend}: ${backend.device})\n${table(rows)}\n${notes.map((n) => `  ${n}`).join('\n')}\n`);
  const file = path.join(BENCH_DIR, 'results', `${suite}.json`);
  fs.writeFileSync(file, JSON.stringify(r, null, 2));
  process.stdout.write(`  -> ${path.relative(process.cwd(), file)}\n`);
  return r;
}

/**
 * A score job is planned once (issue 31): submission opens each input (a CSV is sniffed,
 * checked and counted: a full pass) and reads the models' manifests, never their weights; the
 * runner and its shards reopen the inputs from the layouts stored with the job, so nothing is
 * described, sniffed or counted again. Counted here by wrapping io/table.ts's two entry points.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../src/cli/main.js';
import { writeFile } from '../src/io/writer.js';
import { runStoredJob } from '../src/server/jobs/run-job.js';
import { JobStore } from '../src/server/jobs/store.js';
import { ModelStore } from '../src/models/registry.js';
import { DataRoots } from '../src/server/paths.js';
import { checkScore } from '../src/server/submit.js';
import type { ScoreJobBody } from '../src/server/schemas.js';
import { generateVisitors, VISITOR_COLUMNS } from '../src/synthetic/visitors.js';

const calls = vi.hoisted(() => ({ open: [] as string[], reopen: [] as string[] }));

vi.mock('../src/io/table.js', async (importOriginal) => {
  const mod = await importOriginal<typeof import('../src/io/table.js')>();
  return {
    ...mod,
    openTable: (file: string) => {
      calls.open.push(path.basename(file));
      return mod.openTable(file);
    },
    reopenTable: (layout: Parameters<typeof mod.reopenTable>[0]) => {
      calls.reopen.push(path.basename(layout.path));
      return mod.reopenTable(layout);
    },
  };
});

let dir: string;
let root: string;
let store: string;
let jobs: JobStore;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ae-plan-'));
  root = path.join(dir, 'root');
  store = path.join(dir, 'models');
  fs.mkdirSync(root, { recursive: true });
  await writeFile(path.join(root, 'v.csv'), VISITOR_COLUMNS, generateVisitors({ visitors: 3000, batchRows: 1000, seed: 5 }));
  const quiet = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
  const code = await main(['train', 'kmeans', '--input', path.join(root, 'v.csv'), '--name', 'seg', '--k', '3', '--n-init', '1', '--store', store]);
  quiet.mockRestore();
  expect(code).toBe(0);
  jobs = new JobStore(path.join(dir, 'jobs.sqlite'));
});

async function submit(output: string): Promise<string> {
  const body = { type: 'score', input: ['v.csv'], models: ['seg'], output, options: { shardRows: 1000 } } as ScoreJobBody;
  const spec = await checkScore(body, new DataRoots([root]), new ModelStore(store), () => jobs.activeIds());
  return jobs.create('score', spec as unknown as Record<string, unknown>).id;
}

describe('a score job is planned once', () => {
  it('opens the CSV once at submission, reads no weights there, and its three shards reopen it from the stored layout', async () => {
    calls.open.length = 0;
    calls.reopen.length = 0;
    const weights = vi.spyOn(ModelStore.prototype, 'load');
    const id = await submit('scores/a');
    expect(weights).not.toHaveBeenCalled(); // manifests alone at submission
    weights.mockRestore();
    expect(calls.open).toEqual(['v.csv']);
    const spec = jobs.get(id)!.spec as { tables: Array<{ rowCount: number; csv: unknown }>; fingerprints: unknown[] };
    expect(spec.tables).toHaveLength(1);
    expect(spec.tables[0].rowCount).toBe(3000);
    expect(spec.tables[0].csv).toBeDefined();
    expect(spec.fingerprints).toHaveLength(1);
    expect(jobs.claimNext()?.id).toBe(id);
    await runStoredJob(jobs.file, id, store);
    const job = jobs.get(id)!;
    expect(job.status, job.error ?? '').toBe('succeeded');
    expect((job.result as { rows: number }).rows).toBe(3000);
    // The runner reopened it from the layout (its shards, in this process, read that table): never opened again.
    expect(calls.open).toEqual(['v.csv']);
    expect(calls.reopen).toEqual(['v.csv']);
  });

  it('refuses to run from a plan whose input changed after submission, naming the file', async () => {
    const id = await submit('scores/b');
    const csv = path.join(root, 'v.csv');
    const text = fs.readFileSync(csv, 'utf8');
    fs.writeFileSync(csv, text.split('\n').slice(0, 1001).join('\n') + '\n'); // 1,000 rows where the plan counted 3,000
    try {
      expect(jobs.claimNext()?.id).toBe(id);
      await runStoredJob(jobs.file, id, store);
      const job = jobs.get(id)!;
      expect(job.status).toBe('failed');
      expect(job.error).toMatch(/changed since the job was submitted: .*v\.csv/);
      expect(fs.existsSync(path.join(root, 'scores/b', 'manifest.json'))).toBe(false);
    } finally {
      fs.writeFileSync(csv, text);
    }
  });
});

/**
 * One parameter contract for the CLI and the service: an invalid training parameter is
 * refused by `audience train` (exit 2) and by POST /v1/jobs (400) with the same message,
 * the flag `--x` named `params.x` in the API (a property over kinds, options and bad values).
 * What training itself refuses after a job was accepted names the options as the API does too.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { main } from '../src/cli/main.js';
import { startServer, waitJob, type Server } from './service-helpers.js';

let dir: string;
let server: Server;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ae-params-'));
  fs.writeFileSync(path.join(dir, 'v.csv'), `id,x,y,label\n${Array.from({ length: 50 }, (_, i) => `${i},${i % 7},${i % 3},${i % 2}`).join('\n')}\n`);
  server = await startServer(['--data-root', dir, '--data-dir', path.join(dir, 'data'), '--store', path.join(dir, 'models')]);
}, 60_000);

afterAll(async () => {
  await server?.stop();
});

/** The message `audience train` prints for these flags (and its exit code). */
async function cliRefusal(kind: string, flags: Record<string, string>): Promise<{ code: number; message: string }> {
  let err = '';
  const spy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
    err += String(chunk);
    return true;
  });
  try {
    const argv = ['train', kind, '--input', path.join(dir, 'v.csv'), '--name', 'x', '--store', path.join(dir, 'models'), ...Object.entries(flags).map(([k, v]) => `--${k}=${v}`)];
    const code = await main(argv);
    return { code, message: err.replace(/^error: /, '').trim() };
  } finally {
    spy.mockRestore();
  }
}

// Numeric options of each kind (with the label or seeds a kind needs), and values none of them accept.
const CASES: Array<[string, string, Record<string, string>]> = [
  ['kmeans', 'n-init', {}],
  ['kmeans', 'max-iter', {}],
  ['propensity', 'dropout', { label: 'label' }],
  ['propensity', 'max-epochs', { label: 'label' }],
  ['cltv', 'patience', { label: 'label' }],
  ['cltv', 'l2', { label: 'label' }],
  ['anomaly', 'niches', {}],
  ['lookalike', 'negatives-per-seed', { 'seed-filter': 'label = 1' }],
];

it('an invalid parameter gets the same message from the CLI and the API (property)', async () => {
  const bad = fc.oneof(fc.constantFrom('-1', '1e9', 'many', '0x10', ''), fc.integer({ min: -1000, max: -1 }).map(String), fc.double({ min: 1e7, max: 1e12, noNaN: true }).map(String));
  await fc.assert(
    fc.asyncProperty(fc.constantFrom(...CASES), bad, async ([kind, option, needs], value) => {
      const cli = await cliRefusal(kind, { ...needs, [option]: value });
      const api = await server.request('POST', '/v1/jobs', { type: 'train', model: kind, name: 'x', input: ['v.csv'], params: { ...needs, [option]: value } });
      expect(cli.code).toBe(2);
      expect(api.status).toBe(400);
      expect(api.body.message).toBe(cli.message.replace(/--([a-z][a-z0-9-]*)/g, 'params.$1'));
    }),
    { numRuns: 30 },
  );
}, 120_000);

it('what training refuses after submission names the options as the API does: params.x in the failed job, --x on the CLI', async () => {
  // Each value passes the submission's checks (they read no rows) and is refused by the trainer.
  const cases: Array<[Record<string, string>, RegExp]> = [
    [{ label: 'label', positive: 'nope' }, /^--positive nope: no row of label "label" holds it/],
    [{ label: 'label', 'min-class': '30' }, /Add data, or pass --min-class N or --allow-small to train anyway\.$/],
    [{ label: 'label', trainer: 'onnx', ensemble: '4', 'min-class': '20' }, /^--trainer onnx trains plain networks: with --ensemble or --embedding, use --trainer tfjs \(or auto\)$/],
  ];
  for (const [params, cliWording] of cases) {
    const cli = await cliRefusal('propensity', params);
    expect(cli.code).toBe(2);
    const refusal = cli.message.split(/^error: /m).pop()!; // after the progress lines of training so far
    expect(refusal).toMatch(cliWording);
    const submitted = await server.request('POST', '/v1/jobs', { type: 'train', model: 'propensity', name: 'x', input: ['v.csv'], params });
    expect(submitted.status).toBe(202);
    const job = await waitJob(server, submitted.body.id);
    expect(job.status).toBe('failed');
    expect(job.error).toBe(refusal.replace(/--([a-z][a-z0-9-]*)/g, 'params.$1'));
    expect(job.error).not.toMatch(/--[a-z]/);
  }
}, 120_000);

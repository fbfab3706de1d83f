/**
 * The score options are declared once (scoring/score-options.ts, issue 31): every option is a flag
 * of `audience score` with a help line, and a field of a service score job's `options`; a value
 * out of range or not allowed is refused by both, each naming the option its own way.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { JobStore } from '../src/server/jobs/store.js';
import { inProcessService } from './service-helpers.js';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../src/cli/main.js';
import { SCORE_OPTIONS, flagOf, scoreOptionsFromFlags } from '../src/scoring/score-options.js';

let dir: string;
let app: FastifyInstance;
let jobs: JobStore;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ae-opts-'));
  ({ app, jobs } = await inProcessService(dir));
});

afterAll(async () => {
  await app?.close();
  jobs?.close();
});

/** `audience score` with the given flags: exit code and what it wrote to stderr. */
async function score(flags: string[]): Promise<{ code: number; err: string }> {
  let err = '';
  const spy = vi.spyOn(process.stderr, 'write').mockImplementation((s) => ((err += String(s)), true));
  const out = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
  try {
    const code = await main(['score', '--input', path.join(dir, 'none.parquet'), '--model', 'm', '--out', path.join(dir, 'o'), ...flags]);
    return { code, err };
  } finally {
    spy.mockRestore();
    out.mockRestore();
  }
}

/** A service score job with these options: its status and message. */
async function submit(options: Record<string, unknown>): Promise<{ status: number; message: string }> {
  const res = await app.inject({ method: 'POST', url: '/v1/jobs', payload: { type: 'score', input: ['none.parquet'], models: ['m'], output: 'o', options } });
  return { status: res.statusCode, message: String(res.json().message ?? res.json().error ?? '') };
}

describe('score options, declared once', () => {
  it('every option is a flag of audience score, with its help line', async () => {
    let help = '';
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((s) => ((help += String(s)), true));
    try {
      expect(await main(['score', '--help'])).toBe(0);
    } finally {
      spy.mockRestore();
    }
    for (const [name, schema] of Object.entries(SCORE_OPTIONS)) {
      expect(help).toContain(`--${flagOf(name)}`);
      expect(help).toContain((schema as unknown as { description: string }).description);
    }
  });

  it('a value out of range or not allowed is refused by the CLI (exit 2, the flag) and the service (400, the field)', async () => {
    const bad: Array<[string, string, unknown]> = [
      ['shardRows', '999', 999],
      ['maxRejects', '-1', -1],
      ['engine', 'gpu', 'gpu'],
    ];
    for (const [name, text, json] of bad) {
      const cli = await score([`--${flagOf(name)}`, text]);
      expect(cli.code, `--${flagOf(name)} ${text}`).toBe(2);
      expect(cli.err).toContain(`--${flagOf(name)}`);
      const job = await submit({ [name]: json });
      expect(job.status, `options.${name} ${String(json)}`).toBe(400);
      expect(job.message).toContain(name);
    }
    // A field that is no option: refused by the service (strict), and no flag of the CLI.
    expect((await submit({ shardrows: 5000 })).status).toBe(400);
    expect((await score(['--shardrows', '5000'])).code).toBe(2);
  });

  it('every error answer carries its stable code beside the message', async () => {
    const schema = await app.inject({ method: 'POST', url: '/v1/jobs', payload: { type: 'score', input: ['none.parquet'], models: ['m'], output: 'o', options: { shardRows: 10 } } });
    expect(schema.json()).toMatchObject({ statusCode: 400, code: 'AE_VALIDATION' });
    const input = await app.inject({ method: 'POST', url: '/v1/jobs', payload: { type: 'score', input: ['none.parquet'], models: ['m'], output: 'o' } });
    expect(input.json()).toMatchObject({ statusCode: 400, code: 'AE_BAD_INPUT' });
    expect(input.json().message).toContain('none.parquet');
    expect((await app.inject({ method: 'GET', url: '/v1/nowhere' })).json()).toMatchObject({ statusCode: 404, code: 'AE_NOT_FOUND' });
    expect((await app.inject({ method: 'GET', url: '/v1/jobs/job_nope' })).json()).toMatchObject({ statusCode: 404, code: 'AE_NOT_FOUND' });
    const media = await app.inject({ method: 'POST', url: '/v1/jobs', payload: 'x', headers: { 'content-type': 'text/plain' } });
    expect(media.json()).toMatchObject({ statusCode: 415, code: 'AE_MEDIA_TYPE' });
  });

  it('parsed flags give the values a job states as options', () => {
    expect(scoreOptionsFromFlags({ 'shard-rows': '20000', 'max-rejects': '5', keep: ['a,b', 'c'], engine: 'tfjs', overwrite: true })).toEqual({
      shardRows: 20000,
      maxRejects: 5,
      keep: ['a', 'b', 'c'],
      engine: 'tfjs',
      overwrite: true,
    });
  });
});

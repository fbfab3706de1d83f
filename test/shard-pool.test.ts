/**
 * The shard pool (Piscina worker threads, one backend each) gives the same output as scoring
 * in process, value for value, for the CLI; a bad value in a shard that a worker scores is
 * still a clear error (exit 2 naming the row), and a failed pooled run leaves nothing behind.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, expect, it } from 'vitest';
import { differingRows } from './service-helpers.js';

const BIN = path.resolve('bin/audience.js');
let dir: string;

function audience(env: Record<string, string>, ...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: dir, encoding: 'utf8', env: { ...process.env, AUDIENCE_MODEL_STORE: path.join(dir, 'models'), ...env } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ae-pool-'));
  expect(audience({}, 'generate', '--visitors', '60000', '--out', 'v.csv', '--quiet').code).toBe(0);
  expect(audience({}, 'train', 'kmeans', '--input', 'v.csv', '--k', '3', '--n-init', '1', '--name', 'seg', '--exclude', 'email,converted,true_segment', '--quiet').code).toBe(0);
});

it('scores shards on worker threads with the same output as in process', async () => {
  fs.writeFileSync(path.join(dir, 'aud.json'), JSON.stringify({ identifiers: { email: 'email' }, audiences: [{ name: 'near', rule: 'seg.distance <= 1', holdout: 0.1 }] }));
  const args = ['score', '--input', 'v.csv', '--model', 'seg', '--audiences', 'aud.json', '--shard-rows', '15000', '--quiet'];
  expect(audience({ AUDIENCE_WORKERS: '0' }, ...args, '--output', 'inproc').code).toBe(0);
  const pooled = audience({ AUDIENCE_WORKERS: '2' }, ...args, '--output', 'pooled');
  expect(pooled.stderr).toBe('');
  expect(pooled.code).toBe(0);
  expect(fs.readdirSync(path.join(dir, 'pooled')).filter((f) => f.startsWith('scores-')).length).toBe(4);
  expect(await differingRows(path.join(dir, 'inproc/scores-*.parquet'), path.join(dir, 'pooled/scores-*.parquet'))).toBe(0);
  for (const f of ['members.csv', 'holdout.csv', 'activation-google.csv']) {
    expect(fs.readFileSync(path.join(dir, 'pooled/audiences/near', f))).toEqual(fs.readFileSync(path.join(dir, 'inproc/audiences/near', f)));
  }
});

it('a bad value in a pooled shard is exit 2 naming the row, and nothing is left behind', () => {
  const text = fs.readFileSync(path.join(dir, 'v.csv'), 'utf8').split('\n');
  const header = text[0].split(',');
  const col = header.indexOf('sessions');
  const row = text[50_001].split(',');
  row[col] = 'lots';
  text[50_001] = row.join(',');
  fs.writeFileSync(path.join(dir, 'bad.csv'), text.join('\n'));
  const r = audience({ AUDIENCE_WORKERS: '2' }, 'score', '--input', 'bad.csv', '--model', 'seg', '--shard-rows', '15000', '--output', 'bad', '--quiet');
  expect(r.code).toBe(2);
  expect(r.stderr).toMatch(/column "sessions", data row 50001: "lots" is not a number/);
  expect(fs.existsSync(path.join(dir, 'bad'))).toBe(false);
});

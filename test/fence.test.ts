/**
 * Fenced staging (scoring/fence.ts): a part is renamed in only while its fence holds the staging;
 * a resumed attempt takes over its job's finished parts (the latest attempt's), never another
 * job's.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, it } from 'vitest';
import { adoptParts, commitFenced, FencedOut, reclaimStaging, stagedPartName, stagedRejectsName, stagingFence } from '../src/scoring/fence.js';

/** An output folder whose staging is owned by `job` under `fence`. */
function staged(job: string, fence: string): { dir: string; staging: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ae-fence-unit-'));
  const staging = path.join(dir, '.shards');
  fs.mkdirSync(staging);
  fs.writeFileSync(path.join(staging, 'owner.json'), JSON.stringify({ pid: process.pid, start: '', job, fence }));
  return { dir, staging };
}

it('renames a part in only under the fence the staging records, and never without one', () => {
  const { staging } = staged('job_b', 'job_b.a1');
  const tmp = path.join(staging, 'part.tmp');
  fs.writeFileSync(tmp, 'late rows of job a');
  expect(() => commitFenced(staging, 'job_a.a1', [[tmp, path.join(staging, stagedPartName(0, 'job_a.a1'))]])).toThrow(FencedOut);
  expect(() => commitFenced(staging, '', [])).toThrow(/no longer this run's/);
  expect(fs.readdirSync(staging)).toEqual(['owner.json']);
  fs.writeFileSync(tmp, 'rows of job b');
  commitFenced(staging, 'job_b.a1', [[tmp, path.join(staging, stagedPartName(0, 'job_b.a1'))]]);
  expect(fs.readdirSync(staging).sort()).toEqual(['owner.json', 'scores-00000.job_b.a1.parquet']);
});

it('a resumed attempt takes the staging over and adopts its job\'s latest finished parts only', () => {
  const { dir, staging } = staged('job_x', 'job_x.a2');
  const put = (name: string, text: string) => fs.writeFileSync(path.join(staging, name), text);
  put(stagedPartName(0, 'job_x.a1'), 'shard 0, attempt 1');
  put(stagedPartName(0, 'job_x.a2'), 'shard 0, attempt 2');
  put(stagedPartName(1, 'job_x.a1'), 'shard 1, attempt 1');
  put(stagedRejectsName(1, 'job_x.a1'), 'rejects of shard 1');
  put(stagedPartName(2, 'job_other.a1'), 'another job');
  put(stagedPartName(3, 'job_x.a2'), 'shard 3: not done in the store');
  reclaimStaging(dir, 'job_x', 'job_x.a3');
  expect(stagingFence(staging)).toBe('job_x.a3');
  expect([...adoptParts(staging, 'job_x', 'job_x.a3', [0, 1, 2])].sort()).toEqual([0, 1]);
  const read = (name: string) => fs.readFileSync(path.join(staging, name), 'utf8');
  expect(read(stagedPartName(0, 'job_x.a3'))).toBe('shard 0, attempt 2');
  expect(read(stagedPartName(1, 'job_x.a3'))).toBe('shard 1, attempt 1');
  expect(read(stagedRejectsName(1, 'job_x.a3'))).toBe('rejects of shard 1');
  expect(fs.existsSync(path.join(staging, stagedPartName(2, 'job_x.a3')))).toBe(false);
  expect(() => reclaimStaging(dir, 'job_y', 'job_y.a1')).toThrow(/staging folder now belongs to job job_x; job job_y cannot resume there/);
});

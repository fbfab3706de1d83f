/**
 * A distributed K-Means fit killed with SIGKILL leaves its staged rows; the next fit removes
 * every staging folder whose heartbeat is older than STALE_STAGING_SECONDS, and only those.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, it } from 'vitest';
import { STALE_STAGING_SECONDS, sweepStaleStaging } from '../src/execution/kmeans-queue.js';

it('removes staging left by a killed fit, keeps a live one and anything else', () => {
  const parent = fs.mkdtempSync(path.join(os.tmpdir(), 'ae-staging-'));
  const make = (name: string, ageSeconds: number, beat = true) => {
    const dir = path.join(parent, name);
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'rows-00000.f32'), new Uint8Array(8));
    const when = new Date(Date.now() - ageSeconds * 1000);
    if (beat) {
      fs.writeFileSync(path.join(dir, 'heartbeat'), '');
      fs.utimesSync(path.join(dir, 'heartbeat'), when, when);
    }
    fs.utimesSync(dir, when, when);
    return dir;
  };
  const killed = make('kmeans-dead', STALE_STAGING_SECONDS + 60);
  const killedBeforeBeat = make('kmeans-early', STALE_STAGING_SECONDS + 60, false);
  const live = make('kmeans-live', 30);
  // An old folder whose heartbeat is recent is a long fit still running.
  const longFit = make('kmeans-long', 60);
  fs.utimesSync(longFit, new Date(0), new Date(0));
  const other = make('score-job', STALE_STAGING_SECONDS * 10);
  expect(sweepStaleStaging(parent).sort()).toEqual([killed, killedBeforeBeat].sort());
  for (const dir of [live, longFit, other]) expect(fs.existsSync(dir)).toBe(true);
  expect(sweepStaleStaging(path.join(parent, 'missing'))).toEqual([]);
});

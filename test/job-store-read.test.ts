/**
 * JobStore.read (the status poll's cached read) against get (a fresh query): equal after every
 * write, whether this connection made it or another one did (a runner's progress), for any
 * sequence of writes; a job created after a miss is found; the shared record cannot be changed.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { JobStore } from '../src/server/jobs/store.js';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ae-read-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const spec = { input: ['/r/v.parquet'], models: ['m@1'], output: '/r/out' };

describe('JobStore.read', () => {
  it('equals get after any sequence of writes by this connection and by another one', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ by: fc.constantFrom(0, 1), op: fc.constantFrom('rows', 'stage', 'claim', 'finish', 'cancel', 'create'), n: fc.integer({ min: 1, max: 1000 }) }), { maxLength: 25 }),
        (steps) => {
          const file = path.join(dir, `jobs-${Math.random().toString(36).slice(2)}.sqlite`);
          const server = new JobStore(file);
          const runner = new JobStore(file); // another connection, as a runner process has
          try {
            const ids = [server.create('score', spec).id];
            for (const { by, op, n } of steps) {
              const store = by ? runner : server;
              const id = ids[n % ids.length];
              if (op === 'rows') store.addRows(id, n);
              else if (op === 'stage') store.update(id, { stage: `scoring ${n}` });
              else if (op === 'claim') store.claimNext();
              else if (op === 'finish') store.finish(id, 'succeeded', { result: { rows: n } });
              else if (op === 'cancel') store.cancel(id);
              else ids.push(store.create('score', { ...spec, output: `/r/out-${n}` }).id);
              for (const each of ids) expect(server.read(each)).toEqual(server.get(each));
            }
          } finally {
            server.close();
            runner.close();
          }
        },
      ),
      { numRuns: 40 },
    );
  });

  it('finds a job created after a miss, and its record cannot be changed', () => {
    const server = new JobStore(path.join(dir, 'jobs.sqlite'));
    const runner = new JobStore(path.join(dir, 'jobs.sqlite'));
    try {
      expect(server.read('job_none')).toBeUndefined();
      const id = runner.create('train', { model: 'kmeans', name: 'n', input: ['/r/v.parquet'] }).id;
      const job = server.read(id)!;
      expect(job.status).toBe('queued');
      expect(() => {
        (job as { status: string }).status = 'succeeded';
      }).toThrow(TypeError);
      expect(server.read(id)!.status).toBe('queued');
    } finally {
      server.close();
      runner.close();
    }
  });
});

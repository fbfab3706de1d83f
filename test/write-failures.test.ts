/**
 * A write that fails (a query that errors midway, a full disk) leaves the target as it was and
 * no temporary file beside it, and its message names the file the user named, not the
 * temporary name it was written under. The full-disk cases need a tmpfs (root; skipped elsewhere).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyTo } from '../src/audiences/build.js';
import { buildEventFeatures } from '../src/features/events.js';
import { runMain } from './helpers.js';
import { connect } from '../src/io/duckdb.js';
import { systemErrorMessage } from '../src/util/errors.js';
import { namingTarget, writeFileWhole } from '../src/util/files.js';
import { fillDisk, mountTmpfs, NO_TMPFS, unmountAll } from './tmpfs.js';

let dir: string;
let full: string | undefined;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ae-write-failures-'));
  const at = path.join(dir, 'full');
  if (mountTmpfs(at, '1m')) {
    full = at;
    fillDisk(path.join(at, 'filler'));
  }
});

afterAll(() => {
  unmountAll();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('namingTarget', () => {
  it("names the user's file where an error names a temporary file written for it, and only there", () => {
    const duck = (p: string) => new Error(`IO Error: Could not write file "${p}": No space left on device`);
    expect((namingTarget(duck(path.resolve('out/.g.csv.part-00000.csv.tmp')), 'out/g.csv') as Error).message).toBe('IO Error: Could not write file "out/g.csv": No space left on device');
    expect((namingTarget(duck('small/.camp.parquet.tmp'), 'small/camp.parquet') as Error).message).toMatch(/"small\/camp\.parquet"/);
    expect((namingTarget(duck('/a b/x.parquet.tmp'), '/a b/x.parquet') as Error).message).toMatch(/"\/a b\/x\.parquet"/);
    // Another file's temporary name, or a name that only ends like the target's, is left alone.
    expect((namingTarget(duck('/a/.y.x.parquet.tmp'), '/a/x.parquet') as Error).message).toMatch(/"\/a\/\.y\.x\.parquet\.tmp"/);
    expect((namingTarget(duck('/b/.x.parquet.tmp'), '/a/x.parquet') as Error).message).toMatch(/"\/b\/\.x\.parquet\.tmp"/);
    const sys = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', syscall: 'write', path: `/w/.m.json.${process.pid}.tmp` });
    expect(systemErrorMessage(namingTarget(sys, '/w/m.json'))).toBe('cannot write /w/m.json: no space left on the device');
    expect(systemErrorMessage(duck('/w/m.parquet'))).toBe('cannot write /w/m.parquet: no space left on the device');
  });
});

describe('copyTo', () => {
  it('a copy that fails after writing its temporary file removes it, and keeps the earlier file', async () => {
    const folder = path.join(dir, 'copy');
    fs.mkdirSync(path.join(folder, 'taken.parquet'), { recursive: true });
    fs.writeFileSync(path.join(folder, 'taken.parquet', 'mine.txt'), 'mine');
    const file = path.join(folder, 'out.parquet');
    fs.writeFileSync(file, 'earlier');
    const con = await connect();
    try {
      // The rows are written whole under the temporary name; the rename over a folder fails.
      const rename = await copyTo(con, 'SELECT * FROM range(1000) t(i)', [], path.join(folder, 'taken.parquet')).catch((e: unknown) => e);
      expect(systemErrorMessage(rename)).toBe(`cannot write ${path.join(folder, 'taken.parquet')}: it is a folder`);
      // A query that fails midway (DuckDB removes what it began): the earlier file stays.
      await expect(copyTo(con, "SELECT CASE WHEN i < 150000 THEN i ELSE error('boom') END AS v FROM range(200000) t(i)", [], file)).rejects.toThrow(/boom/);
    } finally {
      con.closeSync();
    }
    expect(fs.readFileSync(file, 'utf8')).toBe('earlier');
    expect(fs.readdirSync(folder).sort()).toEqual(['out.parquet', 'taken.parquet']);
    expect(fs.readdirSync(path.join(folder, 'taken.parquet'))).toEqual(['mine.txt']);
  });
});

describe('a full disk', () => {
  it('measure --campaign-data: exit 2 naming the file, the earlier file kept, no temporary file', async (ctx) => {
    if (!full) return ctx.skip(NO_TMPFS);
    const run = path.join(dir, 'run');
    fs.mkdirSync(path.join(run, 'audiences', 'a'), { recursive: true });
    const input = path.join(dir, 'visitors.csv');
    fs.writeFileSync(input, `id,age\n${Array.from({ length: 400 }, (_, i) => `${i},${20 + (i % 50)}`).join('\n')}\n`);
    fs.writeFileSync(path.join(run, 'manifest.json'), JSON.stringify({ files: [], columns: [], inputs: [input] }));
    fs.writeFileSync(path.join(run, 'audiences', 'a', 'members.csv'), `id\n${Array.from({ length: 200 }, (_, i) => i).join('\n')}\n`);
    fs.writeFileSync(path.join(run, 'audiences', 'a', 'holdout.csv'), `id\n${Array.from({ length: 200 }, (_, i) => 200 + i).join('\n')}\n`);
    fs.writeFileSync(path.join(run, 'o.csv'), `id,y\n${Array.from({ length: 400 }, (_, i) => `${i},${i % 2}`).join('\n')}\n`);
    const file = path.join(full!, 'camp.parquet');
    const args = ['measure', '--audiences', path.join(run, 'audiences'), '--outcomes', path.join(run, 'o.csv'), '--id', 'id', '--outcome', 'y', '--campaign-data', file, '--quiet'];
    const fresh = await runMain(args);
    expect(fresh.stderr).toBe(`error: cannot write ${file}: no space left on the device\n`);
    expect(fresh.code).toBe(2);
    expect(fs.readdirSync(full!)).toEqual(['filler']);
    fs.writeFileSync(file, ''); // the disk is full: an empty earlier file, kept by a failed --overwrite
    const over = await runMain([...args, '--overwrite']);
    expect(over.stderr).toBe(`error: cannot write ${file}: no space left on the device\n`);
    expect(over.code).toBe(2);
    expect(fs.readdirSync(full!).sort()).toEqual(['camp.parquet', 'filler']);
    fs.rmSync(file);
  });

  it('generate --out and events --out name the file the user named', async (ctx) => {
    if (!full) return ctx.skip(NO_TMPFS);
    for (const name of ['g.csv', 'g.parquet']) {
      const r = await runMain(['generate', '--visitors', '2000', '--out', path.join(full!, name), '--quiet']);
      expect(r.code).toBe(2);
      expect(r.stderr).toBe(`error: cannot write ${path.join(full!, name)}: no space left on the device\n`);
    }
    const events = path.join(dir, 'ev.csv');
    fs.writeFileSync(events, 'id,date\n1,2024-01-02\n2,2024-01-03\n1,2024-02-01\n');
    const out = path.join(full!, 'f.parquet');
    const thrown = await buildEventFeatures({ input: [events], id: 'id', time: 'date', asOf: '2024-03-01', out }).catch((e: unknown) => e);
    expect(systemErrorMessage(thrown)).toBe(`cannot write ${out}: no space left on the device`);
    // And a whole-file write (measure --out, report): the file, not `.<name>.<pid>.tmp`.
    const json = path.join(full!, 'm.json');
    let err: unknown;
    try {
      writeFileWhole(json, 'x'.repeat(64 * 1024));
    } catch (e) {
      err = e;
    }
    expect(systemErrorMessage(err)).toBe(`cannot write ${json}: no space left on the device`);
    expect(fs.readdirSync(full!).sort()).toEqual(['filler']);
  });
});

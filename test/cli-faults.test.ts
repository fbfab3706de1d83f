/**
 * The CLI when the file system or the network says no: a full disk, a read-only folder, an
 * output path that is a file, a busy port; overwrite next to a user's own files; and output
 * paths that are not regular files. Each ends in exit 2 with the path and the reason, and
 * leaves nothing of the run behind.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobStore } from '../src/server/jobs/store.js';

const BIN = path.resolve('bin/audience.js');
let dir: string;
const mounts: string[] = [];

function audience(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: dir, encoding: 'utf8', env: { ...process.env, AUDIENCE_MODEL_STORE: path.join(dir, 'models') } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A small tmpfs (root only); undefined where this machine does not allow mounting one. */
function tmpfs(name: string, options: string): string | undefined {
  const at = path.join(dir, name);
  fs.mkdirSync(at);
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', at], { stdio: 'ignore' });
    mounts.push(at);
    return at;
  } catch {
    return undefined;
  }
}

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ae-cli-faults-'));
  expect(audience('generate', '--visitors', '60000', '--out', 'v.parquet', '--quiet').code).toBe(0);
  expect(audience('train', 'kmeans', '--input', 'v.parquet', '--k', '3', '--n-init', '1', '--name', 'seg', '--exclude', 'email,converted,true_segment', '--quiet').code).toBe(0);
});

afterAll(() => {
  for (const m of mounts) spawnSync('umount', [m]);
});

describe('file-system failures', () => {
  it('a full disk: exit 2 "cannot write", and the run leaves nothing behind', (ctx) => {
    const small = tmpfs('small', 'size=256k');
    if (!small) return ctx.skip();
    const r = audience('score', '--input', 'v.parquet', '--model', 'seg', '--output', path.join(small, 'out'), '--quiet');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^error: cannot (read or )?write .*(no space left|No space left)/m);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(fs.readdirSync(small)).toEqual([]);
  });

  it('a read-only folder: exit 2 with the path and the reason', (ctx) => {
    const ro = tmpfs('ro', 'size=1m,ro');
    if (!ro) return ctx.skip();
    const r = audience('score', '--input', 'v.parquet', '--model', 'seg', '--output', path.join(ro, 'out'), '--quiet');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/error: cannot write .*\/ro: the file system is read-only/);
  });

  it('an output path that is a file: exit 2', () => {
    fs.writeFileSync(path.join(dir, 'taken'), 'mine');
    const r = audience('score', '--input', 'v.parquet', '--model', 'seg', '--output', 'taken', '--quiet');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/taken is a file; the output must be a folder/);
    expect(fs.readFileSync(path.join(dir, 'taken'), 'utf8')).toBe('mine');
  });

  it('refuses to write generated data over a symlink or a FIFO', () => {
    fs.writeFileSync(path.join(dir, 'target.csv'), 'precious');
    fs.symlinkSync(path.join(dir, 'target.csv'), path.join(dir, 'link.csv'));
    const link = audience('generate', '--visitors', '10', '--out', 'link.csv');
    expect(link.code).toBe(2);
    expect(link.stderr).toMatch(/link\.csv is a symbolic link, not a regular file/);
    expect(fs.readFileSync(path.join(dir, 'target.csv'), 'utf8')).toBe('precious');
    execFileSync('mkfifo', [path.join(dir, 'pipe.csv')]);
    const fifo = audience('generate', '--visitors', '10', '--out', 'pipe.csv');
    expect(fifo.code).toBe(2);
    expect(fifo.stderr).toMatch(/pipe\.csv is a FIFO/);
  });
});

describe('overwrite removes only what the product wrote', () => {
  it('keeps a user\'s own files, and refuses to write over one that has a name a run writes', () => {
    fs.writeFileSync(path.join(dir, 'aud.json'), JSON.stringify({ identifiers: { email: 'email' }, audiences: [{ name: 'near', rule: 'seg.distance <= 1', holdout: 0.1 }] }));
    const first = audience('score', '--input', 'v.parquet', '--model', 'seg', '--audiences', 'aud.json', '--output', 'out', '--quiet');
    expect(first.code).toBe(0);
    fs.writeFileSync(path.join(dir, 'out', 'notes.txt'), 'my notes');
    const again = audience('score', '--input', 'v.parquet', '--model', 'seg', '--audiences', 'aud.json', '--output', 'out', '--overwrite', '--quiet');
    expect(again.stderr).toBe('');
    expect(again.code).toBe(0);
    expect(fs.readFileSync(path.join(dir, 'out', 'notes.txt'), 'utf8')).toBe('my notes');
    // A user's file inside an audience folder makes that folder not the product's: refused, kept.
    fs.writeFileSync(path.join(dir, 'out', 'audiences', 'near', 'mine.txt'), 'mine');
    const inside = audience('score', '--input', 'v.parquet', '--model', 'seg', '--audiences', 'aud.json', '--output', 'out', '--overwrite', '--quiet');
    expect(inside.code).toBe(2);
    expect(inside.stderr).toMatch(/holds audiences\/near, which audience-engine did not write/);
    expect(fs.readFileSync(path.join(dir, 'out', 'audiences', 'near', 'mine.txt'), 'utf8')).toBe('mine');
    fs.rmSync(path.join(dir, 'out', 'audiences', 'near', 'mine.txt'));

    // A user's file with exactly a name a run writes: refused before anything is removed.
    fs.writeFileSync(path.join(dir, 'out', 'scores-00007.parquet'), 'a user file with a product name');
    const blocked = audience('score', '--input', 'v.parquet', '--model', 'seg', '--output', 'out', '--overwrite', '--quiet');
    expect(blocked.code).toBe(2);
    expect(blocked.stderr).toMatch(/holds scores-00007\.parquet, which audience-engine did not write/);
    expect(fs.readFileSync(path.join(dir, 'out', 'scores-00007.parquet'), 'utf8')).toMatch(/user file/);
    expect(fs.existsSync(path.join(dir, 'out', 'manifest.json'))).toBe(true); // the earlier output is whole
    expect(fs.existsSync(path.join(dir, 'out', 'scores-00000.parquet'))).toBe(true);
  });
});

describe('paths and flags the system refuses', () => {
  it('an output under /proc is exit 2 at once, not a spin', () => {
    const r = spawnSync(process.execPath, [BIN, 'generate', '--visitors', '10', '--out', '/proc/nope/v.parquet'], { encoding: 'utf8', timeout: 30_000 });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/cannot write \/proc\/nope/);
  });

  it('a port out of range is exit 2', () => {
    const r = audience('serve', '--port', '70000', '--data-root', dir, '--data-dir', path.join(dir, 'data-port'));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--port 70000: expected an integer >= 0 and <= 65535/);
  });
});

describe('the network', () => {
  it('a busy port: exit 2 "cannot listen on"', async () => {
    const busy = net.createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    const port = (busy.address() as net.AddressInfo).port;
    const proc = spawn(process.execPath, [BIN, 'serve', '--port', String(port), '--data-root', dir, '--data-dir', path.join(dir, 'data')], { cwd: dir });
    let err = '';
    proc.stderr.on('data', (c) => (err += c));
    const code = await new Promise<number | null>((resolve) => proc.on('exit', resolve));
    busy.close();
    expect(code).toBe(2);
    expect(err).toMatch(new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port}: the address is already in use`));
    // The data folder this failed start made is gone (the lock with it): nothing is left behind.
    expect(fs.existsSync(path.join(dir, 'data'))).toBe(false);
  });

  it('a failed start keeps a data folder that was there, without its lock; a refused --online file makes none', async () => {
    const busy = net.createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    const port = (busy.address() as net.AddressInfo).port;
    const kept = path.join(dir, 'kept-data');
    fs.mkdirSync(kept);
    fs.writeFileSync(path.join(kept, 'note.txt'), 'mine');
    const start = async () => {
      const proc = spawn(process.execPath, [BIN, 'serve', '--port', String(port), '--data-root', dir, '--data-dir', kept], { cwd: dir });
      return new Promise<number | null>((resolve) => proc.on('exit', resolve));
    };
    expect(await start()).toBe(2);
    expect(fs.readFileSync(path.join(kept, 'note.txt'), 'utf8')).toBe('mine');
    // The job store this start made (and its lock) are gone with it: the folder is as it was found.
    expect(fs.readdirSync(kept)).toEqual(['note.txt']);
    // A job store that was there is kept, with its jobs.
    const store = new JobStore(path.join(kept, 'jobs.sqlite'));
    const job = store.create('score', { input: ['v.parquet'] });
    store.close();
    expect(await start()).toBe(2);
    busy.close();
    expect(fs.readdirSync(kept).sort()).toEqual(['jobs.sqlite', 'note.txt']);
    const reopened = new JobStore(path.join(kept, 'jobs.sqlite'));
    expect(reopened.get(job.id)?.status).toBe('queued');
    reopened.close();
    const refused = audience('serve', '--port', '0', '--data-root', dir, '--data-dir', path.join(dir, 'new', 'data'), '--online', 'no-view.json');
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/^error: --online \S*no-view\.json: file not found\n/);
    expect(fs.existsSync(path.join(dir, 'new'))).toBe(false);
  });
});

/**
 * The transpiled build (scripts/build.mjs, src/util/built.mjs): the CLI run from dist/ gives
 * what the sources through tsx give, its shard threads load dist/ too, and a build older than
 * the sources (by content, whatever the mtimes say) is never run. On a copy of the package
 * (src, bin, scripts; node_modules linked) so the checkout's sources stay untouched.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { main } from '../src/cli/main.js';
import { numberColumn } from '../src/io/columns.js';
import { openDataset } from '../src/io/dataset.js';

let dir: string;
let pkg: string;
let marks: string;

/** Runs `node args` in the copy with its own dist/ (the suite's AUDIENCE_DIST left out). */
function node(args: string[], env: NodeJS.ProcessEnv = {}) {
  const base: NodeJS.ProcessEnv = { ...process.env, AUDIENCE_MODEL_STORE: path.join(dir, 'models'), AUDIENCE_TEST_MARK: marks, ...env };
  delete base.AUDIENCE_DIST;
  return spawnSync(process.execPath, args, { cwd: dir, encoding: 'utf8', env: base });
}

const cli = (args: string[], env?: NodeJS.ProcessEnv) => node([path.join(pkg, 'bin/audience.js'), ...args], env);
/** Which of the marked built modules ran since the last call (and clears the record). */
function marked(): string[] {
  const lines = fs.existsSync(marks) ? fs.readFileSync(marks, 'utf8').split('\n').filter(Boolean) : [];
  fs.rmSync(marks, { force: true });
  return [...new Set(lines)].sort();
}
/** Whether the copy's src/util/built.mjs takes its dist/ as current, asked from a fresh process. */
const current = () => node(['-e', `import(${JSON.stringify(path.join(pkg, 'src/util/built.mjs'))}).then((m) => console.log(m.distIsCurrent()))`]).stdout.trim();

/** Each score column of a scores folder, in file order. */
async function scoreColumns(out: string): Promise<Record<string, number[]>> {
  const cols: Record<string, number[]> = { visitor_id: [], b_segment: [], b_distance: [] };
  const ds = await openDataset([path.join(out, 'scores-*.parquet')]);
  for await (const b of ds.read(Object.keys(cols).map((name) => ({ name, as: 'number' as const })))) for (const c of Object.keys(cols)) cols[c].push(...numberColumn(b, c));
  return cols;
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ae-build-'));
  pkg = path.join(dir, 'pkg');
  marks = path.join(dir, 'marks.txt');
  for (const d of ['src', 'bin', 'scripts']) fs.cpSync(d, path.join(pkg, d), { recursive: true });
  for (const f of ['package.json', 'tsconfig.json']) fs.copyFileSync(f, path.join(pkg, f));
  fs.symlinkSync(path.resolve('node_modules'), path.join(pkg, 'node_modules'));
  const build = node([path.join(pkg, 'scripts/build.mjs')]);
  expect(build.stderr).toBe('');
  expect(build.stdout).toMatch(/^built dist\/ from src\/ in [\d.]+ s\n$/);
  // Mark two built modules: the CLI's main, and the task a shard thread loads through its boot file.
  for (const [file, name] of [['cli/main.js', 'cli'], ['execution/shard-task.js', 'shard-task']]) {
    fs.appendFileSync(path.join(pkg, 'dist', file), `\n(await import('node:fs')).appendFileSync(process.env.AUDIENCE_TEST_MARK, '${name}\\n');\n`);
  }
  const store = { AUDIENCE_MODEL_STORE: path.join(dir, 'models') };
  Object.assign(process.env, store);
  expect(await main(['generate', '--visitors', '3000', '--out', path.join(dir, 'v.csv'), '--seed', '2'])).toBe(0);
  const train = ['train', 'kmeans', '--input', path.join(dir, 'v.csv'), '--k', '4', '--name', 'b', '--exclude', 'converted,true_segment,email', '--seed', '1', '--quiet'];
  expect(await main(train)).toBe(0);
});

describe('the transpiled build', () => {
  it('scores exactly as the sources through tsx do, its shard threads on the build too', async () => {
    // Three shards of a CSV on two threads (a shard is whole row groups of a Parquet file).
    const args = (out: string) => ['score', '--input', path.join(dir, 'v.csv'), '--model', 'b', '--output', path.join(dir, out), '--shard-rows', '1000', '--quiet'];
    const built = cli(args('built'), { AUDIENCE_WORKERS: '2' });
    expect(built.stderr).toBe('');
    expect(built.status).toBe(0);
    expect(marked()).toEqual(['cli', 'shard-task']);
    const tsx = cli(args('tsx'), { AUDIENCE_WORKERS: '2', AUDIENCE_NO_DIST: '1' });
    expect(tsx.stderr).toBe('');
    expect(tsx.status).toBe(0);
    expect(marked()).toEqual([]);
    expect(built.stdout).toMatch(/Scored 3,000 visitors with b@1/);
    // The same lines but for the speed and the output folder.
    const same = (stdout: string, out: string) => stdout.replace(/\([\d.]+k? rows\/s\)/, '(N rows/s)').replaceAll(path.join(dir, out), 'OUT');
    expect(same(built.stdout, 'built')).toBe(same(tsx.stdout, 'tsx'));
    const [a, b] = [await scoreColumns(path.join(dir, 'built')), await scoreColumns(path.join(dir, 'tsx'))];
    expect(a.visitor_id).toHaveLength(3000);
    expect(a).toEqual(b);
  });

  it('never runs a build older than the sources, whatever their mtimes say', () => {
    expect(current()).toBe('true');
    const file = path.join(pkg, 'src/util/rng.ts');
    const [before, stat] = [fs.readFileSync(file), fs.statSync(file)];
    // An edit that keeps the file's old mtime (as cp -p or tar would): the build is stale.
    fs.appendFileSync(file, '\n// edited\n');
    fs.utimesSync(file, stat.atime, new Date(2000, 0, 1));
    expect(current()).toBe('false');
    const help = cli(['--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/audience/);
    expect(marked()).toEqual([]);
    // The same bytes again: current again; a file added, or the stamp gone: stale.
    fs.writeFileSync(file, before);
    expect(current()).toBe('true');
    fs.writeFileSync(path.join(pkg, 'src/util/notes.txt'), 'x');
    expect(current()).toBe('false');
    fs.rmSync(path.join(pkg, 'src/util/notes.txt'));
    fs.rmSync(path.join(pkg, 'dist/build-stamp.json'));
    expect(current()).toBe('false');
  });
});

/**
 * Vitest global setup: every temporary folder the tests (and the CLI, server and worker
 * processes they start) make goes under one folder for this run, removed when the run ends,
 * so repeated runs do not fill the machine's temp space. AUDIENCE_KEEP_TEST_TMP=1 keeps it
 * (its path is printed) to look at what a test wrote.
 *
 * It also transpiles the sources once into that folder (scripts/build.mjs, AUDIENCE_DIST), so
 * every process the tests start runs JavaScript, not the sources through tsx (~1.5 s less CPU
 * each); tests themselves still import the TypeScript sources. A source edited during the run
 * makes that build stale, so processes fall back to tsx (src/util/built.mjs) until the rebuild
 * this setup starts on each change has finished.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const BUILD = path.resolve('scripts/build.mjs');

/**
 * The test processes' builds, in `dir`: each (re)build goes to a new folder v1, v2, ... and
 * `dir/dist` (AUDIENCE_DIST) is a link re-pointed to the newest, so a process keeps the whole
 * build it started from (Node loads modules by their real path) while a rebuild lands.
 * Packages resolve through `dir/node_modules`, a link to the checkout's.
 */
class TestBuilds {
  private version = 0;
  readonly dist: string;
  constructor(private readonly dir: string) {
    fs.mkdirSync(dir);
    fs.symlinkSync(path.resolve('node_modules'), path.join(dir, 'node_modules'));
    this.dist = path.join(dir, 'dist');
  }

  private next(): string {
    return path.join(this.dir, `v${++this.version}`);
  }

  private point(to: string): void {
    const link = `${this.dist}.${path.basename(to)}.tmp`;
    fs.symlinkSync(to, link);
    fs.renameSync(link, this.dist);
  }

  /** Builds now; a failure is reported, and the tests' processes then run on tsx. */
  buildSync(): void {
    const to = this.next();
    const r = spawnSync(process.execPath, [BUILD, '--quiet'], { env: { ...process.env, AUDIENCE_DIST: to }, encoding: 'utf8' });
    if (r.status === 0) this.point(to);
    else process.stderr.write(`note: the build for the test processes failed; they run the sources through tsx\n${r.stderr}`);
  }

  /** Rebuilds after each change under src/ (debounced, one build at a time); returns the stop. */
  rebuildOnChange(): () => void {
    let timer: NodeJS.Timeout | undefined;
    let building: ChildProcess | undefined;
    let dirty = false;
    let stopped = false;
    const build = () => {
      if (building) return void (dirty = true);
      dirty = false;
      const to = this.next();
      const child = (building = spawn(process.execPath, [BUILD, '--quiet'], { env: { ...process.env, AUDIENCE_DIST: to }, stdio: 'ignore' }));
      child.on('exit', (code) => {
        building = undefined;
        if (code === 0 && !stopped) this.point(to);
        if (dirty) schedule();
      });
    };
    const schedule = () => {
      if (stopped) return;
      clearTimeout(timer);
      timer = setTimeout(build, 300);
    };
    try {
      const watcher = fs.watch(path.resolve('src'), { recursive: true }, schedule);
      return () => {
        stopped = true;
        clearTimeout(timer);
        watcher.close();
        building?.kill();
      };
    } catch {
      return () => {}; // no watching (inotify limits): a stale build is not used, so tests run on tsx
    }
  }
}

/** Points TMPDIR (which os.tmpdir() reads) at a fresh folder and builds into it; returns the teardown. */
export default function setup(): () => void {
  // Vitest runs a global setup once per project: the first one made the folder. Short names:
  // a browser's socket path under it must stay within the 108 bytes a Unix socket allows.
  if (process.env.AUDIENCE_TEST_TMP) return () => {};
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'aet-'));
  process.env.AUDIENCE_TEST_TMP = root;
  process.env.TMPDIR = root;
  const builds = new TestBuilds(path.join(root, 'build'));
  process.env.AUDIENCE_DIST = builds.dist;
  builds.buildSync();
  const stop = builds.rebuildOnChange();
  return () => {
    stop();
    if (process.env.AUDIENCE_KEEP_TEST_TMP === '1') process.stderr.write(`test files kept in ${root}\n`);
    else fs.rmSync(root, { recursive: true, force: true });
  };
}

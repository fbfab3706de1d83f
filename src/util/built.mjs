// Which code a process or thread runs: a transpiled build (dist/, `npm run build`, scripts/
// build.mjs) when it was built from exactly the sources in src/ now, else the TypeScript
// sources through tsx. Plain JavaScript, so entries load it before tsx exists.
//
// "Exactly": the build writes build-stamp.json holding a SHA-256 of every file under src/
// (paths and contents); a process coming from src/ hashes src/ again (~5 ms warm, ~30 ms
// cold, for 1.6 MB) and runs the build only on an equal hash. A content hash, not mtimes: an
// edit that keeps an older mtime (cp -p, tar, rsync -t) or a deleted file still changes it,
// so a stale build never runs, whoever built it. Code already running from a build (its
// parent checked) stays in that build. AUDIENCE_DIST=DIR names another build folder than
// dist/ (the test setup keeps its own, test/tmp-setup.ts); AUDIENCE_NO_DIST=1 always runs
// the sources.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** The stamp a build writes last, at its root: `{ "sources": "<sha256 hex>", ... }`. */
export const STAMP = 'build-stamp.json';
/** The tree this file is in: src/, or a build (which has a stamp). */
const HERE = fileURLToPath(new URL('..', import.meta.url));
const IN_BUILD = fs.existsSync(path.join(HERE, STAMP));
/** The repository (package) root, when running from src/. */
export const ROOT = path.dirname(HERE.replace(/[\\/]$/, ''));
export const SRC = path.join(ROOT, 'src');
/** The build folder processes from src/ look for. */
export const DIST = process.env.AUDIENCE_DIST ? path.resolve(process.env.AUDIENCE_DIST) : path.join(ROOT, 'dist');

/**
 * SHA-256 (hex) over every file under `dir`: relative paths in sorted order, each with its
 * contents. Throws what the file system throws (a missing `dir`: ENOENT).
 */
export function sourceHash(dir = SRC) {
  const files = fs
    .readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => path.relative(dir, path.join(d.parentPath ?? d.path, d.name)).split(path.sep).join('/'))
    .sort();
  const h = createHash('sha256');
  for (const f of files) h.update(`${f}\0`).update(fs.readFileSync(path.join(dir, f))).update('\0');
  return h.digest('hex');
}

/** The build's stamp in `dist`, or undefined when there is none (or it is unreadable). */
export function readStamp(dist = DIST) {
  try {
    return JSON.parse(fs.readFileSync(path.join(dist, STAMP), 'utf8'));
  } catch {
    return undefined;
  }
}

let current;
/** Whether DIST was built from the sources as they are now (checked once per thread). */
export function distIsCurrent() {
  if (IN_BUILD) return true;
  if (current === undefined) {
    const stamp = process.env.AUDIENCE_NO_DIST === '1' ? undefined : readStamp();
    current = typeof stamp?.sources === 'string' && fs.existsSync(SRC) && stamp.sources === sourceHash();
  }
  return current;
}

const under = (file, dir) => file.startsWith(dir.endsWith(path.sep) ? dir : dir + path.sep);
const asJs = (file) => file.replace(/\.ts$/, '.js');

/**
 * Where a module named by its source URL (src/x/y.ts, or BUILD/x/y.ts from code running in a
 * build) is run from: `{ file, tsx }`: the build's x/y.js with tsx false when the caller runs
 * from that build or DIST is current, else the source with tsx true.
 */
export function resolveModule(url) {
  const file = fileURLToPath(url);
  if (IN_BUILD && under(file, HERE)) return { file: asJs(file), tsx: false };
  if (under(file, SRC) && distIsCurrent()) return { file: asJs(path.join(DIST, path.relative(SRC, file))), tsx: false };
  return { file, tsx: true };
}

let registered = false;
/** Imports a module named by its source URL from where resolveModule says, registering tsx when needed. */
export async function importModule(url) {
  const { file, tsx } = resolveModule(url);
  if (tsx && !registered) {
    const { register } = await import('tsx/esm/api');
    register();
    registered = true;
  }
  return import(pathToFileURL(file).href);
}

/** Node arguments that run the module named by its source URL as a process's entry (before its own arguments). */
export function nodeArgs(url) {
  const { file, tsx } = resolveModule(url);
  return tsx ? ['--import', import.meta.resolve('tsx/esm'), file] : [file];
}

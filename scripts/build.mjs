// `npm run build`: transpiles src/**/*.ts to dist/ (same layout, .js) with esbuild, one file at
// a time and no bundling (the same transform tsx applies at run time, so the build runs the
// same code), copies the .mjs entry files, and writes dist/build-stamp.json last with the hash
// of the sources it was built from (src/util/built.mjs decides from it whether dist/ runs).
// Builds beside dist/ and swaps it in, so a process never sees a half-written build. When
// dist/ is already current it does nothing (--force builds anyway); --quiet prints nothing.
import fs from 'node:fs';
import path from 'node:path';
import * as esbuild from 'esbuild';
import { DIST, ROOT, SRC, STAMP, distIsCurrent, readStamp, sourceHash } from '../src/util/built.mjs';

const force = process.argv.includes('--force');
const quiet = process.argv.includes('--quiet');

/** Files under src/ (relative paths) whose names end with `ext` (declaration files left out). */
function sources(ext) {
  return fs
    .readdirSync(SRC, { recursive: true })
    .filter((f) => f.endsWith(ext) && !/\.d\.m?ts$/.test(f))
    .sort();
}

/** Transpiles the sources into a fresh folder beside dist/; returns it and the hash built from. */
async function buildInto(tmp) {
  const before = sourceHash();
  await esbuild.build({
    entryPoints: sources('.ts').map((f) => path.join(SRC, f)),
    outdir: tmp,
    outbase: SRC,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    tsconfig: path.join(ROOT, 'tsconfig.json'),
    logLevel: 'warning',
  });
  for (const f of sources('.mjs')) {
    fs.mkdirSync(path.dirname(path.join(tmp, f)), { recursive: true });
    fs.copyFileSync(path.join(SRC, f), path.join(tmp, f));
  }
  // A source edited while building: what was read may be a mix, so this build stays unused.
  if (sourceHash() !== before) throw new Error('src/ changed during the build; run it again');
  return before;
}

/** Puts the build in `tmp` in dist/'s place; a build another process swapped in first from the same sources is as good. */
function swapIn(tmp, hash) {
  const old = `${DIST}.${process.pid}.old.tmp`;
  try {
    if (fs.existsSync(DIST)) fs.renameSync(DIST, old);
    fs.renameSync(tmp, DIST);
  } catch (err) {
    if (readStamp()?.sources !== hash) throw err;
  } finally {
    fs.rmSync(old, { recursive: true, force: true });
  }
}

if (!force && distIsCurrent()) {
  if (!quiet) process.stdout.write('dist/ is current\n');
} else {
  const t0 = performance.now();
  const tmp = `${DIST}.${process.pid}.tmp`;
  try {
    const hash = await buildInto(tmp);
    // ES modules wherever the build is put (the package's own package.json says so for dist/).
    fs.writeFileSync(path.join(tmp, 'package.json'), '{ "type": "module" }\n');
    fs.writeFileSync(path.join(tmp, STAMP), `${JSON.stringify({ sources: hash, esbuild: esbuild.version, built: new Date().toISOString() })}\n`);
    swapIn(tmp, hash);
  } catch (err) {
    process.stderr.write(`build failed: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  if (!quiet && !process.exitCode) process.stdout.write(`built dist/ from src/ in ${((performance.now() - t0) / 1000).toFixed(2)} s\n`);
}

/**
 * The end of a score run: the new output, built whole in `<output>/.shards/output/` (score
 * parts, audiences, errors file, manifest), replaces the old one with renames. Until then the
 * earlier output of the folder (an overwrite) stays whole and readable; a run that fails or is
 * cancelled before it leaves it untouched. The swap removes the old manifest first (from then
 * on the folder is not whole), removes the old output's files that the new one does not have,
 * renames each new file into place and the new manifest last. `swap.json` in staging lists
 * both outputs' names first, so a swap cut short (a crash) is either run again by the resumed
 * job or removed whole with the staging by the next run.
 */
import fs from 'node:fs';
import path from 'node:path';
import { manifestOwned, MANIFEST, NEW_OUTPUT, removeEmptyAudienceFolders, STAGING, SWAP } from './output.js';

/** Files under `dir`, as paths relative to it. */
function filesUnder(dir: string, rel = ''): string[] {
  return fs.readdirSync(path.join(dir, rel), { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? filesUnder(dir, path.join(rel, e.name)) : [path.join(rel, e.name)]));
}

/** The staging folder where the finalize builds the new output of `dir`, emptied. */
export function newOutputFolder(dir: string): string {
  const out = path.join(dir, STAGING, NEW_OUTPUT);
  fs.rmSync(out, { recursive: true, force: true });
  fs.mkdirSync(out, { recursive: true });
  return out;
}

/**
 * Replaces the output of `dir` with the whole new output built in its staging (see the module
 * comment); other files in `dir` stay. Idempotent: a swap cut short runs again from the start.
 * @throws Error from the file system (nothing of the new output is then visible as whole).
 */
export function publishOutput(dir: string): void {
  const staging = path.join(dir, STAGING);
  const out = path.join(staging, NEW_OUTPUT);
  const incoming = filesUnder(out).filter((f) => f !== MANIFEST);
  const swapFile = path.join(staging, SWAP);
  let earlier: string[] = [];
  try {
    earlier = (JSON.parse(fs.readFileSync(swapFile, 'utf8')) as { old: string[] }).old;
  } catch {
    // the first try
  }
  const old = [...new Set([...earlier, ...manifestOwned(dir)])];
  fs.writeFileSync(`${swapFile}.tmp`, JSON.stringify({ old, new: [...incoming, MANIFEST] }));
  fs.renameSync(`${swapFile}.tmp`, swapFile);
  fs.rmSync(path.join(dir, MANIFEST), { force: true });
  for (const p of old) if (!incoming.includes(p)) fs.rmSync(path.join(dir, p), { recursive: true, force: true });
  removeEmptyAudienceFolders(dir);
  for (const p of incoming) {
    fs.mkdirSync(path.dirname(path.join(dir, p)), { recursive: true });
    fs.renameSync(path.join(out, p), path.join(dir, p));
  }
  fs.renameSync(path.join(out, MANIFEST), path.join(dir, MANIFEST));
}

/**
 * Confinement to the data roots at the moment of use. The service checks every path a job
 * names when it is submitted (server/paths.ts), but the job opens its files later, in a runner
 * process or on a worker: a symlink swapped in meanwhile would lead outside the roots. So the
 * runner and the shard tasks resolve each path again right before they open or write it, and
 * open the resolved path, which holds no link (one created after the check is not followed).
 *
 * The roots travel with the job (its stored spec, and each shard task), as configured on the
 * server; they are resolved on the host that checks, so a root that is itself a link (a mount
 * point) is followed there.
 */
import fs from 'node:fs';
import path from 'node:path';
import { UserError } from './errors.js';

/** Whether the resolved path `real` is one of `roots` (resolved) or inside one. */
export function insideRoots(roots: string[], real: string): boolean {
  return roots.some((root) => {
    const rel = path.relative(root, real);
    return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
  });
}

/** The roots as they resolve on this host now; a root that is gone is left out (nothing is inside it). */
function resolvedRoots(roots: string[]): string[] {
  return roots.flatMap((r) => {
    try {
      return [fs.realpathSync(r)];
    } catch {
      return [];
    }
  });
}

/**
 * The real path of `p` (absolute) with every link followed: its longest existing part
 * resolved, and the parts that do not exist yet appended as they are.
 */
export function realPathOf(p: string): string {
  let existing = path.resolve(p);
  const rest: string[] = [];
  while (!fs.existsSync(existing)) {
    rest.unshift(path.basename(existing));
    const parent = path.dirname(existing);
    if (parent === existing) break;
    existing = parent;
  }
  return path.join(fs.realpathSync(existing), ...rest);
}

function refuse(field: string, p: string, real: string, roots: string[]): never {
  throw new UserError(`${field}: ${p} leads outside the data roots (to ${real}; roots: ${roots.join(', ')})`);
}

/**
 * Resolves the file `file` right before it is opened: its real path now, which must be
 * inside the roots. Open the returned path, not `file`. Without roots (the CLI, whose user
 * names their own files) `file` is returned as it is.
 * @param field names the job field in errors ("input", "params.features").
 * @throws UserError when the file is missing or leads outside the roots.
 */
export function openableFile(roots: string[] | undefined, file: string, field: string): string {
  if (!roots) return file;
  let real: string;
  try {
    real = fs.realpathSync(file);
  } catch {
    throw new UserError(`${field}: ${file}: file not found`);
  }
  const resolved = resolvedRoots(roots);
  if (!insideRoots(resolved, real)) refuse(field, file, real, resolved);
  return real;
}

/**
 * Resolves the folder `dir` right before it is written (created when missing): the real path
 * of its existing part, which must be inside the roots. Write into the returned path.
 * Without roots, `dir` resolved as given.
 * @throws UserError when it leads outside the roots.
 */
export function writableFolder(roots: string[] | undefined, dir: string, field: string): string {
  if (!roots) return path.resolve(dir);
  const real = realPathOf(dir);
  const resolved = resolvedRoots(roots);
  if (!insideRoots(resolved, real)) refuse(field, dir, real, resolved);
  return real;
}

/**
 * Checks that `p`, resolved once before (a file the job opened, a folder it writes), still
 * resolves to itself inside the roots: no link was swapped into it since. Nothing without roots.
 * @throws UserError naming the path and where it leads now.
 */
export function unchangedPath(roots: string[] | undefined, p: string, field: string): void {
  if (!roots) return;
  const now = writableFolder(roots, p, field);
  if (now !== p) throw new UserError(`${field}: ${p} changed since the job resolved it: it now leads to ${now} (a link was swapped in); resubmit the job`);
}

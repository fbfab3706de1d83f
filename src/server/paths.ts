/**
 * Data roots: every path a request names must resolve, after following symlinks, to a place
 * inside one of the configured roots. Relative paths are taken from the first root.
 */
import fs from 'node:fs';
import path from 'node:path';
import { UserError } from '../util/errors.js';
import { insideRoots, realPathOf } from '../util/roots.js';

/** The configured data roots: request paths resolve (after symlinks) inside one of them or are refused. */
export class DataRoots {
  readonly roots: string[];

  constructor(roots: string[]) {
    if (roots.length === 0) throw new UserError('at least one data root is needed (--data-root DIR)');
    this.roots = roots.map((r) => {
      const abs = path.resolve(r);
      if (!fs.existsSync(abs) || !fs.statSync(abs).isDirectory()) throw new UserError(`data root ${r} is not a directory`);
      return fs.realpathSync(abs);
    });
  }

  /**
   * Resolves a request path (a file, a folder to create, or a glob pattern) and checks that it
   * stays inside the roots; `field` names the request field in the error.
   */
  resolve(p: string, field: string): string {
    if (typeof p !== 'string' || p === '') throw new UserError(`${field}: a path is required`);
    // eslint-disable-next-line no-control-regex -- control characters are what this refuses
    if (/[\0-\x1f]/.test(p)) throw new UserError(`${field}: the path contains control characters`);
    const long = p.split(/[\\/]/).find((part) => Buffer.byteLength(part) > 255);
    if (long !== undefined) throw new UserError(`${field}: "${long.slice(0, 40)}..." is longer than 255 bytes, more than a file or folder name may be`);
    if (p.split(/[\\/]/).includes('..')) throw new UserError(`${field}: "${p}" contains "..": paths must stay inside the data roots`);
    const abs = path.resolve(this.roots[0], p);
    // Follow symlinks through the longest existing prefix; glob patterns are checked up to their
    // first wildcard (each file they match is checked when opened: util/roots.ts).
    const wildcard = abs.search(/[*?[{]/);
    const real = realPathOf(wildcard < 0 ? abs : path.dirname(abs.slice(0, wildcard + 1)));
    if (!insideRoots(this.roots, real)) throw new UserError(`${field}: "${p}" is outside the data roots (${this.roots.join(', ')})`);
    return wildcard < 0 ? real : abs;
  }
}

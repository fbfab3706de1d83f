/** File-system helpers that report failures in the user's terms. */
import fs from 'node:fs';
import path from 'node:path';
import { errorMessage, UserError } from './errors.js';

/**
 * mkdir -p that reports the real reason (Node says ENOENT for a parent on a read-only file
 * system) and never spins (its recursive mkdir loops forever under /proc).
 * @returns the outermost folder it made (removing it undoes the call), or undefined when `dir` existed.
 * @throws UserError when a part of the path is a file; the system's error otherwise.
 */
export function makeFolder(dir: string): string | undefined {
  // Level by level: Node's recursive mkdir loops forever under /proc.
  const missing: string[] = [];
  let at = path.resolve(dir);
  while (!fs.existsSync(at) && path.dirname(at) !== at) {
    missing.unshift(at);
    at = path.dirname(at);
  }
  if (!fs.statSync(at).isDirectory()) throw new UserError(`cannot write ${dir}: ${at} is a file, not a folder`);
  let made: string | undefined;
  for (const d of missing) {
    try {
      fs.mkdirSync(d);
      made ??= d;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') continue; // made meanwhile by another process: not ours
      fs.accessSync(path.dirname(d), fs.constants.W_OK); // the parent's reason (EROFS, EACCES) when it has one
      throw err;
    }
  }
  return made;
}

/**
 * Refuses an output path that is something other than a regular file or a missing path: a
 * device, a FIFO, a socket, a folder, or a symlink (whose target would be replaced).
 * `label` names the path in the message as the user gave it (`--out x.csv`).
 * @throws UserError naming the path and what it is.
 */
export function checkOutputFile(file: string, label: string = file): void {
  const st = fs.lstatSync(file, { throwIfNoEntry: false });
  if (!st || st.isFile()) return;
  const what = st.isSymbolicLink() ? 'a symbolic link' : st.isDirectory() ? 'a folder' : st.isFIFO() ? 'a FIFO' : st.isSocket() ? 'a socket' : 'a device';
  throw new UserError(`${label} is ${what}, not a regular file; refusing to write over it (remove it or choose another path)`);
}

/**
 * Checks the file a command will write for option `flag` (`--out`) before the command does
 * any work, so that a refusal is instant and nothing is read, trained or generated for it:
 * anything but a regular file is refused (checkOutputFile); an existing regular file is
 * refused unless `overwrite` (the command's `--overwrite`; the writer then replaces it with a
 * rename once the new file is whole); with `inExistingFolder`, a missing parent folder too.
 * @returns the path, resolved.
 * @throws UserError `--out x.parquet: the file exists; pass --overwrite to replace it, or name another file`.
 */
export function checkNewOutputFile(flag: string, file: string, overwrite: boolean, opts: { inExistingFolder?: boolean } = {}): string {
  const label = `${flag} ${file}`;
  checkOutputFile(file, label);
  if (!overwrite && fs.existsSync(file)) throw new UserError(`${label}: the file exists; pass --overwrite to replace it, or name another file`);
  const out = path.resolve(file);
  if (opts.inExistingFolder && !fs.statSync(path.dirname(out), { throwIfNoEntry: false })?.isDirectory()) throw new UserError(`${label}: the folder ${path.dirname(out)} does not exist`);
  return out;
}

/**
 * fs.writeFileSync whose failure names the file: Node leaves the path out of errors of the
 * write itself (ENOSPC on a full disk), so the message would say "(unknown path)".
 * @throws the system's error, its `path` set to `file`.
 */
export function writeFileNamed(file: string, data: string | NodeJS.ArrayBufferView): void {
  try {
    fs.writeFileSync(file, data);
  } catch (err) {
    throw namingFile(err, file);
  }
}

/** `err`, its `path` set to `file` when it is a system error without one (a write to an open file). */
export function namingFile(err: unknown, file: string): unknown {
  const e = err as NodeJS.ErrnoException;
  if (typeof e?.code === 'string' && e.path === undefined) e.path = file;
  return err;
}

/**
 * `err` naming `file`, as the user gave it, where it names a temporary file written for it: the
 * crash-safe writers' `<file>.tmp` and hidden `.<name>[.<anything>].tmp` beside it (`.g.csv.tmp`,
 * `.g.csv.part-00000.csv.tmp`, `.g.csv.<pid>.tmp`), in a system error's `path` or in the text of
 * a DuckDB error ("IO Error: Could not write file \"<tmp>\": No space left on device"); a
 * system error without a path gets `file` as its path (namingFile).
 * @returns `err` itself, its `path` or `message` changed.
 */
export function namingTarget(err: unknown, file: string): unknown {
  const literal = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const base = literal(path.basename(file));
  // The folder as given or resolved (DuckDB words the path it was given), or none.
  const dirs = [path.dirname(path.resolve(file)), path.dirname(path.normalize(file))].map((d) => `${literal(d + path.sep)}`).join('|');
  const temp = new RegExp(`(?<![^\\s"'(])(?:${dirs})?(?:\\.${base}(?:\\.[^/\\s"']*?)?|${base})\\.tmp(?![^/\\s"'])`, 'g');
  const e = err as NodeJS.ErrnoException;
  if (typeof e?.path === 'string' && e.path.replace(temp, '') === '') e.path = file;
  if (err instanceof Error) err.message = err.message.replace(temp, () => file);
  return namingFile(err, file);
}

/**
 * A file the user named (a feature spec, definitions) read whole as UTF-8 text.
 * `label` names it in messages as the user gave it: `--features spec.json`.
 * @throws UserError `<label>: file not found` when it is missing, `<label>: is a folder, not a
 * file`, or `<label>: cannot read it: <reason>` for another failure of the file system.
 */
export function readUserFile(file: string, label: string = file): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new UserError(`${label}: file not found`);
    if (code === 'EISDIR') throw new UserError(`${label}: is a folder, not a file`);
    throw new UserError(`${label}: cannot read it: ${errorMessage(err)}`);
  }
}

/**
 * A JSON file the user named, parsed: readUserFile, then JSON.parse.
 * @param what what the file holds, for the message: "feature spec".
 * @throws UserError as readUserFile does, or `<label>: cannot read <what>: <the parser's reason>`.
 */
export function readUserJson(file: string, label: string, what: string): unknown {
  const text = readUserFile(file, label);
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new UserError(`${label}: cannot read ${what}: ${errorMessage(err)}`);
  }
}

/**
 * A file of raw float32 values (little-endian, as written from a Float32Array) as a fresh
 * Float32Array of its own (the Buffer readFileSync returns may share a larger pool).
 * @throws Error when the file's size is not a multiple of 4 bytes.
 */
export function readFloat32File(file: string): Float32Array {
  const bytes = fs.readFileSync(file);
  if (bytes.byteLength % 4 !== 0) throw new Error(`${file}: ${bytes.byteLength} bytes is not a whole number of float32 values`);
  const out = new Float32Array(bytes.byteLength / 4);
  new Uint8Array(out.buffer).set(bytes);
  return out;
}

/**
 * Writes `data` to `file` whole or not at all: a temporary file beside it (`.<name>.<pid>.tmp`)
 * renamed over the target, so a failed write never leaves half a file nor removes an earlier one.
 * @throws the system's error naming `file`, not the temporary file (which is removed).
 */
export function writeFileWhole(file: string, data: string | NodeJS.ArrayBufferView): void {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  try {
    writeFileNamed(tmp, data);
    fs.renameSync(tmp, file);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw namingTarget(err, file);
  }
}

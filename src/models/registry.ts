/**
 * The model store: `<root>/<name>/<version>/` holding `model.json` + `weights.bin` (the tfjs
 * weights-manifest format, loadable with tf.io.decodeWeights) and `manifest.json`. Versions
 * are immutable: written to a temporary folder and renamed into place. `<root>/<name>/promoted`
 * names the version a bare `name` resolves to (else the latest).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { FittedTransform } from '../features/transform.js';
import { UserError, errorMessage } from '../util/errors.js';
import { writeFileNamed } from '../util/files.js';
import { isAlive, selfIdentity } from '../util/process.js';
import { warn } from '../util/warn.js';
import { MANIFEST_FORMAT, manifestProblem } from './manifest.js';

export interface Weight {
  name: string;
  shape: number[];
  data: Float32Array;
}

export interface Manifest {
  /** The manifest's format (models/manifest.ts MANIFEST_FORMAT); absent in files written before it. */
  format?: number;
  kind: string;
  name: string;
  version: number;
  createdAt: string;
  backend: { name: string; device: string };
  /** The fitted feature transform: scoring applies exactly these statistics. */
  features: FittedTransform;
  params: Record<string, unknown>;
  /** Learned state that is not a tensor (a calibration curve, a decision threshold). */
  state?: Record<string, unknown>;
  metrics: Record<string, unknown>;
  data: { inputs: string[]; rows: number; fingerprint: string };
}

export type NewManifest = Omit<Manifest, 'version' | 'createdAt'>;

/** The fields every trainer fills the same way: what ran where, on which data and transform. */
export function trainedOn(
  kind: string,
  name: string,
  backend: { backend: string; device: string },
  transform: FittedTransform,
  inputs: Array<{ path: string }>,
  rows: number,
): Pick<Manifest, 'kind' | 'name' | 'backend' | 'features' | 'data'> {
  return {
    kind,
    name,
    backend: { name: backend.backend, device: backend.device },
    features: transform,
    data: { inputs: inputs.map((t) => t.path), rows, fingerprint: transform.fingerprint },
  };
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/** A save's temporary folder, `.tmp-<pid>-<start>-XXXXXX`: a save killed midway is known by its process. */
const SAVE_TMP = /^\.tmp-(\d+)-(\d*)-[A-Za-z0-9]{6}$/;
/** An older release's temporary folder (`.tmp-XXXXXX`, no process in its name): removed once this old, ms. */
const OLD_TMP = /^\.tmp-[A-Za-z0-9]{6}$/;
const STALE_OLD_TMP_MS = 3600_000;

/**
 * Removes the temporary folders that saves killed midway left in the store (`<name>/.tmp-*`):
 * those whose process is gone, and an older release's once an hour old. A live save's stays;
 * a folder that cannot be removed is left for the next sweep.
 * @returns the folders removed.
 */
export function sweepDeadSaves(root: string): string[] {
  const removed: string[] = [];
  if (!isDir(root)) return removed;
  for (const name of fs.readdirSync(root)) {
    const dir = path.join(root, name);
    if (!NAME.test(name) || !isDir(dir)) continue;
    for (const entry of fs.readdirSync(dir).filter((e) => isDeadSave(dir, e))) {
      try {
        fs.rmSync(path.join(dir, entry), { recursive: true, force: true });
        removed.push(path.join(dir, entry));
      } catch {
        // not ours to remove (permissions): the next sweep tries again
      }
    }
  }
  return removed;
}

/** Whether `entry` of a model folder is the temporary folder of a save that died. */
function isDeadSave(dir: string, entry: string): boolean {
  const m = SAVE_TMP.exec(entry);
  if (m) return !isAlive({ pid: Number(m[1]), start: m[2] });
  if (!OLD_TMP.test(entry)) return false;
  try {
    return Date.now() - fs.statSync(path.join(dir, entry)).mtimeMs > STALE_OLD_TMP_MS;
  } catch {
    return false;
  }
}

/** The model store folder: AUDIENCE_MODEL_STORE, else ./models. */
export function defaultStore(): string {
  return path.resolve(process.env.AUDIENCE_MODEL_STORE ?? 'models');
}

/** @throws UserError unless the model name is 1-64 letters, digits, '_', '-' or '.'. */
export function checkName(name: string): string {
  if (!NAME.test(name)) throw new UserError(`model name "${name}" must be 1-64 letters, digits, '_', '-' or '.', starting with a letter or digit`);
  return name;
}

/** The model store (see the module comment): immutable versions, a promoted version per name. */
export class ModelStore {
  constructor(readonly root: string = defaultStore()) {}

  /**
   * The readable versions of a model, ascending. A stray file where a model folder belongs,
   * or a version whose manifest is missing or not valid JSON, is skipped with a warning.
   */
  versions(name: string): number[] {
    const dir = path.join(this.root, checkName(name));
    if (!isDir(dir)) return [];
    return fs
      .readdirSync(dir)
      .filter((f) => /^\d+$/.test(f) && isDir(path.join(dir, f)) && readManifestFile(path.join(dir, f)) !== undefined)
      .map(Number)
      .sort((a, b) => a - b);
  }

  /** Names of the models with at least one readable version; other entries of the store are ignored. */
  names(): string[] {
    if (!isDir(this.root)) return [];
    return fs
      .readdirSync(this.root)
      .filter((n) => NAME.test(n) && isDir(path.join(this.root, n)) && this.versions(n).length > 0)
      .sort();
  }

  promoted(name: string): number | undefined {
    const file = path.join(this.root, checkName(name), 'promoted');
    if (!fs.existsSync(file)) return undefined;
    const v = Number(fs.readFileSync(file, 'utf8').trim());
    return Number.isInteger(v) ? v : undefined;
  }

  /** `name`, `name@3` or `name@latest` to a concrete version. */
  resolve(ref: string): { name: string; version: number } {
    const [name, tag, ...rest] = ref.split('@');
    if (rest.length > 0 || !name) throw new UserError(`model reference "${ref}" must be name or name@version`);
    const versions = this.versions(name);
    if (versions.length === 0) {
      const known = this.names();
      throw new UserError(`no model named "${name}" in ${this.root}${known.length ? ` (models: ${known.join(', ')})` : ' (the store is empty)'}`);
    }
    if (tag === undefined) return { name, version: this.promoted(name) ?? versions[versions.length - 1] };
    if (tag === 'latest') return { name, version: versions[versions.length - 1] };
    if (!/^[0-9]+$/.test(tag)) throw new UserError(`model reference "${ref}": the version after @ is a number or "latest" (versions of ${name}: ${versions.join(', ')})`);
    const version = Number(tag);
    if (!versions.includes(version)) throw new UserError(`model "${name}" has no version ${tag} (versions: ${versions.join(', ')})`);
    return { name, version };
  }

  dir(name: string, version: number): string {
    return path.join(this.root, name, String(version));
  }

  /** The manifest of a version (weights not read). @throws UserError for an unknown model or version, or an unreadable manifest. */
  manifest(ref: string): Manifest {
    const { name, version } = this.resolve(ref);
    const manifest = readManifestFile(this.dir(name, version));
    if (!manifest) throw new UserError(`${this.dir(name, version)}: the manifest of ${name}@${version} cannot be read`);
    return manifest;
  }

  /**
   * Refuses a new `kind` version under a name whose versions are of another kind: the bare
   * name would then resolve to a model that scores something else (a score run naming
   * `purchase` for its propensity would get a BG/NBD model's columns).
   * @throws UserError naming the model, its kind and versions.
   */
  checkKind(name: string, kind: string): void {
    const versions = this.versions(name);
    if (versions.length === 0) return;
    const held = this.manifest(`${name}@${versions[versions.length - 1]}`).kind;
    if (held !== kind) throw new UserError(`model "${name}" is ${/^[aeiou]/.test(held) ? 'an' : 'a'} ${held} model (versions ${versions.join(', ')}); give the ${kind} model another name`);
  }

  /**
   * Writes a new immutable version (in a temporary folder named by this process, given the
   * model folder's mode, renamed into place); returns its manifest. Temporary folders of saves
   * killed midway are removed first (sweepDeadSaves).
   * @throws the system's error naming the file it could not write (a full disk, a read-only store).
   */
  save(manifest: NewManifest, weights: Weight[]): Manifest {
    const name = checkName(manifest.name);
    this.checkKind(name, manifest.kind);
    const parent = path.join(this.root, name);
    fs.mkdirSync(parent, { recursive: true });
    sweepDeadSaves(this.root);
    const me = selfIdentity();
    const tmp = fs.mkdtempSync(path.join(parent, `.tmp-${me.pid}-${me.start}-`));
    try {
      fs.chmodSync(tmp, fs.statSync(parent).mode & 0o7777); // mkdtemp makes it 0700
      const specs = weights.map((w) => ({ name: w.name, shape: w.shape, dtype: 'float32' }));
      const bin = Buffer.concat(weights.map((w) => Buffer.from(w.data.buffer, w.data.byteOffset, w.data.byteLength)));
      writeFileNamed(path.join(tmp, 'weights.bin'), bin);
      const modelJson = { format: `audience-engine/${manifest.kind}`, generatedBy: 'audience-engine', weightsManifest: [{ paths: ['weights.bin'], weights: specs }] };
      writeFileNamed(path.join(tmp, 'model.json'), JSON.stringify(modelJson, null, 1));
      for (let attempt = 0; attempt < 100; attempt++) {
        const versions = this.versions(name);
        const version = (versions[versions.length - 1] ?? 0) + 1;
        const full: Manifest = { ...manifest, format: MANIFEST_FORMAT, name, version, createdAt: new Date().toISOString() };
        writeFileNamed(path.join(tmp, 'manifest.json'), JSON.stringify(full, null, 1));
        try {
          // rename() onto an existing version fails: a concurrent writer took it; take the next.
          fs.renameSync(tmp, this.dir(name, version));
          return full;
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ENOTEMPTY' && (err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        }
      }
      throw new Error(`could not allocate a version for ${name}`);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  }

  load(ref: string): { manifest: Manifest; weights: Map<string, Weight> } {
    const { name, version } = this.resolve(ref);
    const dir = this.dir(name, version);
    const manifest = readManifestFile(dir);
    if (!manifest) throw new UserError(`${dir}: the manifest of ${name}@${version} cannot be read`);
    let modelJson: { weightsManifest: Array<{ weights: unknown }> };
    let bin: Buffer;
    try {
      modelJson = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'));
      bin = fs.readFileSync(path.join(dir, 'weights.bin'));
    } catch (err) {
      throw new UserError(`${dir}: ${name}@${version} is damaged (${errorMessage(err)}); train it again or remove the folder`);
    }
    const weights = new Map<string, Weight>();
    let offset = 0;
    for (const group of modelJson.weightsManifest) {
      for (const spec of group.weights as Array<{ name: string; shape: number[] }>) {
        const size = spec.shape.reduce((a, b) => a * b, 1);
        const data = new Float32Array(size);
        Buffer.from(data.buffer).set(bin.subarray(offset, offset + size * 4));
        weights.set(spec.name, { name: spec.name, shape: spec.shape, data });
        offset += size * 4;
      }
    }
    if (offset !== bin.length) throw new UserError(`${dir}/weights.bin holds ${bin.length} bytes; model.json describes ${offset}`);
    return { manifest, weights };
  }

  /**
   * Makes a bare `name` resolve to this version; the version promoted before (or "-" for
   * none: the latest) is appended to `promoted.history`, so `rollback` can return to it.
   */
  promote(ref: string): { name: string; version: number } {
    const resolved = this.resolve(ref);
    const before = this.promoted(resolved.name);
    if (before !== resolved.version) {
      this.writeHistory(resolved.name, [...this.history(resolved.name), before === undefined ? '-' : String(before)]);
      this.writePromoted(resolved.name, resolved.version);
    }
    return resolved;
  }

  /**
   * Promotes again the version promoted before the current one (or none: a bare name then
   * resolves to the latest version).
   * @returns the versions before and after (null: none promoted).
   * @throws UserError when nothing was promoted before, or that version is gone.
   */
  rollback(name: string): { name: string; from: number | null; to: number | null } {
    this.resolve(name);
    const history = this.history(name);
    const from = this.promoted(name) ?? null;
    const last = history.pop();
    if (last === undefined) throw new UserError(`model "${name}": no earlier promotion to roll back to (${from === null ? 'none is promoted' : `version ${from} is promoted`})`);
    const to = last === '-' ? null : Number(last);
    if (to !== null && !this.versions(name).includes(to)) throw new UserError(`model "${name}": version ${to}, promoted before, is no longer in the store`);
    if (to === null) fs.rmSync(path.join(this.root, name, 'promoted'), { force: true });
    else this.writePromoted(name, to);
    this.writeHistory(name, history);
    return { name, from, to };
  }

  private history(name: string): string[] {
    const file = path.join(this.root, checkName(name), 'promoted.history');
    if (!fs.existsSync(file)) return [];
    return fs.readFileSync(file, 'utf8').split('\n').map((l) => l.trim()).filter((l) => l === '-' || /^\d+$/.test(l));
  }

  private writeHistory(name: string, history: string[]): void {
    const file = path.join(this.root, name, 'promoted.history');
    fs.writeFileSync(`${file}.tmp`, history.map((h) => `${h}\n`).join(''));
    fs.renameSync(`${file}.tmp`, file);
  }

  private writePromoted(name: string, version: number): void {
    const file = path.join(this.root, name, 'promoted');
    fs.writeFileSync(`${file}.tmp`, `${version}\n`);
    fs.renameSync(`${file}.tmp`, file);
  }
}

function isDir(p: string): boolean {
  return fs.statSync(p, { throwIfNoEntry: false })?.isDirectory() ?? false;
}

/** A version folder's manifest, or undefined (with a warning naming the folder) when it is missing or damaged. */
function readManifestFile(dir: string): Manifest | undefined {
  const file = path.join(dir, 'manifest.json');
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return undefined; // a version still being written, or not a version at all
  }
  try {
    const m: unknown = JSON.parse(text);
    const problem = manifestProblem(m);
    if (!problem) return m as Manifest;
    warn(`${file}: not a model manifest (${problem}); this version is skipped`);
  } catch (err) {
    warn(`${file}: damaged (${errorMessage(err)}); this version is skipped`);
  }
  return undefined;
}

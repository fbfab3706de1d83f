/**
 * The output folder of a scoring run and what in it belongs to the product. A run writes
 * `scores-NNNNN.parquet` parts, `audiences/`, `errors.jsonl` and `manifest.json` (last), and
 * stages its shards in `.shards/`. Overwrite, cancel and a failed run remove only what the
 * product's own manifest or staging lists: a user's file that merely has such a name stays,
 * and the run refuses to write over it.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConflictError, UserError } from '../util/errors.js';
import { makeFolder } from '../util/files.js';
import { isAlive, type ProcessIdentity } from '../util/process.js';

export const SCORE_PREFIX = 'scores';
import { MANIFEST } from '../io/score-manifest.js';

export { MANIFEST, SCORE_MANIFEST_FORMAT } from '../io/score-manifest.js';
export const STAGING = '.shards';
export const ERRORS = 'errors.jsonl';
const REWRITE = '.rewrite';
/** Written into staging by older versions before finalize built audiences: the audience folders it would write. */
export const AUDIENCE_LIST = 'audiences.json';
/** The folder in staging where the finalize builds the new output, beside the old one (see scoring/publish.ts). */
export const NEW_OUTPUT = 'output';
/** Written into staging when the new output starts replacing the old: the names both hold (see scoring/publish.ts). */
export const SWAP = 'swap.json';

/**
 * Who writes a folder's staging: a service job (by id) or a process (a CLI run), with the
 * process (pid and start time), its host and since when. Older staging lacks host and since.
 */
export interface StagingOwner extends ProcessIdentity {
  job?: string;
  host?: string;
  since?: string;
  /** The run's fence (scoring/fence.ts): its staged parts carry it, and only it may rename parts in. */
  fence?: string;
}
/** The file in a staging folder naming the process that owns it. */
export const OWNER = 'owner.json';

/**
 * Creates the staging folder and records who writes it (this host, now). The record is
 * created exclusively: a run that finds one already there (another run claimed the folder
 * since it was checked) does not take it over.
 * @throws ConflictError naming the other writer.
 */
export function claimStaging(dir: string, owner: StagingOwner): void {
  makeFolder(path.join(dir, STAGING));
  const record: StagingOwner = { ...owner, host: os.hostname(), since: new Date().toISOString() };
  try {
    fs.writeFileSync(path.join(dir, STAGING, OWNER), JSON.stringify(record), { flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    const other = stagingOwner(dir);
    throw busy(dir, other ? describeOwner(dir, other) : 'another run');
  }
}

function stagingOwner(dir: string): StagingOwner | undefined {
  try {
    return JSON.parse(fs.readFileSync(path.join(dir, STAGING, OWNER), 'utf8')) as StagingOwner;
  } catch {
    return undefined;
  }
}

/** `scores-00042.parquet`: the visible part of shard 42 (its staged part carries the run's fence: scoring/fence.ts). */
export const shardName = (index: number) => `${SCORE_PREFIX}-${String(index).padStart(5, '0')}.parquet`;

/** Whether a name in an output folder is one a scoring run writes (its or not). */
export function isScoreOutput(name: string): boolean {
  return [MANIFEST, 'audiences', STAGING, ERRORS, REWRITE, `${MANIFEST}.tmp`, `${ERRORS}.tmp`].includes(name) || PART.test(name);
}

/** The names of score parts, staged or visible: `scores-00042.parquet` (and its temporary name). */
const PART = new RegExp(`^${SCORE_PREFIX}-\\d{5}\\.parquet(\\.tmp)?$`);

/**
 * Names in `dir` a run would write over that the product did not write: a user's file that
 * merely has such a name, or an audiences folder holding something else.
 */
export function foreignOutput(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  const owned = new Set(ownedOutput(dir));
  const foreign: string[] = [];
  for (const name of fs.readdirSync(dir).filter(isScoreOutput)) {
    if (owned.has(name)) continue;
    if (name === 'audiences' && fs.statSync(path.join(dir, name)).isDirectory()) {
      // An audience folder is the product's when it is listed, or when every file in it is.
      const ours = (n: string) =>
        owned.has(n) || (fs.statSync(path.join(dir, n)).isDirectory() && fs.readdirSync(path.join(dir, n)).every((f) => owned.has(path.join(n, f))));
      const inside = fs.readdirSync(path.join(dir, name)).map((n) => path.join('audiences', n));
      foreign.push(...inside.filter((n) => !ours(n)));
      continue;
    }
    foreign.push(name);
  }
  return foreign;
}

interface OwnManifest {
  files: Array<{ path: string }>;
  rejected?: number;
  models: unknown[];
  createdAt: string;
  audiences?: { summaries: Array<{ name: string; files: Record<string, string> }> };
}

/** The folder's manifest when the product wrote it, else undefined (absent, damaged, or someone else's). */
function ownManifest(dir: string): OwnManifest | undefined {
  try {
    const m = JSON.parse(fs.readFileSync(path.join(dir, MANIFEST), 'utf8')) as OwnManifest;
    return Array.isArray(m.files) && Array.isArray(m.models) && typeof m.createdAt === 'string' ? m : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Paths (relative to `dir`) that the product wrote there: everything its manifest lists, and
 * for a run that did not finish, its staging, the parts staged there, its temporary files and
 * the audience folders it announced.
 */
export function ownedOutput(dir: string): string[] {
  return [...new Set([...manifestOwned(dir), ...stagingOwned(dir)])];
}

/** What the folder's own manifest lists (relative paths that exist). */
export function manifestOwned(dir: string): string[] {
  const owned = new Set<string>();
  const manifest = ownManifest(dir);
  if (manifest) {
    owned.add(MANIFEST);
    for (const f of manifest.files) owned.add(f.path);
    if (manifest.rejected) owned.add(ERRORS);
    for (const a of manifest.audiences?.summaries ?? []) for (const f of Object.values(a.files)) owned.add(f);
    if (manifest.audiences) owned.add(path.join('audiences', 'summary.json'));
  }
  return [...owned].filter((p) => fs.existsSync(path.join(dir, p)));
}

/**
 * What an unfinished run staged or was writing (relative paths that exist): its staging, and
 * when it was replacing the output (a publish cut short), every name of the old and the new
 * output (swap.json). A run builds its output inside staging, so nothing else outside it is
 * its own; staging of older versions, which wrote visible parts and audiences in place, also
 * owns those (its unfenced parts' names and announced audiences).
 */
function stagingOwned(dir: string): string[] {
  const owned = new Set<string>();
  const staging = path.join(dir, STAGING);
  if (fs.existsSync(staging)) {
    owned.add(STAGING);
    for (const f of [REWRITE, `${MANIFEST}.tmp`, `${ERRORS}.tmp`]) owned.add(f);
    for (const f of fs.readdirSync(staging)) {
      if (PART.test(f)) for (const g of [f, `${f}.tmp`]) owned.add(g);
    }
    try {
      const swap = JSON.parse(fs.readFileSync(path.join(staging, SWAP), 'utf8')) as { old: string[]; new: string[] };
      for (const p of [...swap.old, ...swap.new]) owned.add(p);
    } catch {
      // no publish began
    }
    try {
      const names = JSON.parse(fs.readFileSync(path.join(staging, AUDIENCE_LIST), 'utf8')) as string[];
      for (const n of names) owned.add(path.join('audiences', n));
      owned.add(path.join('audiences', 'summary.json'));
    } catch {
      // no audiences announced
    }
  }
  return [...owned].filter((p) => fs.existsSync(path.join(dir, p)));
}

/** Removes `dir` when it is an empty folder (what a failed or cancelled run leaves). */
export function removeIfEmpty(dir: string): void {
  try {
    if (fs.readdirSync(dir).length === 0) fs.rmdirSync(dir);
  } catch {
    // gone already, or not ours to remove
  }
}

/**
 * Removes what the product wrote in `dir` (see ownedOutput; with `stagedOnly`, only what an
 * unfinished run staged or was writing); other files stay. Empty folders it leaves are removed.
 */
export function removeScoreOutput(dir: string, stagedOnly = false): void {
  if (!fs.existsSync(dir)) return;
  for (const p of stagedOnly ? stagingOwned(dir) : ownedOutput(dir)) fs.rmSync(path.join(dir, p), { recursive: true, force: true });
  removeEmptyAudienceFolders(dir);
}

/** Removes audience folders that are empty (their own files removed); a user's file keeps its folder. */
export function removeEmptyAudienceFolders(dir: string): void {
  const aud = path.join(dir, 'audiences');
  if (fs.existsSync(aud) && fs.statSync(aud).isDirectory()) {
    for (const d of fs.readdirSync(aud)) {
      const sub = path.join(aud, d);
      if (fs.statSync(sub).isDirectory() && fs.readdirSync(sub).length === 0) fs.rmdirSync(sub);
    }
    if (fs.readdirSync(aud).length === 0) fs.rmdirSync(aud);
  }
}

/**
 * Makes the output folder ready for a new run. Earlier output of the product is refused, or
 * with overwrite (`flag` names that option in the message) kept, whole and readable, until the
 * new output replaces it at the end of the run (scoring/publish.ts); a file or folder with a name
 * the run writes that the product did not write is always refused.
 * @throws UserError naming the folder and what is in the way.
 */
export function prepareOutput(dir: string, overwrite: boolean, flag = '--overwrite', isActiveJob?: (id: string) => boolean): void {
  if (fs.existsSync(dir) && !fs.statSync(dir).isDirectory()) throw new UserError(notAFolder(dir));
  makeFolder(dir);
  // A live writer's staging is a conflict (409 on the service) before any other refusal.
  if (fs.existsSync(path.join(dir, STAGING))) {
    requireNoWriter(dir, isActiveJob);
    removeScoreOutput(dir, true); // staging of a run that is gone (crashed, or its job store was lost)
  }
  const existing = fs.readdirSync(dir).filter(isScoreOutput);
  if (existing.length === 0) return;
  if (!overwrite) throw new UserError(heldScores(dir, existing, flag));
  // Checked before the run starts: a refused overwrite leaves the earlier output whole.
  const foreign = foreignOutput(dir);
  if (foreign.length) throw new UserError(foreignMessage(dir, foreign));
}

/**
 * Refuses an output path that is a file, or a folder holding scores when `overwrite` is not
 * set: what the CLI checks before it opens any input or loads any model, and prepareOutput
 * first. Creates and removes nothing.
 * @throws UserError naming the folder, what it holds and the option (`flag`).
 */
export function refuseHeldOutput(dir: string, overwrite: boolean, flag = '--overwrite'): void {
  const st = fs.statSync(dir, { throwIfNoEntry: false });
  if (!st) return;
  if (!st.isDirectory()) throw new UserError(notAFolder(dir));
  const existing = overwrite ? [] : fs.readdirSync(dir).filter(isScoreOutput);
  if (existing.length) throw new UserError(heldScores(dir, existing, flag));
}

const notAFolder = (dir: string) => `${dir} is a file; the output must be a folder`;

/** The refusal of a folder holding earlier scores (`existing`, its score files) without `flag`. */
function heldScores(dir: string, existing: string[], flag: string): string {
  return `${dir} already holds scores (${existing.slice(0, 3).join(', ')}${existing.length > 3 ? ', ...' : ''}); choose another folder or set ${flag}`;
}

/** The refusal for names the product would write over but did not write. */
export function foreignMessage(dir: string, foreign: string[]): string {
  return `${dir} holds ${foreign.slice(0, 3).join(', ')}, which audience-engine did not write (its manifest does not list them); move them away or choose another folder`;
}


/**
 * Who is writing the folder's staging, in words, or undefined when its writer is gone (or
 * there is none). A job this server knows (`isActiveJob`) is named alone. Any other writer
 * (a CLI run, or a job of another server, another `--data-dir`) counts while its process
 * runs: checked by pid and start time on this host; on another host it cannot be checked,
 * and counts.
 */
export function stagingWriter(dir: string, isActiveJob?: (id: string) => boolean): string | undefined {
  if (!fs.existsSync(path.join(dir, STAGING))) return undefined;
  const owner = stagingOwner(dir);
  if (!owner) return undefined;
  if (owner.job !== undefined && (isActiveJob?.(owner.job) ?? true)) return `job ${owner.job}`;
  const elsewhere = owner.host !== undefined && owner.host !== os.hostname();
  return elsewhere || isAlive(owner) ? describeOwner(dir, owner) : undefined;
}

/**
 * Refuses a folder whose staging a live writer holds (see stagingWriter); `shown` is how the
 * message names the folder (default its path).
 * @throws ConflictError naming the writer.
 */
export function requireNoWriter(dir: string, isActiveJob?: (id: string) => boolean, shown = dir): void {
  const writer = stagingWriter(dir, isActiveJob);
  if (writer) throw busy(shown, writer);
}

function busy(shown: string, writer: string): ConflictError {
  return new ConflictError(`${shown} is in use by ${writer}; wait for it, cancel it, or choose another folder`);
}

/** An owner in words: "job job_x of another server (pid 123 on host-a, since ...)". */
function describeOwner(dir: string, owner: StagingOwner): string {
  const who = owner.job !== undefined ? `job ${owner.job} of another server` : 'another run';
  const where = `pid ${owner.pid}${owner.host ? ` on ${owner.host}` : ''}${owner.since ? `, since ${owner.since}` : ''}`;
  const elsewhere = owner.host !== undefined && owner.host !== os.hostname();
  return `${who} (${where})${elsewhere ? `; if that host is gone, remove ${path.join(dir, STAGING, OWNER)}` : ''}`;
}

/**
 * The names in `dir` a new run would have to replace: earlier output, and staging whose
 * writer is still at work; staging left by a run that is gone does not count (it is removed
 * when the run starts).
 */
export function outputInTheWay(dir: string, isActiveJob?: (id: string) => boolean): string[] {
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) return [];
  const stale = fs.existsSync(path.join(dir, STAGING)) && !stagingWriter(dir, isActiveJob) ? new Set(stagingOwned(dir)) : new Set<string>();
  return fs.readdirSync(dir).filter((n) => isScoreOutput(n) && !stale.has(n));
}

/**
 * Fenced shard parts. Each run that writes a staging folder holds a fence: `<job>.a<attempt>`
 * for an attempt of a service job, `run-<random>` for a CLI run, recorded in the staging's
 * `owner.json`. A shard's part (and its rejects file) is staged as
 * `scores-00003.<fence>.parquet`, written under a temporary name and renamed into that name
 * only while the staging still records the same fence (checked right before the rename). So a
 * shard that finishes late, after its job was cancelled, retried or replaced by another job on
 * the same folder, can never take a current part's name, and the finalize reads the parts of
 * its own fence only.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { UserError } from '../util/errors.js';
import { selfIdentity } from '../util/process.js';
import { claimStaging, OWNER, SCORE_PREFIX, STAGING, type StagingOwner } from './output.js';

/** The fence of attempt `attempt` (1, 2, ...) of service job `job`. */
export const jobFence = (job: string, attempt: number) => `${job}.a${attempt}`;

/** A fence for a run that is not a service job (the CLI's `score`): unique per run. */
export const runFence = () => `run-${randomBytes(6).toString('hex')}`;

const pad = (index: number) => String(index).padStart(5, '0');

/** `scores-00042.<fence>.parquet`: shard 42's part as staged by the run holding `fence`. */
export const stagedPartName = (index: number, fence: string) => `${SCORE_PREFIX}-${pad(index)}.${fence}.parquet`;

/** `rejects-00042.<fence>.jsonl`: shard 42's rejected rows as staged by the run holding `fence`. */
export const stagedRejectsName = (index: number, fence: string) => `rejects-${pad(index)}.${fence}.jsonl`;

/** A staged part's shard index and fence from its name; undefined for other names (fence '' for an unfenced part of an older version). */
export function parseStagedPart(name: string): { index: number; fence: string } | undefined {
  const m = new RegExp(`^${SCORE_PREFIX}-(\\d{5})(?:\\.(.+))?\\.parquet$`).exec(name);
  return m ? { index: Number(m[1]), fence: m[2] ?? '' } : undefined;
}

/** The fence recorded in a staging folder's owner.json; undefined when there is none (or no folder). */
export function stagingFence(staging: string): string | undefined {
  try {
    return (JSON.parse(fs.readFileSync(path.join(staging, OWNER), 'utf8')) as StagingOwner).fence;
  } catch {
    return undefined;
  }
}

/** Whether `fence` (a run's, never empty) is the one the staging folder records. */
const holds = (staging: string, fence: string) => Boolean(fence) && stagingFence(staging) === fence;

/** A run's shard whose staging folder is no longer its own (cancelled, retried, or another job's). */
export class FencedOut extends UserError {
  constructor(staging: string, fence: string) {
    super(`the staging folder ${staging} is no longer this run's (${fence}): its job was cancelled or retried, or another job took the folder; this shard's part is dropped`);
  }
}

/**
 * Checks that `fence` still holds the staging folder.
 * @throws FencedOut when it does not.
 */
export function requireFence(staging: string, fence: string): void {
  if (!holds(staging, fence)) throw new FencedOut(staging, fence);
}

/**
 * Renames finished temporary files (`[temporary, fenced name]` pairs, in the staging folder)
 * into their names, right after checking that `fence` still holds the staging folder. The
 * names carry the fence, so a rename that races a new owner still cannot replace its parts.
 * @throws FencedOut (after removing the temporary files) when the fence no longer holds it.
 */
export function commitFenced(staging: string, fence: string, moves: Array<[string, string]>): void {
  if (!holds(staging, fence)) {
    for (const [tmp] of moves) fs.rmSync(tmp, { force: true });
    throw new FencedOut(staging, fence);
  }
  for (const [tmp, final] of moves) fs.renameSync(tmp, final);
}

/**
 * A resumed job's new attempt takes its staging folder over: owner.json names this process
 * and the new fence (written whole, then renamed), so shards of earlier attempts still
 * running somewhere are fenced out. A folder without staging is claimed afresh.
 * @throws UserError when the staging belongs to another job or run.
 */
export function reclaimStaging(dir: string, job: string, fence: string): void {
  const staging = path.join(dir, STAGING);
  const file = path.join(staging, OWNER);
  let previous: StagingOwner | undefined;
  try {
    previous = JSON.parse(fs.readFileSync(file, 'utf8')) as StagingOwner;
  } catch {
    previous = undefined;
  }
  if (!previous) return claimStaging(dir, { ...selfIdentity(), job, fence });
  if (previous.job !== job) throw new UserError(`${dir}: its staging folder now belongs to ${previous.job ? `job ${previous.job}` : `another run (pid ${previous.pid})`}; job ${job} cannot resume there`);
  const tmp = `${file}.${fence}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify({ ...previous, ...selfIdentity(), job, fence, host: os.hostname(), since: new Date().toISOString() }));
  fs.renameSync(tmp, file);
}

/**
 * For a resumed job: each finished shard's part (and rejects file) staged by an earlier attempt
 * of `job` is renamed to the current fence's name (the latest attempt's when there are
 * several). Returns the shards whose part is now in place under `fence`.
 */
export function adoptParts(staging: string, job: string, fence: string, done: number[]): Set<number> {
  const adopted = new Set<number>();
  if (!fs.existsSync(staging)) return adopted;
  // Per shard, the part of this job's latest attempt.
  const latest = new Map<number, { name: string; fence: string; attempt: number }>();
  for (const name of fs.readdirSync(staging)) {
    const p = parseStagedPart(name);
    const attempt = p?.fence.startsWith(`${job}.a`) ? Number(p.fence.slice(job.length + 2)) : NaN;
    if (p && Number.isInteger(attempt) && attempt > (latest.get(p.index)?.attempt ?? -1)) latest.set(p.index, { name, fence: p.fence, attempt });
  }
  for (const index of done) {
    const earlier = latest.get(index);
    if (!earlier) continue;
    if (earlier.fence !== fence) {
      const rejects = path.join(staging, stagedRejectsName(index, earlier.fence));
      if (fs.existsSync(rejects)) fs.renameSync(rejects, path.join(staging, stagedRejectsName(index, fence)));
      fs.renameSync(path.join(staging, earlier.name), path.join(staging, stagedPartName(index, fence)));
    }
    adopted.add(index);
  }
  return adopted;
}

/**
 * The submission checks as a task on a worker thread (server/checker.ts): checkTrain or
 * checkScore on the request, with DuckDB under CHECK_MEMORY_LIMIT in this thread, so neither
 * their CPU time nor a hostile file's memory reaches the thread that answers requests. Input
 * and output are plain (structured clone); a user's error crosses as util/errors.ts
 * encodeError's envelope (its code and message), as every other boundary's do.
 */
import { configureDuckDB } from '../io/duckdb.js';
import { ModelStore } from '../models/registry.js';
import { encodeError, errorMessage, UserError } from '../util/errors.js';
import { lowerPriority } from '../util/process.js';
import { setWarnSink } from '../util/warn.js';
import { CHECK_MEMORY_LIMIT } from './limits.js';
import { DataRoots } from './paths.js';
import type { ScoreJobBody, TrainJobBody } from './schemas.js';
import { checkScore, checkTrain } from './submit.js';

/** One submission to check: the request body, the server's roots and model store, and the ids of the jobs queued or running. */
export interface CheckTask {
  body: TrainJobBody | ScoreJobBody;
  roots: string[];
  store: string;
  active: string[];
}

/** The job spec to store, and the warnings the checks gave (for the server's log). */
export interface CheckResult {
  spec: Record<string, unknown>;
  warnings: string[];
}

/**
 * `err` as it crosses back (the checker takes it back with util/errors.ts crossedError): a
 * user's error (UserError, ConflictError) in encodeError's envelope; DuckDB out of memory
 * under the checks' limit as a UserError saying so; anything else (a bug) as it is.
 */
function crossing(err: unknown): unknown {
  const message = errorMessage(err);
  if (/Out of Memory Error/.test(message)) {
    return new Error(encodeError(new UserError(`the checks of this job need more memory than the ${CHECK_MEMORY_LIMIT} the server gives them (AUDIENCE_CHECK_MEMORY): ${message.split(/\n\s*\n/)[0]}`)));
  }
  return err instanceof UserError ? new Error(encodeError(err)) : err;
}

/** Whether this thread's CPU priority was lowered yet. */
let background = false;

/** Checks one submission (see CheckTask); resolves to the spec to store. */
export default async function checkTask(task: CheckTask): Promise<CheckResult> {
  // A check can wait a little; a status poll should not: this thread (and DuckDB's, started
  // from it) yields the cores to the server's request thread (Linux; a no-op elsewhere).
  if (!background) {
    lowerPriority(0);
    background = true;
  }
  // This thread's instance, created by the first check: one DuckDB thread, so a check takes about
  // two cores' threads at most (this one and DuckDB's), and the thread answering requests keeps a core.
  configureDuckDB({ memory_limit: CHECK_MEMORY_LIMIT, threads: '1' });
  const warnings: string[] = [];
  const restore = setWarnSink((w) => warnings.push(w));
  try {
    const roots = new DataRoots(task.roots);
    const active = new Set(task.active);
    const store = new ModelStore(task.store);
    const spec = task.body.type === 'train' ? await checkTrain(task.body, roots, store) : await checkScore(task.body, roots, store, () => active);
    return { spec: spec as unknown as Record<string, unknown>, warnings };
  } catch (err) {
    throw crossing(err);
  } finally {
    setWarnSink(restore);
  }
}

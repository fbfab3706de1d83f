/**
 * Submissions are checked off the thread that answers requests: on a small pool of worker
 * threads (check-task.ts), each with its own DuckDB under a memory limit. Status polls stay
 * fast while inputs are sniffed, models loaded and rules checked; at most
 * `MAX_WAITING_CHECKS` submissions wait for a thread, beyond that the submission is answered 503
 * (`CheckersBusyError`), so the work a burst of submissions can queue is bounded.
 */
import os from 'node:os';
import { Piscina } from 'piscina';
import { crossedError } from '../util/errors.js';
import type { CheckResult } from './check-task.js';
import type { ScoreJobBody, TrainJobBody } from './schemas.js';

/** Submissions that may wait for a checking thread before more are answered 503. */
export const MAX_WAITING_CHECKS = 32;

/** Every checking thread is busy and MAX_WAITING_CHECKS submissions wait: retry later (503). */
export class CheckersBusyError extends Error {
  constructor() {
    super(`the server is checking ${MAX_WAITING_CHECKS} submissions already; retry in a few seconds`);
    this.name = 'CheckersBusyError';
  }
}

/** Threads that check submissions: half the cores, 1 to 4. */
function checkThreads(): number {
  return Math.max(1, Math.min(4, Math.floor(os.availableParallelism() / 2)));
}

/** The pool of checking threads of one server (see the module comment). */
export class SubmissionChecker {
  private readonly pool: Piscina;

  /** @param roots the data roots (resolved); @param store the model store folder. */
  constructor(
    private readonly roots: string[],
    private readonly store: string,
  ) {
    this.pool = new Piscina({
      filename: new URL('./check-task-boot.mjs', import.meta.url).href,
      minThreads: 1,
      maxThreads: checkThreads(),
      idleTimeout: 60_000,
      // Models are loaded only to check their outputs against the inputs: tfjs's plain CPU backend does.
      env: { ...process.env, AUDIENCE_BACKEND: 'cpu' },
    });
  }

  /**
   * Checks a submission on a checking thread; resolves to the spec to store and the checks' warnings.
   * @param active ids of the jobs queued or running (their staging is theirs).
   * @throws UserError or ConflictError for the request; CheckersBusyError when too many wait.
   */
  async check(body: TrainJobBody | ScoreJobBody, active: Set<string>): Promise<CheckResult> {
    if (this.pool.queueSize >= MAX_WAITING_CHECKS) throw new CheckersBusyError();
    try {
      return (await this.pool.run({ body, roots: this.roots, store: this.store, active: [...active] })) as CheckResult;
    } catch (err) {
      throw crossedError(err);
    }
  }

  /** Stops the threads. */
  async close(): Promise<void> {
    await this.pool.destroy();
  }
}

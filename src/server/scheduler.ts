/**
 * Runs queued jobs, up to `concurrency` at a time, each in its own runner child (server/jobs/runner-main.ts)
 * process: the compute never blocks the HTTP event loop, a crash in it cannot take the server
 * down, and cancel is a kill. Runners run at a lower CPU priority (util/process.ts), so on a
 * small host the thread answering requests gets the cores first. A runner that dies without
 * recording an outcome (killed, out of memory) is retried from the job's finished shards, up
 * to `maxAttempts` runs in all, after a backoff that doubles each time. On start, jobs a crashed server left running are queued
 * again (keeping their finished shards) after any runner it left behind is killed; a runner is
 * known by its pid and start time, so a reused pid is never killed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { outputStillInside } from '../scoring/guard.js';
import { removeIfEmpty, removeScoreOutput } from '../scoring/output.js';
import { LOG_CHARS, StoreWriteError, type JobStore } from './jobs/store.js';
import { isAlive, lowerPriority, processStartTime } from '../util/process.js';
import { nodeArgs } from '../util/built.mjs';
import type { ExecutorPolicy } from '../execution/policy.js';

/** The runner process's entry (jobs/): dist/'s JavaScript when the build is current, else the source through tsx. */
const RUNNER = new URL('./jobs/runner-main.ts', import.meta.url);
/** How often a step the job store refused (a full disk) is tried again, ms. */
const STORE_RETRY_MS = 2000;

export interface SchedulerOptions {
  concurrency: number;
  modelStore: string;
  /** Runs of a job whose runner keeps dying before it fails (default 3). */
  maxAttempts?: number;
  /** Wait before the first retry, seconds; doubled for each later one (default 2). */
  backoffSeconds?: number;
  /** Job events (started, retrying, failed) as log lines; none when absent. */
  log?: JobLog;
  /** Extra environment for runners. */
  env?: NodeJS.ProcessEnv;
  /** Where runners send score jobs' shards (the server's choice, as `audience serve` composed it; default: shardWorkers' rule, no queue). */
  executor?: ExecutorPolicy;
}

/** Where the scheduler reports job events (pino's logger fits). */
export interface JobLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

interface Running {
  child: ChildProcess;
  log: string;
  exited: Promise<void>;
}


/** Runs queued jobs in runner processes (see the module comment). */
export class Scheduler {
  private readonly running = new Map<string, Running>();
  private readonly retries = new Set<NodeJS.Timeout>();
  /** Jobs whose next state waits on a job store that cannot be written: why. */
  private readonly held = new Map<string, string>();
  /** Steps with a retry scheduled (by job id, or 'poke'). */
  private readonly pending = new Set<string>();
  private stopped = false;

  constructor(
    private readonly jobs: JobStore,
    private readonly opts: SchedulerOptions,
  ) {}

  /** Queues again what a previous server left running, then starts work. */
  start(): string[] {
    const resumed = this.jobs.requeueRunning();
    for (const job of resumed) {
      // A runner whose server was killed exits when its IPC channel closes; make sure.
      if (job.runnerPid && isAlive({ pid: job.runnerPid, start: job.runnerStart ?? '' }) && job.runnerStart) process.kill(job.runnerPid, 'SIGKILL');
    }
    this.poke();
    return resumed.map((j) => j.id);
  }

  /** Sets where job events are logged (the server's logger, once it exists). */
  setLog(log: JobLog): void {
    this.opts.log = log;
  }

  get active(): number {
    return this.running.size;
  }

  /** Why a job's next state waits on the job store ("the job store cannot be written (...)"), if it does. */
  waiting(id: string): string | undefined {
    return this.held.get(id);
  }

  /** Starts queued jobs while there is room (later, when the job store cannot be written now). */
  poke(): void {
    this.persist('poke', () => {
      while (!this.stopped && this.running.size < this.opts.concurrency) {
        const job = this.jobs.claimNext();
        if (!job) return;
        this.launch(job.id);
      }
    });
  }

  /**
   * Runs `step`, which writes the job store (`key`: the job it is for, or 'poke'). When the
   * store cannot be written (a full disk: StoreWriteError), the server stays up: it logs why,
   * shows it as the job's stage (waiting()) and tries the step again every STORE_RETRY_MS
   * until it succeeds. Any other error is logged, not thrown: this runs in process events.
   */
  private persist(key: string, step: () => void): void {
    try {
      step();
      if (this.held.delete(key)) this.opts.log?.info({ job: key }, 'the job store takes writes again');
    } catch (err) {
      if (!(err instanceof StoreWriteError)) {
        this.opts.log?.error({ job: key, err }, 'job step failed');
        return;
      }
      const why = `the job store cannot be written (${err.message})`;
      if (key !== 'poke' && !this.held.has(key)) this.opts.log?.error({ job: key, error: err.message }, `${why}; trying again every ${STORE_RETRY_MS / 1000} s`);
      if (key !== 'poke') this.held.set(key, why);
      if (this.pending.has(key)) return;
      this.pending.add(key);
      this.later(STORE_RETRY_MS, () => {
        this.pending.delete(key);
        this.persist(key, step);
      });
    }
  }

  /** Runs `fn` after `ms` unless the scheduler stopped meanwhile (stop() clears the timer). */
  private later(ms: number, fn: () => void): void {
    const timer = setTimeout(() => {
      this.retries.delete(timer);
      if (!this.stopped) fn();
    }, ms);
    this.retries.add(timer);
  }

  private launch(id: string): void {
    const { queue, workers } = this.opts.executor ?? {};
    const executor = [...(queue ? ['--queue', queue] : []), ...(workers !== undefined ? ['--workers', String(workers)] : [])];
    const child = spawn(process.execPath, [...nodeArgs(RUNNER), '--db', this.jobs.file, '--job', id, '--store', this.opts.modelStore, ...executor], {
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      env: { ...process.env, ...this.opts.env },
    });
    if (child.pid) lowerPriority(child.pid); // before it starts its threads: they inherit it
    const run: Running = { child, log: '', exited: Promise.resolve() };
    this.opts.log?.info({ job: id, runnerPid: child.pid }, 'job started');
    const keep = (chunk: Buffer) => {
      run.log = (run.log + chunk.toString()).slice(-LOG_CHARS);
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    run.exited = new Promise((resolve) => {
      child.on('exit', (code, signal) => {
        this.running.delete(id);
        if (!this.stopped) {
          this.persist(id, () => {
            this.runnerDied(id, signal ?? `code ${code}`, run.log);
            const job = this.jobs.get(id);
            if (job && job.status !== 'running') this.opts.log?.[job.status === 'failed' ? 'warn' : 'info']({ job: id, status: job.status, error: job.error ?? undefined }, `job ${job.status}`);
          });
          this.poke();
        }
        resolve();
      });
    });
    child.on('error', (err) => keep(Buffer.from(String(err))));
    this.running.set(id, run);
    if (child.pid) this.jobs.setRunner(id, child.pid, processStartTime(child.pid) ?? '');
  }

  /** A runner exited without recording an outcome: retry after a backoff, or fail after the last attempt. */
  private runnerDied(id: string, how: string, log: string): void {
    const job = this.jobs.get(id);
    if (!job || job.status !== 'running') return; // it recorded its outcome, or was cancelled
    const max = this.opts.maxAttempts ?? 3;
    const detail = log.trim().split('\n').slice(-3).join(' | ');
    const why = `the job's runner exited (${how}) without finishing${detail ? `: ${detail}` : ''}`;
    if (job.attempts >= max) {
      this.removeOutput(id);
      this.jobs.finish(id, 'failed', { error: `${why}; gave up after ${job.attempts} attempts`, log });
      this.opts.log?.error({ job: id, attempts: job.attempts, how }, 'runner died; no attempts left');
      return;
    }
    const wait = (this.opts.backoffSeconds ?? 2) * 2 ** (job.attempts - 1);
    this.jobs.markRetry(id, `retrying in ${wait}s (attempt ${job.attempts + 1} of ${max}): ${why}`, log);
    this.opts.log?.warn({ job: id, attempt: job.attempts, how, retryInSeconds: wait }, 'runner died; retrying');
    this.later(wait * 1000, () => this.persist(id, () => void (this.jobs.requeue(id) && this.poke())));
  }

  /** Cancels a queued or running job; a running one's runner is killed and its partial output removed. */
  async cancel(id: string): Promise<boolean> {
    if (!this.jobs.cancel(id)) return false;
    const run = this.running.get(id);
    if (run) {
      run.child.kill('SIGKILL');
      await run.exited;
    }
    this.removeOutput(id);
    return true;
  }

  /** Removes what a score job staged (an earlier output it was to replace stays), and its folder when that is then empty. */
  private removeOutput(id: string): void {
    const job = this.jobs.get(id);
    // A job that never planned its shards has written nothing: what is in its folder is another run's.
    if (!job || job.type !== 'score' || this.jobs.shards(id).length === 0) return;
    const output = job.spec.output as string;
    if (!outputStillInside({ output, roots: job.spec.roots as string[] | undefined })) return; // never through a link swapped in
    removeScoreOutput(output, true);
    removeIfEmpty(output);
  }

  /** Stops taking jobs and stops runners; their jobs stay `running` and resume on the next start. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.retries) clearTimeout(t); // a job waiting to retry stays running: the next start resumes it
    const runs = [...this.running.values()];
    for (const r of runs) r.child.kill('SIGTERM');
    await Promise.all(runs.map((r) => r.exited));
  }
}

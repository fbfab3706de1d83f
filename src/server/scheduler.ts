/**
 * Runs queued jobs, up to `concurrency` at a time, each in its own runner child (jobs/runner-main.ts)
 * process: the compute never blocks the HTTP event loop, a crash in it cannot take the server
 * down, and cancel is a kill. A runner that dies without recording an outcome (killed, out of
 * memory) is retried from the job's finished shards, up to `maxAttempts` runs in all, after a
 * backoff that doubles each time. On start, jobs a crashed server left running are queued
 * again (keeping their finished shards) after any runner it left behind is killed; a runner is
 * known by its pid and start time, so a reused pid is never killed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { removeIfEmpty, removeScoreOutput } from '../jobs/output.js';
import { LOG_CHARS, type JobStore } from '../jobs/store.js';
import { isAlive, processStartTime } from '../util/process.js';

/** The runner process's entry (jobs/), run through tsx like the CLI (no build step). */
const RUNNER = fileURLToPath(new URL('../jobs/runner-main.ts', import.meta.url));
const TSX = import.meta.resolve('tsx/esm');

export interface SchedulerOptions {
  concurrency: number;
  modelStore: string;
  /** Runs of a job whose runner keeps dying before it fails (default 3). */
  maxAttempts?: number;
  /** Wait before the first retry, seconds; doubled for each later one (default 2). */
  backoffSeconds?: number;
  /** Job events (started, retrying, failed) as log lines; none when absent. */
  log?: JobLog;
  /** Extra environment for runners (e.g. AUDIENCE_WORKERS). */
  env?: NodeJS.ProcessEnv;
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

  /** Starts queued jobs while there is room. */
  poke(): void {
    while (!this.stopped && this.running.size < this.opts.concurrency) {
      const job = this.jobs.claimNext();
      if (!job) return;
      this.launch(job.id);
    }
  }

  private launch(id: string): void {
    const child = spawn(process.execPath, ['--import', TSX, RUNNER, '--db', this.jobs.file, '--job', id, '--store', this.opts.modelStore], {
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      env: { ...process.env, ...this.opts.env },
    });
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
          this.runnerDied(id, signal ?? `code ${code}`, run.log);
          const job = this.jobs.get(id);
          if (job && job.status !== 'running') this.opts.log?.[job.status === 'failed' ? 'warn' : 'info']({ job: id, status: job.status, error: job.error ?? undefined }, `job ${job.status}`);
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
    const timer = setTimeout(() => {
      this.retries.delete(timer);
      if (!this.stopped && this.jobs.requeue(id)) this.poke();
    }, wait * 1000);
    this.retries.add(timer);
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

  /** Removes what a score job wrote (staging, parts), and its folder when that is then empty. */
  private removeOutput(id: string): void {
    const job = this.jobs.get(id);
    // A job that never planned its shards has written nothing: what is in its folder is another run's.
    if (!job || job.type !== 'score' || this.jobs.shards(id).length === 0) return;
    const output = job.spec.output as string;
    removeScoreOutput(output);
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

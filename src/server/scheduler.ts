/**
 * Runs queued jobs, up to `concurrency` at a time, each in its own `audience run-job` child
 * process: the compute never blocks the HTTP event loop, a crash in it cannot take the server
 * down, and cancel is a kill. On start, jobs a crashed server left running are queued again
 * (keeping their finished shards) after any runner it left behind is killed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { removeScoreOutput } from '../jobs/score.js';
import { LOG_CHARS, type JobStore } from '../jobs/store.js';

const BIN = fileURLToPath(new URL('../../bin/audience.js', import.meta.url));

export interface SchedulerOptions {
  concurrency: number;
  modelStore: string;
  /** Extra environment for runners (e.g. AUDIENCE_WORKERS). */
  env?: NodeJS.ProcessEnv;
}

interface Running {
  child: ChildProcess;
  log: string;
  exited: Promise<void>;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export class Scheduler {
  private readonly running = new Map<string, Running>();
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
      if (job.runnerPid && alive(job.runnerPid)) process.kill(job.runnerPid, 'SIGKILL');
    }
    this.poke();
    return resumed.map((j) => j.id);
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
    const child = spawn(process.execPath, [BIN, 'run-job', '--db', this.jobs.file, '--job', id, '--store', this.opts.modelStore], {
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      env: { ...process.env, ...this.opts.env },
    });
    const run: Running = { child, log: '', exited: Promise.resolve() };
    const keep = (chunk: Buffer) => {
      run.log = (run.log + chunk.toString()).slice(-LOG_CHARS);
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    run.exited = new Promise((resolve) => {
      child.on('exit', (code, signal) => {
        this.running.delete(id);
        if (!this.stopped) {
          // A runner records its own outcome; one that died without doing so failed.
          const detail = run.log.trim().split('\n').slice(-3).join(' | ');
          this.jobs.finish(id, 'failed', { error: `the job's runner exited (${signal ?? `code ${code}`}) without finishing${detail ? `: ${detail}` : ''}`, log: run.log });
          this.poke();
        }
        resolve();
      });
    });
    child.on('error', (err) => keep(Buffer.from(String(err))));
    this.running.set(id, run);
    if (child.pid) this.jobs.setRunner(id, child.pid);
  }

  /** Cancels a queued or running job; a running one's runner is killed and its partial output removed. */
  async cancel(id: string): Promise<boolean> {
    if (!this.jobs.cancel(id)) return false;
    const run = this.running.get(id);
    if (run) {
      run.child.kill('SIGKILL');
      await run.exited;
    }
    const job = this.jobs.get(id)!;
    const output = job.type === 'score' ? (job.spec.output as string | undefined) : undefined;
    if (output) removeScoreOutput(output);
    return true;
  }

  /** Stops taking jobs and stops runners; their jobs stay `running` and resume on the next start. */
  async stop(): Promise<void> {
    this.stopped = true;
    const runs = [...this.running.values()];
    for (const r of runs) r.child.kill('SIGTERM');
    await Promise.all(runs.map((r) => r.exited));
  }
}

/**
 * Shards over several hosts, the worker's side (`audience worker`): takes score shards and
 * K-Means steps from the queue and runs them on this host's thread pool. Failure handling is
 * BullMQ's: a worker that dies mid-shard stops renewing its lock, the shard is found stalled
 * and retried elsewhere (a staged part is written under a temporary name and renamed, so a
 * shard run twice leaves one part); a shard that fails is retried with exponential backoff up
 * to its attempts; bad input (a UserError) is not retried; a worker whose GPU device failed (a
 * DeviceError) is told, to stop taking shards. Inputs, the staging folder and the model store
 * must be on a filesystem every worker mounts at the same path: a worker that cannot see one
 * fails the shard with that reason.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MessageChannel } from 'node:worker_threads';
import { UnrecoverableError, Worker, type Job } from 'bullmq';
import { DeviceError } from '../compute/read.js';
import { crossedError, encodeError, EnvironmentError, UserError, errorMessage, systemErrorMessage } from '../util/errors.js';
import { OWNER, removeIfEmpty, STAGING } from '../scoring/output.js';
import type { ShardResult } from '../scoring/score.js';
import type { ShardTask } from './shard-task.js';
import { connection, SHARD_QUEUE } from './queue-client.js';
import type { ShardJobData } from './shard-queue.js';

/** The paths a shard reads and writes, each checked before the shard runs on this host. */
function checkVisible(data: ShardJobData): void {
  const paths = [...data.job.input.filter((p) => !/[*?[]/.test(p)), data.job.store];
  for (const p of paths) {
    if (!fs.existsSync(p)) {
      throw new UnrecoverableError(
        encodeError(new UserError(`worker ${os.hostname()} cannot see ${p}: inputs, the output folder and the model store must be on a filesystem every worker mounts at the same path`)),
      );
    }
  }
}

/** Whether the run that queued a shard still owns its staging folder (not cancelled, finished or replaced by another run). */
function stagingOwned(data: ShardJobData): boolean {
  try {
    return path.basename(data.staging) === STAGING && fs.readFileSync(path.join(data.staging, OWNER), 'utf8') === data.owner;
  } catch {
    return false;
  }
}

export interface ShardWorkerOptions {
  /** Shards run at a time (threads of this host's pool). */
  concurrency: number;
  /** The lock a running shard holds and renews (ms): a dead worker's shard is retried after it lapses. */
  lockMs?: number;
  /** Runs one shard task (the pool's `run`): resolves to its result. */
  runTask: (task: ShardTask, transfer: MessagePort[]) => Promise<ShardResult>;
  /** Other kinds of job on the queue by name (K-Means training's steps): run in this process. */
  handlers?: Record<string, (data: never) => Promise<unknown>>;
  log?: (message: string) => void;
  /**
   * Called when a job failed because this host's GPU device failed (a DeviceError): the job
   * is retried like any failure, and the caller should stop taking jobs here.
   */
  onDeviceError?: (message: string) => void;
}

/**
 * Takes shard tasks from the queue and runs them with `opts.runTask` (the process's Piscina
 * pool). A shard whose job's staging folder is gone (cancelled) is skipped; one that finishes
 * after its job was cancelled has its part removed.
 */
export function startShardWorker(url: string, opts: ShardWorkerOptions): Worker {
  const lock = opts.lockMs ?? 30_000;
  return new Worker(
    SHARD_QUEUE,
    async (job: Job) => {
      if (job.name !== 'shard') return runHandler(opts.handlers?.[job.name], job, opts.onDeviceError);
      const data = job.data as ShardJobData;
      if (!stagingOwned(data)) throw new UnrecoverableError(encodeError(new UserError(`the job's staging folder ${data.staging} is gone (the job was cancelled or removed)`)));
      checkVisible(data);
      const { port1, port2 } = new MessageChannel();
      let rows = 0;
      let reported = 0;
      port1.on('message', (n: number) => {
        rows += n;
        if (rows - reported >= 50_000) {
          reported = rows;
          void reportProgress(job, rows, opts.log);
        }
      });
      try {
        opts.log?.(`shard ${data.shard.index} of ${data.staging}: rows ${data.shard.start}-${data.shard.end} of ${data.job.input.length} input(s)`);
        const result = await opts.runTask({ ...data, progress: port2 as unknown as ShardTask['progress'] }, [port2 as unknown as MessagePort]);
        await reportProgress(job, rows, opts.log);
        // Cancelled while it ran: the part it wrote is nobody's (another run's staging is left alone).
        if (!stagingOwned(data) && !fs.existsSync(path.join(data.staging, OWNER))) {
          fs.rmSync(data.staging, { recursive: true, force: true });
          removeIfEmpty(path.dirname(data.staging)); // the output folder, if writing the part made it again
        }
        return result;
      } catch (err) {
        // Bad input (typed again from the thread's encoded error) is not retried; the rest may be.
        const crossed = crossedError(err);
        if (crossed instanceof UserError) throw new UnrecoverableError(encodeError(crossed));
        throw environmentFailure(deviceFailure(crossed, opts.onDeviceError));
      } finally {
        port1.close();
      }
    },
    { connection: connection(url), concurrency: opts.concurrency, lockDuration: lock, stalledInterval: lock, maxStalledCount: 2 },
  );
}

/**
 * Reports a shard's rows to the coordinator. Never rejects: a report Redis refuses (the job's
 * keys gone, writes refused at maxmemory, the connection down) is logged and dropped, and the
 * shard goes on (its result is what counts).
 */
async function reportProgress(job: Job, rows: number, log?: (message: string) => void): Promise<void> {
  try {
    await job.updateProgress(rows);
  } catch (err) {
    log?.(`shard ${(job.data as ShardJobData).shard.index}: progress not reported (${errorMessage(err)})`);
  }
}

/**
 * `err` as a marked Error "worker <host>: cannot write <path>: <reason>" when it is a file
 * system failure, else `err`. A shard task's error crosses from its thread as a plain Error
 * (its code lost), so its message ("ENOSPC: no space left on device, open '/x'") is read too.
 */
function environmentFailure(err: unknown): unknown {
  const words = systemErrorMessage(err) ?? systemErrorMessage(errnoFromMessage(errorMessage(err)));
  return words ? new Error(encodeError(new EnvironmentError(`worker ${os.hostname()}: ${words}`))) : err;
}

/** Node's system error message ("ENOSPC: no space left on device, write '/x'") as code, syscall and path. */
function errnoFromMessage(message: string): { code: string; syscall: string; path?: string } | undefined {
  const m = /^(E[A-Z]+): [^,]*, (\w+)(?: '(.*)')?/.exec(message);
  return m ? { code: m[1], syscall: m[2], ...(m[3] !== undefined && { path: m[3] }) } : undefined;
}

/** `err`, after telling `onDeviceError` when it is a DeviceError (then a plain Error with its message: retried). */
function deviceFailure(err: unknown, onDeviceError?: (message: string) => void): unknown {
  if (!(err instanceof DeviceError)) return err;
  onDeviceError?.(err.message);
  return new Error(`${os.hostname()}: ${err.message}`);
}

/** Runs a job that is not a score shard with its handler; bad input is not retried, a failed device is told (deviceFailure). */
async function runHandler(handler: ((data: never) => Promise<unknown>) | undefined, job: Job, onDeviceError?: (message: string) => void): Promise<unknown> {
  if (!handler) throw new UnrecoverableError(encodeError(new UserError(`this worker does not run '${job.name}' jobs (an older version of audience?)`)));
  try {
    return await handler(job.data as never);
  } catch (err) {
    if (err instanceof UserError) throw new UnrecoverableError(encodeError(err));
    throw environmentFailure(deviceFailure(err, onDeviceError));
  }
}

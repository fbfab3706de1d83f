/**
 * Shards over several hosts: with `REDIS_URL`, a score job's shard tasks (shard-task.ts, the
 * same plain input Piscina runs locally) become BullMQ jobs on the queue `audience-shards`,
 * and `audience worker` processes on any host run them on their own thread pools. The
 * process that planned the job (the service's runner, or `audience score`) waits for its
 * shards and then runs the finalize itself, once.
 *
 * Failure handling is BullMQ's: a worker that dies mid-shard stops renewing its lock, the
 * shard is found stalled and retried elsewhere (a staged part is written under a temporary
 * name and renamed, so a shard run twice leaves one part); a shard that fails is retried with
 * exponential backoff up to its attempts; bad input (a UserError) is not retried; a worker
 * whose GPU device failed (a DeviceError) is told, to stop taking shards. Inputs,
 * the staging folder and the model store must be on a filesystem every worker mounts at the
 * same path: a worker that cannot see one fails the shard with that reason.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { MessageChannel } from 'node:worker_threads';
import { Queue, QueueEvents, UnrecoverableError, Worker, type Job } from 'bullmq';
import { DeviceError } from '../compute/read.js';
import { crossedError, decodeError, encodeError, EnvironmentError, UserError, errorMessage, systemErrorMessage } from '../util/errors.js';
import { OWNER, removeIfEmpty, STAGING } from './output.js';
import { requireRedis, shownUrl } from './redis.js';
import type { ShardResult } from './score.js';
import type { ShardJob, ShardTask } from './shard-task.js';
import type { RunShardsOptions } from './shard-pool.js';
import type { Shard } from './shards.js';

/** The BullMQ queue shard tasks go through. */
export const SHARD_QUEUE = 'audience-shards';

/** BullMQ connection options for a Redis URL (workers need maxRetriesPerRequest null). */
function connection(url: string) {
  return { url, maxRetriesPerRequest: null };
}

/** A shard job's data: the shard task without its progress port, and who owned the staging folder when it was queued. */
type ShardJobData = Omit<ShardTask, 'progress'> & { owner: string };

/** Options of the queued path: the pool's (what the caller hears), and how often a shard is tried. */
export interface QueueRunOptions extends RunShardsOptions {
  /** Tries per shard (default 3), with exponential backoff from 2 s. */
  attempts?: number;
}

/** One job for the queue: its id (unique on the queue), name (what the worker runs), data and how errors name it. */
export interface QueueItem<D> {
  id: string;
  name: string;
  data: D;
  /** How a failure names it ("shard 3", "K-Means shard 3"). */
  label: string;
}

/** How a batch of queued jobs is run and what the caller hears. */
export interface QueueBatchOptions<R> {
  signal?: AbortSignal;
  /** Tries per job (default 3), with exponential backoff from 2 s. */
  attempts?: number;
  /** Each job's result as it arrives (index into the batch). */
  onResult?: (result: R, index: number) => void;
  /** A job's progress report (what the worker passed to updateProgress). */
  onProgress?: (index: number, data: unknown) => void;
  /**
   * Why the batch is not moving, in words ("0 workers connected for 90 s (2 of 9 shards
   * done)"), checked every 2 s; undefined once it moves again.
   */
  onWaiting?: (why: string | undefined) => void;
  /** Seconds without a finished job or a progress report before the batch counts as stalled (default 60). */
  stallSeconds?: number;
}

/** How often a waiting batch checks its workers, ms. */
const WATCH_MS = 2000;


/**
 * A Redis failure in words naming the cause (an EnvironmentError), or undefined when `err`
 * is not one: writes refused (maxmemory, a read-only replica), the connection gone.
 */
export function redisFailure(err: unknown, url: string): EnvironmentError | undefined {
  const message = errorMessage(err);
  const where = `Redis at ${shownUrl(url)}`;
  if (/^(OOM|READONLY|MISCONF)\b/.test(message)) {
    return new EnvironmentError(`${where} refuses writes (${message.replace(/\. script: .*$/s, '')}); free memory or raise maxmemory (or make it writable), then run the job again`, { cause: err });
  }
  if (/ECONNREFUSED|ECONNRESET|Connection is closed|ETIMEDOUT/.test(message)) {
    return new EnvironmentError(`${where} does not answer (${message}): start it, or run without REDIS_URL / --redis`, { cause: err });
  }
  return undefined;
}

/**
 * A connection to the shard queue for one coordinator: batches of jobs added and waited for
 * (K-Means adds one batch per Lloyd iteration over the same connection).
 */
export class QueueClient {
  private readonly queue: Queue;
  private readonly events: QueueEvents;

  private constructor(readonly url: string) {
    this.queue = new Queue(SHARD_QUEUE, { connection: connection(url) });
    this.events = new QueueEvents(SHARD_QUEUE, { connection: connection(url) });
    // Connection errors reach the calls that fail on them (named there); unheard, they would be printed with a stack.
    this.queue.on('error', () => {});
    this.events.on('error', () => {});
  }

  /**
   * Opens the queue and checks that at least one `audience worker` listens on it (a job
   * queued with none would wait with no end and no word).
   * @throws UserError when Redis does not answer or no worker is connected.
   */
  static async open(url: string): Promise<QueueClient> {
    await requireRedis(url);
    const client = new QueueClient(url);
    try {
      await client.events.waitUntilReady();
      let workers: number | undefined;
      try {
        workers = (await client.queue.getWorkers()).length;
      } catch {
        workers = undefined; // a Redis that refuses CLIENT LIST (some managed services): cannot tell, go on
      }
      if (workers === 0) {
        throw new UserError(`no 'audience worker' is connected to the queue "${SHARD_QUEUE}" at ${shownUrl(url)}: start one (audience worker --redis URL), or run without REDIS_URL`);
      }
      return client;
    } catch (err) {
      await client.close();
      throw err;
    }
  }

  /**
   * Adds `items` and waits until every one completed; their results in the items' order.
   * Jobs still queued when it ends (a failure, a cancel) are taken off the queue.
   * @throws UserError for a job that failed on bad input (its message); Error naming the
   *   item when one fails after its attempts; the signal's reason when aborted.
   */
  async run<D, R>(items: Array<QueueItem<D>>, opts: QueueBatchOptions<R> = {}): Promise<R[]> {
    const index = new Map(items.map((it, i) => [it.id, i]));
    const watch = new BatchWatch(this.queue, this.url, items.length, opts);
    const onProgress = ({ jobId, data }: { jobId: string; data: unknown }) => {
      const i = index.get(jobId);
      if (i === undefined) return;
      watch.moved();
      opts.onProgress?.(i, data);
    };
    let added: Job[] = [];
    try {
      watch.start();
      this.events.on('progress', onProgress);
      added = await this.queue.addBulk(
        items.map((it) => ({
          name: it.name,
          data: it.data,
          opts: { jobId: it.id, attempts: opts.attempts ?? 3, backoff: { type: 'exponential', delay: 2000 }, removeOnComplete: { age: 3600 }, removeOnFail: { age: 86_400 } },
        })),
      );
      return await this.waitFor(added, items, opts, watch);
    } catch (err) {
      throw redisFailure(err, this.url) ?? err;
    } finally {
      watch.stop();
      await Promise.allSettled(added.map(async (j) => ((await j.getState()) === 'active' ? undefined : j.remove())));
      this.events.off('progress', onProgress);
    }
  }

  /**
   * Polls the jobs until every one completed (their results, in order) or one failed after
   * its attempts. Polling, not only queue events: a job that finished before a listener
   * subscribed is still seen. The interval starts at 5 ms (a Lloyd step's jobs finish in
   * milliseconds) and grows to 250 ms.
   */
  private async waitFor<D, R>(jobs: Job[], items: Array<QueueItem<D>>, opts: QueueBatchOptions<R>, watch: BatchWatch): Promise<R[]> {
    // Filled, not sparse: every() skips the holes of `new Array(n)`.
    const results: Array<R | undefined> = Array.from({ length: jobs.length }, () => undefined);
    for (let wait = 5; ; wait = Math.min(250, wait * 2)) {
      opts.signal?.throwIfAborted();
      for (const [i, added] of jobs.entries()) {
        if (results[i] !== undefined) continue;
        // The state first, then the job: a job read before it completed has no return value yet.
        const state = await this.queue.getJobState(added.id!);
        if (state !== 'completed' && state !== 'failed') {
          if (state === 'unknown') {
            throw new EnvironmentError(
              `${items[i].label} is no longer on the queue at ${shownUrl(this.url)}: its keys are gone (Redis restarted without persistence, flushed, or evicting keys); run the job again`,
            );
          }
          continue;
        }
        const job = (await this.queue.getJob(added.id!))!;
        if (state === 'completed') {
          if (job.returnvalue === undefined || job.returnvalue === null) continue; // stored right after
          results[i] = job.returnvalue as R;
          watch.done++;
          watch.moved();
          opts.onResult?.(results[i]!, i);
        } else {
          const message = job.failedReason ?? 'no reason given';
          const crossed = decodeError(message);
          const failed = `${items[i].label} failed on the workers after ${job.attemptsMade} attempt(s)`;
          if (crossed instanceof EnvironmentError) throw new EnvironmentError(`${failed}: ${crossed.message}`);
          if (crossed instanceof UserError) throw crossed;
          throw new Error(`${failed}: ${crossed?.message ?? message}`);
        }
      }
      if (results.every((r) => r !== undefined)) return results as R[];
      await new Promise((r) => setTimeout(r, wait));
    }
  }

  /** Closes the connections. */
  async close(): Promise<void> {
    await this.events.close();
    await this.queue.close();
  }
}

/**
 * Watches a batch that waits on the workers, on its own timer (so a Redis call that hangs
 * does not silence it): every WATCH_MS it counts the workers connected and tells `onWaiting`
 * when none is (for how long), when Redis has not answered that count (for how long), or when
 * no job finished or reported progress for `stallSeconds`; undefined once the batch moves again.
 */
class BatchWatch {
  /** Jobs of the batch finished so far (kept by the waiting loop). */
  done = 0;
  private lastMove = Date.now();
  private asking: number | undefined;
  private noWorkersSince: number | undefined;
  private said: string | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly queue: Queue,
    private readonly url: string,
    private readonly total: number,
    private readonly opts: Pick<QueueBatchOptions<unknown>, 'onWaiting' | 'stallSeconds'>,
  ) {}

  /** Starts the checks (none without `onWaiting`). */
  start(): void {
    if (this.opts.onWaiting) this.timer = setInterval(() => void this.tick(), WATCH_MS);
  }

  /** Stops the checks. */
  stop(): void {
    clearInterval(this.timer);
  }

  /** A job of the batch finished or reported progress. */
  moved(): void {
    this.lastMove = Date.now();
  }

  private async tick(): Promise<void> {
    const now = Date.now();
    const seconds = (since: number) => Math.round((now - since) / 1000);
    const of = `(${this.done} of ${this.total} shards done)`;
    if (this.asking !== undefined) return this.say(`Redis at ${shownUrl(this.url)} has not answered for ${seconds(this.asking)} s ${of}`);
    this.asking = now;
    const workers = await this.queue.getWorkers().then(
      (w) => w.length,
      () => undefined, // a Redis that refuses CLIENT LIST: cannot tell
    );
    this.asking = undefined;
    this.noWorkersSince = workers === 0 ? (this.noWorkersSince ?? now) : undefined;
    const stalled = now - this.lastMove >= (this.opts.stallSeconds ?? 60) * 1000;
    if (this.noWorkersSince !== undefined) this.say(`0 workers connected for ${seconds(this.noWorkersSince)} s ${of}`);
    else this.say(stalled ? `no shard has finished or reported progress for ${seconds(this.lastMove)} s ${of}` : undefined);
  }

  /** Tells onWaiting when the words changed; its failure (a status that cannot be written) does not stop the batch. */
  private say(why: string | undefined): void {
    if (why === this.said) return;
    this.said = why;
    try {
      this.opts.onWaiting?.(why);
    } catch {
      // the status is a courtesy: the batch goes on
    }
  }
}

/**
 * Runs `shards` of `job` as BullMQ jobs and waits for all of them; returns their results.
 * Each shard may reject up to the job's whole limit; the sum is checked when all are done.
 * @throws UserError for bad input (the shard's message) or more rejected rows than allowed;
 *   Error naming the shard when one fails after its attempts.
 */
export async function runShardsOnQueue(url: string, job: ShardJob, shards: Shard[], opts: QueueRunOptions): Promise<ShardResult[]> {
  const client = await QueueClient.open(url);
  const run = randomUUID().slice(0, 8);
  const done = new Map<number, number>();
  const owner = fs.readFileSync(path.join(opts.staging, OWNER), 'utf8');
  try {
    const results = await client.run<ShardJobData, ShardResult>(
      shards.map((shard) => ({
        id: `${run}-${shard.index}`,
        name: 'shard',
        label: `shard ${shard.index}`,
        data: { job, shard, staging: opts.staging, fence: opts.fence, input: opts.inputs?.[shard.table], rejectBudget: opts.maxRejects, owner },
      })),
      {
        signal: opts.signal,
        attempts: opts.attempts,
        onResult: (r) => opts.onShard?.(r),
        onWaiting: opts.onWaiting,
        onProgress: (i, data) => {
          if (typeof data !== 'number') return;
          opts.onRows?.(data - (done.get(i) ?? 0));
          done.set(i, data);
        },
      },
    );
    const rejected = results.reduce((n, r) => n + r.rejected, 0);
    if (rejected > opts.maxRejects) throw new UserError(`more rows could not be read than the job allows (${opts.maxRejects}): ${rejected} across the shards`);
    return results;
  } finally {
    await client.close();
  }
}

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
 * Prefix of a failed job's message when the worker's file system said no (a full disk, a
 * read-only folder): retried like any failure, and named (an EnvironmentError) when the tries
 * are spent, not reported as a bug.
 */
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

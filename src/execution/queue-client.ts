/**
 * The Redis queue both sides use (BullMQ): the queue's name and connection, and QueueClient,
 * which puts a batch of jobs on it and waits for their results (each job's progress and
 * result as it comes, a failed one retried with backoff and named when its tries are spent),
 * saying why a batch is not moving (no worker connected, stalled, Redis not answering). Score
 * shards (shard-queue.ts) and K-Means steps (kmeans-queue.ts) go through it; the hosts that
 * run them are queue-worker.ts.
 */
import { Queue, QueueEvents, type Job } from 'bullmq';
import { decodeError, EnvironmentError, UserError, errorMessage } from '../util/errors.js';
import { requireRedis, shownUrl } from './redis.js';

/** The BullMQ queue shard tasks go through. */
export const SHARD_QUEUE = 'audience-shards';

/** BullMQ connection options for a Redis URL (workers need maxRetriesPerRequest null). */
export function connection(url: string): { url: string; maxRetriesPerRequest: null } {
  return { url, maxRetriesPerRequest: null };
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

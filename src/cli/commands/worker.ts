import os from 'node:os';
import { DeviceError } from '../../compute/read.js';
import { checkRedisUrl, redisUrl, requireRedis } from '../../execution/redis.js';
import { crossedError, errorMessage, UserError } from '../../util/errors.js';
import { num } from '../../util/options.js';
import type { Command } from '../args.js';

const env = process.env;

/** `audience worker`: takes shard and K-Means step jobs from Redis (execution/queue-worker.ts) and runs them here. */
export const worker: Command = {
  name: 'worker',
  usage: `audience worker --redis redis://HOST:6379 [--concurrency N] [--lock-seconds S]

Takes shard tasks from the BullMQ queue "audience-shards" and scores them on this host's
threads (one tfjs backend each), the same shard task a server runs locally. Start
'audience serve' (or 'audience score') with the same REDIS_URL and its score jobs' shards
go to the workers; the finalize runs once, in the process that planned the job.
'audience train kmeans' with REDIS_URL (and the service's K-Means train jobs) runs its
Lloyd iterations here too: each worker keeps its shards' rows on its backend and returns
per-segment sums each iteration.
  --redis URL           Redis (default REDIS_URL)
  --concurrency N       shards at a time on this host (default: its cores)
  --lock-seconds S      a running shard's lock, renewed while it runs; a worker killed
                        mid-shard is found stalled after about 2 x S and its shard retried
                        elsewhere (default 30)
Inputs, output folders and the model store are read and written by path: every worker must
see them at the same paths as the server (a shared filesystem). A worker that cannot see a
path fails the shard with that reason. Stops on SIGTERM or SIGINT after its running shards.
A worker whose GPU device fails a computation (webgpu) fails that shard (retried on another
worker), finishes its other running shards, takes no more and exits with status 1, for its
supervisor to restart it with a fresh device.`,
  options: { redis: { type: 'string' }, concurrency: { type: 'string' }, 'lock-seconds': { type: 'string' } },
  async run(values) {
    // Imported here: --help loads neither the engines nor the thread pool.
    const [{ initBackend }, { shardPool }] = await Promise.all([import('../../compute/backend.js'), import('../../execution/shard-pool.js')]);
    const url = typeof values.redis === 'string' ? values.redis : redisUrl();
    if (!url) throw new UserError('audience worker: give the queue as --redis redis://HOST:PORT (or REDIS_URL)');
    checkRedisUrl(url);
    await requireRedis(url); // a worker that can never reach its queue says so and exits, not retries forever
    const concurrency = num(values.concurrency ?? env.AUDIENCE_WORKER_CONCURRENCY ?? String(os.cpus().length), '--concurrency', { int: true, min: 1, max: 256 })!;
    const lockSeconds = num(values['lock-seconds'] ?? '30', '--lock-seconds', { min: 1, max: 3600 })!;
    const backend = await initBackend();
    // BullMQ loaded here, not for every `audience` command.
    const [{ startShardWorker }, { KMEANS_HANDLERS }] = await Promise.all([import('../../execution/queue-worker.js'), import('../../execution/kmeans-queue.js')]);
    const pool = shardPool(concurrency);
    let deviceFailed: string | undefined;
    let stop = () => {};
    const w = startShardWorker(url, {
      concurrency,
      lockMs: lockSeconds * 1000,
      runTask: (task, transfer) => pool.run(task, { transferList: transfer as never }),
      handlers: KMEANS_HANDLERS,
      log: (m) => process.stderr.write(`${new Date().toISOString()} ${m}\n`),
      onDeviceError: (message) => {
        deviceFailed ??= message;
        stop();
      },
    });
    w.on('error', (err) => process.stderr.write(`worker: ${err.message}\n`));
    // Its message as the error was thrown (decoded from the envelope it crossed the queue in: util/errors.ts).
    w.on('failed', (job, err) => process.stderr.write(`${job?.name ?? 'job'} ${job?.data?.shard?.index ?? ''} failed: ${errorMessage(crossedError(err))}\n`));
    await w.waitUntilReady();
    process.stdout.write(`worker ${os.hostname()} pid ${process.pid}: ${concurrency} shard(s) at a time on ${backend.backend}, queue on ${url.replace(/\/\/[^@]*@/, '//***@')}\n`);
    await new Promise<void>((resolve) => {
      stop = resolve;
      process.once('SIGTERM', stop);
      process.once('SIGINT', stop);
      if (deviceFailed) resolve();
    });
    await w.close();
    await pool.destroy();
    if (deviceFailed) throw new DeviceError(`this worker stopped taking shards: ${deviceFailed}`);
  },
};

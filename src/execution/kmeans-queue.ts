/**
 * K-Means training over the workers (REDIS_URL). The coordinator (`audience train kmeans`,
 * or the service's train job) plans shards as a score job does and queues one load job per
 * shard: the worker reads its rows through the fitted feature transform, writes them to the
 * staging folder as float32 (rows x D, row-major), and returns its sums for the statistics
 * and the rows the sample keeps. Each Lloyd iteration is then one step job per shard: the
 * worker assigns its rows to the nearest centroid on its own backend (keeping them resident
 * between iterations) and returns per-cluster sums and counts, which the coordinator adds
 * in shard order, exactly as worker threads do on one host.
 *
 * The same model as on one host from the same seed: the sample (k-means++ seeding, empty-
 * cluster repair, silhouette) is the same rows in the same order, because the coordinator
 * replays the single-host reservoir draws (reservoirRows) and the workers send the rows
 * those draws keep. Sums differ from one host's only in float32 summation order, so the
 * sizes and iterations agree and centroids to about 1e-4 (standardized units; 1e-3 is the
 * stated and tested tolerance, docs/hosts.md). The algorithm's part is models/kmeans/sharded.ts;
 * this file moves the jobs, the staging folder and the rows' files.
 */
import fs from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import type { tf } from '../compute/backend.js';
import { disposeAll, residentBudgetBytes } from '../compute/memory.js';
import { columnRequest, transform, type FittedTransform } from '../features/transform.js';
import { openDataset, type Dataset } from '../io/dataset.js';
import { openableInputs } from '../scoring/guard.js';
import { addParts, meanVarianceOf, reservoirRows, sampleRng, type KMeansData, type SumsAndCounts } from '../models/kmeans/data.js';
import { addShardStats, pickSample, placeSample, shardBatches, ShardAccumulator, stepSums, type SamplePick, type ShardStats } from '../models/kmeans/sharded.js';
import { UserError } from '../util/errors.js';
import { namingFile, readFloat32File, writeFileNamed } from '../util/files.js';
import { silentProgress, type Progress } from '../util/progress.js';
import { removeIfEmpty } from '../scoring/output.js';
import { QueueClient } from './queue-client.js';
import { planShards, type Shard } from '../scoring/shards.js';
import { DEFAULT_SHARD_ROWS } from '../scoring/score-options.js';

/** Queue job names of K-Means training. */
export const KMEANS_LOAD = 'kmeans-load';
export const KMEANS_STEP = 'kmeans-step';

/** A load job: one shard of the training data through the transform. */
interface LoadJob {
  inputs: string[];
  /** The service's data roots (scoring/guard.ts); none from the CLI. */
  roots?: string[];
  transform: FittedTransform;
  shard: Shard;
  staging: string;
  /** Rows of the shard (from its first) the sample keeps, ascending, and the slot of each. */
  pick: SamplePick;
}

/** A Lloyd step on one shard: centroids K x D (row-major). */
interface StepJob {
  file: string;
  rows: number;
  cols: number;
  k: number;
  centroids: number[];
}

/** A distributed fit's staging folder whose heartbeat is older than this was left by a killed coordinator (seconds). */
export const STALE_STAGING_SECONDS = 6 * 3600;

const heartbeat = (staging: string) => path.join(staging, 'heartbeat');

/**
 * Removes the `kmeans-*` staging folders under `parent` (the store's .staging) whose
 * heartbeat (touched at every Lloyd step; the folder's own time when it has none) is older
 * than `staleSeconds`: what a coordinator killed with SIGKILL leaves (its signal handlers never
 * ran). A worker then fails that fit's leftover queued jobs at once ("staging folder is gone").
 * @returns the folders removed.
 */
export function sweepStaleStaging(parent: string, staleSeconds = STALE_STAGING_SECONDS, now = Date.now()): string[] {
  if (!fs.existsSync(parent)) return [];
  const removed: string[] = [];
  for (const name of fs.readdirSync(parent)) {
    if (!name.startsWith('kmeans-')) continue;
    const dir = path.join(parent, name);
    const stat = fs.statSync(fs.existsSync(heartbeat(dir)) ? heartbeat(dir) : dir, { throwIfNoEntry: false });
    if (stat && now - stat.mtimeMs > staleSeconds * 1000) {
      fs.rmSync(dir, { recursive: true, force: true });
      removed.push(dir);
    }
  }
  return removed;
}

const partFile = (staging: string, shard: number) => path.join(staging, `rows-${String(shard).padStart(5, '0')}.f32`);
const sampleFile = (staging: string, shard: number) => path.join(staging, `sample-${String(shard).padStart(5, '0')}.f32`);

export interface QueueLoadOptions {
  k: number;
  sampleSize: number;
  seed: number;
  /** Rows per shard (default DEFAULT_SHARD_ROWS). */
  shardRows?: number;
  /** A new folder every worker sees at the same path (under the model store); removed by dispose. */
  staging: string;
  /** The service's data roots: each worker resolves the inputs inside them when it opens them. */
  roots?: string[];
  progress?: Progress;
  /** Why the shards are not moving ("0 workers connected for 90 s ..."); undefined once they move again. */
  onWaiting?: (why: string | undefined) => void;
}

/**
 * Creates a fit's staging folder (sweeping stale ones beside it first) with its heartbeat,
 * and removes it when the process is killed (Ctrl-C, a timeout, the service's cancel), so
 * that workers that take this fit's queued jobs later fail them at once ("staging folder is
 * gone") and write nothing.
 * @returns the clean-up: closes `client`, removes the folder (and its parent when empty), and
 *   drops the signal handlers.
 */
function openStaging(staging: string, client: QueueClient): () => void {
  sweepStaleStaging(path.dirname(staging));
  fs.mkdirSync(staging, { recursive: true });
  fs.writeFileSync(heartbeat(staging), '');
  const onSignal = (signal: NodeJS.Signals) => {
    cleanUp();
    process.kill(process.pid, signal);
  };
  const cleanUp = () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    void client.close();
    fs.rmSync(staging, { recursive: true, force: true });
    removeIfEmpty(path.dirname(staging));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  return cleanUp;
}

/**
 * Loads K-Means training data onto the workers through the queue at `url` and returns it as
 * KMeansData whose Lloyd steps run there (sumsOf). Its sample is the one loadKMeansData
 * draws on one host from the same seed. Mini-batch mode is refused (it streams batches
 * through one backend).
 * @throws UserError when Redis does not answer or a worker finds bad input (its message);
 *   Error naming the shard when one fails after its attempts.
 */
export async function loadKMeansOnQueue(url: string, data: Dataset, t: FittedTransform, opts: QueueLoadOptions): Promise<KMeansData> {
  const progress = opts.progress ?? silentProgress;
  const shards = await planShards(data, opts.shardRows ?? DEFAULT_SHARD_ROWS);
  const rows = shards.reduce((n, s) => n + s.end - s.start, 0);
  const d = t.outputs.length;
  const rng = sampleRng(opts.seed);
  const picks = pickSample(shards, reservoirRows(rows, opts.sampleSize, rng));
  const client = await QueueClient.open(url);
  const cleanUp = openStaging(opts.staging, client);
  const run = randomUUID().slice(0, 8);
  try {
    const inputs = data.tables.map((table) => path.resolve(table.path));
    let loaded = 0;
    const stats = await client.run<LoadJob, ShardStats>(
      shards.map((shard, i) => ({ id: `${run}-load-${i}`, name: KMEANS_LOAD, label: `K-Means shard ${i}`, data: { inputs, roots: opts.roots, transform: t, shard, staging: opts.staging, pick: picks[i] } })),
      { onResult: (r) => progress.update((loaded += r.rows), rows), onWaiting: opts.onWaiting },
    );
    const { sum, sumSq, sqNormSum } = addShardStats(stats, shards, d);
    const sampleRows = Math.min(rows, opts.sampleSize);
    const sample = placeSample(
      shards.map((_, i) => readFloat32File(sampleFile(opts.staging, i))),
      picks,
      sampleRows,
      d,
      rng,
    );
    const meanVariance = meanVarianceOf(sum, sumSq, rows);
    let steps = 0;
    return {
      rows,
      cols: d,
      resident: true,
      sqNormSum,
      meanVariance,
      sample,
      sampleRows,
      where: `${shards.length} shard(s) on the workers`,
      async sumsOf(centroids, k) {
        const step = ++steps;
        const now = new Date();
        fs.utimesSync(heartbeat(opts.staging), now, now);
        const parts = await client.run<StepJob, SumsAndCounts>(
          shards.map((_, i) => ({
            id: `${run}-step-${step}-${i}`,
            name: KMEANS_STEP,
            label: `K-Means shard ${i} (iteration ${step})`,
            data: { file: partFile(opts.staging, i), rows: stats[i].rows, cols: d, k, centroids: Array.from(centroids) },
          })),
          { onWaiting: opts.onWaiting },
        );
        return addParts(parts, k, d);
      },
      async forEachBatch() {
        throw new UserError('mini-batch K-Means runs on one host: use --mode lloyd (or auto) with REDIS_URL, or train without REDIS_URL');
      },
      dispose: cleanUp,
    };
  } catch (err) {
    cleanUp();
    throw err;
  }
}

/**
 * Worker side of a load job: reads the shard's rows through the transform, writes them
 * (rows x D float32) and the sample's rows to the staging folder, returns the sums.
 */
export async function kmeansLoad(job: LoadJob): Promise<ShardStats> {
  if (!fs.existsSync(job.staging)) throw new UserError(`the training's staging folder ${job.staging} is gone (cancelled), or this worker does not see the model store at the same path`);
  const data = await openDataset(await openableInputs(job.roots, job.inputs));
  const table = data.tables[job.shard.table];
  const d = job.transform.outputs.length;
  const acc = new ShardAccumulator(d, job.pick.rows);
  const file = partFile(job.staging, job.shard.index);
  const tmp = `${file}.${process.pid}.tmp`;
  const fd = fs.openSync(tmp, 'w');
  try {
    for await (const batch of table.read(columnRequest(job.transform), { range: { start: job.shard.start, end: job.shard.end } })) {
      const block = transform(job.transform, batch);
      acc.addRows(block);
      fs.writeSync(fd, new Uint8Array(block.data.buffer, block.data.byteOffset, block.rows * d * 4));
    }
  } catch (err) {
    throw namingFile(err, tmp); // a full store: the message names the file
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
  writeFileNamed(sampleFile(job.staging, job.shard.index), new Uint8Array(acc.kept.buffer));
  return acc.result();
}

/** Shards' rows resident on this worker's backend, by file, oldest first. */
const resident = new Map<string, { batches: tf.Tensor2D[]; rows: number[]; bytes: number }>();

/** The rows of a shard file as [X | 1] batches, loaded once and kept while memory allows. */
function residentRows(job: StepJob) {
  const hit = resident.get(job.file);
  if (hit) return hit;
  // Shards of trainings that ended (their files removed) go first, then the oldest.
  for (const [file, entry] of resident) if (!fs.existsSync(file)) drop(file, entry);
  const bytes = job.rows * (job.cols + 1) * 4;
  for (const [file, entry] of resident) {
    if ([...resident.values()].reduce((n, e) => n + e.bytes, 0) + bytes <= residentBudgetBytes()) break;
    drop(file, entry);
  }
  if (!fs.existsSync(job.file)) throw new UserError(`${job.file}: the training's rows are gone (cancelled), or this worker does not see the model store at the same path`);
  const x = readFloat32File(job.file);
  if (x.length !== job.rows * job.cols) throw new Error(`${job.file}: ${x.length} values; expected ${job.rows} x ${job.cols}`);
  const entry = { ...shardBatches(x, job.rows, job.cols, job.k), bytes };
  resident.set(job.file, entry);
  return entry;
}

function drop(file: string, entry: { batches: tf.Tensor2D[] }): void {
  disposeAll(entry.batches);
  resident.delete(file);
}

/** Worker side of a Lloyd step: per-cluster sums (K x D) and counts of the shard's rows. */
export async function kmeansStep(job: StepJob): Promise<SumsAndCounts> {
  return stepSums(residentRows(job), job.rows, job.cols, Float32Array.from(job.centroids), job.k);
}

/** The queue handlers a worker registers for K-Means training. */
export const KMEANS_HANDLERS = { [KMEANS_LOAD]: kmeansLoad, [KMEANS_STEP]: kmeansStep } as Record<string, (data: never) => Promise<unknown>>;

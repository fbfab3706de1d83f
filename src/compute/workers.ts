/**
 * Compute workers: each is a thread with its own tfjs backend (on the CPU, wasm is single-
 * threaded in Node, so one backend per core is how more cores help). Requests and replies
 * are matched by id; typed arrays in a request can be transferred, not copied.
 *
 * This is an actor, not a task pool, on purpose: K-Means keeps each thread's partition of the
 * resident rows in that thread's backend across every Lloyd iteration (models/kmeans), so
 * each request must reach the same thread. Work without pinned state (score shards) runs as
 * Piscina tasks (execution/shard-pool.ts).
 */
import os from 'node:os';
import { parentPort, Worker } from 'node:worker_threads';
import { tf } from './backend.js';
import { envWorkers } from '../util/workers-env.js';
import { decodeError, encodeError, errorCode, errorMessage } from '../util/errors.js';

export interface WorkerHandle {
  call<T>(type: string, payload: unknown, transfer?: ArrayBuffer[]): Promise<T>;
  terminate(): Promise<void>;
}

const BOOT = new URL('./worker-boot.mjs', import.meta.url);

/**
 * Starts a compute worker thread running `entry` (a TypeScript module that calls
 * serveRequests), on `backend` (default: the environment's choice).
 */
export function startWorker(entry: URL, backend?: string): WorkerHandle {
  const worker = new Worker(BOOT, { workerData: { entry: entry.href }, env: { ...process.env, ...(backend && { AUDIENCE_BACKEND: backend }) } });
  worker.unref(); // never keeps the process alive by itself
  let next = 0;
  const waiting = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  const failAll = (err: Error) => {
    for (const w of waiting.values()) w.reject(err);
    waiting.clear();
  };
  worker.on('message', (m: { id: number; ok: boolean; result?: unknown; error?: string }) => {
    const w = waiting.get(m.id);
    waiting.delete(m.id);
    if (m.ok) w?.resolve(m.result);
    else w?.reject(decodeError(m.error!) ?? new Error(m.error));
  });
  worker.on('error', failAll);
  worker.on('exit', (code) => failAll(new Error(`compute worker exited (${code})`)));
  return {
    call<T>(type: string, payload: unknown, transfer: ArrayBuffer[] = []) {
      const id = next++;
      return new Promise<T>((resolve, reject) => {
        waiting.set(id, { resolve: resolve as (v: unknown) => void, reject });
        worker.ref(); // busy: keep the process alive until the reply
        worker.postMessage({ id, type, payload }, transfer);
      }).finally(() => {
        if (waiting.size === 0) worker.unref();
      });
    },
    async terminate() {
      await worker.terminate();
    },
  };
}

/** In a worker: answers requests with the handler registered for their type. */
export function serveRequests(handlers: Record<string, (payload: never) => Promise<{ result: unknown; transfer?: ArrayBuffer[] }>>): void {
  if (!parentPort) throw new Error('serveRequests must run in a worker thread');
  const port = parentPort;
  port.on('message', async (m: { id: number; type: string; payload: unknown }) => {
    try {
      const handler = handlers[m.type];
      if (!handler) throw new Error(`unknown request ${m.type}`);
      const { result, transfer } = await handler(m.payload as never);
      port.postMessage({ id: m.id, ok: true, result }, transfer ?? []);
    } catch (err) {
      // An error of ours keeps its kind across the thread boundary (util/errors.ts encodeError): bad input stays bad input.
      port.postMessage({ id: m.id, ok: false, error: errorCode(err) === 'AE_INTERNAL' ? errorMessage(err) : encodeError(err) });
    }
  });
}

/**
 * How many compute workers a job of `rows` rows should use: one per core on the CPU backends
 * (wasm runs one thread per backend), none on a GPU or for small jobs, where starting them
 * (~0.5 s each) costs more than it saves. AUDIENCE_WORKERS overrides.
 */
export function computeWorkers(rows: number | undefined): number {
  return envWorkers() ?? autoWorkers(rows);
}

/** computeWorkers' rule without the AUDIENCE_WORKERS override: one per core (8 at most) on the CPU backends from 200,000 rows, else none. */
export function autoWorkers(rows: number | undefined): number {
  const backend = tf.getBackend();
  if ((backend !== 'wasm' && backend !== 'cpu') || rows === undefined || rows < 200_000) return 0;
  return Math.min(8, os.cpus().length);
}

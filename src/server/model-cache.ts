/**
 * Models loaded once per server for the request paths (POST /v1/score, the online view), kept
 * by their pinned `name@version` (versions are immutable, so a cached one never goes stale). A
 * reference without a version (`name`, `name@latest`) is resolved against the store at most
 * once per RESOLVE_TTL_MS, so a promotion is seen within that time. At most MAX_CACHED_MODELS
 * are held; the least recently used is released beyond that. A list of models scored together
 * keeps its RowScorer (their joined graph) the same way, by the pinned versions in its order.
 */
import { loadScoringModel, pinnedRef } from '../models/load.js';
import type { ScoringModel } from '../models/model.js';
import type { ModelStore } from '../models/registry.js';
import { MAX_CACHED_MODELS } from './limits.js';
import { RowScorer } from './row-scorer.js';

/** How long a `name` or `name@latest` keeps resolving to the version found (ms). */
export const RESOLVE_TTL_MS = 1000;

/** Scoring models by pinned reference, loaded on the onnx engine (tfjs for kinds without a graph), one onnxruntime thread each (requests are one or a few rows). */
export class ModelCache {
  private readonly loaded = new Map<string, Promise<ScoringModel>>();

  private readonly resolved = new Map<string, { pinned: string; at: number }>();

  /** Row scorers by their models' pinned references joined with a space. */
  private readonly scorers = new Map<string, Promise<RowScorer>>();

  constructor(private readonly store: ModelStore) {}

  /** The pinned `name@version` a reference means now. @throws UserError for an unknown model or version. */
  pin(ref: string): string {
    if (/@[0-9]+$/.test(ref) && this.loaded.has(ref)) return ref;
    const hit = this.resolved.get(ref);
    const now = Date.now();
    if (hit && now - hit.at < RESOLVE_TTL_MS) return hit.pinned;
    const { name, version } = this.store.resolve(ref);
    const pinned = `${name}@${version}`;
    this.resolved.set(ref, { pinned, at: now });
    if (this.resolved.size > 4 * MAX_CACHED_MODELS) this.resolved.delete(this.resolved.keys().next().value!);
    return pinned;
  }

  /** The loaded model a reference means now (loaded on first use). @throws UserError as `pin`, or the loader's errors. */
  async get(ref: string): Promise<ScoringModel> {
    const pinned = this.pin(ref);
    const hit = used(this.loaded, pinned);
    if (hit) return hit;
    const model = this.own(pinned);
    this.loaded.set(pinned, model);
    model.catch(() => this.loaded.delete(pinned));
    if (this.loaded.size > MAX_CACHED_MODELS) {
      const [oldest, evicted] = this.loaded.entries().next().value!;
      this.loaded.delete(oldest);
      for (const key of [...this.scorers.keys()]) if (key.split(' ').includes(oldest)) this.dropScorer(key);
      void evicted.then((m) => m.dispose()).catch(() => undefined);
    }
    return model;
  }

  /**
   * The model a reference means now, loaded for a caller that keeps it for its life (the online
   * view): not cached, so never released under it; the caller disposes it.
   * @throws UserError as `pin`, or the loader's errors.
   */
  own(ref: string): Promise<ScoringModel> {
    return loadScoringModel(this.store, this.pin(ref), { engine: 'onnx', threads: 1 });
  }

  /**
   * The row scorer of the models `refs` mean now, in that order (made on first use).
   * @throws UserError as `get`, or when two of the models write the same column (RowScorer.create).
   */
  async scorer(refs: string[]): Promise<RowScorer> {
    const models = await Promise.all(refs.map((ref) => this.get(ref)));
    const key = models.map(pinnedRef).join(' ');
    const hit = used(this.scorers, key);
    if (hit) return hit;
    const scorer = RowScorer.create(models);
    this.scorers.set(key, scorer);
    scorer.catch(() => this.scorers.delete(key));
    if (this.scorers.size > MAX_CACHED_MODELS) this.dropScorer(this.scorers.keys().next().value!);
    return scorer;
  }

  private dropScorer(key: string): void {
    const scorer = this.scorers.get(key);
    this.scorers.delete(key);
    void scorer?.then((s) => s.dispose()).catch(() => undefined);
  }

  /** Releases every loaded model (the server closes). */
  async close(): Promise<void> {
    for (const key of [...this.scorers.keys()]) this.dropScorer(key);
    const all = [...this.loaded.values()];
    this.loaded.clear();
    for (const m of await Promise.allSettled(all)) if (m.status === 'fulfilled') m.value.dispose();
  }
}

/** The entry of `key`, moved last (most recently used last, so the first key is the one to release). */
function used<V>(map: Map<string, V>, key: string): V | undefined {
  const value = map.get(key);
  if (value === undefined) return undefined;
  map.delete(key);
  map.set(key, value);
  return value;
}

/**
 * Models loaded once per server for the request paths (POST /v1/score, the online view), kept
 * by their pinned `name@version` (versions are immutable, so a cached one never goes stale). A
 * reference without a version (`name`, `name@latest`) is resolved against the store at most
 * once per RESOLVE_TTL_MS, so a promotion is seen within that time. At most MAX_CACHED_MODELS
 * are held; the least recently used is released beyond that.
 */
import { loadScoringModel } from '../models/load.js';
import type { ScoringModel } from '../models/model.js';
import type { ModelStore } from '../models/registry.js';
import { MAX_CACHED_MODELS } from './limits.js';

/** How long a `name` or `name@latest` keeps resolving to the version found (ms). */
export const RESOLVE_TTL_MS = 1000;

/** Scoring models by pinned reference, loaded on the onnx engine (tfjs for kinds without a graph), one onnxruntime thread each (requests are one or a few rows). */
export class ModelCache {
  private readonly loaded = new Map<string, Promise<ScoringModel>>();

  private readonly resolved = new Map<string, { pinned: string; at: number }>();

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
    let model = this.loaded.get(pinned);
    if (model) {
      // Most recently used last, so the first key is the one to release.
      this.loaded.delete(pinned);
      this.loaded.set(pinned, model);
      return model;
    }
    model = loadScoringModel(this.store, pinned, { engine: 'onnx', threads: 1 });
    this.loaded.set(pinned, model);
    model.catch(() => this.loaded.delete(pinned));
    if (this.loaded.size > MAX_CACHED_MODELS) {
      const [oldest, evicted] = this.loaded.entries().next().value!;
      this.loaded.delete(oldest);
      void evicted.then((m) => m.dispose()).catch(() => undefined);
    }
    return model;
  }

  /** Releases every loaded model (the server closes). */
  async close(): Promise<void> {
    const all = [...this.loaded.values()];
    this.loaded.clear();
    for (const m of await Promise.allSettled(all)) if (m.status === 'fulfilled') m.value.dispose();
  }
}

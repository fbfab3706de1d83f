/**
 * Models loaded once per server for the request paths (POST /v1/score, the online view), kept
 * by their pinned `name@version` (versions are immutable, so a cached one never goes stale). A
 * reference without a version (`name`, `name@latest`) is resolved against the store at most
 * once per RESOLVE_TTL_MS, so a promotion is seen within that time. At most `max` models
 * (MAX_CACHED_MODELS) are held; the least recently used is let go beyond that. A list of
 * models scored together keeps its RowScorer (their joined graph) the same way, by the pinned
 * versions in its order. A request holds what it scores with for its whole length
 * (`withScorer`): what is let go meanwhile is released only when its last request ends.
 */
import { loadScoringModel, pinnedRef } from '../models/load.js';
import type { ScoringModel } from '../models/model.js';
import type { ModelStore } from '../models/registry.js';
import { MAX_CACHED_MODELS } from './limits.js';
import { RowScorer } from './row-scorer.js';

/** How long a `name` or `name@latest` keeps resolving to the version found (ms). */
export const RESOLVE_TTL_MS = 1000;

/** A cached value, the requests using it now (counted by ModelCache.hold), and whether the cache has let it go: released when both say so. */
class Held<T extends { dispose(): unknown }> {
  users = 0;

  dropped = false;

  constructor(readonly value: Promise<T>) {}

  give(): void {
    this.users--;
    this.releaseIfIdle();
  }

  drop(): void {
    this.dropped = true;
    this.releaseIfIdle();
  }

  private releaseIfIdle(): void {
    if (this.dropped && this.users === 0) void this.value.then((v) => v.dispose()).catch(() => undefined);
  }
}

/** Scoring models by pinned reference, loaded on the onnx engine (tfjs for kinds without a graph), one onnxruntime thread each (requests are one or a few rows). */
export class ModelCache {
  private readonly loaded = new Map<string, Held<ScoringModel>>();

  private readonly resolved = new Map<string, { pinned: string; at: number }>();

  /** Row scorers by their models' pinned references joined with a space. */
  private readonly scorers = new Map<string, Held<RowScorer>>();

  /** @param max models (and, apart, row scorers) held at most (MAX_CACHED_MODELS). */
  constructor(
    private readonly store: ModelStore,
    private readonly max = MAX_CACHED_MODELS,
  ) {}

  /** The pinned `name@version` a reference means now. @throws UserError for an unknown model or version. */
  pin(ref: string): string {
    if (/@[0-9]+$/.test(ref) && this.loaded.has(ref)) return ref;
    const hit = this.resolved.get(ref);
    const now = Date.now();
    if (hit && now - hit.at < RESOLVE_TTL_MS) return hit.pinned;
    const { name, version } = this.store.resolve(ref);
    const pinned = `${name}@${version}`;
    this.resolved.set(ref, { pinned, at: now });
    if (this.resolved.size > 4 * this.max) this.resolved.delete(this.resolved.keys().next().value!);
    return pinned;
  }

  /**
   * The model a reference means now, loaded for a caller that keeps it for its life (the online
   * view): not cached, so never released under it; the caller disposes it.
   * @throws UserError as `pin`, or the loader's errors.
   */
  own(ref: string): Promise<ScoringModel> {
    return this.load(this.pin(ref));
  }

  /** The pinned version `pinned` loaded as the request paths score: onnx engine, one onnxruntime thread. */
  private load(pinned: string): Promise<ScoringModel> {
    return loadScoringModel(this.store, pinned, { engine: 'onnx', threads: 1 });
  }

  /**
   * Runs `fn` with the row scorer of the models `refs` mean now, in that order (made on first
   * use). The scorer and its models are held until `fn` settles: a cache that lets them go
   * meanwhile (more than `max` others used since) releases them after.
   * @returns what `fn` returns.
   * @throws UserError as `pin`, the loader's errors, or when two of the models write the same
   *   column (RowScorer.create); what `fn` throws.
   */
  async withScorer<R>(refs: string[], fn: (scorer: RowScorer) => Promise<R>): Promise<R> {
    const held: Array<Held<{ dispose(): unknown }>> = [];
    try {
      const models = refs.map((ref) => {
        const model = this.hold(this.loaded, this.pin(ref), (pinned) => this.load(pinned), (gone) => this.dropScorersOf(gone));
        held.push(model);
        return model.value;
      });
      const loaded = await Promise.all(models);
      const key = loaded.map(pinnedRef).join(' ');
      const scorer = this.hold(this.scorers, key, () => RowScorer.create(loaded));
      held.push(scorer);
      // A model let go meanwhile (more than `max` others asked for since) takes this scorer with it.
      if (held.some((h) => h.dropped) && this.scorers.get(key) === scorer) {
        this.scorers.delete(key);
        scorer.drop();
      }
      return await fn(await scorer.value);
    } finally {
      for (const h of held) h.give();
    }
  }

  /**
   * The entry of `key` in `map`, taken by one more user (give it back with `give`): made with
   * `make` on first use (an entry that fails is forgotten); beyond `max` the least recently
   * used is let go (`onDrop` is told its key), released once its users are done.
   */
  private hold<T extends { dispose(): unknown }>(map: Map<string, Held<T>>, key: string, make: (key: string) => Promise<T>, onDrop?: (key: string) => void): Held<T> {
    const hit = map.get(key);
    if (hit) {
      hit.users++;
      map.delete(key); // most recently used last
      map.set(key, hit);
      return hit;
    }
    const held = new Held(make(key));
    held.users++;
    map.set(key, held);
    held.value.catch(() => map.get(key) === held && map.delete(key));
    if (map.size > this.max) {
      const [oldest, gone] = map.entries().next().value!;
      map.delete(oldest);
      gone.drop();
      onDrop?.(oldest);
    }
    return held;
  }

  /** Lets go of the row scorers that use the model `pinned`. */
  private dropScorersOf(pinned: string): void {
    for (const [key, held] of [...this.scorers]) {
      if (!key.split(' ').includes(pinned)) continue;
      this.scorers.delete(key);
      held.drop();
    }
  }

  /** Releases every loaded model and scorer (the server closes: no request is running). */
  async close(): Promise<void> {
    const all: Array<Held<{ dispose(): unknown }>> = [...this.scorers.values(), ...this.loaded.values()];
    this.scorers.clear();
    this.loaded.clear();
    for (const held of all) held.drop();
    await Promise.allSettled(all.map((h) => h.value));
  }
}

/**
 * Two versions of a model side by side (`audience models diff`): numeric metrics with their
 * deltas, parameters that changed, the data and feature fingerprints, and, on a sample of
 * visitors scored by both, the share whose segment or bucket changed.
 */
import { columnRequest, transform } from '../features/transform.js';
import type { Dataset } from '../io/dataset.js';
import { UserError } from '../util/errors.js';
import { bucketOf, type ScoringModel } from './model.js';
import type { Manifest } from './registry.js';

export interface ModelDiff {
  a: { name: string; version: number; kind: string; createdAt: string };
  b: { name: string; version: number; kind: string; createdAt: string };
  /** Numeric metrics (dotted paths; lists such as histories are left out); null where a version lacks one. */
  metrics: Array<{ metric: string; a: number | null; b: number | null; delta: number | null }>;
  /** Parameters whose values differ. */
  params: Array<{ param: string; a: unknown; b: unknown }>;
  data: Array<{ field: string; a: string | number; b: string | number; same: boolean }>;
  sample?: { rows: number; changed: Array<{ output: string; share: number }> };
}

/** Numeric leaves of an object as dotted paths, to `depth` levels (arrays are not entered). */
function numericLeaves(value: unknown, prefix = '', depth = 4, out = new Map<string, number>()): Map<string, number> {
  if (typeof value === 'number' && Number.isFinite(value)) out.set(prefix, value);
  else if (value && typeof value === 'object' && !Array.isArray(value) && depth > 0) {
    for (const [k, v] of Object.entries(value)) numericLeaves(v, prefix ? `${prefix}.${k}` : k, depth - 1, out);
  }
  return out;
}

/**
 * Metrics, parameters and data of two manifests of the same model kind.
 * @throws UserError when the kinds differ.
 */
export function diffManifests(a: Manifest, b: Manifest): ModelDiff {
  if (a.kind !== b.kind) throw new UserError(`${a.name}@${a.version} is a ${a.kind} model and ${b.name}@${b.version} a ${b.kind} model: compare versions of one kind`);
  const ma = numericLeaves(a.metrics);
  const mb = numericLeaves(b.metrics);
  const metrics = [...new Set([...ma.keys(), ...mb.keys()])].map((metric) => {
    const x = ma.get(metric) ?? null;
    const y = mb.get(metric) ?? null;
    return { metric, a: x, b: y, delta: x !== null && y !== null ? y - x : null };
  });
  const keys = [...new Set([...Object.keys(a.params), ...Object.keys(b.params)])];
  const params = keys.filter((k) => JSON.stringify(a.params[k]) !== JSON.stringify(b.params[k])).map((param) => ({ param, a: a.params[param] ?? null, b: b.params[param] ?? null }));
  const field = (name: string, x: string | number, y: string | number) => ({ field: name, a: x, b: y, same: x === y });
  const data = [
    field('rows', a.data.rows, b.data.rows),
    field('inputs', a.data.inputs.join(', '), b.data.inputs.join(', ')),
    field('data fingerprint', a.data.fingerprint, b.data.fingerprint),
    field('features', a.features.features.map((f) => f.name).join(', '), b.features.features.map((f) => f.name).join(', ')),
    field('model inputs', a.features.outputs.length, b.features.outputs.length),
  ];
  const head = (m: Manifest) => ({ name: m.name, version: m.version, kind: m.kind, createdAt: m.createdAt });
  return { a: head(a), b: head(b), metrics, params, data };
}

/** Each value's bucket within `values` (mid-rank percentile, as the finalize computes it within the scored population). */
function bucketsWithin(values: number[]): string[] {
  const sorted = Float64Array.from(values).sort();
  const bound = (v: number, strict: boolean) => {
    let lo = 0;
    let hi = sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (strict ? sorted[mid] < v : sorted[mid] <= v) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  return values.map((v) => {
    const below = bound(v, true);
    return bucketOf((100 * (below + (bound(v, false) - below) / 2)) / sorted.length);
  });
}

/**
 * Scores the first `rows` visitors of `data` with both versions and returns, for each
 * segment output and each ranked output (its bucket within the sample), the share of
 * visitors whose value changed.
 */
export async function compareOnSample(a: ScoringModel, b: ScoringModel, data: Dataset, rows: number): Promise<NonNullable<ModelDiff['sample']>> {
  const request = columnRequest(a.transform, columnRequest(b.transform));
  const outputs = new Map<string, { a: unknown[]; b: unknown[] }>();
  let seen = 0;
  for await (const batch of data.read(request)) {
    const n = Math.min(batch.rows, rows - seen);
    for (const [side, m] of [['a', a], ['b', b]] as const) {
      const scored = await m.score(transform(m.transform, batch));
      for (const [name, values] of Object.entries(scored)) {
        const o = outputs.get(name) ?? { a: [], b: [] };
        o[side].push(...Array.from(values as ArrayLike<unknown>).slice(0, n));
        outputs.set(name, o);
      }
    }
    seen += n;
    if (seen >= rows) break;
  }
  const changed: Array<{ output: string; share: number }> = [];
  const share = (x: unknown[], y: unknown[]) => x.reduce<number>((s, v, i) => s + (v === y[i] ? 0 : 1), 0) / Math.max(1, x.length);
  for (const [name, o] of outputs) if (name.endsWith('_segment')) changed.push({ output: name, share: share(o.a, o.b) });
  for (const r of a.ranked ?? []) {
    const o = outputs.get(r.source);
    if (o && r.bucket) changed.push({ output: r.bucket, share: share(bucketsWithin(o.a as number[]), bucketsWithin(o.b as number[])) });
  }
  return { rows: seen, changed };
}

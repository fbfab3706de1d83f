/**
 * Profiles of groups of visitors (segments, audiences): each feature's mean, rate or share
 * in the group vs the population, in original units, most distinguishing features first.
 * Distinctiveness is a standardized difference, so counts, rates and categories compare.
 */
import { fmtCount } from '../util/progress.js';
import type { ColumnBatch } from '../io/columns.js';
import { numberColumn } from '../io/columns.js';
import { booleanValues, levelColumn, modelValue, OTHER, type FittedCategorical, type FittedTransform } from '../features/transform.js';
import { levelIndex } from '../io/levels.js';

export interface ProfileEntry {
  /** Feature name, or `feature=level` for a category level. */
  feature: string;
  kind: 'numeric' | 'boolean' | 'category';
  /** Group mean (numeric, original units) or share (boolean true rate, category level share). */
  value: number;
  population: number;
  /** (group - population) / population spread: the ranking key. */
  score: number;
}

export interface GroupProfile {
  group: number;
  size: number;
  share: number;
  /** Sorted by |score|, largest first. */
  entries: ProfileEntry[];
}

interface NumericAcc {
  name: string;
  log: boolean;
  sum: Float64Array;
  count: Float64Array;
  modelSum: Float64Array;
  modelSq: Float64Array;
}

/** Per-feature totals of one group (see GroupProfiler.setTotals). */
export interface ProfileTotals {
  numeric: Record<string, [number, number, number, number]>;
  boolean: Record<string, [number, number]>;
  categorical: Record<string, Record<string, number>>;
}

/** Accumulates per-group feature statistics over batches, to say what sets each group (segment, audience) apart from the population. */
export class GroupProfiler {
  private readonly sizes: Float64Array;
  private rows = 0;
  private readonly numeric: NumericAcc[] = [];
  private readonly boolean: Array<{ name: string; ones: Float64Array; valid: Float64Array }> = [];
  private readonly categorical: Array<{ name: string; feature: FittedCategorical; levels: Map<string, number>; counts: Float64Array[] }> = [];

  constructor(
    t: FittedTransform,
    private readonly groups: number,
  ) {
    this.sizes = new Float64Array(groups);
    const z = () => new Float64Array(groups + 1); // last slot: the population
    for (const f of t.features) {
      if (f.kind === 'numeric') this.numeric.push({ name: f.name, log: f.log, sum: z(), count: z(), modelSum: z(), modelSq: z() });
      else if (f.kind === 'boolean') this.boolean.push({ name: f.name, ones: z(), valid: z() });
      else {
        const levels = levelIndex(f.levels);
        const width = f.levels.length + 1; // + (other)
        this.categorical.push({ name: f.name, feature: f, levels, counts: Array.from({ length: width }, z) });
      }
    }
  }

  /** Adds a batch of raw rows with their group labels (-1: in no group, still in the population). */
  add(batch: ColumnBatch, labels: ArrayLike<number>): void {
    const pop = this.groups;
    this.rows += batch.rows;
    for (let i = 0; i < batch.rows; i++) if (labels[i] >= 0) this.sizes[labels[i]]++;
    for (const acc of this.numeric) {
      const col = numberColumn(batch, acc.name);
      for (let i = 0; i < batch.rows; i++) {
        const m = modelValue(col[i], acc.log);
        if (Number.isNaN(m)) continue;
        for (const g of [labels[i], pop]) {
          if (g < 0) continue;
          acc.sum[g] += col[i];
          acc.count[g]++;
          acc.modelSum[g] += m;
          acc.modelSq[g] += m * m;
        }
      }
    }
    for (const acc of this.boolean) {
      const vals = booleanValues(batch, acc.name);
      for (let i = 0; i < batch.rows; i++) {
        if (Number.isNaN(vals[i])) continue;
        for (const g of [labels[i], pop]) {
          if (g < 0) continue;
          acc.ones[g] += vals[i];
          acc.valid[g]++;
        }
      }
    }
    for (const acc of this.categorical) {
      const codes = levelColumn(batch, acc.feature);
      const other = acc.counts.length - 1;
      for (let i = 0; i < batch.rows; i++) {
        const level = Math.min(codes[i], other); // unseen: "(other)"'s slot
        if (labels[i] >= 0) acc.counts[level][labels[i]]++;
        acc.counts[level][pop]++;
      }
    }
  }

  /**
   * Sets one slot's totals computed elsewhere (in SQL over the scored rows): `slot` is a group,
   * or `groups` for the population; `rows` its size. Numeric: [sum of values, count, sum and
   * sum of squares of model values] over rows with a model value; boolean: [ones, valid];
   * categorical: rows per level text ("(missing)" for nulls; unknown levels count as other).
   */
  setTotals(slot: number, rows: number, totals: ProfileTotals): void {
    if (slot === this.groups) this.rows = rows;
    else this.sizes[slot] = rows;
    for (const acc of this.numeric) {
      const t = totals.numeric[acc.name];
      if (t) [acc.sum[slot], acc.count[slot], acc.modelSum[slot], acc.modelSq[slot]] = t;
    }
    for (const acc of this.boolean) {
      const t = totals.boolean[acc.name];
      if (t) [acc.ones[slot], acc.valid[slot]] = t;
    }
    for (const acc of this.categorical) {
      const other = acc.counts.length - 1;
      for (const c of acc.counts) c[slot] = 0;
      for (const [level, n] of Object.entries(totals.categorical[acc.name] ?? {})) acc.counts[acc.levels.get(level) ?? other][slot] += n;
    }
  }

  result(): GroupProfile[] {
    const pop = this.groups;
    const popRows = this.rows;
    const out: GroupProfile[] = [];
    for (let g = 0; g < this.groups; g++) {
      const entries: ProfileEntry[] = [];
      for (const acc of this.numeric) {
        if (acc.count[g] === 0 || acc.count[pop] === 0) continue;
        const popModelMean = acc.modelSum[pop] / acc.count[pop];
        const popModelStd = Math.sqrt(Math.max(0, acc.modelSq[pop] / acc.count[pop] - popModelMean ** 2));
        const groupModelMean = acc.modelSum[g] / acc.count[g];
        entries.push({
          feature: acc.name,
          kind: 'numeric',
          value: acc.sum[g] / acc.count[g],
          population: acc.sum[pop] / acc.count[pop],
          score: popModelStd > 0 ? (groupModelMean - popModelMean) / popModelStd : 0,
        });
      }
      for (const acc of this.boolean) {
        if (acc.valid[g] === 0 || acc.valid[pop] === 0) continue;
        entries.push(shareEntry(acc.name, 'boolean', acc.ones[g] / acc.valid[g], acc.ones[pop] / acc.valid[pop]));
      }
      for (const acc of this.categorical) {
        const names = [...acc.levels.keys(), OTHER];
        acc.counts.forEach((counts, level) => {
          if (counts[pop] === 0 || this.sizes[g] === 0) return;
          entries.push(shareEntry(`${acc.name}=${names[level]}`, 'category', counts[g] / this.sizes[g], counts[pop] / popRows));
        });
      }
      entries.sort((a, b) => Math.abs(b.score) - Math.abs(a.score));
      out.push({ group: g, size: this.sizes[g], share: popRows > 0 ? this.sizes[g] / popRows : 0, entries });
    }
    return out;
  }
}

function shareEntry(feature: string, kind: 'boolean' | 'category', value: number, population: number): ProfileEntry {
  const spread = Math.sqrt(population * (1 - population));
  return { feature, kind, value, population, score: spread > 0 ? (value - population) / spread : 0 };
}

/** One line per entry, in words: "ProductRelated: 48.2 (2.1x the average 23.0)". */
export function describeEntry(e: ProfileEntry): string {
  const fmt = (v: number) => (Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 1 ? v.toFixed(1) : v.toFixed(3));
  if (e.kind === 'numeric') {
    const ratio = e.population !== 0 ? e.value / e.population : NaN;
    const times = ratio >= 0.995 || ratio === 0 ? ratio.toFixed(1) : ratio.toPrecision(1);
    const rel = Number.isFinite(ratio) && ratio >= 0 ? `${times}x the average ${fmt(e.population)}` : `average ${fmt(e.population)}`;
    return `${e.feature}: ${fmt(e.value)} (${rel})`;
  }
  return `${e.feature}: ${(e.value * 100).toFixed(0)}% (average ${(e.population * 100).toFixed(0)}%)`;
}

/** Segment profiles in words: each segment's size and the features that set it apart, in the data's own units. */
export function formatProfiles(profiles: GroupProfile[], label = 'Segment', top = 5): string {
  const out: string[] = [];
  for (const p of profiles) {
    out.push(`${label} ${p.group}: ${fmtCount(p.size)} visitors (${(p.share * 100).toFixed(1)}%)`);
    const distinct = p.entries.filter((e) => Math.abs(e.score) >= 0.1).slice(0, top);
    if (distinct.length === 0) out.push('  close to the average on every feature');
    for (const e of distinct) out.push(`  ${e.score > 0 ? '+' : '-'} ${describeEntry(e)}`);
  }
  return out.join('\n');
}

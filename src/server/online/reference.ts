/**
 * The reference population of the online view's ranked outputs (percentile, bucket, rank): the
 * scores of a batch run (`audience score`'s output folder, named by the view's `reference`).
 * Percentiles online are computed as the finalize computes them within the scored population
 * (scoring/finalize.ts): the mid-rank percentile 100 x (below + equal / 2) / n over the float32
 * values, here with the visitor's value placed among the reference's n values; a visitor who
 * is in the reference run with the same value (to 1e-6) gets the percentile that run gave it. The rank is
 * 1 + the reference values above the visitor's (batch breaks ties by row order; online a tie
 * takes the best rank of the tied).
 */
import { listValue } from '@duckdb/node-api';
import path from 'node:path';
import { connect, ident } from '../../io/duckdb.js';
import { readScoreManifest } from '../../io/score-manifest.js';
import { pinnedRef } from '../../models/load.js';
import { bucketOf, type RankedOutput, type ScoringModel } from '../../models/model.js';
import { UserError, errorMessage } from '../../util/errors.js';

/** One ranked output's sorted reference values (float32, ascending). */
interface RankedReference {
  /** Its columns, prefixed with the model's name (as ScoringModel.ranked gives them). */
  output: RankedOutput;
  values: Float32Array;
}

/** What a view's reference is, for the visitor view's `reference` field. */
export type ReferenceNote = Record<string, string>;

/** Count of `values` (ascending) below `v`, or at most `v` when `orEqual`. */
function bound(values: Float32Array, v: number, orEqual: boolean): number {
  let lo = 0;
  let hi = values.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (values[mid] < v || (orEqual && values[mid] === v)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Scoring one row and scoring a file's batches may differ in the last float32 bits (the small-
 * batch path): a value within SAME_VALUE (relative) of a reference value is taken as that value,
 * so a visitor of the reference run is placed where that run placed it.
 */
const SAME_VALUE = 1e-6;

/** `v`, or the nearest of `values` (ascending) when it is within SAME_VALUE of it. */
function snap(values: Float32Array, v: number): number {
  const i = bound(values, v, false);
  const near = [values[i - 1], values[i]].filter((x) => x !== undefined).sort((a, b) => Math.abs(a - v) - Math.abs(b - v))[0];
  return near !== undefined && Math.abs(near - v) <= SAME_VALUE * Math.max(1, Math.abs(v)) ? near : v;
}

/** The ranked outputs of the view's models, placed within a batch run's scores. */
export class ScoreReference {
  private constructor(
    private readonly ranked: RankedReference[],
    readonly note: ReferenceNote,
  ) {}

  /** No reference: no ranked output is given. */
  static none(): ScoreReference {
    return new ScoreReference([], {});
  }

  /**
   * Reads the ranked source columns of `models` from a score output folder. Every model with
   * ranked outputs must have been scored in that run at the same version.
   * @throws UserError naming the folder and the model missing from it.
   */
  static async load(folder: string, models: ScoringModel[]): Promise<ScoreReference> {
    let manifest: { models: Array<{ name: string; version: number }>; files: Array<{ path: string }>; rows: number; createdAt: string };
    try {
      manifest = readScoreManifest(folder);
    } catch (err) {
      throw new UserError(`reference ${folder}: ${errorMessage(err)}`);
    }
    const files = manifest.files.map((f) => path.join(folder, f.path));
    const ranked: RankedReference[] = [];
    const note: ReferenceNote = {};
    const con = await connect();
    try {
      for (const m of models.filter((x) => x.ranked?.length)) {
        const ref = pinnedRef(m);
        if (!manifest.models.some((x) => `${x.name}@${x.version}` === ref)) {
          throw new UserError(`reference ${folder}: it scored ${manifest.models.map((x) => `${x.name}@${x.version}`).join(', ')}, not ${ref}, whose percentiles the view would place in it`);
        }
        for (const r of m.ranked!) {
          const src = ident(r.source);
          const eligible = r.excludeIf ? `coalesce(CAST(${ident(r.excludeIf)} AS DOUBLE), 0) = 0 AND ` : '';
          const rows = (await con.runAndReadAll(`SELECT CAST(${src} AS FLOAT) FROM read_parquet($1) WHERE ${eligible}${src} IS NOT NULL AND NOT isnan(CAST(${src} AS DOUBLE)) ORDER BY 1`, [listValue(files)])).getColumns()[0];
          ranked.push({ output: r, values: Float32Array.from(rows as number[]) });
        }
        note[ref] = `the batch scores in ${folder} (${manifest.rows} rows, ${manifest.createdAt})`;
      }
    } finally {
      con.closeSync();
    }
    return new ScoreReference(ranked, note);
  }

  /** The output columns this reference adds (`<model>_percentile`, `_bucket`, `_rank`). */
  columns(): string[] {
    return this.ranked.flatMap((r) => [r.output.percentile, ...(r.output.bucket ? [r.output.bucket] : []), ...(r.output.rank ? [r.output.rank] : [])]);
  }

  /** Ranked visitors of the reference, for a rule's `rank <= N%` (by output column). */
  size(column: string): number {
    return this.ranked.find((r) => r.output.rank === column)?.values.length ?? NaN;
  }

  /** The ranked outputs of one visitor's scores (null where the source is missing or excluded). */
  place(scores: Record<string, unknown>): Record<string, number | string | null> {
    const out: Record<string, number | string | null> = {};
    for (const r of this.ranked) {
      const raw = scores[r.output.source];
      const excluded = r.output.excludeIf !== undefined && Number(scores[r.output.excludeIf]) === 1;
      const v = typeof raw === 'number' && Number.isFinite(raw) && !excluded ? snap(r.values, Math.fround(raw)) : undefined;
      const n = r.values.length;
      const below = v === undefined ? 0 : bound(r.values, v, false);
      const upTo = v === undefined ? 0 : bound(r.values, v, true);
      // A value the reference holds is placed as that run placed it; any other counts itself once, as the finalize counts every ranked row.
      const pct = v === undefined || n === 0 ? null : upTo > below ? Math.fround((100 * (below + (upTo - below) / 2)) / n) : Math.fround((100 * (below + 0.5)) / (n + 1));
      out[r.output.percentile] = pct;
      if (r.output.bucket) out[r.output.bucket] = pct === null ? null : bucketOf(pct);
      if (r.output.rank) out[r.output.rank] = v === undefined ? null : n - upTo + 1;
    }
    return out;
  }
}

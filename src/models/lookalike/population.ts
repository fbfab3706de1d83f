/** The lookalike's population read into memory through the feature transform, each row flagged as a seed or not. */
import { transformedBatches } from '../../features/blocks.js';
import type { FittedTransform } from '../../features/transform.js';
import type { ColumnRequest } from '../../io/columns.js';
import type { Dataset } from '../../io/dataset.js';
import { canonicalId } from '../../io/ids.js';
import { parseBool } from '../../io/number-text.js';
import type { Progress } from '../../util/progress.js';
import { concatRows } from '../../util/matrix.js';
import type { SeedSource } from './seeds.js';

/** Row `i`'s id as the seed list writes it. */
function idString(ids: BigInt64Array | (string | null)[], i: number): string {
  return canonicalId(ids[i]) ?? '';
}

/** Whether a filter column's cell (text, or a number when the column is also a feature) equals the filter value. */
function matches(cell: string | number | null, value: string): boolean {
  if (cell === null || (typeof cell === 'number' && Number.isNaN(cell))) return false;
  const v = String(cell);
  const a = Number(v);
  const b = Number(value);
  if (v.trim() !== '' && value.trim() !== '' && Number.isFinite(a) && Number.isFinite(b)) return a === b;
  const pa = parseBool(v);
  const pb = parseBool(value);
  if (!Number.isNaN(pa) && !Number.isNaN(pb)) return pa === pb;
  return v === value;
}

/**
 * All feature rows in memory (rows x d), with a seed flag per row: seeds by id (a seed list)
 * or by a column's value (a seed filter); the ids found, and those of the list not found.
 */
export async function loadPopulation(data: Dataset, transform: FittedTransform, seeds: SeedSource, progress: Progress) {
  const d = transform.outputs.length;
  const extra: ColumnRequest[] = 'column' in seeds ? [{ name: seeds.column, as: 'text' }] : [];
  const wanted = 'ids' in seeds ? new Set(seeds.ids) : undefined;
  const found = new Set<string>();
  const parts: Float32Array[] = [];
  const flags: Uint8Array[] = [];
  const seedIds: string[] = [];
  let rows = 0;
  for await (const { batch, block } of transformedBatches(data, transform, extra)) {
    const flag = new Uint8Array(block.rows);
    const filter = 'column' in seeds ? (batch.columns.get(seeds.column) as ArrayLike<string | number | null>) : undefined;
    for (let i = 0; i < block.rows; i++) {
      const id = idString(block.ids, i);
      const isSeed = wanted ? wanted.has(id) : matches(filter![i], (seeds as { value: string }).value);
      if (isSeed) {
        flag[i] = 1;
        if (!found.has(id)) seedIds.push(id);
        found.add(id);
      }
    }
    parts.push(block.data);
    flags.push(flag);
    rows += block.rows;
    progress.update(rows, data.rowCount);
  }
  const { x, y: isSeed } = concatRows(parts, flags, d);
  const missing = wanted ? [...wanted].filter((id) => !found.has(id)) : [];
  return { x, isSeed, d, rows, seedIds, missing, given: wanted ? wanted.size : found.size };
}

/** The population as loadPopulation reads it. */
export type Population = Awaited<ReturnType<typeof loadPopulation>>;

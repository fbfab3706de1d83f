/**
 * Shards: the unit of work of a scoring job. A shard is a row range of one input file,
 * sized to a target row count; for Parquet it is a run of whole row groups, so a shard reads
 * only its own. Shards are planned once per job and stored with it, so a resumed job redoes
 * exactly the shards that were not finished.
 */
import type { Dataset } from '../io/dataset.js';
import { checkRowCounts } from './input-checks.js';
import { DEFAULT_SHARD_ROWS } from './score-options.js';

export interface Shard {
  index: number;
  /** Index of the input file in the dataset's tables. */
  table: number;
  /** Rows [start, end) of that file. */
  start: number;
  end: number;
  /** Row number of the shard's first row across all inputs (the row_id when there is no id column). */
  first: number;
}


/** File row counts; Arrow IPC streams, which do not state theirs, are counted by reading them. */
async function rowCounts(data: Dataset): Promise<number[]> {
  const counts: number[] = [];
  for (const table of data.tables) {
    if (table.rowCount !== undefined) {
      counts.push(table.rowCount);
      continue;
    }
    let n = 0;
    for await (const batch of table.read([])) n += batch.rows;
    counts.push(n);
  }
  return counts;
}

/**
 * Splits the dataset into shards of about `targetRows` rows: whole Parquet row groups, row
 * ranges of CSV files, whole Arrow files.
 * @throws UserError for a Parquet file whose row counts cannot be true (input-checks.ts).
 */
export async function planShards(data: Dataset, targetRows = DEFAULT_SHARD_ROWS): Promise<Shard[]> {
  if (!(targetRows >= 1)) throw new Error(`shard size must be at least 1 row, got ${targetRows}`);
  await checkRowCounts(data);
  const counts = await rowCounts(data);
  const shards: Shard[] = [];
  let first = 0;
  data.tables.forEach((table, t) => {
    // Units a shard is made of: row groups for Parquet, single rows otherwise.
    const units = table.rowGroups ?? [counts[t]];
    const cuts: number[] = [0];
    let pos = 0;
    let since = 0;
    for (const size of units) {
      if (table.rowGroups) {
        pos += size;
        since += size;
        if (since >= targetRows) {
          cuts.push(pos);
          since = 0;
        }
      } else {
        for (let r = targetRows; r < size; r += targetRows) cuts.push(r);
        pos = size;
      }
    }
    if (cuts[cuts.length - 1] !== pos || pos === 0) cuts.push(pos);
    for (let i = 0; i + 1 < cuts.length; i++) {
      shards.push({ index: shards.length, table: t, start: cuts[i], end: cuts[i + 1], first: first + cuts[i] });
    }
    first += counts[t];
  });
  return shards;
}

/**
 * What a score run checks about its inputs beyond their columns: that a file is the one the
 * job planned from while it runs (its fingerprint, io/fingerprint.ts, when each shard opens it
 * and before the finalize), that a Parquet file's row counts can be true before shards are
 * planned from them, and that each shard read the rows it was planned with.
 */
import fs from 'node:fs';
import { listValue } from '@duckdb/node-api';
import type { Dataset } from '../io/dataset.js';
import { connect } from '../io/duckdb.js';
import { fingerprintChange, type FileFingerprint } from '../io/fingerprint.js';
import { UserError } from '../util/errors.js';
import type { Shard } from './shards.js';

/**
 * Fails when a file differs from its fingerprint recorded when the job planned its shards.
 * @throws UserError naming the file: rows of two versions must not be mixed.
 */
export function requireUnchanged(recorded: FileFingerprint[]): void {
  const changed = fingerprintChange(recorded, recorded.map((r) => r.path));
  if (changed) throw new UserError(`an input changed while the job ran: ${changed}. Its shards would mix rows of two versions of the file; resubmit the job to score the new one`);
}

/**
 * Fails a shard that read more or fewer rows than it was planned with (rows [start, end) of
 * its file, from the file's metadata or row count): a Parquet footer whose row counts the
 * data does not hold, or a file that changed under the job.
 * @throws UserError naming the file and both counts.
 */
export function requireShardRows(file: string, shard: Shard, read: number): void {
  const planned = shard.end - shard.start;
  if (read === planned) return;
  throw new UserError(
    `${file}: shard ${shard.index} was planned as rows ${shard.start}-${shard.end} (${planned} rows, from the file's metadata) but ${read} rows were read: ` +
      `the file's row counts do not match its data (a damaged file, or one from a faulty writer), or the file changed while the job ran`,
  );
}

/** The fewest bytes a Parquet data page takes (page header: type, two sizes, value count, three encodings). */
const MIN_PAGE_BYTES = 8;
/** The most values a Parquet data page holds (its value count is a 32-bit integer). */
const MAX_PAGE_VALUES = 2 ** 31 - 1;

/** Per Parquet row group: rows claimed, the most values a column chunk states and the least a chunk's bytes allow. */
interface RowGroupClaim {
  file: string;
  group: number;
  rows: number;
  values: number;
  bound: number;
}

/**
 * Refuses Parquet files whose row counts cannot be true, before shards are planned from them:
 * a row group claiming more rows than the values its column chunks state (every row puts at
 * least one value, null or not, in each column chunk), or more than its column chunks' bytes
 * can hold (a page of at least MIN_PAGE_BYTES holds at most 2^31 - 1 values; a chunk's size is
 * taken as at most the file's), or a file whose stated total differs from its row groups'.
 * Claims patched consistently everywhere pass here and fail when the shards count what they read.
 * @throws UserError naming the file, the row group and both numbers.
 */
export async function checkRowCounts(data: Dataset): Promise<void> {
  const files = data.tables.filter((t) => t.format === 'parquet' && t.rowGroups).map((t) => t.path);
  if (files.length === 0) return;
  const con = await connect();
  try {
    const claims = await con.runAndReadAll(
      `SELECT file_name, row_group_id, max(row_group_num_rows), max(num_values), min(total_compressed_size) FROM parquet_metadata($1) GROUP BY ALL ORDER BY ALL`,
      [listValue(files)],
    );
    for (const [file, group, rows, values, bytes] of claims.getRows()) {
      const size = fs.statSync(String(file)).size;
      const bound = Math.floor(Math.min(bytes === null ? size : Number(bytes), size) / MIN_PAGE_BYTES) * MAX_PAGE_VALUES;
      refuseClaim({ file: String(file), group: Number(group), rows: Number(rows), values: Number(values), bound });
    }
    const totals = await con.runAndReadAll('SELECT file_name, num_rows FROM parquet_file_metadata($1)', [listValue(files)]);
    for (const [file, rows] of totals.getRows()) {
      const groups = data.tables.find((t) => t.path === String(file))?.rowGroups ?? [];
      const sum = groups.reduce((a, b) => a + b, 0);
      if (Number(rows) !== sum) throw new UserError(`${file}: its Parquet footer states ${rows} rows, but its row groups add up to ${sum}: the file is damaged or its writer faulty; rewrite it`);
    }
  } finally {
    con.closeSync();
  }
}

function refuseClaim(c: RowGroupClaim): void {
  const why = c.rows > c.values ? `its column chunks hold ${c.values} values at most` : c.rows > c.bound ? `its column chunks' bytes can hold at most ${c.bound} values` : undefined;
  if (why) throw new UserError(`${c.file}: Parquet row group ${c.group} claims ${c.rows} rows, but ${why}: the file's metadata cannot be true (a damaged file, or one from a faulty writer); rewrite it`);
}

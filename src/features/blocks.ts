/** Feature blocks from a dataset: read batches, apply the fitted transform. */
import type { ColumnRequest } from '../io/columns.js';
import type { Dataset } from '../io/dataset.js';
import type { ReadOptions } from '../io/table.js';
import { columnRequest, transform, type FeatureBlock, type FittedTransform } from './transform.js';
import type { ColumnBatch } from '../io/columns.js';

export interface BlockSource {
  /** Rows in the source, when known in advance. */
  rows: number | undefined;
  cols: number;
  /** A fresh pass over the data, block by block. */
  blocks(): AsyncIterable<FeatureBlock>;
}

export interface BatchWithBlock {
  batch: ColumnBatch;
  block: FeatureBlock;
}

/** Raw batches with their transformed blocks; `extra` columns (e.g. a label) are read alongside. */
export async function* transformedBatches(
  data: Dataset,
  t: FittedTransform,
  extra: ColumnRequest[] = [],
  options: ReadOptions = {},
): AsyncGenerator<BatchWithBlock> {
  for await (const batch of data.read(columnRequest(t, extra), options)) {
    yield { batch, block: transform(t, batch) };
  }
}

/** The dataset as a re-readable source of FeatureBlocks (rows x outputs, row-major) made with the fitted transform. */
export function blockSource(data: Dataset, t: FittedTransform, options: ReadOptions = {}): BlockSource {
  return {
    rows: data.rowCount,
    cols: t.outputs.length,
    async *blocks() {
      for await (const { block } of transformedBatches(data, t, [], options)) yield block;
    },
  };
}

/** A source over blocks already in memory (tests, small data). */
export function memorySource(blocks: FeatureBlock[]): BlockSource {
  return {
    rows: blocks.reduce((a, b) => a + b.rows, 0),
    cols: blocks[0]?.cols ?? 0,
    async *blocks() {
      yield* blocks;
    },
  };
}

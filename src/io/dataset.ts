/** Several input files (paths or glob patterns) read as one stream of column batches. */
import type { ColumnBatch, ColumnInfo, ColumnRequest } from './columns.js';
import { connect, duckMessage } from './duckdb.js';
import { openTable, reopenTable, type ReadOptions, type Table, type TableLayout } from './table.js';
import { UserError } from '../util/errors.js';
import { warn } from '../util/warn.js';
import fs from 'node:fs';
import path from 'node:path';
import { partFiles, withPartitions, type PartFile } from './dataset-folder.js';

export interface Dataset {
  tables: Table[];
  /** Columns of the first file (the others must hold the requested ones too). */
  columns: ColumnInfo[];
  /** Total rows, when every file knows its length. */
  rowCount: number | undefined;
  read(request: ColumnRequest[], options?: ReadOptions): AsyncGenerator<ColumnBatch>;
}

/** The most files a dataset may hold, after glob patterns are expanded. */
export const MAX_INPUT_FILES = 10_000;

/**
 * Expands glob patterns (DuckDB's glob(), so no shell is involved) and dataset folders (their
 * part files, with hive partition keys as columns: dataset-folder.ts), and opens every file. A
 * file named twice (or matched by two patterns) is read once, with a warning.
 * @throws UserError for no inputs, a pattern matching nothing, more than MAX_INPUT_FILES
 *   files, or a file that cannot be opened.
 */
export async function openDataset(inputs: string[]): Promise<Dataset> {
  if (inputs.length === 0) throw new UserError('no input files given (--input <file|glob|folder> ...)');
  const files: string[] = [];
  const partitions = new Map<string, PartFile['partitions']>();
  for (const input of new Set(inputs)) {
    if (fs.statSync(input, { throwIfNoEntry: false })?.isDirectory()) {
      for (const part of partFiles(path.resolve(input))) {
        files.push(part.file);
        partitions.set(part.file, part.partitions);
      }
      continue;
    }
    if (!/[*?[]/.test(input)) {
      files.push(input);
      continue;
    }
    const con = await connect();
    try {
      const matched = (await con.runAndReadAll('SELECT file FROM glob($1) ORDER BY file', [input])).getRows().map((r) => String(r[0]));
      if (matched.length === 0) throw new UserError(`${input}: no files match this pattern`);
      files.push(...matched);
    } catch (err) {
      if (err instanceof UserError) throw err;
      throw new UserError(`${input}: cannot expand pattern: ${duckMessage(err)}`);
    } finally {
      con.closeSync();
    }
  }
  const unique = [...new Set(files.map((f) => path.resolve(f)))];
  if (unique.length < files.length) warn(`${files.length - unique.length} input file(s) were named more than once; each is read once`);
  if (unique.length > MAX_INPUT_FILES) throw new UserError(`the inputs match ${unique.length} files; at most ${MAX_INPUT_FILES} are read in one job (merge small files, or split the job)`);
  const tables: Table[] = [];
  for (const file of unique) tables.push(withPartitions(await openTable(file), partitions.get(file) ?? []));
  const keys = (t: Table) => t.columns.map((c) => c.name).join('\0');
  if (partitions.size > 0 && tables.some((t) => keys(t) !== keys(tables[0]))) {
    const odd = tables.find((t) => keys(t) !== keys(tables[0]))!;
    throw new UserError(`${odd.path}: its columns (${odd.columns.map((c) => c.name).join(', ')}) differ from ${tables[0].path}'s (${tables[0].columns.map((c) => c.name).join(', ')}); the parts of a dataset folder must share their columns`);
  }
  return datasetOf(tables);
}

/**
 * The dataset a plan opened, opened again from its tables' layouts (table.ts reopenTable):
 * nothing is described, sniffed or counted again. What a job's shards and resumed runs read.
 * @throws UserError when a file is gone since the plan.
 */
export async function reopenDataset(layouts: TableLayout[]): Promise<Dataset> {
  const tables: Table[] = [];
  for (const layout of layouts) tables.push(withPartitions(await reopenTable(layout), layout.partitions ?? []));
  return datasetOf(tables);
}

/** Open tables as one dataset: batches of each file in turn, `first` counting rows across files. */
export function datasetOf(tables: Table[]): Dataset {
  const counts = tables.map((t) => t.rowCount);
  return {
    tables,
    columns: tables[0].columns,
    rowCount: counts.every((c) => c !== undefined) ? counts.reduce<number>((a, b) => a + (b as number), 0) : undefined,
    async *read(request, options = {}) {
      let first = 0;
      for (const table of tables) {
        const limit = options.limit === undefined ? undefined : options.limit - first;
        if (limit !== undefined && limit <= 0) return;
        let rows = 0;
        for await (const batch of table.read(request, { ...options, limit })) {
          yield { ...batch, first: first + batch.offset };
          rows = batch.offset + batch.rows;
        }
        first += rows;
      }
    },
  };
}

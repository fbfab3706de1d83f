/**
 * Columns of any input, read by the product's readers (CSV layout checks, number text, Arrow),
 * staged into one Parquet file that SQL can then read set-wise (`read_parquet`).
 */
import type { ColumnRequest } from './columns.js';
import type { Dataset } from './dataset.js';
import { writeFile, type OutputColumn } from './writer.js';

/** One staged column: its name in the staged file, the input column it comes from, and how it is read. */
export interface StagedColumn {
  alias: string;
  name: string;
  as: ColumnRequest['as'];
}

/**
 * Reads `columns` of `data` and writes them, renamed to their aliases, to the Parquet file
 * `file`: numbers as DOUBLE (missing as NULL), text as VARCHAR, 64-bit integers as BIGINT.
 * @throws UserError from the readers (a missing column, a value that is not a number: file, column, row).
 */
export async function stageColumns(data: Dataset, columns: StagedColumn[], file: string): Promise<string> {
  const request: ColumnRequest[] = columns.map(({ name, as }) => ({ name, as }));
  const schema: OutputColumn[] = columns.map(({ alias, as }) => ({ name: alias, type: as === 'number' ? 'DOUBLE' : as === 'bigint' ? 'BIGINT' : 'VARCHAR' }));
  await writeFile(
    file,
    schema,
    (async function* () {
      for await (const b of data.read(request)) {
        yield { rows: b.rows, columns: Object.fromEntries(columns.map(({ alias, name }) => [alias, b.columns.get(name) as never])) };
      }
    })(),
  );
  return file;
}

/** The seed audience: a file of ids, or a filter such as `converted = 1` over the population. */
import { openTable } from '../../io/table.js';
import type { Dataset } from '../../io/dataset.js';
import { canonicalId } from '../../io/ids.js';
import { UserError } from '../../util/errors.js';

export type SeedSource = { ids: string[]; file: string } | { column: string; value: string };

/** Parses `column = value` (value a number or a quoted or bare string). @throws UserError naming the option as `name` for other text. */
export function parseSeedFilter(text: string, name = '--seed-filter'): { column: string; value: string } {
  const m = /^\s*([^=<>!]+?)\s*=\s*(?:"([^"]*)"|'([^']*)'|(\S+))\s*$/.exec(text);
  if (!m) throw new UserError(`${name} "${text}": expected column = value, e.g. converted = 1`);
  return { column: m[1], value: m[2] ?? m[3] ?? m[4] };
}

/**
 * Reads seed ids from a Parquet/CSV/Arrow file: the column named like the population's id,
 * else the first. Ids are canonical (see io/ids.ts), so "12346.0" and 12346 are one seed.
 * @throws UserError when the file cannot be read or has no columns.
 */
export async function readSeedIds(file: string, idColumn: string | null): Promise<SeedSource> {
  const table = await openTable(file);
  const column = table.columns.find((c) => c.name === idColumn) ?? table.columns[0];
  if (!column) throw new UserError(`${file}: no columns`);
  const ids: string[] = [];
  for await (const b of table.read([{ name: column.name, as: 'text' }])) {
    for (const v of b.columns.get(column.name) as (string | null)[]) {
      const id = canonicalId(v);
      if (id !== null) ids.push(id);
    }
  }
  return { ids: [...new Set(ids)], file };
}

/** @throws UserError when the seed filter's column is not in the data. */
export function checkFilterColumn(data: Dataset, column: string): void {
  if (!data.columns.some((c) => c.name === column)) {
    throw new UserError(`${data.tables[0].path}: no column "${column}" for the seed filter (columns: ${data.columns.map((c) => c.name).join(', ')})`);
  }
}

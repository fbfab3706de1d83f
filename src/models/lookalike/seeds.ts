/** The seed audience: a file of ids, or a filter such as `converted = 1` over the population. */
import { openTable } from '../../io/table.js';
import { canonicalId } from '../../io/ids.js';
import { UserError } from '../../util/errors.js';

export type SeedSource = { ids: string[]; file: string } | { column: string; value: string };

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


/**
 * One in-process DuckDB instance for reading and writing files. Paths and values are
 * always bound as parameters; identifiers go through DuckDB's own quoting.
 */
import { DuckDBConnection, DuckDBInstance, quotedIdentifier } from '@duckdb/node-api';

let instance: Promise<DuckDBInstance> | undefined;

export async function connect(): Promise<DuckDBConnection> {
  instance ??= DuckDBInstance.create(':memory:');
  return (await instance).connect();
}

export const ident = quotedIdentifier;

/** DuckDB's message without the echoed SQL ("LINE 1: ...") that follows it. */
export function duckMessage(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return msg.split(/\n\s*\nLINE \d+:/)[0].trim();
}

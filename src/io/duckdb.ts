/**
 * One in-process DuckDB instance for reading and writing files. Paths and values are
 * always bound as parameters; identifiers go through DuckDB's own quoting.
 */
import { DuckDBConnection, DuckDBInstance, quotedIdentifier } from '@duckdb/node-api';

let instance: Promise<DuckDBInstance> | undefined;

/** A connection to the process's shared in-memory DuckDB instance (created on first use). */
export async function connect(): Promise<DuckDBConnection> {
  instance ??= DuckDBInstance.create(':memory:');
  return (await instance).connect();
}

export const ident = quotedIdentifier;

/** DuckDB invalidates a database after an INTERNAL or FATAL error: every later query fails. */
const FATAL = /INTERNAL Error|FATAL Error|database has been invalidated/;

/**
 * DuckDB's message without the echoed SQL ("LINE 1: ...") or the C++ stack trace that may
 * follow it. An error that invalidated the shared instance also drops it, so the next
 * connect() starts a fresh one (a file DuckDB cannot handle does not break later work).
 */
export function duckMessage(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  if (FATAL.test(msg)) instance = undefined;
  return msg
    .split(/\n\s*\nLINE \d+:/)[0]
    .split(/\n\s*\n?Stack Trace:/)[0]
    .trim();
}

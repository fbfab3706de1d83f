/**
 * One in-process DuckDB instance for reading and writing files. Paths and values are
 * always bound as parameters; identifiers go through DuckDB's own quoting.
 */
import { DuckDBConnection, DuckDBInstance, quotedIdentifier } from '@duckdb/node-api';

let instance: Promise<DuckDBInstance> | undefined;
let settings: Record<string, string> = {};

/** A connection to the process's shared in-memory DuckDB instance (created on first use). */
export async function connect(): Promise<DuckDBConnection> {
  instance ??= DuckDBInstance.create(':memory:', settings);
  return (await instance).connect();
}

/**
 * Settings for this thread's instance, e.g. `{ memory_limit: '1GB' }` (the service's checks):
 * applied when it is created, so call this before the first connect().
 */
export function configureDuckDB(next: Record<string, string>): void {
  settings = { ...next };
}

export const ident = quotedIdentifier;

/** DuckDB invalidates a database after an INTERNAL or FATAL error: every later query fails. */
const FATAL = /INTERNAL Error|FATAL Error|database has been invalidated/;

/**
 * Drops the shared instance when `err` invalidated it, so the next connect() starts a fresh
 * one (a file DuckDB cannot handle does not break later work).
 */
export function recoverFrom(err: unknown): void {
  if (FATAL.test(err instanceof Error ? err.message : String(err))) instance = undefined;
}

/**
 * DuckDB's message without the echoed SQL ("LINE 1: ...") or the C++ stack trace that may
 * follow it; recovers from an error that invalidated the instance (see recoverFrom).
 */
export function duckMessage(err: unknown): string {
  recoverFrom(err);
  const msg = err instanceof Error ? err.message : String(err);
  return msg
    .split(/\n\s*\nLINE \d+:/)[0]
    .split(/\n\s*\n?Stack Trace:/)[0]
    .trim();
}

/**
 * Resource limits of the service's submission checks. The checks open every input (DuckDB
 * sniffs a CSV, reads a Parquet footer), so a hostile or broken file must not take the server's
 * memory or time: DuckDB runs under a memory limit in the threads that check
 * (`CHECK_MEMORY_LIMIT`), and a CSV's first MiB is read here first, bounded, so a line of
 * millions of fields is refused before DuckDB or the layout checks see it.
 */
import fs from 'node:fs';
import zlib from 'node:zlib';
import { UserError } from '../util/errors.js';

/** DuckDB's memory limit in the threads that check submissions (AUDIENCE_CHECK_MEMORY overrides, e.g. "2GB"). */
export const CHECK_MEMORY_LIMIT = process.env.AUDIENCE_CHECK_MEMORY?.trim() || '1GB';

/** The most fields a CSV line may hold (a header of more columns is refused at submission). */
export const MAX_CSV_FIELDS = 10_000;

/** Bytes of a CSV read at submission for the checks below (1 MiB). */
export const CSV_PREFIX_BYTES = 1 << 20;

const DELIMITERS = [',', ';', '\t', '|'];

/** Up to `bytes` bytes from the start of `file`, decompressed for .gz; undefined for other compressed files. */
async function prefix(file: string, bytes: number): Promise<Buffer | undefined> {
  if (/\.zst$/i.test(file)) return undefined;
  if (!/\.gz$/i.test(file)) {
    const fd = await fs.promises.open(file, 'r');
    try {
      const buf = Buffer.alloc(bytes);
      const { bytesRead } = await fd.read(buf, 0, bytes, 0);
      return buf.subarray(0, bytesRead);
    } finally {
      await fd.close();
    }
  }
  const chunks: Buffer[] = [];
  let got = 0;
  const stream = fs.createReadStream(file).pipe(zlib.createGunzip());
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      chunks.push(chunk);
      got += chunk.length;
      if (got >= bytes) break;
    }
  } catch (err) {
    if (got === 0) throw new UserError(`${file}: cannot decompress: ${(err as Error).message}`);
  } finally {
    stream.destroy();
  }
  return Buffer.concat(chunks).subarray(0, bytes);
}

/** The fields of a line, at most: one more than its most frequent delimiter (quotes ignored). */
function fieldsAtMost(line: Buffer): number {
  let most = 0;
  for (const d of DELIMITERS) {
    const code = d.charCodeAt(0);
    let n = 0;
    for (let i = line.indexOf(code); i !== -1; i = line.indexOf(code, i + 1)) n++;
    most = Math.max(most, n);
  }
  return most + 1;
}

/**
 * Checks a CSV file's first MiB (decompressed for .gz) before anything else reads it: its first
 * line must end within it, and no line in it may hold more than MAX_CSV_FIELDS fields. Other
 * files pass.
 * @param field names the request field in errors.
 * @throws UserError naming the file, the line and the limit.
 */
export async function checkCsvPrefix(file: string, field: string): Promise<void> {
  if (!/\.(csv|tsv|txt)(\.gz|\.zst)?$/i.test(file)) return;
  const head = await prefix(file, CSV_PREFIX_BYTES);
  if (!head) return;
  const full = head.length < CSV_PREFIX_BYTES;
  for (let start = 0, line = 1; start < head.length; line++) {
    const nl = head.indexOf(10, start);
    const end = nl === -1 ? head.length : nl;
    if (nl === -1 && line === 1 && !full) {
      throw new UserError(`${field}: ${file}: the first line is longer than ${CSV_PREFIX_BYTES.toLocaleString('en-US')} bytes; a CSV header this service reads is shorter (at most ${MAX_CSV_FIELDS.toLocaleString('en-US')} columns)`);
    }
    const fields = fieldsAtMost(head.subarray(start, end));
    if (fields > MAX_CSV_FIELDS) {
      throw new UserError(`${field}: ${file}: line ${line} holds ${nl === -1 ? 'at least ' : ''}${fields.toLocaleString('en-US')} fields, more than the ${MAX_CSV_FIELDS.toLocaleString('en-US')} a CSV line may hold here`);
    }
    start = end + 1;
  }
}

/** Models a server keeps loaded for POST /v1/score and the online view (the least recently used beyond it is released). */
export const MAX_CACHED_MODELS = 32;

/** Rows one POST /v1/score may hold. */
export const MAX_SCORE_ROWS = 1000;

/** Models one POST /v1/score may name. */
export const MAX_SCORE_MODELS = 16;

/** Fields one row of POST /v1/score or one posted event may hold. */
export const MAX_ROW_FIELDS = 1000;

/** Events one POST /v1/events may hold. */
export const MAX_EVENTS_PER_POST = 1000;

/** Changes one GET /v1/audiences/{name}/changes answers with at most. */
export const MAX_CHANGES_PER_POLL = 1000;

/** The longest a GET /v1/audiences/{name}/changes waits for a change (seconds). */
export const MAX_CHANGES_WAIT_SECONDS = 60;

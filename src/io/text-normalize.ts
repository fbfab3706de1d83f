/**
 * A CSV's encoding and line ends, and a normalized copy (UTF-8, LF) for what DuckDB's CSV
 * reader cannot take as it is: UTF-16 with a byte-order mark (Excel's "Unicode Text", Google
 * Ads downloads), CR-only line ends (Mac Excel) and files whose lines end in both CRLF and
 * LF (a header written by one tool, rows by another). Text in an 8-bit encoding (Latin-1,
 * Windows-1252, MacRoman) is refused naming the bytes found and the conversion: which of them
 * it is cannot be known from the bytes, and a wrong guess changes the values silently.
 */
import { createHash } from 'node:crypto';
import { isUtf8 } from 'node:buffer';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { UserError } from '../util/errors.js';
import { headBytes } from './file-kind.js';

export type TextEncoding = 'utf-8' | 'utf-16le' | 'utf-16be';

export interface TextLayout {
  encoding: TextEncoding;
  /** Line ends seen in the first MiB: CR only, or CRLF and LF both, need a normalized copy. */
  lineEnds: 'lf' | 'crlf' | 'cr' | 'mixed' | 'none';
}

const HEAD = 1 << 20;

/**
 * The encoding (from a byte-order mark, else UTF-8) and line ends of a text file's first MiB.
 * @throws UserError naming the file, line and bytes for text that is not UTF-8 (an 8-bit
 *   encoding, or UTF-16 without a byte-order mark), with the conversion to run.
 */
export function inspectText(abs: string, file: string): TextLayout {
  const head = headBytes(abs, HEAD);
  if (head[0] === 0xff && head[1] === 0xfe) return { encoding: 'utf-16le', lineEnds: lineEnds(Buffer.from(new TextDecoder('utf-16le').decode(head), 'utf8')) };
  if (head[0] === 0xfe && head[1] === 0xff) return { encoding: 'utf-16be', lineEnds: lineEnds(Buffer.from(new TextDecoder('utf-16be').decode(head), 'utf8')) };
  if (head.includes(0)) {
    throw new UserError(`${file}: holds NUL bytes, so it is not UTF-8 text: UTF-16 without a byte-order mark, or a binary file. Save it as "CSV UTF-8", or convert it: iconv -f UTF-16LE -t UTF-8 FILE > out.csv`);
  }
  const ends = lineEnds(head);
  const bad = firstInvalidUtf8(head.length === HEAD ? head.subarray(0, lastCompleteChar(head)) : head);
  if (bad !== undefined) {
    const line = head.subarray(0, bad).toString('latin1').split(/\r\n|\r|\n/).length;
    const guess = ends === 'cr' ? 'MacRoman (Mac Excel, CR line ends)' : 'Latin-1 or Windows-1252';
    const from = ends === 'cr' ? 'MACINTOSH' : 'WINDOWS-1252';
    throw new UserError(
      `${file}: not UTF-8: byte 0x${head[bad].toString(16).toUpperCase()} on line ${line} (an 8-bit encoding, likely ${guess}). ` +
        `Save it as "CSV UTF-8", or convert it: iconv -f ${from} -t UTF-8 FILE > out.csv`,
    );
  }
  return { encoding: 'utf-8', lineEnds: ends };
}

/** Whether a CSV must be read through a normalized copy. */
export function needsCopy(layout: TextLayout): boolean {
  return layout.encoding !== 'utf-8' || layout.lineEnds === 'cr' || layout.lineEnds === 'mixed';
}

/** The line ends of a UTF-8 (or ASCII-compatible) buffer. */
function lineEnds(buf: Buffer): TextLayout['lineEnds'] {
  let crlf = 0;
  let lf = 0;
  let cr = 0;
  for (let i = 0; i < buf.length; i++) {
    if (buf[i] === 10) {
      if (i > 0 && buf[i - 1] === 13) crlf++;
      else lf++;
    } else if (buf[i] === 13 && buf[i + 1] !== 10 && i + 1 < buf.length) cr++;
  }
  const kinds = [crlf > 0, lf > 0, cr > 0].filter(Boolean).length;
  if (kinds > 1) return 'mixed';
  return crlf ? 'crlf' : lf ? 'lf' : cr ? 'cr' : 'none';
}

/** The end of the last whole UTF-8 character of a buffer cut at an arbitrary byte. */
function lastCompleteChar(buf: Buffer): number {
  let i = buf.length - 1;
  while (i > 0 && buf.length - i < 4 && (buf[i] & 0xc0) === 0x80) i--;
  const lead = buf[i];
  const need = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
  return i + need <= buf.length ? buf.length : i;
}

/** The index of the first byte that breaks UTF-8, or undefined when the buffer is valid. */
function firstInvalidUtf8(buf: Buffer): number | undefined {
  if (isUtf8(buf)) return undefined;
  let lo = 0;
  let hi = buf.length;
  // The longest valid prefix, by bisection (isUtf8 is native and fast).
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (isUtf8(buf.subarray(0, lastCompleteChar(buf.subarray(0, mid))))) lo = mid;
    else hi = mid;
  }
  return lastCompleteChar(buf.subarray(0, lo));
}

const copies = new Set<string>();
process.once('exit', () => {
  for (const f of copies) fs.rmSync(f, { force: true });
});

/**
 * A UTF-8 copy of a text file with every line ending in LF (CRLF and lone CR converted, a
 * UTF-16 file decoded), in the system's temporary folder; made once per file version (path,
 * size, modification time) and removed when the process that made it exits.
 * @throws UserError naming the file when its bytes are not valid in `encoding`.
 */
export async function normalizedCopy(abs: string, file: string, encoding: TextEncoding): Promise<string> {
  const stat = fs.statSync(abs);
  const key = createHash('sha256').update(`${abs}\0${stat.size}\0${stat.mtimeMs}\0${stat.ino}\0${encoding}`).digest('hex').slice(0, 32);
  const dir = path.join(os.tmpdir(), 'audience-normalized');
  const out = path.join(dir, `${key}.csv`);
  if (fs.existsSync(out)) return out;
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const tmp = `${out}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  const decoder = new TextDecoder(encoding, { fatal: true, ignoreBOM: false });
  try {
    await pipeline(fs.createReadStream(abs), async function* (chunks: AsyncIterable<Buffer>) {
      let carry = '';
      for await (const chunk of chunks) {
        const text = carry + decoder.decode(chunk, { stream: true });
        // A CR at the chunk's end may start a CRLF: keep it for the next chunk.
        carry = text.endsWith('\r') ? '\r' : '';
        yield (carry ? text.slice(0, -1) : text).replace(/\r\n?/g, '\n');
      }
      yield (carry + decoder.decode()).replace(/\r\n?/g, '\n');
    }, fs.createWriteStream(tmp, { mode: 0o600 }));
    fs.renameSync(tmp, out);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    if (err instanceof TypeError) throw new UserError(`${file}: its bytes are not valid ${encoding.toUpperCase()} text (a damaged file?)`, { cause: err });
    throw err;
  }
  copies.add(out);
  return out;
}

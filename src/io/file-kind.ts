/**
 * What a file is, from its first bytes rather than its name: Parquet ("PAR1") and Arrow IPC
 * ("ARROW1", or a stream's 0xFFFFFFFF continuation) are read whatever their extension; files
 * no reader here takes (Excel workbooks, Feather V1, zip or gzip archives under a text name)
 * are refused naming what they are and how to convert them; text files are checked for
 * their encoding (text-normalize.ts).
 */
import fs from 'node:fs';
import { UserError } from '../util/errors.js';

export type Format = 'parquet' | 'csv' | 'arrow';

const FORMATS: Array<[RegExp, Format]> = [
  [/\.(parquet|pq)$/i, 'parquet'],
  [/\.(csv|tsv|txt)(\.gz|\.zst)?$/i, 'csv'],
  [/\.(arrow|feather|ipc|arrows)$/i, 'arrow'],
];

const EXCEL_FIX = 'save it from Excel as "CSV UTF-8" (File > Save As), or convert it: libreoffice --headless --convert-to csv FILE';

/** Refusals for formats recognised by their magic bytes, checked in order. */
const REFUSED: Array<{ magic: number[]; what: string; fix: (file: string, head: Buffer) => string }> = [
  { magic: [0x46, 0x45, 0x41, 0x31], what: "a Feather V1 file (R's feather package, pandas before 1.0)", fix: () => 'only Feather V2 (Arrow IPC) is read; convert it with pyarrow: pyarrow.feather.write_feather(pyarrow.feather.read_table(FILE), "out.feather"), or in R: arrow::write_feather(feather::read_feather(FILE), "out.feather")' },
  { magic: [0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1], what: 'an Excel 97-2003 workbook (.xls)', fix: () => EXCEL_FIX },
  { magic: [0x50, 0x4b, 0x03, 0x04], what: 'a zip archive', fix: () => 'unzip it and name the data files inside' },
  { magic: [0x1f, 0x8b], what: 'gzip-compressed', fix: (f) => `name it ${f}.gz (a compressed CSV is read as FILE.csv.gz)` },
  { magic: [0x28, 0xb5, 0x2f, 0xfd], what: 'zstd-compressed', fix: (f) => `name it ${f}.zst (a compressed CSV is read as FILE.csv.zst)` },
  { magic: [0x25, 0x50, 0x44, 0x46], what: 'a PDF document', fix: () => 'export the table as CSV or Parquet' },
];

/** The format from the name's extension, or undefined. */
function byName(file: string): Format | undefined {
  return FORMATS.find(([re]) => re.test(file))?.[1];
}

/** Whether `head` starts with `magic`. */
function starts(head: Buffer, magic: number[] | string): boolean {
  const bytes = typeof magic === 'string' ? Buffer.from(magic, 'latin1') : Buffer.from(magic);
  return head.length >= bytes.length && head.subarray(0, bytes.length).equals(bytes);
}

/** The first `n` bytes of a file. */
export function headBytes(abs: string, n: number): Buffer {
  const fd = fs.openSync(abs, 'r');
  try {
    const buf = Buffer.alloc(n);
    return buf.subarray(0, fs.readSync(fd, buf, 0, n, 0));
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * The format to read a file as: Parquet or Arrow IPC by their magic bytes, else by the name's
 * extension (a compressed CSV, `.csv.gz`, by its name).
 * @param file the name as the user gave it, for messages.
 * @throws UserError naming what the file is, and the conversion, for an Excel workbook,
 *   Feather V1, an archive, a PDF, or a name no reader takes.
 */
export function formatOf(abs: string, file: string = abs): Format {
  const head = headBytes(abs, 8);
  const named = byName(abs);
  if (starts(head, 'PAR1')) return 'parquet';
  if (starts(head, 'ARROW1') || starts(head, [0xff, 0xff, 0xff, 0xff])) return 'arrow';
  if (named === 'csv' && /\.(gz|zst)$/i.test(abs)) return 'csv';
  if (starts(head, [0x50, 0x4b, 0x03, 0x04]) && isXlsx(abs)) {
    throw new UserError(`${file}: an Excel workbook (.xlsx), not ${named === 'csv' ? 'a CSV file' : 'a table file'}; ${EXCEL_FIX}`);
  }
  const refused = REFUSED.find((r) => starts(head, r.magic));
  if (refused) throw new UserError(`${file}: ${refused.what}, not ${named ? `a${named === 'arrow' ? 'n Arrow IPC' : ` ${named.toUpperCase()}`} file` : 'a table file'}; ${refused.fix(file, head)}`);
  // Parquet files start (and end) with "PAR1": any other bytes under the name are another kind of file.
  if (named === 'parquet') {
    const text = head.length > 0 && [...head].every((b) => b === 9 || b === 10 || b === 13 || (b >= 32 && b < 127));
    throw new UserError(`${file}: not a Parquet file (Parquet starts with "PAR1")${head.length === 0 ? '; the file is empty' : text ? `; it starts with text, ${JSON.stringify(head.toString('utf8'))}...: if it is a CSV file, name it .csv` : ''}`);
  }
  if (named) return named;
  throw new UserError(`${file}: unknown file type; expected .parquet, .csv (or .tsv, .csv.gz) or .arrow/.feather (Arrow IPC)`);
}

/** Whether a zip archive holds an Excel workbook: its first entries name "[Content_Types].xml" or "xl/". */
function isXlsx(abs: string): boolean {
  const head = headBytes(abs, 1 << 16).toString('latin1');
  return head.includes('xl/') || head.includes('[Content_Types].xml');
}

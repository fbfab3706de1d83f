/**
 * What DuckDB's CSV sniffer decided about a file, checked against the file's own first and
 * last lines, so that no header or row is lost without a word:
 * - lines the sniffer would skip must be comments ("#..."), blank lines or Excel's "sep=;"
 *   hint; a header or rows written with another delimiter than the rest are refused;
 * - a file without a header line, an empty file and duplicate column names are refused;
 * - a last line that is a totals row ("Total", "Grand total", as analytics exports end) is
 *   left out of the data, with a warning.
 */
import fs from 'node:fs';
import { UserError } from '../util/errors.js';
import { warn } from '../util/warn.js';
import { connect } from './duckdb.js';
import { parseNumberText } from './number-text.js';
import { firstNameTwins } from './columns.js';

export interface CsvLayout {
  delimiter: string;
  /** The quote character ('' for none). */
  quote: string;
  /** Lines before the header line. */
  skip: number;
  /** The header line holds names the sniffer took for data (every column text): read it as the header. */
  forceHeader: boolean;
  /** Whether the last line is a totals row, not data. */
  trailer: boolean;
}

/**
 * The read_csv options of the typed scan (after `$1`): the sniffer's, with a forced header.
 * Built from the layout's fields as SQL literals and integers, so a layout that travelled
 * (a job's plan, a queue message) cannot put text of its own into the SQL.
 */
export function csvScanOptions(l: CsvLayout): string {
  return `, hive_partitioning = false${l.forceHeader ? `, header = true, skip = ${Math.trunc(l.skip)}` : ''}`;
}

/**
 * The read_csv options (after `$1`) that read every column as the file's own text with the
 * layout fixed (delimiter, quote, header line), so no value is rounded or rejected by a type
 * guessed from a sample; literals and integers as csvScanOptions makes them.
 */
export function csvTextOptions(l: CsvLayout): string {
  return `, all_varchar = true, hive_partitioning = false, header = true, skip = ${Math.trunc(l.skip)}, delim = ${literal(l.delimiter)}, quote = ${literal(l.quote)}`;
}

/** A file whose lines end in both CRLF and LF, which DuckDB's CSV reader cannot take as it is. */
export class MixedLineEnds extends UserError {
  constructor(file: string, at: { crlf: number; lf: number }) {
    super(`${file}: lines end in both CRLF (line ${at.crlf}) and LF (line ${at.lf})`);
  }
}

/** A one-character CSV option as a SQL string literal. */
function literal(c: string): string {
  return `'${c.replaceAll("'", "''")}'`;
}

const HEAD_BYTES = 1 << 20;
const TAIL_BYTES = 1 << 16;
const TOTALS = /^(grand\s+)?totals?:?$/i;

/**
 * Sniffs a CSV file and refuses layouts that would lose its header or rows.
 * @param abs absolute path of the CSV to read (a normalized copy, text-normalize.ts, where the
 *   file needs one); `shown` is the file's own path, for messages. Compressed files get
 *   the sniffer's checks only, since their lines cannot be read here without decompressing.
 * @throws UserError naming the file, the line and what to change.
 */
export async function checkCsvLayout(abs: string, shown: string = abs): Promise<CsvLayout> {
  if (fs.statSync(abs).size === 0) throw new UserError(`${shown}: the file is empty`);
  const plain = !/\.(gz|zst)$/i.test(abs);
  const con = await connect();
  let sniffed: unknown[];
  try {
    sniffed = (await con.runAndReadAll('SELECT Delimiter, Quote, SkipRows, HasHeader FROM sniff_csv($1)', [abs])).getRows()[0];
  } catch (err) {
    // DuckDB reads one kind of line end per file: the caller reads such a file through a normalized copy.
    const mixed = plain ? mixedLineEnds(abs) : undefined;
    if (mixed) throw new MixedLineEnds(shown, mixed);
    // A sniffer defeated by lines of other field counts (a delimiter ending every row): the line named, not its dump.
    if (plain) await refuseUnevenLines(abs, shown, headLines(abs, 1)[0] ?? '', 0);
    throw err;
  } finally {
    con.closeSync();
  }
  const [delimiter, quoteRaw, skipRows, hasHeader] = [String(sniffed[0]), String(sniffed[1]), Number(sniffed[2]), Boolean(sniffed[3])];
  // The sniffer sees a sample (about 20,480 rows): with no quote in it, it says none. Values are
  // still read with the standard one (RFC 4180's "), or quoted values past the sample kept their
  // quotes as text ("mobile") and a quoted delimiter split a field. A " inside an unquoted value
  // (5" screen) stays text either way.
  const quote = quoteRaw === '(empty)' ? '"' : quoteRaw;
  const lines = plain ? headLines(abs, skipRows + 2) : [];
  // Rows of other field counts make the sniffer give up on the delimiter and read each whole line as one column.
  if (plain && splitLine(lines[skipRows] ?? '', delimiter, quote).length <= 1) await refuseUnevenLines(abs, shown, lines[skipRows] ?? '', skipRows);
  if (plain) {
    // Lines a reader may skip: blank lines, "#" comments, and Excel's "sep=;" delimiter hint.
    const lead = lines.findIndex((l) => l.trim() !== '' && !l.startsWith('#') && !/^sep=.$/i.test(l.trim()));
    if (lead === -1) throw new UserError(`${shown}: no header line and no data (only comments or blank lines)`);
    if (skipRows > lead) {
      throw new UserError(
        `${shown}: the first ${skipRows} lines do not parse like the rest of the file (delimiter ${JSON.stringify(delimiter)}), ` +
          `so reading it would drop them, header included: line ${lead + 1} is ${JSON.stringify(lines[lead].slice(0, 80))}. ` +
          `Write every line with the same delimiter (or put comments behind "#").`,
      );
    }
  }
  // Every column text: the sniffer cannot tell a header from data; names it is.
  const forceHeader = !hasHeader && plain && looksLikeHeader(lines[skipRows] ?? '', delimiter, quote);
  if (!hasHeader && !forceHeader) {
    throw new UserError(
      `${shown}: no header line found (the first line${lines[skipRows] !== undefined ? `, ${JSON.stringify(lines[skipRows].slice(0, 80))},` : ''} looks like data). ` +
        'Add a first line naming the columns.',
    );
  }
  if (plain && lines[skipRows] !== undefined) {
    const names = splitLine(lines[skipRows], delimiter, quote).map((n) => n.trim());
    const twins = firstNameTwins(names);
    if (twins) {
      const [first, second] = twins;
      const twice = first === second ? `column "${first}" appears twice in the header` : `columns "${first}" and "${second}" differ only in case in the header (column names ignore case)`;
      throw new UserError(`${shown}: ${twice} (line ${skipRows + 1}); give each column its own name`);
    }
  }
  let trailer = false;
  if (plain) {
    const last = tailLine(abs);
    const first = last === undefined ? '' : (splitLine(last, delimiter, quote)[0] ?? '').trim();
    if (TOTALS.test(first)) {
      trailer = true;
      warn(`${shown}: the last line is a totals row (${JSON.stringify(last!.slice(0, 60))}); it is left out of the data`);
    }
  }
  return { delimiter, quote, skip: Math.trunc(skipRows), forceHeader, trailer };
}

/** Delimiters a header may be split by when the sniffer found none that works. */
const DELIMITERS = [',', ';', '\t', '|'];

/**
 * Where DuckDB's sniffer was defeated (it failed, or read each whole line as one column, which
 * later read as "no such column"), finds the first line whose field count differs from the
 * header's (split by the usual delimiter that splits it most): DuckDB's strict read names it; where that read passes (it
 * takes a trailing delimiter), the first megabyte's lines are counted here. Returns when the
 * header splits by none of them.
 * @throws UserError naming the file, the line and the field counts.
 */
async function refuseUnevenLines(abs: string, shown: string, header: string, skip: number): Promise<void> {
  const [best] = DELIMITERS.map((d) => ({ d, n: splitLine(header, d, '"').length })).sort((a, b) => b.n - a.n);
  if (best.n < 2) return;
  const layout = { delimiter: best.d, quote: '"', skip };
  // No sniffing (it fails on such a file even with the delimiter given): the header's field count, every field text, named c0.. here.
  const columns = Array.from({ length: best.n }, (_, i) => `'c${i}': 'VARCHAR'`).join(', ');
  const con = await connect();
  try {
    await con.runAndReadAll(`SELECT count(*) FROM read_csv($1${csvTextOptions({ ...layout, forceHeader: true, trailer: false })}, auto_detect = false, columns = {${columns}})`, [abs]);
  } catch (err) {
    throw csvReadError(err, shown, layout) ?? err;
  } finally {
    con.closeSync();
  }
  const lines = headLines(abs, 20_000).slice(skip + 1);
  const odd = lines.findIndex((l, i) => l !== '' && i < lines.length - 1 && splitLine(l, best.d, '"').length !== best.n);
  if (odd !== -1) {
    const found = splitLine(lines[odd], best.d, '"');
    const trailing = found.length === best.n + 1 && found[best.n] === '' ? ': it ends with a delimiter, an empty field the header does not name' : '';
    throw new UserError(`${shown}: data row ${odd + 1} (line ${odd + 2 + skip}) has ${found.length} fields where the header has ${best.n} (delimiter ${JSON.stringify(best.d)})${trailing}; correct that line, or name the extra field in the header`);
  }
  throw new UserError(`${shown}: its header has ${best.n} columns separated by ${JSON.stringify(best.d)}, but DuckDB's sniffer could not read the file with that delimiter; check that every line has ${best.n} fields`);
}

/**
 * DuckDB's error for a CSV line it cannot read ("CSV Error on Line: N", with the expected and
 * found field counts and a dump of its settings) as a few words: the file, the line (1 = the
 * file's first line; its data row after the header and skipped lines) and what is wrong.
 * Undefined for any other error.
 */
export function csvReadError(err: unknown, shown: string, layout: { delimiter: string; skip: number }): UserError | undefined {
  const msg = err instanceof Error ? err.message : String(err);
  const at = /CSV Error on Line: (\d+)/.exec(msg);
  if (!at) return undefined;
  const line = Number(at[1]);
  // DuckDB counts records: a quoted value spanning lines above makes the file's line later.
  const where = `data row ${line - 1 - layout.skip} (line ${line}, if no value above it spans lines)`;
  const fields = /Expected Number of Columns: (\d+) Found: (\d+)/.exec(msg);
  if (fields) {
    const [expected, found] = [Number(fields[1]), Number(fields[2])];
    // DuckDB stops counting one past the header's count.
    const has = found > expected ? `more than ${expected} fields` : `${found} ${found === 1 ? 'field' : 'fields'}`;
    return new UserError(`${shown}: ${where} has ${has} where the header has ${expected} (delimiter ${JSON.stringify(layout.delimiter)}); correct that line (a value holding the delimiter needs quotes)`, { cause: err });
  }
  // Another fault of the line (an unterminated quote...): DuckDB's first sentence, without its settings and suggestions.
  const what = msg.replace(/^[\s\S]*?CSV Error on Line: \d+\s*/, '').split('\n').find((l) => l.trim() !== '' && !/^Original Line:/.test(l)) ?? 'cannot be read';
  return new UserError(`${shown}: ${where}: ${what.trim().replace(/\.$/, '')}`, { cause: err });
}

/** A line of distinct, non-empty names, none of them a number: a header. */
function looksLikeHeader(line: string, delimiter: string, quote: string): boolean {
  const names = splitLine(line, delimiter, quote).map((n) => n.trim());
  return names.length > 1 && new Set(names).size === names.length && names.every((n) => n !== '' && parseNumberText(n) === undefined);
}

/**
 * The first line (1-based) ending in CRLF and the first ending in a bare LF, when a file has
 * both; undefined when its lines all end alike. Reads the file in 1 MiB chunks and stops once
 * both are found.
 */
export function mixedLineEnds(abs: string): { crlf: number; lf: number } | undefined {
  const fd = fs.openSync(abs, 'r');
  try {
    const buf = Buffer.alloc(HEAD_BYTES);
    let line = 1;
    let crlf = 0;
    let lf = 0;
    let previous = 0; // the byte before this chunk's first
    for (let got = fs.readSync(fd, buf, 0, HEAD_BYTES, null); got > 0; got = fs.readSync(fd, buf, 0, HEAD_BYTES, null)) {
      for (let i = buf.indexOf(10); i !== -1 && i < got; i = buf.indexOf(10, i + 1)) {
        const cr = (i > 0 ? buf[i - 1] : previous) === 13;
        if (cr && !crlf) crlf = line;
        if (!cr && !lf) lf = line;
        if (crlf && lf) return { crlf, lf };
        line++;
      }
      previous = buf[got - 1];
    }
    return undefined;
  } finally {
    fs.closeSync(fd);
  }
}

/** The first `n` lines of a file (a BOM removed), read from at most its first megabyte. */
function headLines(abs: string, n: number): string[] {
  const fd = fs.openSync(abs, 'r');
  try {
    const buf = Buffer.alloc(HEAD_BYTES);
    const got = fs.readSync(fd, buf, 0, HEAD_BYTES, 0);
    return buf.subarray(0, got).toString('utf8').replace(/^\uFEFF/, '').split(/\r?\n/).slice(0, n);
  } finally {
    fs.closeSync(fd);
  }
}

/** The last non-blank line of a file. */
function tailLine(abs: string): string | undefined {
  const size = fs.statSync(abs).size;
  const fd = fs.openSync(abs, 'r');
  try {
    const len = Math.min(size, TAIL_BYTES);
    const buf = Buffer.alloc(len);
    fs.readSync(fd, buf, 0, len, size - len);
    return buf.toString('utf8').split(/\r?\n/).filter((l) => l.trim() !== '').pop();
  } finally {
    fs.closeSync(fd);
  }
}

/** Splits one CSV line on the delimiter, honouring quotes ("" inside quotes is one quote). */
export function splitLine(line: string, delimiter: string, quote: string): string[] {
  const out: string[] = [];
  let cur = '';
  let inQuote = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (quote && ch === quote) {
      if (inQuote && line[i + 1] === quote) {
        cur += quote;
        i++;
      } else inQuote = !inQuote;
    } else if (!inQuote && line.startsWith(delimiter, i)) {
      out.push(cur);
      cur = '';
      i += delimiter.length - 1;
    } else cur += ch;
  }
  out.push(cur);
  return out;
}

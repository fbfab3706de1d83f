/**
 * Arrow IPC files (file or stream format, Feather v2) read batch by batch with apache-arrow.
 * Every Arrow string and binary layout (Utf8, LargeUtf8, Utf8View, Binary, LargeBinary,
 * BinaryView, and dictionaries of them) reads as text; decimals read with their scale; body
 * buffers compressed with LZ4 frames or ZSTD (what pandas' to_feather writes by default) are
 * decoded by lz4js and fzstd, registered in apache-arrow's compression registry.
 */
import fs from 'node:fs';
import { decompress as zstdDecompress } from 'fzstd';
import lz4 from 'lz4js';
import {
  CompressionType,
  DataType,
  RecordBatchReader,
  Type,
  compressionRegistry,
  util,
  type Field,
  type Vector,
} from 'apache-arrow';
import { UserError, errorMessage } from '../util/errors.js';
import type { ColumnBatch, ColumnData, ColumnInfo, ColumnKind, ColumnRequest } from './columns.js';
import { batchKey } from './columns.js';
import { levelCodes } from './levels.js';

/**
 * A buffer whose start is 8-byte aligned (copied when it is not): typed arrays of 64-bit values
 * cannot start elsewhere. fzstd returns a frame's raw block as a view into its input, and
 * apache-arrow hands buffers stored uncompressed (length -1) on as views into the body.
 */
function aligned(bytes: Uint8Array): Uint8Array {
  return bytes.byteOffset % 8 === 0 ? bytes : bytes.slice();
}

compressionRegistry.set(CompressionType.LZ4_FRAME, { decode: (data) => Uint8Array.from(lz4.decompress(data)) });
compressionRegistry.set(CompressionType.ZSTD, { decode: (data) => aligned(zstdDecompress(data)) });

type Decompressor = (...args: unknown[]) => { decommpressedBody: Uint8Array[]; buffers: unknown };
const ALIGNED = Symbol('aligned buffers');

/**
 * Makes the reader's decompression step return 8-byte aligned buffers (see `aligned`), once
 * per reader class: apache-arrow 21 has no option for it (its `_decompressBuffers`).
 */
function alignDecompressedBuffers(reader: RecordBatchReader): void {
  for (let proto = Object.getPrototypeOf((reader as unknown as { _impl: object })._impl); proto; proto = Object.getPrototypeOf(proto)) {
    if (!Object.prototype.hasOwnProperty.call(proto, '_decompressBuffers')) continue;
    if (proto[ALIGNED]) return;
    const original = proto._decompressBuffers as Decompressor;
    proto._decompressBuffers = function (this: unknown, ...args: unknown[]) {
      const out = original.apply(this, args);
      return { ...out, decommpressedBody: out.decommpressedBody.map(aligned) };
    };
    proto[ALIGNED] = true;
    return;
  }
}

async function open(file: string): Promise<RecordBatchReader> {
  try {
    const reader = await RecordBatchReader.from(fs.createReadStream(file));
    alignDecompressedBuffers(reader);
    await reader.open();
    if (!reader.schema) throw new Error('no schema');
    return reader;
  } catch (err) {
    throw new UserError(`${file}: cannot read as Arrow IPC: ${errorMessage(err)}`, { cause: err });
  }
}

const TEXT_TYPES = new Set<number>([Type.Utf8, Type.LargeUtf8, Type.Binary, Type.LargeBinary, Type.Utf8View, Type.BinaryView]);
const BINARY_TYPES = new Set<number>([Type.Binary, Type.LargeBinary, Type.BinaryView]);

/** The value type behind a dictionary, or the type itself. */
function valueType(type: DataType): DataType {
  return DataType.isDictionary(type) ? type.dictionary : type;
}

/** The broad kind of an Arrow type (decided on the type id, not its printed name). */
export function arrowKind(type: DataType): ColumnKind {
  const t = valueType(type);
  if (TEXT_TYPES.has(t.typeId)) return 'text';
  if (t.typeId === Type.Bool) return 'boolean';
  if (DataType.isInt(t) || DataType.isFloat(t) || DataType.isDecimal(t)) return 'numeric';
  return 'other';
}

/** An Arrow field as a column; integer types are named as DuckDB names them, so id handling is one rule. */
function columnOf(f: Field): ColumnInfo {
  const t = valueType(f.type);
  let type = String(f.type);
  if (DataType.isInt(t)) type = `${t.isSigned ? '' : 'U'}${({ 8: 'TINYINT', 16: 'SMALLINT', 32: 'INTEGER', 64: 'BIGINT' } as Record<number, string>)[t.bitWidth]}`;
  if (t.typeId === Type.Null) type = 'NULL';
  return { name: f.name, type, kind: arrowKind(f.type) };
}

/**
 * The columns of an Arrow IPC file from its schema (nothing else is read).
 * @throws UserError when the file is not Arrow IPC or uses a codec not registered here.
 */
export async function readArrowSchema(file: string): Promise<ColumnInfo[]> {
  const reader = await open(file);
  const columns = reader.schema.fields.map(columnOf);
  await reader.cancel();
  return columns;
}

/**
 * Reads the requested columns of an Arrow IPC file in batches of at most `batchRows` rows;
 * `range` (file row numbers, end exclusive) and `limit` bound what is read.
 * @throws UserError naming the file and row on a damaged batch or a null id.
 */
export async function* readArrowBatches(
  file: string,
  request: ColumnRequest[],
  options: { batchRows?: number; limit?: number; range?: { start: number; end: number } } = {},
): AsyncGenerator<ColumnBatch> {
  const reader = await open(file);
  const from = options.range?.start ?? 0;
  // `limit` counts rows from the first one read; `end` is a file row number.
  const end = Math.min(options.range?.end ?? Infinity, from + (options.limit ?? Infinity));
  const maxRows = options.batchRows ?? 65_536;
  let base = 0; // file row number of the record batch's first row
  let offset = 0;
  try {
    for await (const recordBatch of reader) {
      const stop = Math.min(recordBatch.numRows, end - base);
      for (let start = Math.max(0, from - base); start < stop; ) {
        const rows = Math.min(maxRows, stop - start);
        offset = base + start;
        const columns = new Map<string, ColumnData>();
        for (const req of request) {
          const vector = recordBatch.getChild(req.name);
          if (!vector) throw new UserError(`${file}: no column "${req.name}" in a record batch`);
          columns.set(batchKey(req), convert(vector, start, rows, req, file, offset));
        }
        yield { source: file, offset, first: offset, rows, columns };
        start += rows;
      }
      base += recordBatch.numRows;
      if (base >= end) break;
    }
  } catch (err) {
    if (err instanceof UserError) throw err;
    throw new UserError(`${file}: Arrow read failed near data row ${offset + 1}: ${errorMessage(err)}`, { cause: err });
  } finally {
    await reader.cancel();
  }
}

const utf8 = new TextDecoder('utf-8');

/** One cell as a JavaScript value: decimals scaled, binary decoded as UTF-8. */
function cell(vector: Vector, i: number, scale: number | undefined, binary: boolean): unknown {
  const v = vector.get(i);
  if (v === null || v === undefined) return null;
  if (scale !== undefined) return util.bigNumToNumber(v as never, scale);
  if (binary && v instanceof Uint8Array) return utf8.decode(v);
  return v;
}

function convert(vector: Vector, start: number, rows: number, req: ColumnRequest, file: string, offset: number): ColumnData {
  const t = valueType(vector.type);
  const scale = DataType.isDecimal(t) ? t.scale : undefined;
  const binary = BINARY_TYPES.has(t.typeId);
  if (req.as === 'number') {
    const out = new Float64Array(rows);
    for (let i = 0; i < rows; i++) {
      const v = cell(vector, start + i, scale, binary);
      out[i] = v === null ? NaN : typeof v === 'string' ? (v.trim() === '' ? NaN : Number(v)) : Number(v);
    }
    return out;
  }
  if (req.as === 'bigint') {
    const out = new BigInt64Array(rows);
    for (let i = 0; i < rows; i++) {
      const v = cell(vector, start + i, scale, binary);
      if (v === null) throw new UserError(`${file}: id column "${req.name}" is null at data row ${offset + i + 1}`);
      out[i] = BigInt(v as bigint | number);
    }
    return out;
  }
  const out = new Array<string | null>(rows);
  for (let i = 0; i < rows; i++) {
    const v = cell(vector, start + i, scale, binary);
    out[i] = v === null ? null : String(v);
  }
  return req.as === 'level' ? levelCodes(out, req.levels!) : out;
}

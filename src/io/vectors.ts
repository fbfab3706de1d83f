/**
 * Bulk copies of numbers between DuckDB data chunks and typed arrays, with no per-value
 * JavaScript accessor: through the C API that @duckdb/node-bindings publishes, on the chunk
 * handle that @duckdb/node-api's DuckDBDataChunk makes public (`chunk.chunk`). Both are public
 * APIs of the DuckDB packages (node-api's own vectors are built on these calls), so a minor
 * upgrade cannot silently change what is read or written. NULLs are DuckDB's validity bits
 * (bit i of the uint64 words set = row i valid); a missing number is NaN on our side.
 */
import bindings from '@duckdb/node-bindings';
import type { DuckDBDataChunk } from '@duckdb/node-api';

/** A typed array of numbers as a chunk's vector holds them. */
export type NumberArray = Float64Array | Float32Array | Int32Array | BigInt64Array;

const WIDTH: Partial<Record<number, { bytes: number; make: (b: ArrayBuffer, at: number, n: number) => NumberArray }>> = {
  [bindings.Type.DOUBLE]: { bytes: 8, make: (b, at, n) => new Float64Array(b, at, n) },
  [bindings.Type.FLOAT]: { bytes: 4, make: (b, at, n) => new Float32Array(b, at, n) },
  [bindings.Type.INTEGER]: { bytes: 4, make: (b, at, n) => new Int32Array(b, at, n) },
  [bindings.Type.BIGINT]: { bytes: 8, make: (b, at, n) => new BigInt64Array(b, at, n) },
};

/** The DuckDB type id of a chunk's column. */
function typeId(chunk: DuckDBDataChunk, column: number): number {
  return bindings.get_type_id(bindings.vector_get_column_type(bindings.data_chunk_get_vector(chunk.chunk, column)));
}

/**
 * The values of column `column` of a chunk (its first `chunk.rowCount` rows) as a typed array
 * of the column's own type, and its validity words (null when every row is valid); undefined
 * for a column that is not DOUBLE, FLOAT, INTEGER or BIGINT.
 */
export function chunkNumbers(chunk: DuckDBDataChunk, column: number): { values: NumberArray; valid: BigUint64Array | null } | undefined {
  const width = WIDTH[typeId(chunk, column)];
  if (!width) return undefined;
  const n = chunk.rowCount;
  const vector = bindings.data_chunk_get_vector(chunk.chunk, column);
  const data = bindings.vector_get_data(vector, n * width.bytes);
  const words = Math.ceil(n / 64);
  const validity = bindings.vector_get_validity(vector, words * 8);
  return {
    values: width.make(data.buffer as ArrayBuffer, data.byteOffset, n),
    valid: validity ? new BigUint64Array(validity.buffer as ArrayBuffer, validity.byteOffset, words) : null,
  };
}

/**
 * Validity words (bit i of the 64-bit words set = row i valid) as 32-bit words, bit i of the
 * result at bit i & 31 of word i >>> 5, split with one BigInt operation per 64 rows instead of
 * one per row (the same on any host's byte order).
 */
export function validityBits(valid: BigUint64Array): Uint32Array {
  const out = new Uint32Array(valid.length * 2);
  for (let w = 0; w < valid.length; w++) {
    out[2 * w] = Number(valid[w] & 0xffffffffn);
    out[2 * w + 1] = Number(valid[w] >> 32n);
  }
  return out;
}

/** Whether row i is valid in validityBits' words. */
export function isValid(bits: Uint32Array, i: number): boolean {
  return ((bits[i >>> 5] >>> (i & 31)) & 1) === 1;
}

/**
 * Writes `values[start, start + n)` into column `column` of a chunk whose row count is set,
 * converted to the column's type by the typed-array copy (Float64 to FLOAT rounds as
 * Math.fround does); NaN (floats) becomes NULL.
 * @throws Error for a column that is not DOUBLE, FLOAT, INTEGER or BIGINT (a bug: the
 *   writer's schema chose the type).
 */
export function setChunkNumbers(chunk: DuckDBDataChunk, column: number, values: NumberArray, start: number, n: number): void {
  const width = WIDTH[typeId(chunk, column)];
  if (!width) throw new Error(`column ${column} of the chunk does not hold numbers`);
  const vector = bindings.data_chunk_get_vector(chunk.chunk, column);
  const source = values.subarray(start, start + n);
  const target = width.make(new ArrayBuffer(n * width.bytes), 0, n);
  if (target instanceof BigInt64Array === source instanceof BigInt64Array) (target as Float64Array).set(source as Float64Array);
  else if (target instanceof BigInt64Array) for (let i = 0; i < n; i++) target[i] = BigInt(Math.trunc(Number(source[i])));
  else for (let i = 0; i < n; i++) target[i] = Number(source[i]);
  bindings.copy_data_to_vector(vector, 0, target.buffer as ArrayBuffer, 0, target.byteLength);
  if (source instanceof BigInt64Array || source instanceof Int32Array) return;
  let missing = -1;
  for (let i = 0; i < n && missing < 0; i++) if (source[i] !== source[i]) missing = i;
  if (missing < 0) return;
  const words = new BigUint64Array(Math.ceil(n / 64)).fill(0xffffffffffffffffn);
  for (let i = missing; i < n; i++) if (source[i] !== source[i]) words[i >>> 6] &= ~(1n << BigInt(i & 63));
  bindings.vector_ensure_validity_writable(vector);
  bindings.copy_data_to_vector_validity(vector, 0, words.buffer, 0, words.byteLength);
}

/** Row-major matrices as flat Float32Arrays. */

/** The given rows of x (d columns), copied into a new matrix in that order. */
export function gatherRows(x: Float32Array, d: number, rows: ArrayLike<number>): Float32Array {
  const out = new Float32Array(rows.length * d);
  for (let i = 0; i < rows.length; i++) out.set(x.subarray(rows[i] * d, (rows[i] + 1) * d), i * d);
  return out;
}

/** Chunks of rows (d columns) with a byte per row, joined into one matrix and one byte array. */
export function concatRows(xs: Float32Array[], flags: Uint8Array[], d: number): { x: Float32Array; y: Uint8Array } {
  const rows = flags.reduce((a, f) => a + f.length, 0);
  const x = new Float32Array(rows * d);
  const y = new Uint8Array(rows);
  let at = 0;
  xs.forEach((part, i) => {
    x.set(part, at * d);
    y.set(flags[i], at);
    at += flags[i].length;
  });
  return { x, y };
}

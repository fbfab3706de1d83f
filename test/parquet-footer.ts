/**
 * Parquet files whose footer lies about their row counts, for the tests: the Thrift compact
 * footer of a file with one row group is patched where it states `from` rows (an i64 field
 * header 0x16 and the zigzag varint of `from`: the file's num_rows first, each column chunk's
 * num_values, the row group's num_rows last) and its length fixed.
 */
import fs from 'node:fs';

function varint(n: bigint): Buffer {
  const out: number[] = [];
  for (let z = n << 1n; ; z >>= 7n) {
    if (z < 0x80n) {
      out.push(Number(z));
      return Buffer.from(out);
    }
    out.push(Number((z & 0x7fn) | 0x80n));
  }
}

/**
 * Writes `dst`: `src` with its footer claiming `to` rows instead of `from`: in the file's and
 * the row group's counts only ('row counts'), or also in every column chunk ('everywhere').
 */
export function lieAboutRows(src: string, dst: string, from: number, to: number, where: 'row counts' | 'everywhere'): string {
  const buf = fs.readFileSync(src);
  const length = buf.readUInt32LE(buf.length - 8);
  const start = buf.length - 8 - length;
  const footer = buf.subarray(start, buf.length - 8);
  const field = Buffer.concat([Buffer.from([0x16]), varint(BigInt(from))]);
  const hits: number[] = [];
  for (let i = footer.indexOf(field); i >= 0; i = footer.indexOf(field, i + 1)) hits.push(i);
  if (hits.length < 3) throw new Error(`${src}: expected the row count ${from} at least 3 times in the footer, found ${hits.length}`);
  const patched = where === 'everywhere' ? hits : [hits[0], hits[hits.length - 1]];
  const pieces: Buffer[] = [];
  let at = 0;
  for (const h of patched) {
    pieces.push(footer.subarray(at, h), Buffer.from([0x16]), varint(BigInt(to)));
    at = h + field.length;
  }
  pieces.push(footer.subarray(at));
  const body = Buffer.concat(pieces);
  const tail = Buffer.alloc(8);
  tail.writeUInt32LE(body.length, 0);
  tail.write('PAR1', 4);
  fs.writeFileSync(dst, Buffer.concat([buf.subarray(0, start), body, tail]));
  return dst;
}

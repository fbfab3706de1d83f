/**
 * The holdout draw has one definition (audiences/holdout.ts) and two implementations: DuckDB's
 * in batch scoring (build.ts) and JavaScript's in the online view. For any seed, audience name
 * and id text (unicode included) and share, both put the visitor on the same side (fast-check);
 * and the share held out is the share asked for (10,000 ids, within 4 standard errors).
 */
import fc from 'fast-check';
import { listValue } from '@duckdb/node-api';
import { describe, expect, it } from 'vitest';
import { heldOut, holdoutPrefix } from '../src/audiences/holdout.js';
import { connect } from '../src/io/duckdb.js';

describe('the holdout draw', () => {
  it('is the same in DuckDB (batch) and JavaScript (online) for any seed, name, id and share', async () => {
    const con = await connect();
    try {
      await fc.assert(
        fc.asyncProperty(fc.integer({ min: -1000, max: 1_000_000 }), fc.string({ minLength: 1, maxLength: 20, unit: 'grapheme' }), fc.array(fc.string({ maxLength: 30, unit: 'grapheme' }), { minLength: 1, maxLength: 20 }), fc.double({ min: 0.01, max: 0.99, noNaN: true }), async (seed, name, ids, share) => {
          const rows = (await con.runAndReadAll(`SELECT id, CAST(('0x' || left(sha256($1 || id), 8)) AS UBIGINT) / 4294967296.0 < $2 AS held FROM (SELECT unnest($3::VARCHAR[]) AS id)`, [holdoutPrefix(seed, name), share, listValue(ids)] as never)).getRowObjectsJS();
          expect(rows.map((r) => r.held)).toEqual(rows.map((r) => heldOut(seed, name, share, r.id as string)));
        }),
        { numRuns: 60 },
      );
    } finally {
      con.closeSync();
    }
  });

  it('holds out the share asked for, and nobody at 0', () => {
    const ids = Array.from({ length: 10_000 }, (_, i) => `c${i}`);
    const held = ids.filter((id) => heldOut(3, 'vip', 0.2, id)).length;
    expect(Math.abs(held / ids.length - 0.2)).toBeLessThan(4 * Math.sqrt((0.2 * 0.8) / ids.length));
    expect(ids.some((id) => heldOut(3, 'vip', 0, id))).toBe(false);
  });
});

/** Uplift scores measured on rows (validation for the learner's choice, test for the report): Qini, AUUC and uplift at k% (metrics/uplift.ts). */
import { upliftEvaluation, type UpliftEvaluation } from '../../metrics/uplift.js';
import type { PreparedUplift } from './prepare.js';

/** Qini on a set of rows of the campaign. */
export function evaluateOn(score: Float32Array, p: PreparedUplift, rows: Int32Array): UpliftEvaluation {
  return upliftEvaluation(score, Uint8Array.from(rows, (r) => p.rows.t[r]), Uint8Array.from(rows, (r) => p.rows.y[r]));
}

/** Qini of arm k against the control: `score` (one value per row of `rows`) on the rows of that arm and of the control, arm k as the treated. */
export function evaluateArm(score: Float32Array, p: PreparedUplift, rows: Int32Array, k: number): UpliftEvaluation {
  const at = Array.from(rows.keys()).filter((i) => p.rows.t[rows[i]] === k || p.rows.t[rows[i]] === 0);
  return upliftEvaluation(
    Float32Array.from(at, (i) => score[i]),
    Uint8Array.from(at, (i) => (p.rows.t[rows[i]] === k ? 1 : 0)),
    Uint8Array.from(at, (i) => p.rows.y[rows[i]]),
  );
}

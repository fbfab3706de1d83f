/**
 * The CLTV model's baselines, on the same rows: the value in the last window of the horizon's
 * length (scaled from the nearest trailing window `amount_<w>d`), and BG/NBD with Gamma-Gamma
 * spend (Fader, Hardie and Lee 2005; models/btyd) fitted on the training customers' recency,
 * frequency, tenure and mean spend (the columns `audience events` writes). Each needs those
 * columns; without them it says why it is not available.
 */
import { btydValue, customerSummary, fitBtyd, RFM_COLUMNS } from '../btyd/customers.js';
import { WINDOWS, type Valued } from './prepare.js';

/** Why a baseline needs the horizon, in words for the CLI (--horizon-days) and the service (params["horizon-days"]) alike. */
const NO_HORIZON = 'not available: the horizon is unknown (give horizon-days when training)';

/** The last-window baseline: the spend of the trailing window nearest the horizon, scaled to its length. */
export function lastWindow(data: Valued, rows: Int32Array, horizonDays: number | null): Float64Array | string {
  if (horizonDays === null) return NO_HORIZON;
  const windows = WINDOWS.filter((w) => data.extra.has(`amount_${w}d`));
  if (!windows.length) return 'not available: no amount_<w>d column (audience events --amount)';
  const w = windows.reduce((a, b) => (Math.abs(b - horizonDays) < Math.abs(a - horizonDays) ? b : a));
  const col = data.extra.get(`amount_${w}d`)!;
  return Float64Array.from(rows, (r) => (Number.isNaN(col[r]) ? 0 : col[r]) * (horizonDays / w));
}

/** BG/NBD + Gamma-Gamma fitted on (a sample of) the training customers; expected spend over the horizon for `rows`. */
export function bgNbdBaseline(data: Valued, train: Int32Array, rows: Int32Array, horizonDays: number | null, seed: number) {
  if (horizonDays === null) return NO_HORIZON;
  const missing = RFM_COLUMNS.filter((c) => !data.extra.has(c));
  if (missing.length) return `not available: no ${missing.join(', ')} column (the columns audience events writes)`;
  const [active, tenure, recency, amountMean] = RFM_COLUMNS.map((c) => data.extra.get(c)!);
  const summary = (r: number) => customerSummary(active[r], tenure[r], recency[r], amountMean[r]);
  const fitted = fitBtyd(Array.from(train, summary), seed);
  return { pred: Float64Array.from(rows, (r) => btydValue(fitted, summary(r), horizonDays).value), ...fitted };
}

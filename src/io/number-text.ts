/**
 * Numbers as exports write them in text: "2,485" (thousands separators), "66.82%", "$1,362.50",
 * "-€12.00", "1e-3", " " (blank), "N/A". A percent keeps its written value (66.82), so a model
 * sees the column in the units the file shows. A comma is only a thousands separator in
 * groups of three ("1,5" is not a number here: it may be a European decimal comma).
 */

/** Text that stands for a missing value in exports and spreadsheets (compared lower-cased, trimmed). */
const MISSING = new Set(['', '-', '?', '.', 'na', 'n/a', '#n/a', 'nan', 'null', 'none', 'nil', '#value!', '#div/0!']);
const INFINITE = /^([-+]?)(inf|infinity)$/i;
const NUMBER = /^([-+]?)[$€£¥]?\s?((?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?\s?%?$/;

/**
 * The number a text cell holds: a finite number, NaN for a missing value, ±Infinity for
 * "inf", or undefined when the text is not a number at all.
 */
export function parseNumberText(text: string | null): number | undefined {
  if (text === null) return NaN;
  const t = text.trim();
  if (MISSING.has(t.toLowerCase())) return NaN;
  const inf = INFINITE.exec(t);
  if (inf) return inf[1] === '-' ? -Infinity : Infinity;
  const m = NUMBER.exec(t);
  if (!m) return undefined;
  const plain = t.replace(/[$€£¥,%\s]/g, '');
  const v = Number(plain);
  return Number.isNaN(v) ? undefined : v;
}

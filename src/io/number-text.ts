/**
 * Numbers as exports write them in text: "2,485" (thousands separators), "66.82%", "$1,362.50",
 * "-€12.00", "1e-3", " " (blank), "N/A", "(45.00)" (an accounting negative). A percent keeps
 * its written value (66.82), so a model sees the column in the units the file shows. By
 * default a comma is only a thousands separator in groups of three ("1,5" is not a number);
 * with `decimalComma` (a column whose values show it, io/decimal-mark.ts) the roles swap:
 * "1.075,50" is 1075.5 and "1,125" is 1.125. Excel's overflow cells ("#####") are missing.
 */

/** Text that stands for a missing value in exports and spreadsheets (compared lower-cased, trimmed). */
const MISSING = new Set(['', '-', '?', '.', 'na', 'n/a', '#n/a', 'nan', 'null', 'none', 'nil', '#value!', '#div/0!']);
/** Excel's overflow cell: a number too wide for its column is saved as "#####". */
const OVERFLOW = /^#+$/;
const INFINITE = /^([-+]?)(inf|infinity)$/i;
const NUMBER = /^[-+]?[$€£¥]?\s?(?:(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?\s?%?$/;
const NUMBER_DECIMAL_COMMA = /^[-+]?[$€£¥]?\s?(?:(?:\d{1,3}(?:\.\d{3})+|\d+)(?:,\d*)?|,\d+)(?:[eE][-+]?\d+)?\s?%?\s?[€]?$/;
const ACCOUNTING = /^\((.*)\)$/;

/**
 * The number a text cell holds: a finite number, NaN for a missing value, ±Infinity for
 * "inf", or undefined when the text is not a number at all.
 */
export function parseNumberText(text: string | null, decimalComma = false): number | undefined {
  if (text === null) return NaN;
  let t = text.trim();
  if (MISSING.has(t.toLowerCase()) || OVERFLOW.test(t)) return NaN;
  const inf = INFINITE.exec(t);
  if (inf) return inf[1] === '-' ? -Infinity : Infinity;
  const acc = ACCOUNTING.exec(t);
  if (acc) {
    const inner = parseNumberText(acc[1], decimalComma);
    return inner === undefined || Number.isNaN(inner) || /^[-+]/.test(acc[1].trim()) ? undefined : -inner;
  }
  if (decimalComma) {
    if (!NUMBER_DECIMAL_COMMA.test(t)) return undefined;
    t = t.replace(/[.\s]/g, '').replace(',', '.');
  } else if (!NUMBER.test(t)) return undefined;
  const v = Number(t.replace(/[$€£¥,%\s]/g, ''));
  return Number.isNaN(v) ? undefined : v;
}

/** The texts `parseBool` reads as true and as false (trimmed, lowercase). */
export const TRUE = new Set(['true', 't', 'yes', 'y', '1']);
export const FALSE = new Set(['false', 'f', 'no', 'n', '0']);

/** 1, 0, or NaN when the text is not a recognizable boolean (true/false, t/f, yes/no, y/n, 1/0; any case). */
export function parseBool(v: string | null): number {
  if (v === null) return NaN;
  const s = v.trim().toLowerCase();
  return TRUE.has(s) ? 1 : FALSE.has(s) ? 0 : NaN;
}

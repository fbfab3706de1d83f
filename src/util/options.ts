/**
 * Option values as the CLI's flags and the service's train params give them (text, numbers,
 * booleans), checked with messages that name the option and the allowed range.
 */
import { UserError } from './errors.js';

/** Option values by name: the flags without dashes. */
export type OptionValues = Record<string, string | boolean | string[] | undefined>;

/** A required string option. @throws UserError naming the flag and the command when it is missing or empty. */
export function str(v: unknown, flag: string, cmd: string): string {
  if (typeof v !== 'string' || v === '') throw new UserError(`audience ${cmd}: ${flag} is required`);
  return v;
}

/** Numbers as options accept them: decimal, optionally with an exponent. */
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

/**
 * A numeric option: undefined when absent, else a finite number in range.
 * `above` is an exclusive lower bound (a learning rate > 0); `min` and `max` are inclusive.
 * @throws UserError naming the flag, the value and the range.
 */
export function num(v: unknown, flag: string, opts: { int?: boolean; min?: number; max?: number; above?: number } = {}): number | undefined {
  if (v === undefined) return undefined;
  // Decimal notation only: Number() would also take "0x10", "0b1" and "Infinity".
  const n = typeof v === 'string' ? (DECIMAL.test(v.trim()) ? Number(v) : NaN) : Number(v);
  const bad =
    !Number.isFinite(n) ||
    (opts.int && !Number.isInteger(n)) ||
    (opts.min !== undefined && n < opts.min) ||
    (opts.max !== undefined && n > opts.max) ||
    (opts.above !== undefined && !(n > opts.above));
  if (bad) {
    const range = [
      opts.above !== undefined && `> ${opts.above}`,
      opts.min !== undefined && `>= ${opts.min}`,
      opts.max !== undefined && `<= ${opts.max}`,
    ].filter(Boolean);
    throw new UserError(`${flag} ${String(v)}: expected ${opts.int ? 'an integer' : 'a number'}${range.length ? ` ${range.join(' and ')}` : ''}`);
  }
  return n;
}

/** Repeated and comma-separated values: `--input a.parquet --input b.parquet` or `--exclude a,b`. */
export function list(v: unknown): string[] {
  const items = Array.isArray(v) ? v : typeof v === 'string' ? [v] : [];
  return items.flatMap((s) => String(s).split(',')).map((s) => s.trim()).filter(Boolean);
}

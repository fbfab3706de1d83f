/** Flag parsing for the CLI on node:util parseArgs, with errors that name the command. */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UserError, errorMessage } from '../util/errors.js';

export type Options = NonNullable<ParseArgsConfig['options']>;

export interface Command {
  name: string;
  summary: string;
  usage: string;
  options: Options;
  run(values: Record<string, string | boolean | string[] | undefined>, positionals: string[]): Promise<void>;
}

/**
 * Parses a command's flags (node:util parseArgs, strict: unknown flags are errors).
 * @throws UserError naming the command and pointing to its --help.
 */
export function parse(cmd: Command, argv: string[]) {
  try {
    return parseArgs({ args: argv, options: { ...cmd.options, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UserError(`audience ${cmd.name}: ${errorMessage(err).replace(/^.*?: /, '')}\nRun 'audience ${cmd.name} --help' for its options.`);
  }
}

/** A required string option. @throws UserError naming the flag and the command when it is missing or empty. */
export function str(v: unknown, flag: string, cmd: string): string {
  if (typeof v !== 'string' || v === '') throw new UserError(`audience ${cmd}: ${flag} is required`);
  return v;
}

/**
 * A numeric option: undefined when absent, else a finite number in range.
 * `above` is an exclusive lower bound (a learning rate > 0); `min` and `max` are inclusive.
 * @throws UserError naming the flag, the value and the range.
 */
export function num(v: unknown, flag: string, opts: { int?: boolean; min?: number; max?: number; above?: number } = {}): number | undefined {
  if (v === undefined) return undefined;
  const n = typeof v === 'string' && v.trim() === '' ? NaN : Number(v);
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

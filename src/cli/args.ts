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

export function parse(cmd: Command, argv: string[]) {
  try {
    return parseArgs({ args: argv, options: { ...cmd.options, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UserError(`audience ${cmd.name}: ${errorMessage(err).replace(/^.*?: /, '')}\nRun 'audience ${cmd.name} --help' for its options.`);
  }
}

export function str(v: unknown, flag: string, cmd: string): string {
  if (typeof v !== 'string' || v === '') throw new UserError(`audience ${cmd}: ${flag} is required`);
  return v;
}

export function num(v: unknown, flag: string, opts: { int?: boolean; min?: number } = {}): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || (opts.int && !Number.isInteger(n)) || (opts.min !== undefined && n < opts.min)) {
    throw new UserError(`${flag} ${String(v)}: expected ${opts.int ? 'an integer' : 'a number'}${opts.min !== undefined ? ` >= ${opts.min}` : ''}`);
  }
  return n;
}

/** Repeated and comma-separated values: `--input a.parquet --input b.parquet` or `--exclude a,b`. */
export function list(v: unknown): string[] {
  const items = Array.isArray(v) ? v : typeof v === 'string' ? [v] : [];
  return items.flatMap((s) => String(s).split(',')).map((s) => s.trim()).filter(Boolean);
}

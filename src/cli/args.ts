/** Flag parsing for the CLI on node:util parseArgs, with errors that name the command. */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UserError, errorMessage } from '../util/errors.js';

export { list, num, str } from '../util/options.js';

export type Options = NonNullable<ParseArgsConfig['options']>;

export interface Command {
  name: string;
  usage: string;
  options: Options;
  /** Arguments that are not flags the command takes at most (train's kind, report's model; default none): more are refused. */
  positionals?: number;
  /** Help for a sub-command (e.g. `train kmeans --help`), when the command has them. */
  usageFor?(positionals: string[]): string | undefined;
  run(values: Record<string, string | boolean | string[] | undefined>, positionals: string[]): Promise<void>;
}

/**
 * Parses a command's flags (node:util parseArgs, strict: unknown flags are errors).
 * @throws UserError naming the command and pointing to its --help.
 */
export function parse(cmd: Command, argv: string[]) {
  let parsed;
  try {
    parsed = parseArgs({ args: negativeValues(cmd.options, argv), options: { ...cmd.options, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true, tokens: true });
  } catch (err) {
    const unknown = /^Unknown option '(-{1,2}[^']+)'/.exec(errorMessage(err).replace(/^.*?: /, ''));
    if (unknown) throw new UserError(`audience ${cmd.name}: ${unknown[1]} is not an option${suggest(unknown[1].replace(/^-+/, ''), Object.keys(cmd.options))}\nRun 'audience ${cmd.name} --help' for its options.`);
    throw new UserError(`audience ${cmd.name}: ${errorMessage(err).replace(/^.*?: /, '')}\nRun 'audience ${cmd.name} --help' for its options.`);
  }
  checkArguments(cmd, parsed);
  return parsed;
}

/**
 * Refuses what parseArgs lets through but would be read wrongly: a value flag given twice
 * (its last value would win without a word: --k 3 --k 5 trains k = 5), and arguments the
 * command does not take (`--input data/*.csv` unquoted: the shell gives the files after the
 * first as arguments, which would be left out).
 * @throws UserError naming the flag or the argument.
 */
function checkArguments(cmd: Command, parsed: { values: Record<string, unknown>; positionals: string[]; tokens?: unknown[] }): void {
  const given = new Map<string, string[]>();
  for (const t of (parsed.tokens ?? []) as Array<{ kind: string; name: string; value?: string }>) {
    if (t.kind !== 'option' || t.value === undefined || cmd.options[t.name]?.multiple) continue;
    given.set(t.name, [...(given.get(t.name) ?? []), t.value]);
  }
  for (const [name, values] of given) {
    if (values.length > 1) throw new UserError(`audience ${cmd.name}: --${name} is given ${values.length} times (${values.map((v) => JSON.stringify(v)).join(', ')}); give it once\nRun 'audience ${cmd.name} --help' for its options.`);
  }
  const extra = parsed.positionals[cmd.positionals ?? 0];
  if (extra !== undefined && !parsed.values.help) {
    const inputs = cmd.options.input
      ? '. To read several files, repeat --input (--input a.csv --input b.csv), separate them with commas, or quote a glob so that audience expands it: --input \'data/*.csv\''
      : '';
    throw new UserError(`audience ${cmd.name}: unexpected argument "${extra}"${inputs}\nRun 'audience ${cmd.name} --help' for its options.`);
  }
}

/** `--seed -3` as `--seed=-3`: parseArgs reads a value starting with "-" as a flag and refuses it. */
function negativeValues(options: Options, argv: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const name = /^--([^=]+)$/.exec(argv[i])?.[1];
    if (name && options[name]?.type === 'string' && /^-(\d|\.\d)/.test(argv[i + 1] ?? '')) out.push(`${argv[i]}=${argv[++i]}`);
    else out.push(argv[i]);
  }
  return out;
}

/** Edit distance (insertions, deletions, substitutions) between two short strings. */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row[j] = Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = row;
  }
  return prev[b.length];
}

/** "; did you mean --model?" for the closest option (a prefix of it, or within 2 edits), else "". */
function suggest(given: string, options: string[]): string {
  const near = options
    .map((o) => ({ o, d: o.startsWith(given) || given.startsWith(o) ? 0.5 : distance(given, o) }))
    .filter((c) => c.d <= 2)
    .sort((a, b) => a.d - b.d);
  return near.length ? `; did you mean --${near[0].o}?` : '';
}


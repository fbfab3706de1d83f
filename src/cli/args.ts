/** Flag parsing for the CLI on node:util parseArgs, with errors that name the command. */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UserError, errorMessage } from '../util/errors.js';

export { list, num, str } from '../util/options.js';

export type Options = NonNullable<ParseArgsConfig['options']>;

export interface Command {
  name: string;
  summary: string;
  usage: string;
  options: Options;
  /** Help for a sub-command (e.g. `train kmeans --help`), when the command has them. */
  usageFor?(positionals: string[]): string | undefined;
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


/** The `audience` command. Exit codes: 0 done, 2 bad input or usage, 1 internal error. */
import fs from 'node:fs';
import { DeviceError } from '../compute/read.js';
import { systemErrorMessage, UserError } from '../util/errors.js';
import { parse } from './args.js';
import { COMMANDS } from './commands/index.js';

/** The package's version (package.json beside src/ and dist/). */
function packageVersion(): string {
  return (JSON.parse(fs.readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}

function help(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return `audience: train and score marketing audience models on visitor files (Parquet, CSV, Arrow)

Usage: audience <command> [options]    (audience <command> --help for its options; audience --version)

${COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`).join('\n')}

Quick start:
  audience generate --visitors 100000 --out visitors.parquet
  audience train kmeans --input visitors.parquet --k 4..8 --name behavior --exclude converted,true_segment,email
  audience score --input visitors.parquet --model behavior --output out/
  audience models show behavior

Environment: AUDIENCE_BACKEND=webgpu|tensorflow|wasm|cpu forces a backend;
AUDIENCE_MODEL_STORE sets the model store (default ./models);
AUDIENCE_RESIDENT_MB caps feature data kept in backend memory;
AUDIENCE_WEBGPU_FUSED=0 uses tfjs's generic ops instead of our WGSL kernels on webgpu.`;
}

/**
 * Runs the `audience` command with its arguments (without node and the script).
 * @returns the exit code: 0 done, 2 bad input or usage (also a file-system or network
 *   failure, as "cannot write <path>: <reason>"), 1 a bug (printed with its stack) or a
 *   computation the GPU device failed (DeviceError, its message alone).
 */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(`${help()}\n`);
    return name ? 0 : 2;
  }
  if (name === '--version' || name === '-V') {
    process.stdout.write(`${packageVersion()}\n`);
    return 0;
  }
  const entry = COMMANDS.find((c) => c.name === name);
  try {
    if (!entry) throw new UserError(`unknown command "${name}"; commands: ${COMMANDS.map((c) => c.name).join(', ')}`);
    const cmd = await entry.load();
    const { values, positionals } = parse(cmd, rest);
    if (values.help) {
      process.stdout.write(`${cmd.usageFor?.(positionals) ?? cmd.usage}\n`);
      return 0;
    }
    await cmd.run(values, positionals);
    return 0;
  } catch (err) {
    if (err instanceof UserError) {
      process.stderr.write(`error: ${err.message}\n`);
      return 2;
    }
    const system = systemErrorMessage(err);
    if (system) {
      process.stderr.write(`error: ${system}\n`);
      return 2;
    }
    if (err instanceof DeviceError) {
      // Not the input's fault, and its stack says nothing the message does not.
      process.stderr.write(`error: ${err.message}\n`);
      return 1;
    }
    process.stderr.write(`internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    return 1;
  }
}

/**
 * Exits with `code` once what was written to stdout and stderr has reached them. A pipe takes
 * 64 KiB at a time and Node writes the rest as the reader drains it, so process.exit right
 * after a large write (`models show --json | jq`) cut the output at 64 KiB, with exit 0
 * (nodejs/node#6456). An empty write's callback runs after the writes queued before it.
 */
export function exitWhenFlushed(code: number): void {
  process.exitCode = code;
  let pending = 2;
  const done = () => {
    if (--pending === 0) process.exit(code);
  };
  // A reader gone (EPIPE) calls back with the error: exit all the same.
  process.stdout.write('', done);
  process.stderr.write('', done);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main(process.argv.slice(2)).then(exitWhenFlushed);
}

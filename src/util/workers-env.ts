/**
 * AUDIENCE_WORKERS, the worker threads a user asks for (shard threads when scoring, compute
 * workers when training), read in one place so every command refuses a bad value alike. Plain
 * (no engine imports): the server reads it before it hands the value to its runners.
 */
import { UserError } from './errors.js';

/** The most threads AUDIENCE_WORKERS may ask for. */
export const MAX_WORKERS = 256;

/**
 * The threads AUDIENCE_WORKERS asks for (0: none, work in this process), or undefined when it
 * is unset or blank.
 * @throws UserError naming the variable when it is not plain digits from 0 to MAX_WORKERS.
 */
export function envWorkers(env: NodeJS.ProcessEnv = process.env): number | undefined {
  const raw = env.AUDIENCE_WORKERS?.trim();
  if (!raw) return undefined;
  if (!/^[0-9]+$/.test(raw) || Number(raw) > MAX_WORKERS) {
    throw new UserError(`AUDIENCE_WORKERS=${raw}: expected a whole number of worker threads from 0 to ${MAX_WORKERS} (0: work in this process), or leave it unset for the default`);
  }
  return Number(raw);
}

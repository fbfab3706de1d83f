/**
 * Where Redis is and whether it answers: the REDIS_URL switch, the URL's check, a PING. Kept
 * apart from the queue (queue-client.ts, BullMQ), so the processes and commands that only ask these
 * questions do not load BullMQ: it is imported only where shards or K-Means steps go through
 * Redis.
 */
import { errorMessage, UserError } from '../util/errors.js';

/** The URL without its password, for messages. */
export const shownUrl = (url: string): string => url.replace(/\/\/[^@]*@/, '//***@');

/**
 * A Redis URL as the queue accepts it: redis:// or rediss://, a host, a port in range.
 * @throws UserError naming the flag and what was expected.
 */
export function checkRedisUrl(url: string, flag = '--redis'): string {
  let u: URL | undefined;
  try {
    u = /^rediss?:\/\//.test(url) ? new URL(url) : undefined;
  } catch {
    u = undefined;
  }
  if (!u || !u.hostname || (u.port !== '' && !(Number(u.port) >= 1 && Number(u.port) <= 65535)) || !/^\/?\d*$/.test(u.pathname)) {
    throw new UserError(`${flag} ${url}: expected a URL such as redis://127.0.0.1:6379 (rediss:// for TLS, /N for database N)`);
  }
  return url;
}

/**
 * Fails fast when Redis does not answer: a queued job would otherwise wait with no end.
 * @throws UserError with the reason and what to do.
 */
export async function requireRedis(url: string): Promise<void> {
  const answer = await pingRedis(url);
  if (answer !== 'ok') throw new UserError(`Redis at ${shownUrl(url)} does not answer (${answer}): start it, or run without REDIS_URL / --redis`);
}

/** The Redis URL that switches shards to the queue (`REDIS_URL` of `env`), if set. */
export function redisUrl(env: NodeJS.ProcessEnv = process.env): string | undefined {
  return env.REDIS_URL?.trim() || undefined;
}

/** 'ok', or why Redis at `url` did not answer a PING within 2 s. */
export async function pingRedis(url: string): Promise<string> {
  let redis: import('ioredis').Redis | undefined;
  try {
    // Loaded here: a process that never talks to Redis does not pay for the client.
    const { Redis } = await import('ioredis');
    redis = new Redis(url, { lazyConnect: true, connectTimeout: 2000, maxRetriesPerRequest: 0, retryStrategy: () => null });
    redis.on('error', () => {}); // reported below
    await redis.connect();
    const pong = await Promise.race([redis.ping(), new Promise<string>((_, reject) => setTimeout(() => reject(new Error('no answer in 2 s')), 2000))]);
    return pong === 'PONG' ? 'ok' : `unexpected answer ${pong}`;
  } catch (err) {
    return `unreachable: ${errorMessage(err)}`;
  } finally {
    redis?.disconnect();
  }
}

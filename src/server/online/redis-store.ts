/**
 * The online view's state in Redis (REDIS_URL), so several servers share one view: an event
 * posted to one is in every other's visitor view at once, and membership changes are logged
 * once whichever server finds them (the diff and the log in one Lua script, atomic in Redis).
 *
 * Keys, under `audience:online:`: `ev:<id>` (a list of the visitor's events, JSON), `visitors`
 * (a set), `cattotal` (events per category), `catday:<day>` (events per category that day) and
 * `catdays` (the days, sorted), `mem:<id>` (the visitor's
 * audiences), `seq` (the change counter) and `chg:<audience>` (a sorted set of changes by
 * cursor). An event is acknowledged once Redis has applied its transaction; durability is then
 * Redis's own: run it with `appendonly yes` and `appendfsync always` for the guarantee the
 * embedded SQLite store gives (fsync before the answer).
 */
import { Redis as IORedis } from 'ioredis';
import type { VisitorEvent } from '../../features/visitor.js';
import type { MembershipChange, OnlineStore, StoredEvent } from './store.js';

const P = 'audience:online:';

/** Sets `mem:<id>` to the audiences given (ARGV[2..]); logs each difference; returns [audience, change, cursor] triples, flattened. */
const UPDATE_MEMBERSHIP = `
local key = KEYS[1]
local at = ARGV[1]
local id = ARGV[2]
local now = {}
for i = 3, #ARGV do now[ARGV[i]] = true end
local before = {}
for _, a in ipairs(redis.call('SMEMBERS', key)) do before[a] = true end
local out = {}
local function log(a, change)
  local cursor = redis.call('INCR', '${P}seq')
  redis.call('ZADD', '${P}chg:' .. a, cursor, cjson.encode({id = id, audience = a, change = change, at = at, cursor = cursor}))
  table.insert(out, a); table.insert(out, change); table.insert(out, cursor)
end
for i = 3, #ARGV do
  local a = ARGV[i]
  if not before[a] then redis.call('SADD', key, a); log(a, 'enter') end
end
for a, _ in pairs(before) do
  if not now[a] then redis.call('SREM', key, a); log(a, 'exit') end
end
return out`;

/** The store on a Redis server. */
export class RedisOnlineStore implements OnlineStore {
  private readonly redis: IORedis;

  constructor(url: string) {
    this.redis = new IORedis(url, { maxRetriesPerRequest: 2 });
    this.redis.defineCommand('updateMembership', { numberOfKeys: 1, lua: UPDATE_MEMBERSHIP });
  }

  async append(events: StoredEvent[]): Promise<void> {
    const tx = this.redis.multi();
    for (const e of events) {
      tx.rpush(`${P}ev:${e.id}`, JSON.stringify([e.day, Number.isNaN(e.amount) ? null : e.amount, e.category, e.session]));
      tx.sadd(`${P}visitors`, e.id);
      if (e.category !== null) {
        tx.hincrby(`${P}cattotal`, e.category, 1);
        tx.hincrby(`${P}catday:${e.day}`, e.category, 1);
        tx.zadd(`${P}catdays`, e.day, String(e.day));
      }
    }
    const results = await tx.exec();
    const failed = results?.find(([err]) => err);
    if (!results || failed) throw new Error(`Redis did not store the events: ${failed?.[0]?.message ?? 'transaction aborted'}`);
  }

  async events(id: string): Promise<VisitorEvent[]> {
    return (await this.redis.lrange(`${P}ev:${id}`, 0, -1)).map((s) => {
      const [day, amount, category, session] = JSON.parse(s) as [number, number | null, string | null, string | null];
      return { day, amount: amount ?? NaN, category, session };
    });
  }

  /** The totals less the days after `day` (none, as of today). */
  async categoryCounts(day: number): Promise<Array<[string, number]>> {
    const counts = new Map(Object.entries(await this.redis.hgetall(`${P}cattotal`)).map(([c, n]) => [c, Number(n)]));
    for (const later of await this.redis.zrangebyscore(`${P}catdays`, `(${day}`, '+inf')) {
      for (const [c, n] of Object.entries(await this.redis.hgetall(`${P}catday:${later}`))) counts.set(c, (counts.get(c) ?? 0) - Number(n));
    }
    return [...counts].filter(([, n]) => n > 0);
  }

  async visitors(): Promise<string[]> {
    return this.redis.smembers(`${P}visitors`);
  }

  async updateMembership(id: string, audiences: string[], at: string): Promise<MembershipChange[]> {
    const flat = (await (this.redis as unknown as { updateMembership(key: string, ...args: string[]): Promise<Array<string | number>> }).updateMembership(`${P}mem:${id}`, at, id, ...audiences)) ?? [];
    const changes: MembershipChange[] = [];
    for (let i = 0; i < flat.length; i += 3) changes.push({ id, audience: String(flat[i]), change: flat[i + 1] as 'enter' | 'exit', at, cursor: Number(flat[i + 2]) });
    return changes;
  }

  async changesAfter(audience: string, cursor: number, limit: number): Promise<MembershipChange[]> {
    return (await this.redis.zrangebyscore(`${P}chg:${audience}`, `(${cursor}`, '+inf', 'LIMIT', 0, limit)).map((s) => JSON.parse(s) as MembershipChange);
  }

  async close(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}

/**
 * Two `audience serve --online` processes on one Redis (REDIS_URL) share one view: an event
 * posted to A is in B's visitor view, a membership change A finds is in B's change feed (B's
 * long poll wakes by polling), and a change is logged once although both servers sweep.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasRedis, startRedis } from './redis-helpers.js';
import { startServer, type Server } from './service-helpers.js';

describe.skipIf(!hasRedis)('online view on Redis', () => {
  let dir: string;
  let redis: Awaited<ReturnType<typeof startRedis>>;
  const servers: Server[] = [];

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ae-online-redis-'));
    redis = await startRedis(dir);
    fs.writeFileSync(path.join(dir, 'audiences.json'), JSON.stringify({ audiences: [{ name: 'recent', rule: 'events_7d >= 1' }] }));
    fs.writeFileSync(path.join(dir, 'online.json'), JSON.stringify({ events: { id: 'customer_id', time: 'date', amount: 'amount' }, audiences: 'audiences.json' }));
    for (const name of ['a', 'b']) {
      const args = ['--online', path.join(dir, 'online.json'), '--data-dir', path.join(dir, `data-${name}`), '--data-root', dir, '--store', path.join(dir, 'models'), '--log-level', 'silent'];
      servers.push(await startServer(args, { REDIS_URL: redis.url }));
    }
  }, 120_000);

  afterAll(async () => {
    for (const s of servers) await s.stop();
    redis?.server.kill();
  });

  it('an event posted to server A is visible from server B, and so is the change it makes', async () => {
    const [a, b] = servers;
    const today = new Date().toISOString().slice(0, 10);
    const waiting = b.request('GET', '/v1/audiences/recent/changes?after=0&wait=20');
    await new Promise((r) => setTimeout(r, 200));
    const posted = await a.request('POST', '/v1/events', { events: [{ customer_id: 'r1', date: today, amount: 7.5 }, { customer_id: 'r1', date: today, amount: 2.5 }] });
    expect(posted.body).toEqual({ accepted: 2, refused: [] });
    const seen = await b.request('GET', '/v1/visitors/r1');
    expect(seen.status).toBe(200);
    expect(seen.body.features).toMatchObject({ events: 2, amount_total: 10, recency_days: 0 });
    expect(seen.body.audiences).toEqual(['recent']);
    const feed = (await waiting).body;
    expect(feed.changes.map((c: { id: string; change: string }) => `${c.change} ${c.id}`)).toEqual(['enter r1']);
    // Both servers' first sweeps ran; the enter is logged once.
    const again = await a.request('GET', '/v1/audiences/recent/changes?after=0&wait=0');
    expect(again.body.changes).toHaveLength(1);
  });
});

/**
 * Durability of POST /v1/events under kill -9: a real `audience serve --online` process takes
 * batches of events from four concurrent posters and is killed mid-load; after a restart on the
 * same data folder every acknowledged batch is there whole, and a batch the server died while
 * writing is there whole or not at all (one transaction).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { startServer, type Server } from './service-helpers.js';

describe('online events under kill -9', () => {
  it('keeps every acknowledged event', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ae-online-kill-'));
    fs.writeFileSync(path.join(dir, 'online.json'), JSON.stringify({ events: { id: 'customer_id', time: 'date', amount: 'amount' } }));
    const args = ['--online', path.join(dir, 'online.json'), '--data-dir', path.join(dir, 'data'), '--data-root', dir, '--store', path.join(dir, 'models'), '--log-level', 'silent'];
    let server: Server = await startServer(args);
    const acked: string[] = [];
    const sent: string[] = [];
    let stop = false;
    const poster = async (lane: number) => {
      for (let n = 0; !stop; n++) {
        const id = `b${lane}-${n}`;
        sent.push(id);
        try {
          const res = await server.request('POST', '/v1/events', { events: Array.from({ length: 10 }, (_, i) => ({ customer_id: id, date: '2024-06-30', amount: i })) });
          if (res.status === 200 && res.body.accepted === 10) acked.push(id);
        } catch {
          return; // the server is gone
        }
      }
    };
    const lanes = [0, 1, 2, 3].map(poster);
    await new Promise((r) => setTimeout(r, 1500));
    await server.kill9();
    stop = true;
    await Promise.all(lanes);
    expect(acked.length).toBeGreaterThan(20);
    server = await startServer(args);
    try {
      for (const id of sent) {
        const res = await server.request('GET', `/v1/visitors/${id}?asOf=2024-06-30`);
        if (acked.includes(id)) expect(res.body.features?.events, id).toBe(10);
        else expect([404, 200]).toContain(res.status);
        if (res.status === 200) expect(res.body.features.amount_total).toBe(45);
      }
    } finally {
      await server.stop();
    }
  }, 120_000);
});

/**
 * Prometheus metrics (prom-client), read from the job store when scraped: runners are other
 * processes, so the store is where their progress is.
 */
import client from 'prom-client';
import type { JobStore } from './jobs/store.js';

/** The Prometheus registry: job counts by status, rows scored, rows/s per job, shard seconds, backend info. */
export function createMetrics(jobs: JobStore, backend: () => { name: string; device: string }): client.Registry {
  const registry = new client.Registry();
  client.collectDefaultMetrics({ register: registry });
  new client.Gauge({
    name: 'audience_jobs',
    help: 'Jobs by status',
    labelNames: ['status'],
    registers: [registry],
    collect() {
      for (const [status, n] of Object.entries(jobs.counts())) this.set({ status }, n);
    },
  });
  new client.Gauge({
    name: 'audience_rows_scored',
    help: 'Rows scored by score jobs, finished or running (counted from finished shards and running batches)',
    registers: [registry],
    collect() {
      const r = jobs.sql("SELECT coalesce(sum(rows_done), 0) AS n FROM jobs WHERE type = 'score' AND status IN ('running', 'succeeded')").get() as { n: number };
      this.set(r.n);
    },
  });
  new client.Gauge({
    name: 'audience_job_rows_per_second',
    help: 'Rows per second of each running score job (this run)',
    labelNames: ['job'],
    registers: [registry],
    collect() {
      this.reset();
      for (const j of jobs.list({ status: 'running', limit: 500 })) {
        if (j.type !== 'score' || !j.runStartedAt) continue;
        this.set({ job: j.id }, j.runRows / Math.max(1e-3, (Date.now() - Date.parse(j.runStartedAt)) / 1000));
      }
    },
  });
  // Shard durations: each finished shard is observed once, when first seen by a scrape.
  let seen = 0;
  new client.Histogram({
    name: 'audience_shard_seconds',
    help: 'Time to read, score and write one shard',
    buckets: [0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600],
    registers: [registry],
    collect() {
      const rows = jobs.sql("SELECT rowid, seconds FROM shards WHERE status = 'done' AND rowid > ? ORDER BY rowid").all(seen) as Array<{ rowid: number; seconds: number }>;
      for (const r of rows) {
        this.observe(r.seconds);
        seen = r.rowid;
      }
    },
  });
  new client.Gauge({
    name: 'audience_backend_info',
    help: 'The compute backend this host selects (1)',
    labelNames: ['backend', 'device'],
    registers: [registry],
    collect() {
      const b = backend();
      this.reset();
      this.set({ backend: b.name, device: b.device }, 1);
    },
  });
  return registry;
}

/**
 * Where the online view keeps its state: every accepted event, the events per category and day
 * (for the category shares), each audience's members and the log of membership changes.
 *
 * The embedded store is SQLite (better-sqlite3) in WAL mode with synchronous=FULL: a commit
 * returns after the WAL is on disk, so an event acknowledged is never lost to a kill -9 or a
 * power cut. Chosen by measurement (scratch run, 500 commits on this 2-core machine's disk):
 * a commit of 10 events took 0.31 ms at the median (4.1 ms p99) and one visitor's events read
 * back in 0.008 ms, against 1.36 ms (8.9 ms p99) and 0.66 ms for DuckDB, whose columnar reads
 * are made for scans, not point lookups. With REDIS_URL the state is in Redis instead
 * (online/redis-store.ts), so several servers share one view.
 */
import path from 'node:path';
import Database from 'better-sqlite3';
import type { VisitorEvent } from '../../features/visitor.js';
import { makeFolder } from '../../util/files.js';

/** An accepted event: the visitor's id and what the features read. */
export interface StoredEvent extends VisitorEvent {
  id: string;
}

/** One membership change, as GET /v1/audiences/{name}/changes lists it. */
export interface MembershipChange {
  id: string;
  audience: string;
  change: 'enter' | 'exit';
  /** When the change was found (ISO 8601, UTC). */
  at: string;
  /** Its place in the log: ask for changes `after` it. */
  cursor: number;
}

/** The state an online view reads and writes (async, so Redis can stand in for SQLite). */
export interface OnlineStore {
  /** Stores events; resolves once they are durable. */
  append(events: StoredEvent[]): Promise<void>;
  /** A visitor's events (any order). */
  events(id: string): Promise<VisitorEvent[]>;
  /** Events per category over every visitor's events on or before `day`. */
  categoryCounts(day: number): Promise<Array<[string, number]>>;
  /** Every visitor with an event. */
  visitors(): Promise<string[]>;
  /**
   * Sets the audiences a visitor is in now; logs an enter or exit for each difference from
   * before (atomically, so two servers never log one change twice) and returns them.
   */
  updateMembership(id: string, audiences: string[], at: string): Promise<MembershipChange[]>;
  /** Up to `limit` changes of an audience after `cursor`, oldest first. */
  changesAfter(audience: string, cursor: number, limit: number): Promise<MembershipChange[]>;
  close(): Promise<void>;
}

/** The embedded store: DIR/online.sqlite. */
export class SqliteOnlineStore implements OnlineStore {
  private readonly db: Database.Database;

  private readonly insert: Database.Statement;

  private readonly count: Database.Statement;

  private readonly byId: Database.Statement;

  private readonly total: Database.Statement;

  constructor(dir: string) {
    makeFolder(dir);
    this.db = new Database(path.join(dir, 'online.sqlite'));
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS events (seq INTEGER PRIMARY KEY, id TEXT NOT NULL, day INTEGER NOT NULL, amount REAL, category TEXT, session TEXT);
      CREATE INDEX IF NOT EXISTS events_id ON events (id);
      CREATE TABLE IF NOT EXISTS category_days (category TEXT NOT NULL, day INTEGER NOT NULL, n INTEGER NOT NULL, PRIMARY KEY (category, day));
      CREATE INDEX IF NOT EXISTS category_days_day ON category_days (day);
      CREATE TABLE IF NOT EXISTS category_totals (category TEXT PRIMARY KEY, n INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS members (audience TEXT NOT NULL, id TEXT NOT NULL, PRIMARY KEY (audience, id));
      CREATE INDEX IF NOT EXISTS members_id ON members (id);
      CREATE TABLE IF NOT EXISTS changes (cursor INTEGER PRIMARY KEY, audience TEXT NOT NULL, id TEXT NOT NULL, change TEXT NOT NULL, at TEXT NOT NULL);
      CREATE INDEX IF NOT EXISTS changes_audience ON changes (audience, cursor);
    `);
    this.insert = this.db.prepare('INSERT INTO events (id, day, amount, category, session) VALUES (?, ?, ?, ?, ?)');
    this.count = this.db.prepare('INSERT INTO category_days (category, day, n) VALUES (?, ?, 1) ON CONFLICT (category, day) DO UPDATE SET n = n + 1');
    this.byId = this.db.prepare('SELECT day, amount, category, session FROM events WHERE id = ?');
    this.total = this.db.prepare('INSERT INTO category_totals (category, n) VALUES (?, 1) ON CONFLICT (category) DO UPDATE SET n = n + 1');
  }

  async append(events: StoredEvent[]): Promise<void> {
    this.db.transaction(() => {
      for (const e of events) {
        this.insert.run(e.id, e.day, Number.isNaN(e.amount) ? null : e.amount, e.category, e.session);
        if (e.category !== null) {
          this.count.run(e.category, e.day);
          this.total.run(e.category);
        }
      }
    })();
  }

  async events(id: string): Promise<VisitorEvent[]> {
    return (this.byId.all(id) as Array<{ day: number; amount: number | null; category: string | null; session: string | null }>).map((r) => ({ ...r, amount: r.amount ?? NaN }));
  }

  /** The totals less the days after `day` (none, as of today): a few rows read, however long the history. */
  async categoryCounts(day: number): Promise<Array<[string, number]>> {
    const counts = new Map((this.db.prepare('SELECT category, n FROM category_totals').all() as Array<{ category: string; n: number }>).map((r) => [r.category, r.n]));
    for (const r of this.db.prepare('SELECT category, sum(n) AS n FROM category_days WHERE day > ? GROUP BY category').all(day) as Array<{ category: string; n: number }>) {
      counts.set(r.category, counts.get(r.category)! - r.n);
    }
    return [...counts].filter(([, n]) => n > 0);
  }

  async visitors(): Promise<string[]> {
    return (this.db.prepare('SELECT DISTINCT id FROM events').all() as Array<{ id: string }>).map((r) => r.id);
  }

  async updateMembership(id: string, audiences: string[], at: string): Promise<MembershipChange[]> {
    return this.db.transaction(() => {
      const before = new Set((this.db.prepare('SELECT audience FROM members WHERE id = ?').all(id) as Array<{ audience: string }>).map((r) => r.audience));
      const now = new Set(audiences);
      const changes: MembershipChange[] = [];
      const log = this.db.prepare('INSERT INTO changes (audience, id, change, at) VALUES (?, ?, ?, ?)');
      for (const [audience, change] of [...[...now].filter((a) => !before.has(a)).map((a) => [a, 'enter'] as const), ...[...before].filter((a) => !now.has(a)).map((a) => [a, 'exit'] as const)]) {
        if (change === 'enter') this.db.prepare('INSERT INTO members (audience, id) VALUES (?, ?)').run(audience, id);
        else this.db.prepare('DELETE FROM members WHERE audience = ? AND id = ?').run(audience, id);
        const cursor = Number(log.run(audience, id, change, at).lastInsertRowid);
        changes.push({ id, audience, change, at, cursor });
      }
      return changes;
    })();
  }

  async changesAfter(audience: string, cursor: number, limit: number): Promise<MembershipChange[]> {
    return this.db.prepare('SELECT id, audience, change, at, cursor FROM changes WHERE audience = ? AND cursor > ? ORDER BY cursor LIMIT ?').all(audience, cursor, limit) as MembershipChange[];
  }

  async close(): Promise<void> {
    this.db.close();
  }
}

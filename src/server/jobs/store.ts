/**
 * Jobs and their shards in SQLite (better-sqlite3, WAL): the server process and the job's
 * runner process both open the file; a shard is marked done only after its output file is in
 * place, so the store never claims work that a crash could have lost.
 */
import crypto from 'node:crypto';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { FileFingerprint } from '../../io/fingerprint.js';
import { UserError, errorMessage, systemErrorMessage } from '../../util/errors.js';
import { makeFolder } from '../../util/files.js';
import type { Shard } from '../../scoring/shards.js';

/** The tail of a runner's output kept with its job. */
export const LOG_CHARS = 20_000;

/** Jobs whose parsed records read() keeps at most (all dropped when full, and on any commit). */
const READ_CACHE_JOBS = 1000;

/** SQLite's result codes for a store that cannot be written, as the system error they stand for. */
const WRITE_FAILURES: Array<[RegExp, string]> = [
  [/^SQLITE_FULL/, 'ENOSPC'],
  [/^SQLITE_READONLY/, 'EROFS'],
  [/^SQLITE_IOERR/, 'EIO'],
  [/^SQLITE_BUSY/, 'EBUSY'],
  [/^SQLITE_CANTOPEN/, 'EACCES'],
];

/**
 * The job store could not be written (a full disk, a read-only or failing file system, a lock
 * held too long): an operational failure, not a bug. Carries the system error it stands for
 * (`code`, `path`), so systemErrorMessage words it as "cannot write <file>: <reason>".
 */
export class StoreWriteError extends Error {
  readonly syscall = 'write';

  constructor(
    readonly code: string,
    readonly path: string,
    cause: unknown,
  ) {
    super(systemErrorMessage({ code, path, syscall: 'write' }) ?? `cannot write ${path}`, { cause });
    this.name = 'StoreWriteError';
  }
}

/** `err` as a StoreWriteError when it is SQLite saying the store at `file` cannot be written; else undefined. */
function writeFailure(err: unknown, file: string): StoreWriteError | undefined {
  const code = (err as { code?: unknown })?.code;
  if (typeof code !== 'string') return undefined;
  const hit = WRITE_FAILURES.find(([re]) => re.test(code));
  return hit && new StoreWriteError(hit[1], path.resolve(file), err);
}

export type JobStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';
export const JOB_STATUSES: JobStatus[] = ['queued', 'running', 'succeeded', 'failed', 'cancelled'];

export interface JobRecord {
  id: string;
  type: 'train' | 'score';
  spec: Record<string, unknown>;
  status: JobStatus;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  /** Rows and shards of a score job, known once its shards are planned (null before, and for train jobs). */
  rowsTotal: number | null;
  rowsDone: number;
  shardsTotal: number | null;
  shardsDone: number;
  /** Rows done by the current run, and when it started: the rate excludes shards done before a restart. */
  runRows: number;
  runStartedAt: string | null;
  stage: string | null;
  backend: string | null;
  device: string | null;
  result: Record<string, unknown> | null;
  error: string | null;
  log: string | null;
  runnerPid: number | null;
  /** The runner's process start time (with runnerPid, its identity; "" where unknown). */
  runnerStart: string | null;
  attempts: number;
  /** The inputs' fingerprints, recorded when a score job planned its shards. */
  inputs: FileFingerprint[] | null;
}

export interface ShardRecord extends Shard {
  status: 'pending' | 'done';
  rows: number;
  imputed: number;
  rejected: number;
  seconds: number;
}

interface JobRow {
  id: string;
  type: 'train' | 'score';
  spec: string;
  status: JobStatus;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  rows_total: number | null;
  rows_done: number;
  shards_total: number | null;
  shards_done: number;
  run_rows: number;
  run_started_at: string | null;
  stage: string | null;
  backend: string | null;
  device: string | null;
  result: string | null;
  error: string | null;
  log: string | null;
  runner_pid: number | null;
  runner_start: string | null;
  attempts: number;
  inputs: string | null;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS jobs (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  type TEXT NOT NULL,
  spec TEXT NOT NULL,
  status TEXT NOT NULL,
  created_at TEXT NOT NULL,
  started_at TEXT,
  finished_at TEXT,
  rows_total INTEGER,
  rows_done INTEGER NOT NULL DEFAULT 0,
  shards_total INTEGER,
  shards_done INTEGER NOT NULL DEFAULT 0,
  run_rows INTEGER NOT NULL DEFAULT 0,
  run_started_at TEXT,
  stage TEXT,
  backend TEXT,
  device TEXT,
  result TEXT,
  error TEXT,
  log TEXT,
  runner_pid INTEGER,
  runner_start TEXT,
  attempts INTEGER NOT NULL DEFAULT 0,
  inputs TEXT
);
CREATE INDEX IF NOT EXISTS jobs_status ON jobs (status, seq);
CREATE TABLE IF NOT EXISTS shards (
  job_id TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
  idx INTEGER NOT NULL,
  tbl INTEGER NOT NULL,
  start INTEGER NOT NULL,
  "end" INTEGER NOT NULL,
  first INTEGER NOT NULL,
  status TEXT NOT NULL DEFAULT 'pending',
  rows INTEGER NOT NULL DEFAULT 0,
  imputed INTEGER NOT NULL DEFAULT 0,
  rejected INTEGER NOT NULL DEFAULT 0,
  seconds REAL NOT NULL DEFAULT 0,
  PRIMARY KEY (job_id, idx)
);
CREATE TABLE IF NOT EXISTS probe (id INTEGER PRIMARY KEY, at TEXT NOT NULL);
`;

function toRecord(r: JobRow): JobRecord {
  return {
    id: r.id,
    type: r.type,
    spec: JSON.parse(r.spec),
    status: r.status,
    createdAt: r.created_at,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    rowsTotal: r.rows_total,
    rowsDone: r.rows_done,
    shardsTotal: r.shards_total,
    shardsDone: r.shards_done,
    runRows: r.run_rows,
    runStartedAt: r.run_started_at,
    stage: r.stage,
    backend: r.backend,
    device: r.device,
    result: r.result === null ? null : JSON.parse(r.result),
    error: r.error,
    log: r.log,
    runnerPid: r.runner_pid,
    runnerStart: r.runner_start,
    attempts: r.attempts,
    inputs: r.inputs ? (JSON.parse(r.inputs) as FileFingerprint[]) : null,
  };
}

const now = () => new Date().toISOString();

/** Columns added since the first release of the store: added to older files on open. */
const ADDED_COLUMNS: Array<[string, string]> = [
  ['runner_start', 'TEXT'],
  ['inputs', 'TEXT'],
];

function migrate(db: Database.Database): void {
  const have = new Set((db.prepare('PRAGMA table_info(jobs)').all() as Array<{ name: string }>).map((c) => c.name));
  for (const [name, type] of ADDED_COLUMNS) if (!have.has(name)) db.exec(`ALTER TABLE jobs ADD COLUMN ${name} ${type}`);
}

/**
 * The job store: jobs, their shards and outcomes in one SQLite file (WAL), written by the
 * server and by each job's runner process.
 */
export class JobStore {
  readonly db: Database.Database;
  private unwritable: string | undefined;
  /** Each statement prepared once (preparing costs more than running one of these). */
  private readonly statements = new Map<string, Database.Statement>();
  /** Writes this connection has made: with SQLite's data_version (others' commits), when read()'s records are stale. */
  private writes = 0;
  /** read()'s parsed records, and the store's state they were read in. */
  private readonly records = new Map<string, Readonly<JobRecord>>();
  private recordsOf = '';

  /**
   * Opens (or creates) the store and checks it: a damaged file is refused before anything else
   * happens, with what to do.
   * @throws UserError naming the file when it is not a readable job store; StoreWriteError
   *   ("cannot write <file>: <reason>") when it cannot be written (a full disk, read-only).
   */
  constructor(readonly file: string) {
    makeFolder(path.dirname(path.resolve(file)));
    let db: Database.Database | undefined;
    try {
      db = new Database(file);
      db.pragma('busy_timeout = 5000'); // server and runner write the same file
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
      db.pragma('foreign_keys = ON');
      const check = db.pragma('quick_check', { simple: true });
      if (check !== 'ok') throw new Error(`integrity check: ${String(check)}`);
      db.exec(SCHEMA);
      migrate(db);
      this.db = db;
    } catch (err) {
      db?.close(); // the file stays open otherwise
      // A full disk or a read-only folder is not a damaged store: say which.
      const unwritable = writeFailure(err, file);
      if (unwritable) throw unwritable;
      throw new UserError(
        `${file}: the job store is damaged or not a job store (${errorMessage(err)}). Move it aside (its jobs are lost; their output folders stay) ` +
          'and start again, or restore it from a backup.',
      );
    }
  }

  /** The statement for `text`, prepared on first use and kept. */
  sql(text: string): Database.Statement {
    let statement = this.statements.get(text);
    if (!statement) {
      statement = this.db.prepare(text);
      this.statements.set(text, statement);
    }
    return statement;
  }

  /** Why the last write failed, "cannot write <file>: <reason>"; undefined once a write succeeded since. */
  get writeProblem(): string | undefined {
    return this.unwritable;
  }

  /**
   * Runs a write (a statement or a transaction); when SQLite says the store cannot be written,
   * remembers why (writeProblem) and throws that as a StoreWriteError.
   */
  private write<T>(fn: () => T): T {
    this.writes++;
    try {
      const out = fn();
      this.unwritable = undefined;
      return out;
    } catch (err) {
      const failure = writeFailure(err, this.file);
      if (!failure) throw err;
      this.unwritable = failure.message;
      throw failure;
    }
  }

  /**
   * Whether the store takes a write now (one small row rewritten: a page of the log): undefined
   * when it does, else why not ("cannot write <file>: <reason>").
   */
  probeWrite(): string | undefined {
    try {
      this.write(() => this.sql('INSERT INTO probe (id, at) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET at = excluded.at').run(now()));
      return undefined;
    } catch (err) {
      if (err instanceof StoreWriteError) return err.message;
      throw err;
    }
  }

  /** Queued or running jobs. */
  activeIds(): Set<string> {
    return new Set((this.sql("SELECT id FROM jobs WHERE status IN ('queued', 'running')").all() as Array<{ id: string }>).map((r) => r.id));
  }

  /** Records the fingerprints of a score job's inputs (see io/fingerprint.ts). */
  setInputs(id: string, inputs: FileFingerprint[]): void {
    this.write(() => this.sql('UPDATE jobs SET inputs = ? WHERE id = ?').run(JSON.stringify(inputs), id));
  }

  /** A running job whose runner died: it waits (stage says why) and is queued again by requeue(). */
  markRetry(id: string, stage: string, log: string): void {
    this.write(() => this.sql("UPDATE jobs SET runner_pid = NULL, runner_start = NULL, stage = ?, log = coalesce(?, log) WHERE id = ? AND status = 'running'").run(stage, log || null, id));
  }

  /** Queues a running job again (after a runner crash and its backoff); false when it is no longer running. */
  requeue(id: string): boolean {
    return this.write(() => this.sql("UPDATE jobs SET status = 'queued', runner_pid = NULL, runner_start = NULL WHERE id = ? AND status = 'running'").run(id).changes === 1);
  }

  close(): void {
    this.db.close();
  }

  create(type: JobRecord['type'], spec: Record<string, unknown>): JobRecord {
    const id = `job_${crypto.randomBytes(9).toString('base64url')}`;
    this.write(() => this.sql('INSERT INTO jobs (id, type, spec, status, created_at) VALUES (?, ?, ?, ?, ?)').run(id, type, JSON.stringify(spec), 'queued', now()));
    return this.get(id)!;
  }

  /** A queued or running score job writing to this (resolved) output folder, if any. */
  activeWithOutput(output: string): string | undefined {
    const rows = this.sql("SELECT id, spec FROM jobs WHERE type = 'score' AND status IN ('queued', 'running')").all() as Array<{ id: string; spec: string }>;
    return rows.find((r) => (JSON.parse(r.spec) as { output?: string }).output === output)?.id;
  }

  get(id: string): JobRecord | undefined {
    const row = this.sql('SELECT * FROM jobs WHERE id = ?').get(id) as JobRow | undefined;
    return row && toRecord(row);
  }

  /**
   * A job as get() gives it, for callers that only read it (status polls): parsed once and kept
   * until anything is committed to the store, by this connection or another (a runner's
   * progress: SQLite's `PRAGMA data_version`), so a poll of an unchanged job costs that one
   * pragma. The record is shared between callers (frozen at its top level): do not change it.
   */
  read(id: string): Readonly<JobRecord> | undefined {
    const state = `${this.sql('PRAGMA data_version').pluck().get() as number}:${this.writes}`;
    if (state !== this.recordsOf || this.records.size >= READ_CACHE_JOBS) {
      this.records.clear();
      this.recordsOf = state;
    }
    let job = this.records.get(id);
    if (!job) {
      job = this.get(id);
      if (job) this.records.set(id, Object.freeze(job));
    }
    return job;
  }

  /** Newest first; `after` is the id of the last job of the previous page. */
  list(opts: { status?: JobStatus; limit: number; after?: string }): JobRecord[] {
    const where: string[] = [];
    const params: Array<string | number> = [];
    if (opts.status) {
      where.push('status = ?');
      params.push(opts.status);
    }
    if (opts.after) {
      where.push('seq < (SELECT seq FROM jobs WHERE id = ?)');
      params.push(opts.after);
    }
    const sql = `SELECT * FROM jobs ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY seq DESC LIMIT ?`;
    return (this.sql(sql).all(...params, opts.limit) as JobRow[]).map(toRecord);
  }

  counts(): Record<JobStatus, number> {
    const out = Object.fromEntries(JOB_STATUSES.map((s) => [s, 0])) as Record<JobStatus, number>;
    for (const r of this.sql('SELECT status, count(*) AS n FROM jobs GROUP BY status').all() as Array<{ status: JobStatus; n: number }>) out[r.status] = r.n;
    return out;
  }

  /** The oldest queued job, marked running (atomically: one scheduler wins it). */
  claimNext(): JobRecord | undefined {
    return this.write(this.db.transaction(() => {
      const row = this.sql("SELECT id FROM jobs WHERE status = 'queued' ORDER BY seq LIMIT 1").get() as { id: string } | undefined;
      if (!row) return undefined;
      this.db
        .prepare("UPDATE jobs SET status = 'running', started_at = coalesce(started_at, ?), run_started_at = ?, run_rows = 0, attempts = attempts + 1, error = NULL WHERE id = ?")
        .run(now(), now(), row.id);
      return this.get(row.id);
    }));
  }

  /** Records the runner process of a running job (pid and start time: its identity). */
  setRunner(id: string, pid: number | null, start: string | null = null): void {
    this.write(() => this.sql('UPDATE jobs SET runner_pid = ?, runner_start = ? WHERE id = ?').run(pid, start, id));
  }

  /** Jobs a crashed server left running: queued again, keeping their finished shards. */
  requeueRunning(): JobRecord[] {
    const rows = (this.sql("SELECT * FROM jobs WHERE status = 'running'").all() as JobRow[]).map(toRecord);
    this.write(() => this.sql("UPDATE jobs SET status = 'queued', runner_pid = NULL, runner_start = NULL, stage = 'resuming' WHERE status = 'running'").run());
    return rows;
  }

  update(id: string, fields: Partial<Pick<JobRecord, 'stage' | 'backend' | 'device'>>): void {
    const keys = (['stage', 'backend', 'device'] as const).filter((k) => k in fields);
    if (!keys.length) return;
    this.write(() => this.sql(`UPDATE jobs SET ${keys.map((k) => `${k} = ?`).join(', ')} WHERE id = ?`).run(...keys.map((k) => fields[k] ?? null), id));
  }

  addRows(id: string, rows: number): void {
    this.write(() => this.sql('UPDATE jobs SET rows_done = rows_done + ?, run_rows = run_rows + ? WHERE id = ?').run(rows, rows, id));
  }

  /** Ends a running job; false when it was no longer running (e.g. cancelled meanwhile). */
  finish(id: string, status: 'succeeded' | 'failed', outcome: { result?: unknown; error?: string; log?: string }): boolean {
    const r = this.write(() =>
      this.db
        .prepare("UPDATE jobs SET status = ?, finished_at = ?, result = ?, error = ?, log = coalesce(?, log), runner_pid = NULL, stage = NULL WHERE id = ? AND status = 'running'")
        .run(status, now(), outcome.result === undefined ? null : JSON.stringify(outcome.result), outcome.error ?? null, outcome.log || null, id),
    );
    return r.changes === 1;
  }

  /** Cancels a queued or running job; false when it had already finished. */
  cancel(id: string): boolean {
    const r = this.write(() => this.sql("UPDATE jobs SET status = 'cancelled', finished_at = ?, stage = NULL WHERE id = ? AND status IN ('queued', 'running')").run(now(), id));
    return r.changes === 1;
  }

  // Shards

  setShards(id: string, shards: Shard[]): void {
    this.write(this.db.transaction(() => {
      this.sql('DELETE FROM shards WHERE job_id = ?').run(id);
      const ins = this.sql('INSERT INTO shards (job_id, idx, tbl, start, "end", first) VALUES (?, ?, ?, ?, ?, ?)');
      for (const s of shards) ins.run(id, s.index, s.table, s.start, s.end, s.first);
      this.sql('UPDATE jobs SET shards_total = ?, shards_done = 0, rows_total = ?, rows_done = 0 WHERE id = ?').run(
        shards.length,
        shards.reduce((n, s) => n + s.end - s.start, 0),
        id,
      );
    }));
  }

  shards(id: string): ShardRecord[] {
    const rows = this.sql('SELECT * FROM shards WHERE job_id = ? ORDER BY idx').all(id) as Array<Record<string, number | string>>;
    return rows.map((r) => ({
      index: r.idx as number,
      table: r.tbl as number,
      start: r.start as number,
      end: r.end as number,
      first: r.first as number,
      status: r.status as ShardRecord['status'],
      rows: r.rows as number,
      imputed: r.imputed as number,
      rejected: r.rejected as number,
      seconds: r.seconds as number,
    }));
  }

  /** Marks a shard done and sets the job's row count to what finished shards hold (a redone shard is not counted twice). */
  shardDone(id: string, r: { index: number; rows: number; imputed: number; rejected: number; seconds: number }): void {
    this.write(this.db.transaction(() => {
      this.db
        .prepare("UPDATE shards SET status = 'done', rows = ?, imputed = ?, rejected = ?, seconds = ? WHERE job_id = ? AND idx = ?")
        .run(r.rows, r.imputed, r.rejected, r.seconds, id, r.index);
      this.db
        .prepare(
          `UPDATE jobs SET shards_done = (SELECT count(*) FROM shards WHERE job_id = ? AND status = 'done'),
           rows_done = (SELECT coalesce(sum("end" - start), 0) FROM shards WHERE job_id = ? AND status = 'done') WHERE id = ?`,
        )
        .run(id, id, id);
    }));
  }

  /** Rows of unfinished shards are not kept across a restart: progress restarts from the finished shards. */
  resetPartialRows(id: string): void {
    this.write(() => this.sql(`UPDATE jobs SET rows_done = (SELECT coalesce(sum("end" - start), 0) FROM shards WHERE job_id = ? AND status = 'done') WHERE id = ?`).run(id, id));
  }
}

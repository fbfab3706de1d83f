/**
 * One server per data folder: `server.lock` names the process holding it (pid, start time,
 * host, since when). A second server refuses to start while the holder runs; a lock left by a
 * process that died is taken over.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { UserError } from '../../util/errors.js';
import { isAlive, selfIdentity, type ProcessIdentity } from '../../util/process.js';

interface LockRecord extends ProcessIdentity {
  host: string;
  since: string;
}

/** The lock's file name in the data folder. */
export const LOCK_FILE = 'server.lock';

/**
 * Takes the data folder's lock for this process; returns a function that releases it. The
 * folder must exist: the server makes it (server/serve.ts), so that it can remove it again
 * when its start fails.
 * @throws UserError naming the holder when another live process on this host holds it.
 */
export function lockDataDir(dir: string): () => void {
  const file = path.join(dir, LOCK_FILE);
  const mine: LockRecord = { ...selfIdentity(), host: os.hostname(), since: new Date().toISOString() };
  const text = JSON.stringify(mine);
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      fs.writeFileSync(file, text, { flag: 'wx' });
      return () => release(file, text);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    let holder: LockRecord | undefined;
    try {
      holder = JSON.parse(fs.readFileSync(file, 'utf8')) as LockRecord;
    } catch {
      holder = undefined; // unreadable: a half-written lock of a process that died
    }
    if (holder && (holder.host !== mine.host || isAlive(holder))) {
      throw new UserError(
        `${dir} is in use by another server (pid ${holder.pid} on ${holder.host}, since ${holder.since}); stop it, or give this one its own --data-dir` +
          (holder.host !== mine.host ? ` (if that host is gone, remove ${file})` : ''),
      );
    }
    fs.rmSync(file, { force: true }); // stale: its process is gone
  }
  throw new UserError(`${file}: could not take the lock; another server is starting on the same folder`);
}

function release(file: string, text: string): void {
  try {
    if (fs.readFileSync(file, 'utf8') === text) fs.rmSync(file);
  } catch {
    // already gone
  }
}

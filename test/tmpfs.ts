/** Small tmpfs mounts for the full-disk tests (root only; the tests skip, saying why, elsewhere). */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';

const mounted: string[] = [];

/** Mounts a tmpfs of `size` (e.g. "256k") at `at` (made if missing); false where this machine does not allow it. */
export function mountTmpfs(at: string, size: string): boolean {
  fs.mkdirSync(at, { recursive: true });
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', at], { stdio: 'ignore' });
    mounted.push(at);
    return true;
  } catch {
    return false;
  }
}

/** Unmounts what mountTmpfs mounted (for afterAll, once what used them has stopped). */
export function unmountAll(): void {
  for (const at of mounted.splice(0)) spawnSync('umount', [at]);
}

/** Writes zeros to `file` until the file system says ENOSPC. */
export function fillDisk(file: string): void {
  const fd = fs.openSync(file, 'w');
  try {
    for (const size of [1 << 20, 1 << 12, 512]) {
      const chunk = Buffer.alloc(size);
      for (;;) {
        try {
          fs.writeSync(fd, chunk);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'ENOSPC') break;
          throw err;
        }
      }
    }
  } finally {
    fs.closeSync(fd);
  }
}

/** The skip reason of a full-disk test where no tmpfs could be mounted. */
export const NO_TMPFS = 'cannot mount a tmpfs here (needs root): the full-disk case is not tried';

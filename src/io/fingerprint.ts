/**
 * A file's fingerprint: size, modification time and a SHA-256 of its first and last 64 KiB
 * (for Parquet, the footer with every row group's statistics). A job records its inputs'
 * fingerprints when it plans its shards and checks them when it resumes, so a file replaced
 * in between fails the job instead of mixing rows of two versions.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';

export interface FileFingerprint {
  path: string;
  size: number;
  mtimeMs: number;
  sha256Ends: string;
}

const END_BYTES = 1 << 16;

/** The fingerprint of one file (reads at most 128 KiB). */
export function fingerprintFile(file: string): FileFingerprint {
  const st = fs.statSync(file);
  const fd = fs.openSync(file, 'r');
  try {
    const hash = createHash('sha256');
    const head = Buffer.alloc(Math.min(END_BYTES, st.size));
    fs.readSync(fd, head, 0, head.length, 0);
    hash.update(head);
    if (st.size > END_BYTES) {
      const tail = Buffer.alloc(Math.min(END_BYTES, st.size - END_BYTES));
      fs.readSync(fd, tail, 0, tail.length, st.size - tail.length);
      hash.update(tail);
    }
    return { path: file, size: st.size, mtimeMs: st.mtimeMs, sha256Ends: hash.digest('hex') };
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * The first difference between recorded and current fingerprints, in words, or undefined
 * when every file is as recorded.
 */
export function fingerprintChange(recorded: FileFingerprint[], files: string[]): string | undefined {
  const paths = recorded.map((r) => r.path);
  const added = files.find((f) => !paths.includes(f));
  if (added) return `${added} was not among the job's inputs when it started (a glob now matches more files)`;
  for (const r of recorded) {
    if (!fs.existsSync(r.path)) return `${r.path} was removed`;
    const now = fingerprintFile(r.path);
    if (now.size !== r.size) return `${r.path} changed (${r.size} bytes when the job started, ${now.size} now)`;
    if (now.sha256Ends !== r.sha256Ends || now.mtimeMs !== r.mtimeMs) return `${r.path} changed (its content or modification time differs from when the job started)`;
  }
  return undefined;
}

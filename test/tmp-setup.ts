/**
 * Vitest global setup: every temporary folder the tests (and the CLI, server and worker
 * processes they start) make goes under one folder for this run, removed when the run ends,
 * so repeated runs do not fill the machine's temp space. AUDIENCE_KEEP_TEST_TMP=1 keeps it
 * (its path is printed) to look at what a test wrote.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** Points TMPDIR (which os.tmpdir() reads) at a fresh folder; returns the teardown that removes it. */
export default function setup(): () => void {
  // Vitest runs a global setup once per project: the first one made the folder. Short names:
  // a browser's socket path under it must stay within the 108 bytes a Unix socket allows.
  if (process.env.AUDIENCE_TEST_TMP) return () => {};
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'aet-'));
  process.env.AUDIENCE_TEST_TMP = root;
  process.env.TMPDIR = root;
  return () => {
    if (process.env.AUDIENCE_KEEP_TEST_TMP === '1') process.stderr.write(`test files kept in ${root}\n`);
    else fs.rmSync(root, { recursive: true, force: true });
  };
}

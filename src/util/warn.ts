/**
 * Warnings for the user: things that were done differently from what was asked, or input
 * that was skipped (a stray file, an id list that mostly did not match). The CLI prints them
 * on stderr as `warning: ...`; a process can route them elsewhere (the service's log).
 */
export type WarnSink = (message: string) => void;

let sink: WarnSink = (message) => process.stderr.write(`warning: ${message}\n`);
const seen = new Set<string>();

/** Reports a warning once per process (the same text again is dropped). */
export function warn(message: string): void {
  if (seen.has(message)) return;
  seen.add(message);
  sink(message);
}

/** Replaces where warnings go; returns the previous sink. */
export function setWarnSink(next: WarnSink): WarnSink {
  const prev = sink;
  sink = next;
  return prev;
}

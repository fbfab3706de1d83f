/**
 * Progress of long work: a bar on a terminal, periodic lines elsewhere, nothing when quiet.
 * Callers report absolute counts; rate and ETA are derived here.
 */
export interface Progress {
  update(done: number, total?: number): void;
  done(message?: string): void;
}

export const silentProgress: Progress = { update() {}, done() {} };

/** A progress reporter: a redrawn bar on a terminal, a line every few seconds in a log, nothing when quiet. */
export function createProgress(label: string, opts: { quiet?: boolean; stream?: NodeJS.WriteStream } = {}): Progress {
  if (opts.quiet) return silentProgress;
  const stream = opts.stream ?? process.stderr;
  const tty = Boolean(stream.isTTY);
  const start = performance.now();
  // A terminal redraws at once; a log gets its first line after 5 s (short work prints only its summary).
  let last = tty ? 0 : start;
  let lastDone = 0;
  let lastTotal: number | undefined;

  const render = (done: number, total: number | undefined, final: boolean): string => {
    const secs = (performance.now() - start) / 1000;
    const rate = secs > 0 ? done / secs : 0;
    const parts = [label];
    if (total) {
      const frac = Math.min(1, done / total);
      const width = 24;
      const filled = Math.round(frac * width);
      parts.push(`[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(frac * 100).toFixed(0).padStart(3)}%`);
      parts.push(`${fmtCount(done)}/${fmtCount(total)}`);
      if (!final && rate > 0) parts.push(`eta ${fmtSecs((total - done) / rate)}`);
    } else {
      parts.push(fmtCount(done));
    }
    parts.push(`${fmtCount(rate)}/s`);
    if (final) parts.push(`in ${fmtSecs(secs)}`);
    return parts.join('  ');
  };

  return {
    update(done, total) {
      lastDone = done;
      lastTotal = total ?? lastTotal;
      const now = performance.now();
      if (now - last < (tty ? 100 : 5000)) return;
      last = now;
      if (tty) stream.write(`\r${render(done, lastTotal, false)}\x1b[K`);
      else stream.write(`${render(done, lastTotal, false)}\n`);
    },
    done(message) {
      const line = render(lastDone, lastTotal, true) + (message ? `  ${message}` : '');
      stream.write(tty ? `\r${line}\x1b[K\n` : `${line}\n`);
    },
  };
}

/** A count in short form: 9500, 12.3k, 4.56M. */
export function fmtCount(n: number): string {
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (n >= 1e4) return `${(n / 1e3).toFixed(1)}k`;
  return `${Math.round(n)}`;
}

/** Seconds in short form: 0.4s, 12.3s, 4m05s ("?" when unknown). */
export function fmtSecs(s: number): string {
  if (!Number.isFinite(s)) return '?';
  if (s < 60) return `${s.toFixed(1)}s`;
  const m = Math.floor(s / 60);
  return `${m}m${Math.round(s - m * 60)
    .toString()
    .padStart(2, '0')}s`;
}

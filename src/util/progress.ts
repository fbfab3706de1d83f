/**
 * Progress of long work: on a terminal a bar redrawn by cli-progress, in a log a line every
 * 5 s (short work prints only its summary), nothing when quiet. Callers report
 * absolute counts of a named unit (rows, iterations, epochs); the rate in that unit and the
 * ETA are derived here.
 */
import cliProgress from 'cli-progress';

export interface Progress {
  /** `done` units of `total` (total: when known; it may be given once and kept). */
  update(done: number, total?: number): void;
  /** Ends the line with the elapsed time and an optional summary. */
  done(message?: string): void;
}

/** A Progress that prints nothing (quiet runs, library use). */
export const silentProgress: Progress = { update() {}, done() {} };

/** Progress for the stages of a longer run: one reporter per stage, counting `unit` (default rows). */
export type StageProgress = (stage: string, unit?: string) => Progress;

export interface ProgressOptions {
  quiet?: boolean;
  stream?: NodeJS.WriteStream;
  /** What is counted, plural ("rows", "iterations", "epochs"); default "rows". */
  unit?: string;
}

/**
 * A progress reporter for one stage, `label` first on its line:
 * `k=4  [#####...]  40%  12/30 iterations  8.1 iterations/s  eta 2.2s`.
 */
export function createProgress(label: string, opts: ProgressOptions = {}): Progress {
  if (opts.quiet) return silentProgress;
  const stream = opts.stream ?? process.stderr;
  const unit = opts.unit ?? 'rows';
  const start = performance.now();
  let total: number | undefined;
  let value = 0;
  let started = false;
  const payload = () => {
    const secs = (performance.now() - start) / 1000;
    return { label, counts: counts(value, total, unit), rate: rateText(secs > 0 ? value / secs : 0, unit), eta: etaText(value, total, secs) };
  };
  const bar = new cliProgress.SingleBar(
    {
      stream,
      format: (options, params, p) => {
        const known = total !== undefined && total > 0;
        const frac = known ? Math.min(1, params.value / params.total) : 0;
        const width = options.barsize ?? 24;
        const filled = Math.round(frac * width);
        const barText = known ? `  [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(frac * 100).toFixed(0).padStart(3)}%` : '';
        return `${p.label}${barText}  ${p.counts}  ${p.rate}${known && p.eta ? `  eta ${p.eta}` : ''}`;
      },
      barsize: 24,
      hideCursor: false,
      clearOnComplete: true,
      stopOnComplete: false,
      fps: 10,
      noTTYOutput: false,
      linewrap: false,
      etaBuffer: 50,
    },
    cliProgress.Presets.legacy,
  );
  const tty = Boolean(stream.isTTY);
  // In a log, a line every 5 s (the first after 5 s: short work prints only its summary).
  let lastLine = start;
  return {
    update(done, newTotal) {
      value = done;
      if (newTotal !== undefined) total = newTotal;
      if (!tty) {
        const now = performance.now();
        if (now - lastLine >= 5000) {
          lastLine = now;
          const p = payload();
          stream.write(`${p.label}  ${p.counts}  ${p.rate}${p.eta ? `  eta ${p.eta}` : ''}\n`);
        }
        return;
      }
      if (!started) {
        bar.start(total ?? 0, value, payload());
        started = true;
      } else {
        if (newTotal !== undefined) bar.setTotal(newTotal);
        bar.update(value, payload());
      }
    },
    done(message) {
      const secs = (performance.now() - start) / 1000;
      if (started) bar.stop();
      // The summary line replaces the bar: what was counted, its rate, the time, the result.
      const line = `${label}  ${counts(value, total, unit)}  ${rateText(secs > 0 ? value / secs : 0, unit)}  in ${fmtSecs(secs)}${message ? `  ${message}` : ''}`;
      stream.write(stream.isTTY ? `\r${line}\x1b[K\n` : `${line}\n`);
    },
  };
}

function counts(done: number, total: number | undefined, unit: string): string {
  return total ? `${fmtCount(done)}/${fmtCount(total)} ${unit}` : `${fmtCount(done)} ${unit}`;
}

/** A rate in its unit: "12.3k rows/s"; under one a second, the seconds each takes: "2.1 s/epoch". */
function rateText(rate: number, unit: string): string {
  if (!(rate > 0)) return `- ${unit}/s`;
  if (rate >= 1) return `${rate >= 10 ? fmtCount(rate) : rate.toFixed(1)} ${unit}/s`;
  return `${(1 / rate).toFixed(1)} s/${unit.replace(/s$/, '')}`;
}

function etaText(done: number, total: number | undefined, secs: number): string {
  if (!total || done <= 0 || done >= total) return '';
  return fmtSecs(((total - done) * secs) / done);
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

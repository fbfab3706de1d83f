/**
 * Progress of long work: on a terminal a bar redrawn by cli-progress, in a log a line every
 * 5 s (short work prints only its summary), nothing when quiet. Callers report
 * absolute counts of a named unit (rows, iterations, epochs); the rate in that unit and the
 * ETA are derived here.
 */
import cliProgress from 'cli-progress';

export interface Progress {
  /**
   * `done` units of `total` (total: when known; it may be given once and kept). When the work
   * may end sooner than `total` (early stopping), `soonest` is the earliest it can end: the
   * total is then shown as "at most" and the ETA as a range from one to the other; `expected`,
   * an estimate of where it ends between the two, is then the ETA shown first and the bar's end.
   */
  update(done: number, total?: number, soonest?: number, expected?: number): void;
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
  const state: CountState = { done: 0 };
  let started = false;
  const payload = () => ({ label, ...progressParts(state, unit, (performance.now() - start) / 1000) });
  const bar = new cliProgress.SingleBar(
    {
      stream,
      format: (options, params, p) => {
        const known = state.total !== undefined && state.total > 0;
        const frac = known ? Math.min(1, params.value / (state.expected ?? params.total)) : 0;
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
    update(done, newTotal, soonest, expected) {
      track(state, done, newTotal, soonest, expected);
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
        bar.start(state.total ?? 0, state.done, payload());
        started = true;
      } else {
        if (newTotal !== undefined) bar.setTotal(newTotal);
        bar.update(state.done, payload());
      }
    },
    done(message) {
      const secs = (performance.now() - start) / 1000;
      if (started) bar.stop();
      // The summary line replaces the bar: what was counted, its rate, the time, the result.
      const p = progressParts(state, unit, secs);
      const line = `${label}  ${p.counts}  ${p.rate}  in ${fmtSecs(secs)}${message ? `  ${message}` : ''}`;
      stream.write(stream.isTTY ? `\r${line}\x1b[K\n` : `${line}\n`);
    },
  };
}

/** Where one stage stands: units done, the total when known, the earliest and expected ends when it may stop sooner. */
interface CountState {
  done: number;
  total?: number;
  soonest?: number;
  expected?: number;
}

/**
 * Records an update: the total is kept once given; the earliest and expected ends hold for this
 * update only (the expected end within [max(done, soonest), total]).
 */
function track(state: CountState, done: number, total: number | undefined, soonest: number | undefined, expected: number | undefined): void {
  state.done = done;
  if (total !== undefined) state.total = total;
  state.soonest = soonest !== undefined && state.total !== undefined && soonest < state.total ? soonest : undefined;
  state.expected = state.soonest !== undefined && expected !== undefined ? Math.min(state.total!, Math.max(expected, state.soonest, done)) : undefined;
}

/** The counts, rate and ETA of a stage after `secs` seconds, as text. */
function progressParts(s: CountState, unit: string, secs: number): { counts: string; rate: string; eta: string } {
  return { counts: counts(s, unit), rate: rateText(secs > 0 ? s.done / secs : 0, unit), eta: etaText(s, secs) };
}

function counts(s: CountState, unit: string): string {
  if (!s.total) return `${fmtCount(s.done)} ${unit}`;
  if (s.soonest === undefined) return `${fmtCount(s.done)}/${fmtCount(s.total)} ${unit}`;
  return s.expected !== undefined ? `${fmtCount(s.done)} of ~${fmtCount(s.expected)} (at most ${fmtCount(s.total)}) ${unit}` : `${fmtCount(s.done)} of at most ${fmtCount(s.total)} ${unit}`;
}

/** A rate in its unit: "12.3k rows/s"; under one a second, the seconds each takes: "2.1 s/epoch". */
function rateText(rate: number, unit: string): string {
  if (!(rate > 0)) return `- ${unit}/s`;
  if (rate >= 1) return `${rate >= 10 ? fmtCount(rate) : rate.toFixed(1)} ${unit}/s`;
  return `${(1 / rate).toFixed(1)} s/${unit.replace(/s$/, '')}`;
}

/**
 * Time left at the rate so far: to the total, or with an earliest end (early stopping),
 * "12.0s to 4m10s (early stopping)": it cannot end sooner, nor later; with an expected end,
 * that first: "~1m05s (early stopping: 12.0s to 4m10s)".
 */
function etaText(s: CountState, secs: number): string {
  if (!s.total || s.done <= 0 || s.done >= s.total) return '';
  const left = (units: number) => fmtSecs((Math.max(0, units - s.done) * secs) / s.done);
  if (s.soonest === undefined) return left(s.total);
  const range = `${left(s.soonest)} to ${left(s.total)}`;
  return s.expected !== undefined ? `~${left(s.expected)} (early stopping: ${range})` : `${range} (early stopping)`;
}

/**
 * Progress reported as one line per stage through `report` (a service job's stage): the
 * first update at once, then at most one every `everyMs`, and the end of each stage.
 * Lines read `mlp 288.0k of at most 6.50M samples, 57.6k samples/s, eta 12.0s to 1m50s (early stopping)`,
 * or with an expected end `mlp 1.20M of ~2.40M (at most 6.50M) samples, 57.6k samples/s, eta ~20.8s (early stopping: 12.0s to 1m31s)`.
 */
export function reportingProgress(report: (line: string) => void, everyMs = 2000): StageProgress {
  return (stage, unit = 'rows') => {
    const start = performance.now();
    const state: CountState = { done: 0 };
    let last = -Infinity;
    return {
      update(done, total, soonest, expected) {
        track(state, done, total, soonest, expected);
        const now = performance.now();
        if (now - last < everyMs) return;
        last = now;
        const p = progressParts(state, unit, (now - start) / 1000);
        report(`${stage} ${p.counts}, ${p.rate}${p.eta ? `, eta ${p.eta}` : ''}`);
      },
      done(message) {
        report(`${stage} done in ${fmtSecs((performance.now() - start) / 1000)}${message ? `: ${message}` : ''}`);
      },
    };
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

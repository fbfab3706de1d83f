/**
 * Progress text: a run that early stopping may end sooner shows its total as "at most" and
 * its ETA as a range from the soonest end to the most (with the expected end first when there
 * is one); a service job's stage gets the same
 * line at once, then at most one per interval.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createProgress, reportingProgress } from '../src/util/progress.js';

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['performance', 'Date'] });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('reportingProgress (a train job\'s stage)', () => {
  it('reports the first update at once with an ETA range, then at most one line per interval', () => {
    const lines: string[] = [];
    const progress = reportingProgress((l) => lines.push(l), 2000)('mlp', 'samples');
    vi.advanceTimersByTime(10_000);
    // 100 samples in 10 s: 10/s; at the soonest 300 (20 s left), at most 1,000 (90 s left).
    progress.update(100, 1000, 300);
    expect(lines).toEqual(['mlp 100 of at most 1000 samples, 10 samples/s, eta 20.0s to 1m30s (early stopping)']);
    vi.advanceTimersByTime(1000);
    progress.update(110, 1000, 300);
    expect(lines).toHaveLength(1);
    vi.advanceTimersByTime(1000);
    progress.update(120, 1000);
    // Without a soonest end, the total is the end.
    expect(lines[1]).toBe('mlp 120/1000 samples, 10 samples/s, eta 1m28s');
    progress.done('best epoch 3 of 8');
    expect(lines[2]).toBe('mlp done in 12.0s: best epoch 3 of 8');
  });

  it('with an expected end, shows it first and the range after; the expected end stays within the range', () => {
    const lines: string[] = [];
    const progress = reportingProgress((l) => lines.push(l), 0)('mlp', 'samples');
    vi.advanceTimersByTime(10_000);
    // 100 in 10 s: 10/s; expected at 500 (40 s left), soonest 300 (20 s), at most 1,000 (90 s).
    progress.update(100, 1000, 300, 500);
    expect(lines[0]).toBe('mlp 100 of ~500 (at most 1000) samples, 10 samples/s, eta ~40.0s (early stopping: 20.0s to 1m30s)');
    // An expected end before the soonest is the soonest; after the total, the total.
    progress.update(100, 1000, 300, 200);
    expect(lines[1]).toBe('mlp 100 of ~300 (at most 1000) samples, 10 samples/s, eta ~20.0s (early stopping: 20.0s to 1m30s)');
    progress.update(100, 1000, 300, 5000);
    expect(lines[2]).toBe('mlp 100 of ~1000 (at most 1000) samples, 10 samples/s, eta ~1m30s (early stopping: 20.0s to 1m30s)');
  });
});

describe('createProgress (the CLI line)', () => {
  it('says "at most" and an ETA range while a run could end sooner, a plain total and ETA when not', () => {
    let text = '';
    const stream = { isTTY: false, write: (s: string) => ((text += s), true) } as unknown as NodeJS.WriteStream;
    const progress = createProgress('mlp', { stream, unit: 'samples' });
    vi.advanceTimersByTime(6000);
    // 300 in 6 s: 50/s; the soonest end (400) is 2 s away, the most (1,000) 14 s.
    progress.update(300, 1000, 400);
    expect(text).toBe('mlp  300 of at most 1000 samples  50 samples/s  eta 2.0s to 14.0s (early stopping)\n');
    vi.advanceTimersByTime(6000);
    progress.update(600, 1000);
    expect(text.split('\n')[1]).toBe('mlp  600/1000 samples  50 samples/s  eta 8.0s');
    progress.done('best epoch 6 of 9');
    expect(text.split('\n')[2]).toBe('mlp  600/1000 samples  50 samples/s  in 12.0s  best epoch 6 of 9');
  });
});

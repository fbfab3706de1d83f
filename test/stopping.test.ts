/**
 * The expected end of early stopping (the training ETA): on synthetic validation-loss curves
 * run through the same stop rule as trainEpochs, the estimate at 10%, 25% and 50% of the run
 * is within 2x of the real end; it never leaves [soonest end, max-epochs].
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BETTER_BY, expectedStop } from '../src/models/nn/stopping.js';

/** trainEpochs' stop rule on a loss curve: the real last pass, and the estimate after each pass. */
function stopRun(curve: (t: number) => number, minDelta: number, patience: number, maxEpochs: number): { end: number; estimates: Array<number | undefined>; soonest: number[] } {
  let best = Infinity;
  let progressed = 0;
  const bests: number[] = [];
  const estimates: Array<number | undefined> = [];
  const soonest: number[] = [];
  for (let e = 1; e <= maxEpochs; e++) {
    const v = curve(e);
    const improved = v < best - BETTER_BY;
    if (improved && v < best * (1 - minDelta)) progressed = e;
    if (improved) best = v;
    bests.push(best);
    estimates.push(expectedStop(bests, progressed, patience, minDelta, maxEpochs));
    soonest.push(Math.min(maxEpochs, progressed + patience));
    if (e - progressed >= patience) break;
  }
  return { end: bests.length, estimates, soonest };
}

describe('expectedStop', () => {
  const curves: Array<[string, (t: number) => number]> = [
    ['power law, exponent 0.5', (t) => 0.35 + 0.01 * t ** -0.5],
    ['power law, exponent 1', (t) => 0.35 + 0.01 / t],
    ['power law, exponent 2', (t) => 0.35 + 0.01 * t ** -2],
    ['exponential, 2.5 passes', (t) => 0.35 + 0.01 * Math.exp(-t / 2.5)],
    ['exponential, 10 passes', (t) => 0.35 + 0.01 * Math.exp(-t / 10)],
  ];
  for (const [name, curve] of curves) {
    for (const minDelta of [1e-4, 1e-3]) {
      it(`is within 2x of the real end at 10%, 25% and 50% of the run: ${name}, min-delta ${minDelta}`, () => {
        const { end, estimates } = stopRun(curve, minDelta, 10, 500);
        expect(end).toBeGreaterThan(12);
        expect(end).toBeLessThan(500);
        for (const f of [0.1, 0.25, 0.5]) {
          const at = Math.max(2, Math.round(f * end));
          const ratio = estimates[at - 1]! / end;
          expect(ratio, `${f} of ${end} passes: ${estimates[at - 1]}`).toBeGreaterThanOrEqual(0.5);
          expect(ratio, `${f} of ${end} passes: ${estimates[at - 1]}`).toBeLessThanOrEqual(2);
        }
      });
    }
  }

  it('on the 1/t curve it is the real end from the start (the law it assumes)', () => {
    const { end, estimates } = stopRun((t) => 0.35 + 0.01 / t, 1e-4, 10, 500);
    expect(estimates.slice(1).every((e) => Math.abs(e! - end) <= 1)).toBe(true);
  });

  it('a curve gone flat ends at the soonest end: the last progress plus the patience', () => {
    const flat = [0.5, 0.4, 0.4, 0.4, 0.4, 0.4];
    expect(expectedStop(flat, 2, 10, 1e-4, 200)).toBe(12);
  });

  it('nothing to fit before two passes with a finite loss', () => {
    expect(expectedStop([], 0, 10, 1e-4, 200)).toBeUndefined();
    expect(expectedStop([0.4], 1, 10, 1e-4, 200)).toBeUndefined();
    expect(expectedStop([Infinity, Infinity], 0, 10, 1e-4, 200)).toBeUndefined();
  });

  it('never before the passes done or the soonest end, never after max-epochs', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 0, max: 0.05, noNaN: true }), { minLength: 2, maxLength: 60 }),
        fc.integer({ min: 1, max: 20 }),
        fc.constantFrom(0, 1e-4, 1e-2),
        fc.integer({ min: 0, max: 100 }),
        (drops, patience, minDelta, extra) => {
          // A non-increasing best-loss curve from random drops; the stop rule on it.
          const curve = (t: number) => 1 - drops.slice(0, t).reduce((a, b) => a + b, 0) / 4;
          const max = drops.length + extra;
          const { estimates, soonest } = stopRun(curve, minDelta, patience, max);
          estimates.forEach((e, i) => {
            if (e === undefined) return;
            expect(e).toBeGreaterThanOrEqual(Math.max(i + 1, soonest[i]));
            expect(e).toBeLessThanOrEqual(max);
          });
        },
      ),
      { numRuns: 200 },
    );
  });
});

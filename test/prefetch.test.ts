import { describe, expect, it } from 'vitest';
import { prefetch } from '../src/util/prefetch.js';

describe('prefetch', () => {
  it('keeps order and produces the next item while the consumer works', async () => {
    const log: string[] = [];
    async function* source() {
      for (let i = 0; i < 3; i++) {
        log.push(`produce ${i}`);
        yield i;
      }
    }
    const seen: number[] = [];
    for await (const v of prefetch(source())) {
      await new Promise((r) => setTimeout(r, 5)); // the consumer's work
      log.push(`consume ${v}`);
      seen.push(v);
    }
    expect(seen).toEqual([0, 1, 2]);
    // Item 1 was produced before item 0 was consumed.
    expect(log.indexOf('produce 1')).toBeLessThan(log.indexOf('consume 0'));
  });

  it('surfaces a producer error to the consumer, and closes the source on an early stop', async () => {
    async function* failing() {
      yield 1;
      throw new Error('disk on fire');
    }
    await expect((async () => {
      for await (const _ of prefetch(failing())) void _;
    })()).rejects.toThrow('disk on fire');

    let closed = false;
    async function* endless() {
      try {
        for (let i = 0; ; i++) yield i;
      } finally {
        closed = true;
      }
    }
    for await (const v of prefetch(endless())) if (v === 2) break;
    expect(closed).toBe(true);
  });
});

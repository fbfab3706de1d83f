/**
 * Runs ahead of the consumer: while it works on item i (e.g. awaiting the GPU), item i+1 is
 * being produced (read by DuckDB on its own threads, transformed when the event loop is free).
 */
export async function* prefetch<T>(source: AsyncIterable<T>, depth = 1): AsyncGenerator<T> {
  const it = source[Symbol.asyncIterator]();
  const pending: Array<Promise<IteratorResult<T>>> = [];
  const pull = () => {
    const p = it.next();
    p.catch(() => {}); // surfaced when awaited below; never an unhandled rejection if we stop early
    pending.push(p);
  };
  for (let i = 0; i < depth; i++) pull();
  let done = false;
  try {
    for (;;) {
      const r = await pending.shift()!;
      if (r.done) {
        done = true;
        return;
      }
      pull();
      yield r.value;
    }
  } finally {
    if (!done) await it.return?.(undefined);
  }
}

/**
 * The load generator of `npm run bench -- online`, run as its own process (so its CPU is not
 * the server's event loop): open-loop requests at a fixed rate to 127.0.0.1, each written as
 * bytes on a kept-alive socket (one request per socket at a time; a request finding no idle
 * socket opens one, its connect in its time). fetch (undici) costs about 0.25 ms of CPU per
 * request on this machine, half a core at 2,000 requests/s, on the same two cores as the server.
 *
 * Modes (argv[2] is a JSON object):
 * - `{"mode": "requests", url, method, path, body?, rate, seconds}`: one request every 1/rate s;
 *   prints `{ms: [...], statuses: {...}, sent}` (latency from the scheduled send time, so a
 *   generator that falls behind counts against the server, not for it).
 * - `{"mode": "events", url, rate, seconds, batch}`: batches of `batch` events for a new visitor
 *   each at rate/batch per second; after each 200, a GET of the visitor on another socket until
 *   it shows the batch; and a long poll on the `recent` audience's changes. Prints the times from
 *   each POST's send to the visitor view showing it and to its `enter` arriving by the long poll,
 *   and the visitors whose batch was acknowledged (200).
 * Bounded: every loop stops at `seconds`, and a request still open 10 s after is counted lost.
 */
import net from 'node:net';

const HEADERS_END = Buffer.from('\r\n\r\n');

/** Kept-alive HTTP/1.1 connections to one port. */
class Client {
  private readonly idle: net.Socket[] = [];

  constructor(private readonly port: number) {}

  /** A new connection; an error or close while idle (the server killed) drops it from the pool. */
  private connect(): net.Socket {
    const socket = net.connect({ host: '127.0.0.1', port: this.port, noDelay: true });
    const drop = () => {
      const i = this.idle.indexOf(socket);
      if (i >= 0) this.idle.splice(i, 1);
    };
    socket.on('error', drop);
    socket.on('close', drop);
    return socket;
  }

  /** One request; resolves with the status and body once its content-length is read. */
  request(method: string, path: string, body?: string): Promise<{ status: number; body: string }> {
    const socket = this.idle.pop() ?? this.connect();
    const head = `${method} ${path} HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: keep-alive\r\n${body ? `content-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n` : ''}\r\n`;
    socket.write(body ? head + body : head);
    return new Promise((resolve, reject) => {
      let buf: Buffer = Buffer.alloc(0);
      let need = -1;
      let status = 0;
      let bodyAt = 0;
      const finish = (err?: Error) => {
        socket.off('data', onData);
        socket.off('error', finish);
        socket.off('close', onClose);
        if (err) {
          socket.destroy();
          reject(err);
        } else {
          this.idle.push(socket);
          resolve({ status, body: buf.subarray(bodyAt, need).toString() });
        }
      };
      const onData = (chunk: Buffer) => {
        buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
        if (need < 0) {
          const end = buf.indexOf(HEADERS_END);
          if (end < 0) return;
          const headers = buf.subarray(0, end).toString();
          status = Number(headers.slice(9, 12));
          const len = /\r\ncontent-length: *(\d+)/i.exec(headers);
          if (!len) return finish(new Error('answer without content-length'));
          bodyAt = end + 4;
          need = bodyAt + Number(len[1]);
        }
        if (buf.length >= need) finish();
      };
      const onClose = () => finish(new Error('connection closed'));
      socket.on('data', onData);
      socket.once('error', finish);
      socket.once('close', onClose);
    });
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));

/** Sends `count` calls of `send(i)` at `rate` per second from now, open loop; resolves when all settle (or 10 s after the last send). */
async function openLoop(rate: number, seconds: number, send: (i: number, due: number) => Promise<void>): Promise<number> {
  const start = performance.now();
  const count = Math.round(rate * seconds);
  const inflight: Promise<void>[] = [];
  for (let i = 0; i < count; i++) {
    const due = start + (i * 1000) / rate;
    if (due - performance.now() > 1) await sleep(due - performance.now());
    // Its time runs from the scheduled send when the generator is late (open loop), from the real one when it is early (timers' grain: at most 1 ms).
    inflight.push(send(i, Math.min(due, performance.now())).catch(() => undefined));
  }
  await Promise.race([Promise.all(inflight), sleep(10_000)]);
  return count;
}

async function requests(o: { url: string; method: string; path: string; body?: string; rate: number; seconds: number }) {
  const client = new Client(Number(new URL(o.url).port));
  const ms: number[] = [];
  const statuses: Record<string, number> = {};
  const sent = await openLoop(o.rate, o.seconds, async (_i, due) => {
    const r = await client.request(o.method, o.path, o.body);
    ms.push(performance.now() - due);
    statuses[r.status] = (statuses[r.status] ?? 0) + 1;
  });
  return { ms, statuses, sent };
}

async function events(o: { url: string; rate: number; seconds: number; batch: number; prefix: string }) {
  const port = Number(new URL(o.url).port);
  const [posts, reads, polls] = [new Client(port), new Client(port), new Client(port)];
  const today = new Date().toISOString().slice(0, 10);
  const sentAt = new Map<string, number>();
  const enterMs: number[] = [];
  let stop = false;
  let cursor = 0;
  const poller = (async () => {
    while (!stop) {
      try {
        const r = await polls.request('GET', `/v1/audiences/recent/changes?after=${cursor}&wait=1`);
        const body = JSON.parse(r.body) as { changes: Array<{ id: string; change: string }>; cursor: number };
        const now = performance.now();
        for (const c of body.changes) if (c.change === 'enter' && sentAt.has(c.id)) enterMs.push(now - sentAt.get(c.id)!);
        cursor = body.cursor;
      } catch {
        await sleep(100); // the server is gone (the kill phase): try again until the load ends
      }
    }
  })();
  const visibleMs: number[] = [];
  const postMs: number[] = [];
  const statuses: Record<string, number> = {};
  const acked: string[] = [];
  const sent = await openLoop(o.rate / o.batch, o.seconds, async (i, due) => {
    const id = `${o.prefix}${i}`;
    sentAt.set(id, due);
    const body = JSON.stringify({ events: Array.from({ length: o.batch }, (_, j) => ({ customer_id: id, date: today, amount: j + 1, category: j % 2 ? 'shoes' : 'home' })) });
    const r = await posts.request('POST', '/v1/events', body);
    postMs.push(performance.now() - due);
    statuses[r.status] = (statuses[r.status] ?? 0) + 1;
    if (r.status === 200) acked.push(id);
    for (let tries = 0; tries < 100; tries++) {
      const v = await reads.request('GET', `/v1/visitors/${id}`);
      if (v.status === 200 && (JSON.parse(v.body) as { features: { events: number } }).features.events === o.batch) {
        visibleMs.push(performance.now() - due);
        return;
      }
      await sleep(1);
    }
  });
  await sleep(1500); // the last enters arrive by the long poll
  stop = true;
  await Promise.race([poller, sleep(3000)]);
  return { postMs, visibleMs, enterMs, statuses, sent, acked };
}

const opts = JSON.parse(process.argv[2]);
const result = opts.mode === 'events' ? await events(opts) : await requests(opts);
// Exit once the whole result is written: a pipe takes a large write asynchronously.
process.stdout.write(`${JSON.stringify(result)}\n`, () => process.exit(0));

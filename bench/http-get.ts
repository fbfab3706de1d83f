/**
 * The load generator's HTTP/1.1 client for bench/load.ts's bursts: GET requests written as bytes
 * on kept-alive sockets, one request per socket at a time (a request finding no idle socket
 * opens one, and its connect is in its time, as with fetch), each answer read to the end of its
 * content-length. Why not fetch: on the 2-core bench machine fetch (undici) took about 0.25 ms
 * of CPU per request, more than the server's own work, on the same two cores, and that time was
 * measured as the server's latency; this client takes about 0.03 ms (scratch measurements
 * against a bare node:http server, 1,000 concurrent requests). It handles what a load generator
 * needs and no more: answers with a content-length (what Fastify and node:http send for a body
 * given whole); anything else rejects the request.
 */
import net from 'node:net';

/** One answered request: its status and milliseconds from the call to the last byte. */
export interface Answer {
  status: number;
  ms: number;
}

const HEADERS_END = Buffer.from('\r\n\r\n');

/** Kept-alive connections to one host and port (see the module comment). */
export class HttpGet {
  private readonly idle: net.Socket[] = [];
  private readonly all = new Set<net.Socket>();

  constructor(
    private readonly host: string,
    private readonly port: number,
  ) {}

  /** A client for the origin of `url` ("http://127.0.0.1:8080"). */
  static of(url: string): HttpGet {
    const u = new URL(url);
    return new HttpGet(u.hostname, Number(u.port));
  }

  /** GETs `path`; rejects on a connection error or an answer without content-length. */
  get(path: string): Promise<Answer> {
    const t = performance.now();
    const socket = this.idle.pop() ?? this.connect();
    return new Promise<Answer>((resolve, reject) => {
      const chunks: Buffer[] = [];
      let got = 0;
      let need = -1; // bytes of the whole answer, once its headers are in
      let status = 0;
      let close = false;
      const done = (err?: Error) => {
        socket.off('data', onData);
        socket.off('error', done);
        socket.off('close', onClose);
        if (err) {
          socket.destroy();
          reject(err);
          return;
        }
        if (close) socket.destroy();
        else this.idle.push(socket);
        resolve({ status, ms: performance.now() - t });
      };
      const onClose = () => done(new Error(`connection closed before the answer to GET ${path} was whole`));
      const onData = (chunk: Buffer) => {
        chunks.push(chunk);
        got += chunk.length;
        if (need < 0) {
          const head = chunks.length === 1 ? chunk : Buffer.concat(chunks);
          const end = head.indexOf(HEADERS_END);
          if (end < 0) return;
          const text = head.subarray(0, end).toString('latin1');
          status = Number(text.slice(9, 12));
          const length = /\r\ncontent-length: *(\d+)/i.exec(text);
          if (!length) return done(new Error(`GET ${path}: the answer has no content-length (${text.split('\r\n')[0]})`));
          close = /\r\nconnection: *close/i.test(text);
          need = end + HEADERS_END.length + Number(length[1]);
        }
        if (got > need) done(new Error(`GET ${path}: more bytes than the answer's content-length`));
        else if (got === need) done();
      };
      socket.on('data', onData);
      socket.once('error', done);
      socket.once('close', onClose);
      socket.write(`GET ${path} HTTP/1.1\r\nhost: ${this.host}:${this.port}\r\n\r\n`);
    });
  }

  private connect(): net.Socket {
    const socket = net.connect(this.port, this.host);
    socket.setNoDelay(true);
    socket.on('error', () => {}); // reported to the request that is using it
    socket.on('close', () => {
      this.all.delete(socket);
      const at = this.idle.indexOf(socket);
      if (at >= 0) this.idle.splice(at, 1);
    });
    this.all.add(socket);
    return socket;
  }

  /** Closes every connection. */
  close(): void {
    for (const s of this.all) s.destroy();
  }
}

/** A real Redis for the several-hosts tests: Debian's redis-server on a free loopback port. */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import net from 'node:net';

/** Whether redis-server is installed (the tests that need it skip otherwise). */
export const hasRedis = spawnSync('redis-server', ['--version']).status === 0;

/** A free TCP port on loopback (nothing listens there once it resolves). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

/**
 * Starts Debian's redis-server on `port` (a free one when absent), without persistence, its
 * files in `folder`, and resolves once it answers.
 */
export async function startRedis(folder: string, port?: number): Promise<{ server: ChildProcess; url: string; port: number }> {
  const p = port ?? (await freePort());
  const server = spawn('redis-server', ['--port', String(p), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', folder], { stdio: 'ignore' });
  for (let i = 0; i < 50 && redisCli(p, 'ping') !== 'PONG'; i++) await new Promise((r) => setTimeout(r, 100));
  return { server, url: `redis://127.0.0.1:${p}`, port: p };
}

/** Runs one redis-cli command against the Redis on `port`; its output, trimmed. */
export function redisCli(port: number, ...args: string[]): string {
  return spawnSync('redis-cli', ['-p', String(port), ...args], { encoding: 'utf8' }).stdout?.trim() ?? '';
}

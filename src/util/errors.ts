/**
 * An error caused by the user's input (a file, a column, a flag), as opposed to a bug.
 * The CLI prints its message alone, without a stack; the service answers 400 with it.
 */
export class UserError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'UserError';
  }
}

/**
 * Something the run depends on failed, not the code: Redis gone, out of memory or without the
 * run's keys, a worker's disk full. Like a UserError it is words naming the cause (exit 2, a
 * job's error), never a stack trace.
 */
export class EnvironmentError extends UserError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'EnvironmentError';
  }
}

/**
 * A user's request that conflicts with work in progress (an output folder another job is
 * writing): the CLI prints it as any UserError; the service answers 409.
 */
export class ConflictError extends UserError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ConflictError';
  }
}

/** The message of anything thrown. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

const REASONS: Record<string, string> = {
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  EROFS: 'the file system is read-only',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENOTDIR: 'a part of the path is a file, not a folder',
  EISDIR: 'it is a folder',
  EEXIST: 'it already exists',
  ENOENT: 'no such file or folder',
  EMFILE: 'too many open files',
  EIO: 'an input/output error (the disk or file system failed)',
  EBUSY: 'it is locked by another process',
  EADDRINUSE: 'the address is already in use (another server on this port?)',
  EADDRNOTAVAIL: 'the address is not available on this machine',
  ENOTFOUND: 'unknown host',
  EAI_AGAIN: 'the host name could not be resolved',
};

/**
 * A failure of the file system or the network in words, "cannot write <path>: <reason>", or
 * undefined when `err` is not one. DuckDB's I/O errors ("IO Error: ...") count too.
 */
export function systemErrorMessage(err: unknown): string | undefined {
  const e = err as NodeJS.ErrnoException & { address?: string; port?: number };
  if (e && typeof e.code === 'string' && REASONS[e.code]) {
    const host = (e as { hostname?: string }).hostname;
    const where = e.path ?? (e.address !== undefined ? `${e.address}:${e.port}` : host);
    const verb = e.syscall === 'listen' || e.syscall === 'getaddrinfo' ? 'cannot listen on' : e.syscall === 'open' || e.syscall === 'stat' || e.syscall === 'scandir' ? 'cannot open' : 'cannot write';
    return `${verb} ${where ?? '(unknown path)'}: ${REASONS[e.code]}`;
  }
  const msg = err instanceof Error ? err.message : '';
  const io = /^IO Error: (.*)$/m.exec(msg);
  if (io) return `cannot read or write a file: ${io[1]}`;
  return undefined;
}

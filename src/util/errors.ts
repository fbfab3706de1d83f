/**
 * An error caused by the user's input (a file, a column, a flag), as opposed to a bug.
 * The CLI prints its message alone, without a stack; the service answers 400 with it.
 */
export class UserError extends Error {
  /** The stable code of its kind (ERROR_CODES): what an API client or a log query matches on. */
  readonly code: string = 'AE_BAD_INPUT';

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
  override readonly code: string = 'AE_ENVIRONMENT';

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
  override readonly code: string = 'AE_CONFLICT';

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ConflictError';
  }
}

/**
 * The stable error codes (as Fastify's FST_ERR_* catalog): the API's error bodies carry one
 * beside the message, and errors cross threads, processes and queues as one (encodeError).
 */
export const ERROR_CODES = {
  AE_BAD_INPUT: 'the request or an input is wrong: a file, a column, a row, a flag or a field (400; CLI exit 2)',
  AE_CONFLICT: 'the request conflicts with work in progress, e.g. an output folder another job writes (409)',
  AE_ENVIRONMENT: 'something the run depends on failed: Redis, memory, a disk (a failed job; CLI exit 2)',
  AE_DEVICE: "the GPU device failed; the thread's results cannot be trusted (the shard is retried elsewhere)",
  AE_STORE_UNAVAILABLE: 'the job store cannot be written (a full or read-only disk) (503)',
  AE_UNAVAILABLE: 'a service the request needs does not answer, e.g. Redis for a queued job (503)',
  AE_UNAUTHORIZED: 'no or a wrong API key (401)',
  AE_NOT_FOUND: 'no such job, model, version or route (404)',
  AE_TOO_LARGE: 'the body is over the server\'s limit (413)',
  AE_MEDIA_TYPE: 'the body is not JSON (415)',
  AE_QUEUE_FULL: 'too many jobs wait already (429)',
  AE_VALIDATION: 'the body, query or path fails the route\'s schema: the field and what it must be (400)',
  AE_INTERNAL: 'a bug: the message is in the server log (500)',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

const KINDS = new Map<string, (message: string) => Error>([
  ['AE_BAD_INPUT', (m) => new UserError(m)],
  ['AE_CONFLICT', (m) => new ConflictError(m)],
  ['AE_ENVIRONMENT', (m) => new EnvironmentError(m)],
]);

/** Makes errors of `code` come back as `make` builds them when decoded (a lower layer's error kind registers itself: compute/read.ts DeviceError). */
export function registerErrorCode(code: ErrorCode, make: (message: string) => Error): void {
  KINDS.set(code, make);
}

/** The code of anything thrown: its own `code` when it is one of ours, else AE_INTERNAL. */
export function errorCode(err: unknown): ErrorCode {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code in ERROR_CODES ? (code as ErrorCode) : 'AE_INTERNAL';
}

const ENVELOPE = '\u0000ae-error:';

/**
 * An error as one line of text that keeps its kind across a boundary that keeps only text (a
 * Piscina task's rejection, a BullMQ job's failedReason, a worker's message): a marker, then
 * {code, message} as JSON. decodeError takes it back.
 */
export function encodeError(err: unknown): string {
  return `${ENVELOPE}${JSON.stringify({ code: errorCode(err), message: errorMessage(err) })}`;
}

/**
 * The error an encodeError text stands for, typed by its code (UserError, ConflictError,
 * EnvironmentError, a registered kind; a plain Error for AE_INTERNAL), wherever the envelope
 * sits in `text` (a queue may prefix it); undefined when `text` holds none.
 */
export function decodeError(text: string): Error | undefined {
  const at = text.indexOf(ENVELOPE);
  if (at < 0) return undefined;
  try {
    const { code, message } = JSON.parse(text.slice(at + ENVELOPE.length)) as { code: string; message: string };
    return (KINDS.get(code) ?? ((m: string) => new Error(m)))(message);
  } catch {
    return undefined;
  }
}

/** What was thrown across a boundary, typed again when it carries an envelope, else itself. */
export function crossedError(err: unknown): unknown {
  return decodeError(errorMessage(err)) ?? err;
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

/** The C library's words for the codes a write fails with (strerror), as DuckDB's I/O errors carry them. */
const STRERROR: Record<string, string> = {
  'No space left on device': 'ENOSPC',
  'Disk quota exceeded': 'EDQUOT',
  'Read-only file system': 'EROFS',
  'Input/output error': 'EIO',
};

/**
 * A failure of the file system or the network in words, "cannot write <path>: <reason>", or
 * undefined when `err` is not one. DuckDB's I/O errors ("IO Error: ...") count too: a failed
 * write of a file, "cannot write <path>: no space left on the device", as a system error is.
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
  // DuckDB's COPY on a full disk: "Could not write file "<path>": No space left on device".
  const write = io && /^Could not write file "(.+)": (.+)$/.exec(io[1]);
  const code = write && Object.entries(STRERROR).find(([text]) => write[2].startsWith(text))?.[1];
  if (write && code) return `cannot write ${write[1]}: ${REASONS[code]}`;
  if (io) return `cannot read or write a file: ${io[1]}`;
  return undefined;
}

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

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

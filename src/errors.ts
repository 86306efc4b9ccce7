// One error class for the whole library: a stable `code` for callers and tests, the original error as `cause`.

export type ErrorCode =
  | 'E_USAGE' // bad command line
  | 'E_NOT_EMPTY' // snapshot target exists and is not empty (no --force)
  | 'E_OUTSIDE_ROOT' // a path that would leave the root/target
  | 'E_ROOT' // the machine's root (--root, probe's root) is relative, missing, not a directory, or holds no machine
  | 'E_IO' // a filesystem operation failed where it must not
  | 'E_PARSE' // input data that cannot be used at all
  | 'E_TIMEOUT'
  | 'E_CHANGED' // a file to take back is no longer what was written (removeFiles)
  | 'E_LOCKED' // another run holds the target's lock (/var/lib/autoconfig/lock)
  | 'E_PARTIAL'; // a set of files failed half-way and not every replaced file could be put back

export class AutoconfigError extends Error {
  readonly code: ErrorCode;
  /** The file, device or argument the error is about, when there is one. */
  readonly path: string | undefined;

  constructor(code: ErrorCode, message: string, options: { cause?: unknown; path?: string } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.path = options.path;
  }
}
Object.defineProperty(AutoconfigError.prototype, 'name', { value: 'AutoconfigError', enumerable: false });

export function isAutoconfigError(error: unknown): error is AutoconfigError {
  return error instanceof AutoconfigError;
}

/** The errno code of a Node or memfs error, if any. */
export function errnoCode(error: unknown): string | undefined {
  if (typeof error === 'object' && error !== null && 'code' in error) {
    const code = (error as { code: unknown }).code;
    return typeof code === 'string' ? code : undefined;
  }
  return undefined;
}

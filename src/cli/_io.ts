import type { WritableFsLike } from '../fs.ts';

/** Everything a command touches outside itself, injected so tests run commands in-process on memfs. */
export interface CliIO {
  stdout(text: string): void;
  stderr(text: string): void;
  fs: WritableFsLike;
  cwd: string;
  /** stdout is a terminal: progress may be drawn in place with \r (hwsetup's style); else plain lines. */
  isTTY: boolean;
}

export const EXIT = {
  ok: 0,
  /** The command failed (bad input it could not work around, a write that failed ...). */
  error: 1,
  /** The command line was wrong. */
  usage: 2,
} as const;

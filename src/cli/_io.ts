import { writeSync } from 'node:fs';
import { errnoCode } from '../errors.ts';
import type { WritableFsLike } from '../fs.ts';

/** Everything a command touches outside itself, injected so tests run commands in-process on memfs. */
export interface CliIO {
  stdout(text: string): void;
  stderr(text: string): void;
  fs: WritableFsLike;
  cwd: string;
  /** stdout is a terminal: progress may be drawn in place with \r (hwsetup's style); else plain lines. */
  isTTY: boolean;
  /** Output that could not be written ('stdout: EPIPE ...'), for the run record; absent when output is captured. */
  outputFailures?: readonly string[];
}

export const EXIT = {
  ok: 0,
  /** The command failed (bad input it could not work around, a write that failed ...). */
  error: 1,
  /** The command line was wrong. */
  usage: 2,
} as const;

/** How long one write may wait on a non-blocking stdout or stderr that is full (EAGAIN) before it is given up. */
const FULL_WAIT_MS = 10_000;

export interface ProcessOutput {
  stdout(text: string): void;
  stderr(text: string): void;
  /** What went wrong with the output, one line per stream that failed ('stdout: EPIPE ...'); empty when none. */
  readonly failures: string[];
}

/**
 * This process's stdout and stderr as writers that never throw and never stop the work (issue #11): a reader
 * that went away (`| head -c1`: EPIPE), a full disk (`>/dev/full`: ENOSPC) or a closed descriptor (EBADF) ends
 * that stream's output only. The first failure of stdout is said on stderr; every failure is in `failures`,
 * for the run record. Written with writeSync on the descriptor, not process.stdout: a stream reports EPIPE
 * later, as an 'error' event that kills the process when nobody listens, and may still hold unwritten data when
 * the process ends; writeSync fails at once, here, and leaves nothing behind.
 */
export function processOutput(): ProcessOutput {
  const failures: string[] = [];
  const broken = new Set<number>();
  const write = (fd: 1 | 2, text: string): void => {
    if (broken.has(fd) || text === '') return;
    let bytes = Buffer.from(text, 'utf8');
    let waited = 0;
    while (bytes.length > 0) {
      try {
        bytes = bytes.subarray(writeSync(fd, bytes));
      } catch (error) {
        const code = errnoCode(error) ?? String(error);
        // A non-blocking descriptor that is full (a pipe whose reader is slow): wait for room, within a bound.
        if (code === 'EAGAIN' && waited < FULL_WAIT_MS) {
          Atomics.wait(pause, 0, 0, 5);
          waited += 5;
          continue;
        }
        broken.add(fd);
        const name = fd === 1 ? 'stdout' : 'stderr';
        failures.push(`${name}: ${code}, output to it dropped from then on`);
        if (fd === 1) write(2, `autoconfig: cannot write to stdout (${code}); the rest of its output is dropped, the work goes on\n`);
        return;
      }
    }
  };
  return { stdout: (text) => write(1, text), stderr: (text) => write(2, text), failures };
}

const pause = new Int32Array(new SharedArrayBuffer(4));

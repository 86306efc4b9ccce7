// Test support: a real FIFO where a file is read (issue #11), with a watchdog for in-process tests. A reader that
// wrongly opens the FIFO would block the test worker itself (a blocked open cannot be timed out from inside), so a
// shell opens the FIFO for writing after `afterMs` and closes it at once: a blocked open then returns, the read
// sees EOF, and the test fails on its assertions instead of hanging vitest. `dispose()` ends that shell.
import { execFileSync, spawn } from 'node:child_process';

export function watchedFifo(path: string, afterMs = 3000): { path: string; dispose(): void } {
  execFileSync('mkfifo', [path]);
  // Nobody opens the FIFO to read when the code is right: the shell then blocks in its open until killed.
  const watchdog = spawn('sh', ['-c', `sleep ${afterMs / 1000}; : > "$1"`, 'sh', path], { stdio: 'ignore', detached: true });
  watchdog.unref();
  return {
    path,
    dispose: () => {
      try {
        process.kill(-watchdog.pid!, 'SIGKILL');
      } catch {
        // Already gone.
      }
    },
  };
}

// Test support: run the real CLI in-process with an injected fs, capturing its output.
import { main } from '../../src/cli/main.ts';
import { nodeFsPromises, type WritableFsLike } from '../../src/fs.ts';

/** `isTTY`: whether the CLI is told its stdout is a terminal (default false: output is captured). */
export async function runCli(argv: string[], fs: WritableFsLike = nodeFsPromises, options: { isTTY?: boolean } = {}) {
  let stdout = '';
  let stderr = '';
  const code = await main({
    argv,
    fs,
    cwd: '/',
    stdout: (t) => (stdout += t),
    stderr: (t) => (stderr += t),
    ...(options.isTTY === undefined ? {} : { isTTY: options.isTTY }),
  });
  return { code, stdout, stderr };
}

// Test support: run the real CLI in-process with an injected fs, capturing its output.
import { main } from '../../src/cli/main.ts';
import { nodeFsPromises, type WritableFsLike } from '../../src/fs.ts';

export async function runCli(argv: string[], fs: WritableFsLike = nodeFsPromises) {
  let stdout = '';
  let stderr = '';
  const code = await main({ argv, fs, cwd: '/', stdout: (t) => (stdout += t), stderr: (t) => (stderr += t) });
  return { code, stdout, stderr };
}

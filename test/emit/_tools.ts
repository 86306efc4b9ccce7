// The real tools the emitted files are checked with (grub-script-check, dash, modprobe, python3), found on PATH or
// in the sbin directories; a test that needs a missing one is skipped and says so in its title.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function findTool(name: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(':').concat(['/usr/sbin', '/sbin', '/usr/bin', '/bin'])) {
    const path = join(dir, name);
    if (dir !== '' && existsSync(path)) return path;
  }
  return null;
}

/** " (skipped: NAME is not installed; apt-get install PACKAGE)" when the tool is missing, else "". */
export function skipNote(tool: string | null, name: string, aptPackage: string): string {
  return tool === null ? ` (skipped: ${name} is not installed; apt-get install ${aptPackage})` : '';
}

export interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function run(argv: string[], options: { input?: string; cwd?: string; env?: NodeJS.ProcessEnv } = {}): Run {
  const [cmd, ...args] = argv;
  const r = spawnSync(cmd!, args, { encoding: 'utf8', timeout: 20_000, ...options });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A scratch directory for one test file; remove() at the end. */
export function scratch(prefix: string): { dir: string; file(name: string, content: string): string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), `autoconfig-${prefix}-`));
  return {
    dir,
    file(name, content) {
      const path = join(dir, name);
      writeFileSync(path, content);
      return path;
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/**
 * Inside a test that `it.skipIf(tool === null)` skips without the tool: narrows its type. It throws only if the
 * skip condition and the test disagree, so a missing tool can never make a test pass without checking.
 */
export function assertTool<T>(tool: T | null): asserts tool is T {
  if (tool === null) throw new Error('the tool this test needs is missing, but the test was not skipped');
}

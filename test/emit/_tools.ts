// The real tools the emitted files are checked with (grub-script-check, dash, modprobe, python3), found on PATH or
// in the sbin directories, and the Debian packages some are checked against; a test that needs a missing one is
// skipped and says so in its title.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
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

/** Where Debian packages the emitter tests check against are kept between runs (root), as the boot test keeps its. */
export const DEB_CACHE = '/var/cache/xenoppix-autoconfig/debs';
// The boot test's own cache (test/boot/_harness.ts) is looked in too, so that one download serves both.
const DEB_DIRS = [DEB_CACHE, '/var/cache/xenoppix-autoconfig/boot/debs'];

/**
 * A Debian package of this machine's suite, unpacked into `into` (dpkg-deb -x): from the cache, else `apt-get
 * download`ed into it once (then `apt-get update` and again, if the lists are stale). Throws saying what failed.
 */
export function unpackDebian(pkg: string, into: string): string {
  const find = () => {
    for (const dir of DEB_DIRS) {
      const name = existsSync(dir) ? readdirSync(dir).find((f) => f.startsWith(`${pkg}_`) && f.endsWith('.deb')) : undefined;
      if (name !== undefined) return join(dir, name);
    }
    return undefined;
  };
  let deb = find();
  if (deb === undefined) {
    mkdirSync(DEB_CACHE, { recursive: true });
    let r = run(['apt-get', 'download', '-q', pkg], { cwd: DEB_CACHE });
    if (r.status !== 0) {
      run(['apt-get', 'update', '-q']);
      r = run(['apt-get', 'download', '-q', pkg], { cwd: DEB_CACHE });
    }
    deb = find();
    if (r.status !== 0 || deb === undefined) throw new Error(`apt-get download ${pkg} failed: ${r.stderr.trim()}`);
  }
  const r = run(['dpkg-deb', '-x', deb, into]);
  if (r.status !== 0) throw new Error(`dpkg-deb -x ${deb} failed: ${r.stderr.trim()}`);
  return deb;
}

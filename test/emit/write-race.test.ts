// The symlink race of issue #11 (item 5), for real on the node fs: while writeFiles() runs, another process swaps
// a directory of the target for a symlink to a directory outside it, again and again. A writer that checks a path
// and then opens or renames it by that path can be led outside between the two; one that walks the target one
// opened directory at a time (O_NOFOLLOW|O_DIRECTORY, then /proc/self/fd/N/NAME) cannot. Watched with inotify
// (fs.watch), so that even a temporary file created and removed outside counts.
import { spawn } from 'node:child_process';
import { closeSync, constants, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, watch, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeFiles } from '../../src/emit/write.ts';

const base = mkdtempSync(join(tmpdir(), 'autoconfig-race-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));

// /proc/self/fd is what the safe walk stands on; without it the writer falls back to checked paths (racy).
const linuxProc = process.platform === 'linux' && existsSync('/proc/self/fd');

// Swaps DIR for a symlink to OUTSIDE and back, forever: the symlink and the directory each stay ~0.2 ms.
const SWAPPER = `
const fs = require('node:fs');
const [dir, away, outside] = process.argv.slice(1);
process.stdout.write('ready');
const spin = (ms) => { const end = performance.now() + ms; while (performance.now() < end); };
for (;;) {
  try { fs.renameSync(dir, away); } catch { try { fs.rmSync(away, { recursive: true, force: true }); } catch {} spin(0.2); continue; }
  try { fs.symlinkSync(outside, dir); } catch {}
  spin(0.2);
  try { fs.unlinkSync(dir); } catch {}
  try { fs.renameSync(away, dir); } catch { try { fs.rmSync(away, { recursive: true, force: true }); } catch {} }
  spin(0.2);
}
`;

describe('a directory of the target swapped for a symlink while writing', () => {
  it.skipIf(!linuxProc)(
    'nothing ever appears outside the target (many runs, bounded time)' + (linuxProc ? '' : ' (skipped: no /proc/self/fd)'),
    async () => {
      const target = join(base, 'target');
      const outside = join(base, 'outside');
      mkdirSync(join(target, 'etc/sysconfig'), { recursive: true });
      mkdirSync(outside);
      const seen: string[] = [];
      const watcher = watch(outside, (_event, name) => seen.push(String(name)));
      const swapper = spawn(process.execPath, ['-e', SWAPPER, join(target, 'etc/sysconfig'), join(target, 'etc/.away'), outside], {
        stdio: ['ignore', 'pipe', 'ignore'],
      });
      // Node takes ~50 ms to start: the runs begin once the swapping does.
      await new Promise((resolve) => {
        swapper.stdout.once('data', resolve);
        swapper.once('exit', resolve);
      });
      let runs = 0;
      let refused = 0;
      try {
        const until = Date.now() + 12_000;
        for (; runs < 400 && Date.now() < until; runs++) {
          // New content every run, so every run writes (an unchanged file is never opened for writing).
          const files = ['xserver', 'xen', 'knoppix', 'keyboard'].map((name) => ({
            path: `/etc/sysconfig/${name}`,
            content: `${name} run ${runs}\n`,
          }));
          try {
            await writeFiles(files, { target, backup: false });
          } catch (error) {
            // Refusing (a symlink on the way, a directory that vanished) is right; writing outside is not.
            refused++;
            expect((error as { code?: string }).code).toMatch(/^E_(IO|OUTSIDE_ROOT)$/);
          }
          if (seen.length > 0 || readdirSync(outside).length > 0) break;
        }
      } finally {
        swapper.kill('SIGKILL');
        await new Promise((resolve) => setTimeout(resolve, 50));
        watcher.close();
      }
      // The swap must really have raced the writer: some runs were refused.
      expect(refused).toBeGreaterThan(0);
      expect({ runs, outside: readdirSync(outside), seen: [...new Set(seen)] }).toEqual({
        runs,
        outside: [],
        seen: [],
      });
    },
    30_000,
  );
});

// The file to be replaced swapped for a symlink to a secret outside the target: the writer reads the current file
// (to compare, and for the backup it keeps) and must never read it through the link (O_NOFOLLOW), so the secret
// never lands in the target, as a backup or otherwise; nor is the secret itself ever written.
const FILE_SWAPPER = `
const fs = require('node:fs');
const [file, away, secret] = process.argv.slice(1);
process.stdout.write('ready');
const spin = (ms) => { const end = performance.now() + ms; while (performance.now() < end); };
for (;;) {
  try { fs.renameSync(file, away); } catch { spin(0.2); continue; }
  try { fs.symlinkSync(secret, file); } catch {}
  spin(0.2);
  try { fs.unlinkSync(file); } catch {}
  try { fs.renameSync(away, file); } catch {}
  spin(0.2);
}
`;

describe('the file to be replaced swapped for a symlink to a secret while writing', () => {
  it.skipIf(!linuxProc)(
    'the secret is never read into the target nor written' + (linuxProc ? '' : ' (skipped: no /proc/self/fd)'),
    async () => {
      const target = join(base, 'target2');
      const outside = join(base, 'outside2');
      mkdirSync(join(target, 'etc/sysconfig'), { recursive: true });
      mkdirSync(outside);
      const secret = join(outside, 'shadow');
      writeFileSync(secret, 'SECRET root:$6$hash\n');
      writeFileSync(join(target, 'etc/sysconfig/xserver'), 'XMODULE=old\n');
      const swapper = spawn(
        process.execPath,
        ['-e', FILE_SWAPPER, join(target, 'etc/sysconfig/xserver'), join(target, 'etc/sysconfig/.away'), secret],
        { stdio: ['ignore', 'pipe', 'ignore'] },
      );
      await new Promise((resolve) => {
        swapper.stdout.once('data', resolve);
        swapper.once('exit', resolve);
      });
      // The swapper moves files while this looks: one that vanished meanwhile has nothing to show, and one that is
      // the symlink by now is not followed (that would read the secret here, not in the target).
      const readOrEmpty = (path: string): string => {
        let fd: number | null = null;
        try {
          fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
          return readFileSync(fd, 'utf8');
        } catch {
          return '';
        } finally {
          if (fd !== null) closeSync(fd);
        }
      };
      const leaked = (): string[] => {
        const found: string[] = [];
        const walk = (dir: string) => {
          for (const entry of readdirSync(dir, { withFileTypes: true })) {
            const path = join(dir, entry.name);
            if (entry.isDirectory()) walk(path);
            else if (entry.isFile() && readOrEmpty(path).includes('SECRET')) found.push(path);
          }
        };
        walk(target);
        return found;
      };
      let runs = 0;
      let found: string[] = [];
      try {
        const until = Date.now() + 10_000;
        for (; runs < 400 && Date.now() < until; runs++) {
          // A fresh backup every run: the backup is the copy of what the run replaces.
          rmSync(join(target, 'etc/sysconfig/xserver.autoconfig-old'), { force: true });
          await writeFiles([{ path: '/etc/sysconfig/xserver', content: `XMODULE=run${runs}\n` }], { target }).catch(() => undefined);
          found = leaked();
          if (found.length > 0) break;
        }
      } finally {
        swapper.kill('SIGKILL');
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect({ runs, found, secret: readFileSync(secret, 'utf8') }).toEqual({ runs, found: [], secret: 'SECRET root:$6$hash\n' });
    },
    30_000,
  );
});

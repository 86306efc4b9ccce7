import * as nodeFsSync from 'node:fs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { memfs } from 'memfs';
import {
  DEFAULT_BACKUP_SUFFIX,
  nodeWriteFs,
  WriteFilesError,
  writeFiles,
  type FileToWrite,
  type WriteFsLike,
} from '../../src/emit/write.ts';

/** The synchronous calls the tests use to set up and inspect a tree; node:fs and memfs both have them. */
interface SyncFs {
  mkdirSync(path: string, options: { recursive: true }): unknown;
  writeFileSync(path: string, data: string, options?: { mode: number }): void;
  readFileSync(path: string): Uint8Array;
  readdirSync(path: string): unknown[];
  lstatSync(path: string): {
    isDirectory(): boolean;
    isSymbolicLink(): boolean;
    mode: number;
    mtimeMs: number;
    ino: number;
  };
  readlinkSync(path: string): unknown;
  symlinkSync(target: string, path: string): void;
  chmodSync(path: string, mode: number): void;
  existsSync(path: string): boolean;
}

interface Env {
  fs: WriteFsLike;
  sync: SyncFs;
  /** The target root, an existing directory. */
  target: string;
  /** A directory beside the target, for links that lead out of it. */
  outside: string;
}

const realTmp = mkdtempSync(join(tmpdir(), 'autoconfig-write-'));
afterAll(() => rmSync(realTmp, { recursive: true, force: true }));
let envNo = 0;

const envs: [string, () => Env][] = [
  [
    'memfs',
    () => {
      const { fs } = memfs();
      fs.mkdirSync('/t/target', { recursive: true });
      fs.mkdirSync('/t/outside', { recursive: true });
      return {
        fs: fs.promises as unknown as WriteFsLike,
        sync: fs as unknown as SyncFs,
        target: '/t/target',
        outside: '/t/outside',
      };
    },
  ],
  [
    'real temp dir',
    () => {
      const base = join(realTmp, String(envNo++));
      nodeFsSync.mkdirSync(join(base, 'target'), { recursive: true });
      nodeFsSync.mkdirSync(join(base, 'outside'), { recursive: true });
      return {
        fs: nodeWriteFs,
        sync: nodeFsSync as unknown as SyncFs,
        target: join(base, 'target'),
        outside: join(base, 'outside'),
      };
    },
  ],
];

type Entry = { type: 'dir'; mode: number } | { type: 'link'; to: string } | { type: 'file'; hex: string; mode: number };

/** Everything under `dir`: relative path -> type, content (hex) and permission bits. */
function tree(sync: SyncFs, dir: string): Record<string, Entry> {
  const out: Record<string, Entry> = {};
  const walk = (rel: string) => {
    for (const name of sync.readdirSync(posix.join(dir, rel)).map(String).sort()) {
      const childRel = posix.join(rel, name);
      const abs = posix.join(dir, childRel);
      const stats = sync.lstatSync(abs);
      const mode = stats.mode & 0o7777;
      if (stats.isSymbolicLink()) {
        out[childRel] = { type: 'link', to: String(sync.readlinkSync(abs)) };
      } else if (stats.isDirectory()) {
        out[childRel] = { type: 'dir', mode };
        walk(childRel);
      } else {
        out[childRel] = { type: 'file', hex: Buffer.from(sync.readFileSync(abs)).toString('hex'), mode };
      }
    }
  };
  walk('');
  return out;
}

function temps(sync: SyncFs, dir: string): string[] {
  return Object.keys(tree(sync, dir)).filter((p) => /\.autoconfig-[0-9a-f]{8}\.tmp$/.test(p));
}

function read(env: Env, path: string): string {
  return Buffer.from(env.sync.readFileSync(posix.join(env.target, path))).toString('utf8');
}

function put(env: Env, path: string, content: string, mode = 0o644): void {
  const at = posix.join(env.target, path);
  env.sync.mkdirSync(posix.dirname(at), { recursive: true });
  env.sync.writeFileSync(at, content);
  env.sync.chmodSync(at, mode);
}

function errno(code: string, message = code): Error {
  return Object.assign(new Error(`${code}: ${message}`), { code });
}

/** `base` with some methods replaced; everything else (memfs's methods too) reached through the prototype. */
function override(base: WriteFsLike, methods: Partial<WriteFsLike>): WriteFsLike {
  return Object.assign(Object.create(base) as WriteFsLike, methods);
}

const hostile = `XDESC='RV250 If [Radeon 9000 Pro "Evil Commando"]'\n`;

describe.each(envs)('writeFiles on %s', (_label, makeEnv) => {
  let env: Env;
  beforeEach(() => {
    env = makeEnv();
  });

  it('writes new files, creating their directories, with exact modes', async () => {
    const files: FileToWrite[] = [
      { path: '/etc/sysconfig/xserver', content: hostile },
      { path: '/etc/init.d/xen-autoconfig', content: '#!/bin/sh\n', mode: 0o755 },
      { path: '/etc/sysconfig/secret', content: 'x', mode: 0o600 },
      // 0666 survives only if the mode is applied after open (a 022 umask would make it 0644).
      { path: '/boot/grub/custom.cfg', content: new Uint8Array([0, 255, 10]), mode: 0o666 },
    ];
    const result = await writeFiles(files, { target: env.target, fs: env.fs });
    expect(result).toEqual({ written: files.map((f) => f.path), unchanged: [], backups: [] });
    const t = tree(env.sync, env.target);
    const hex = Buffer.from(hostile).toString('hex');
    expect(t['etc/sysconfig/xserver']).toEqual({ type: 'file', hex, mode: 0o644 });
    expect(t['etc/init.d/xen-autoconfig']).toMatchObject({ mode: 0o755 });
    expect(t['etc/sysconfig/secret']).toMatchObject({ mode: 0o600 });
    expect(t['boot/grub/custom.cfg']).toEqual({ type: 'file', hex: '00ff0a', mode: 0o666 });
    expect(t.etc).toMatchObject({ type: 'dir' });
    expect(temps(env.sync, env.target)).toEqual([]);
  });

  it('is idempotent: a second run changes nothing and makes no backup', async () => {
    put(env, '/etc/sysconfig/xserver', 'XMODULE=old\n');
    const files: FileToWrite[] = [
      { path: '/etc/sysconfig/xserver', content: hostile },
      { path: '/etc/sysconfig/knoppix', content: 'A=1\n', mode: 0o640 },
    ];
    const first = await writeFiles(files, { target: env.target, fs: env.fs });
    expect(first.backups).toEqual(['/etc/sysconfig/xserver.autoconfig-old']);
    const before = tree(env.sync, env.target);
    const stamp = env.sync.lstatSync(posix.join(env.target, 'etc/sysconfig/xserver'));
    const second = await writeFiles(files, { target: env.target, fs: env.fs });
    expect(second).toEqual({ written: [], unchanged: files.map((f) => f.path), backups: [] });
    expect(tree(env.sync, env.target)).toEqual(before);
    const again = env.sync.lstatSync(posix.join(env.target, 'etc/sysconfig/xserver'));
    expect([again.ino, again.mtimeMs]).toEqual([stamp.ino, stamp.mtimeMs]);
  });

  it('keeps the replaced file once as a backup, with its mode, and never overwrites that backup', async () => {
    put(env, '/etc/sysconfig/xserver', 'original\n', 0o600);
    const write = (content: string) =>
      writeFiles([{ path: '/etc/sysconfig/xserver', content }], { target: env.target, fs: env.fs });
    expect(await write('second\n')).toEqual({
      written: ['/etc/sysconfig/xserver'],
      unchanged: [],
      backups: ['/etc/sysconfig/xserver' + DEFAULT_BACKUP_SUFFIX],
    });
    expect(await write('third\n')).toEqual({ written: ['/etc/sysconfig/xserver'], unchanged: [], backups: [] });
    expect(read(env, '/etc/sysconfig/xserver')).toBe('third\n');
    expect(read(env, '/etc/sysconfig/xserver.autoconfig-old')).toBe('original\n');
    const t = tree(env.sync, env.target);
    // The mode of the replaced file carries over when none is given.
    expect(t['etc/sysconfig/xserver']).toMatchObject({ mode: 0o600 });
    expect(t['etc/sysconfig/xserver.autoconfig-old']).toMatchObject({ mode: 0o600 });
    expect(Object.keys(t).sort()).toEqual([
      'etc',
      'etc/sysconfig',
      'etc/sysconfig/xserver',
      'etc/sysconfig/xserver.autoconfig-old',
    ]);
  });

  it('uses the given backup suffix', async () => {
    put(env, '/etc/default/grub', 'GRUB_TIMEOUT=5\n');
    const result = await writeFiles([{ path: '/etc/default/grub', content: 'GRUB_TIMEOUT=3\n' }], {
      target: env.target,
      fs: env.fs,
      backupSuffix: '.orig',
    });
    expect(result.backups).toEqual(['/etc/default/grub.orig']);
    expect(read(env, '/etc/default/grub.orig')).toBe('GRUB_TIMEOUT=5\n');
  });

  it('rewrites a file whose content is right but whose mode is not', async () => {
    put(env, '/etc/init.d/x', '#!/bin/sh\n', 0o644);
    const result = await writeFiles([{ path: '/etc/init.d/x', content: '#!/bin/sh\n', mode: 0o755 }], {
      target: env.target,
      fs: env.fs,
    });
    expect(result.written).toEqual(['/etc/init.d/x']);
    expect(tree(env.sync, env.target)['etc/init.d/x']).toMatchObject({ mode: 0o755 });
  });

  it.each([
    ['an absolute link to /', '/'],
    ['a relative link out of the target', '../../..'],
    ['a link to a directory beside the target', 'OUTSIDE'],
  ])('refuses a symlinked /etc that is %s, writing nothing at all', async (_what, to) => {
    env.sync.symlinkSync(to === 'OUTSIDE' ? env.outside : to, posix.join(env.target, 'etc'));
    put(env, '/boot/keep', 'k');
    const before = tree(env.sync, env.target);
    const files: FileToWrite[] = [
      { path: '/boot/new', content: 'first file, must not be written either' },
      { path: '/etc/sysconfig/xserver', content: hostile },
    ];
    const call = writeFiles(files, { target: env.target, fs: env.fs });
    await expect(call).rejects.toMatchObject({
      code: 'E_OUTSIDE_ROOT',
      path: '/etc/sysconfig/xserver',
      message: expect.stringMatching(/\/etc -> .* is a symlink .* does not write through symlinks/),
    });
    expect(tree(env.sync, env.target)).toEqual(before);
    expect(tree(env.sync, env.outside)).toEqual({});
    expect(env.sync.existsSync('/sysconfig/xserver')).toBe(false);
  });

  it('refuses a symlink deeper down and a symlink as the file itself', async () => {
    put(env, '/etc/placeholder', '');
    env.sync.symlinkSync('../../..', posix.join(env.target, 'etc/sysconfig'));
    env.sync.symlinkSync(env.outside + '/x', posix.join(env.target, 'etc/xen.cfg'));
    const before = tree(env.sync, env.target);
    for (const path of ['/etc/sysconfig/xserver', '/etc/xen.cfg']) {
      await expect(writeFiles([{ path, content: 'x' }], { target: env.target, fs: env.fs })).rejects.toMatchObject({
        code: 'E_OUTSIDE_ROOT',
        path,
      });
    }
    expect(tree(env.sync, env.target)).toEqual(before);
    expect(tree(env.sync, env.outside)).toEqual({});
  });

  it.each(['/etc/../../x', '/../x', '/etc/sysconfig/../xserver', '../x', 'etc/x', '', '/', '/etc/', '/etc/.'])(
    'refuses the path %j before writing anything',
    async (path) => {
      const files = [{ path: '/etc/ok', content: 'x' }, { path, content: 'y' }];
      await expect(writeFiles(files, { target: env.target, fs: env.fs })).rejects.toMatchObject({
        code: 'E_OUTSIDE_ROOT',
        path,
      });
      expect(tree(env.sync, env.target)).toEqual({});
    },
  );

  it('normalises harmless path forms', async () => {
    const result = await writeFiles([{ path: '//etc/./sysconfig//xserver', content: 'x' }], {
      target: env.target,
      fs: env.fs,
    });
    expect(result.written).toEqual(['/etc/sysconfig/xserver']);
    expect(read(env, '/etc/sysconfig/xserver')).toBe('x');
  });

  it('a write interrupted before its rename leaves the old file intact and no temp file', async () => {
    put(env, '/etc/sysconfig/xserver', 'old\n');
    const before = tree(env.sync, env.target);
    const fs = override(env.fs, {
      rename: async () => {
        throw errno('EIO', 'power cut');
      },
    });
    const call = writeFiles([{ path: '/etc/sysconfig/xserver', content: 'new\n' }], { target: env.target, fs });
    await expect(call).rejects.toMatchObject({
      code: 'E_IO',
      path: '/etc/sysconfig/xserver',
      message: expect.stringContaining('/etc/sysconfig/xserver'),
    });
    expect(tree(env.sync, env.target)).toEqual(before);
    expect(temps(env.sync, env.target)).toEqual([]);
  });

  it('when only the final rename fails, the backup is kept and reported, the old file intact', async () => {
    put(env, '/etc/sysconfig/xserver', 'old\n');
    const real = posix.join(env.target, 'etc/sysconfig/xserver');
    const fs = override(env.fs, {
      rename: async (from: string, to: string) => {
        if (to === real) throw errno('ENOSPC');
        return env.fs.rename(from, to);
      },
    });
    const error = await writeFiles([{ path: '/etc/sysconfig/xserver', content: 'new\n' }], {
      target: env.target,
      fs,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WriteFilesError);
    expect(error).toMatchObject({
      code: 'E_IO',
      path: '/etc/sysconfig/xserver',
      partial: { written: [], unchanged: [], backups: ['/etc/sysconfig/xserver.autoconfig-old'] },
    });
    expect(read(env, '/etc/sysconfig/xserver')).toBe('old\n');
    expect(read(env, '/etc/sysconfig/xserver.autoconfig-old')).toBe('old\n');
    expect(temps(env.sync, env.target)).toEqual([]);
  });

  it('a write that fails half-way (ENOSPC) removes its temp file', async () => {
    put(env, '/etc/sysconfig/xserver', 'old\n');
    const fs = override(env.fs, {
      open: async (path: string, flags: string, mode?: number) => {
        const handle = await env.fs.open(path, flags, mode);
        if (flags !== 'wx') return handle;
        return Object.assign(Object.create(handle) as typeof handle, {
          write: async (buffer: Uint8Array, offset: number) => {
            await handle.write(buffer, offset, 1, null);
            throw errno('ENOSPC');
          },
          close: () => handle.close(),
        });
      },
    });
    await expect(
      writeFiles([{ path: '/etc/sysconfig/xserver', content: 'new content\n' }], { target: env.target, fs }),
    ).rejects.toMatchObject({
      code: 'E_IO',
      path: '/etc/sysconfig/xserver',
      message: expect.stringContaining('ENOSPC'),
    });
    expect(read(env, '/etc/sysconfig/xserver')).toBe('old\n');
    expect(temps(env.sync, env.target)).toEqual([]);
  });

  it.each(['EROFS', 'EACCES'])('a target that refuses writes (%s) is a clear E_IO naming the file', async (code) => {
    put(env, '/etc/sysconfig/xserver', 'old\n');
    const before = tree(env.sync, env.target);
    const refuse = async () => {
      throw errno(code);
    };
    const fs = override(env.fs, {
      open: async (path: string, flags: string, mode?: number) =>
        flags === 'r' ? env.fs.open(path, flags, mode) : refuse(),
      mkdir: refuse,
      rename: refuse,
      writeFile: refuse,
    });
    const files = [{ path: '/etc/sysconfig/xserver', content: 'new\n' }];
    await expect(writeFiles(files, { target: env.target, fs })).rejects.toMatchObject({
      code: 'E_IO',
      path: '/etc/sysconfig/xserver',
      message: expect.stringMatching(code === 'EROFS' ? /read-only filesystem/ : /permission denied/),
    });
    await expect(
      writeFiles([{ path: '/var/lib/new/file', content: 'x' }], { target: env.target, fs }),
    ).rejects.toMatchObject({ code: 'E_IO', path: '/var/lib/new/file', message: expect.stringContaining('/var') });
    expect(tree(env.sync, env.target)).toEqual(before);
  });

  it('a failure after earlier files were written reports them', async () => {
    const fs = override(env.fs, {
      open: async (path: string, flags: string, mode?: number) => {
        if (flags === 'wx' && path.includes('/.second.')) throw errno('EIO');
        return env.fs.open(path, flags, mode);
      },
    });
    const files = [
      { path: '/etc/first', content: '1' },
      { path: '/etc/second', content: '2' },
    ];
    const error = await writeFiles(files, { target: env.target, fs }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WriteFilesError);
    expect(error).toMatchObject({ code: 'E_IO', path: '/etc/second', partial: { written: ['/etc/first'] } });
    expect(read(env, '/etc/first')).toBe('1');
    expect(env.sync.existsSync(posix.join(env.target, 'etc/second'))).toBe(false);
  });

  it('refuses a directory where the file should be, or a file where a directory should be', async () => {
    put(env, '/etc/sysconfig/xserver/inner', 'x');
    put(env, '/boot/grub', 'not a directory');
    await expect(
      writeFiles([{ path: '/etc/sysconfig/xserver', content: 'x' }], { target: env.target, fs: env.fs }),
    ).rejects.toMatchObject({
      code: 'E_IO',
      path: '/etc/sysconfig/xserver',
      message: expect.stringContaining('regular file'),
    });
    await expect(
      writeFiles([{ path: '/boot/grub/grub.cfg', content: 'x' }], { target: env.target, fs: env.fs }),
    ).rejects.toMatchObject({
      code: 'E_IO',
      path: '/boot/grub/grub.cfg',
      message: expect.stringContaining('/boot/grub'),
    });
  });

  it('refuses bad calls: a missing target, a path listed twice, a bad mode or suffix, a dry run', async () => {
    const one = [{ path: '/etc/x', content: 'x' }];
    await expect(writeFiles(one, { target: env.target + '/missing', fs: env.fs })).rejects.toMatchObject({
      code: 'E_IO',
      path: env.target + '/missing',
    });
    const options = { target: env.target, fs: env.fs };
    await expect(writeFiles([...one, { path: '/etc//x', content: 'y' }], options)).rejects.toMatchObject({
      code: 'E_USAGE',
      path: '/etc/x',
    });
    await expect(writeFiles([{ path: '/etc/x', content: 'x', mode: 0o10000 }], options)).rejects.toMatchObject({
      code: 'E_USAGE',
    });
    await expect(writeFiles(one, { target: env.target, fs: env.fs, backupSuffix: '/x' })).rejects.toMatchObject({
      code: 'E_USAGE',
    });
    const dry = { target: env.target, fs: env.fs, dryRun: true } as unknown as Parameters<typeof writeFiles>[1];
    await expect(writeFiles(one, dry)).rejects.toMatchObject({ code: 'E_USAGE' });
    expect(tree(env.sync, env.target)).toEqual({});
  });
});

describe('writeFiles on the default fs', () => {
  it('uses node:fs when no fs is given', async () => {
    const target = join(realTmp, 'default');
    nodeFsSync.mkdirSync(target);
    const result = await writeFiles([{ path: '/etc/x', content: 'x' }], { target });
    expect(result.written).toEqual(['/etc/x']);
    expect(nodeFsSync.readFileSync(join(target, 'etc/x'), 'utf8')).toBe('x');
  });
});

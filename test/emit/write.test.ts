import { execFileSync } from 'node:child_process';
import * as nodeFsSync from 'node:fs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { memfs } from 'memfs';
import {
  DEFAULT_BACKUP_SUFFIX,
  nodeWriteFs,
  readEntry,
  removeFiles,
  WriteFilesError,
  writeFiles,
  type EntryToWrite,
  type FileToWrite,
  type WriteFsLike,
} from '../../src/emit/write.ts';
import { render } from '../../src/emit/render.ts';
import { faultyFs, type FaultOp } from '../_support/memfs.ts';
import { planFor } from './_plans.ts';

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
    expect(result).toEqual({ written: files.map((f) => f.path), unchanged: [], backups: [], removedTemps: [] });
    const t = tree(env.sync, env.target);
    const hex = Buffer.from(hostile).toString('hex');
    expect(t['etc/sysconfig/xserver']).toEqual({ type: 'file', hex, mode: 0o644 });
    expect(t['etc/init.d/xen-autoconfig']).toMatchObject({ mode: 0o755 });
    expect(t['etc/sysconfig/secret']).toMatchObject({ mode: 0o600 });
    expect(t['boot/grub/custom.cfg']).toEqual({ type: 'file', hex: '00ff0a', mode: 0o666 });
    expect(t.etc).toMatchObject({ type: 'dir' });
    expect(temps(env.sync, env.target)).toEqual([]);
  });

  it('removes stale temporary files of ours (a run killed mid-write) from the directories it writes to, and says so', async () => {
    put(env, '/etc/sysconfig/xserver', 'XMODULE=old\n');
    put(env, '/etc/sysconfig/.xserver.autoconfig-0badc0de.tmp', 'half');
    put(env, '/etc/sysconfig/.gone.autoconfig-12345678.tmp', 'a file we no longer write');
    put(env, '/etc/sysconfig/.xserver.autoconfig-old.autoconfig-abcdef01.tmp', 'half a backup');
    // Not ours: another name pattern, upper-case hex, 7 digits, no leading dot, a directory, a symlink (to a file
    // outside the target that must survive), and a temp in a directory this call does not write to.
    const keep = [
      '/etc/sysconfig/.xserver.autoconfig-0BADC0DE.tmp',
      '/etc/sysconfig/.xserver.autoconfig-0badc0d.tmp',
      '/etc/sysconfig/xserver.autoconfig-0badc0de.tmp',
      '/etc/sysconfig/.xserver.autoconfig-0badc0de.tmp.save',
      '/etc/sysconfig/.xserver.tmp',
      '/etc/other/.x.autoconfig-0badc0de.tmp',
    ];
    for (const path of keep) put(env, path, 'keep');
    env.sync.mkdirSync(posix.join(env.target, 'etc/sysconfig/.dir.autoconfig-00000000.tmp'), { recursive: true });
    env.sync.writeFileSync(posix.join(env.outside, 'victim'), 'outside');
    env.sync.symlinkSync(posix.join(env.outside, 'victim'), posix.join(env.target, 'etc/sysconfig/.link.autoconfig-11111111.tmp'));

    const result = await writeFiles(
      [
        { path: '/etc/sysconfig/xserver', content: 'XMODULE=new\n' },
        { path: '/boot/grub/menu.lst', content: 'default 0\n' },
      ],
      { target: env.target, fs: env.fs },
    );
    expect(result.removedTemps).toEqual([
      '/etc/sysconfig/.gone.autoconfig-12345678.tmp',
      '/etc/sysconfig/.xserver.autoconfig-0badc0de.tmp',
      '/etc/sysconfig/.xserver.autoconfig-old.autoconfig-abcdef01.tmp',
    ]);
    expect(result.written).toEqual(['/etc/sysconfig/xserver', '/boot/grub/menu.lst']);
    const t = tree(env.sync, env.target);
    for (const path of result.removedTemps) expect(t[path.slice(1)]).toBeUndefined();
    for (const path of keep) expect(t[path.slice(1)]).toMatchObject({ type: 'file' });
    expect(t['etc/sysconfig/.dir.autoconfig-00000000.tmp']).toMatchObject({ type: 'dir' });
    expect(t['etc/sysconfig/.link.autoconfig-11111111.tmp']).toMatchObject({ type: 'link' });
    expect(Buffer.from(env.sync.readFileSync(posix.join(env.outside, 'victim'))).toString()).toBe('outside');
    expect(read(env, '/etc/sysconfig/xserver')).toBe('XMODULE=new\n');

    // Nothing stale left: the next run removes nothing, even when it writes nothing.
    const again = await writeFiles([{ path: '/etc/sysconfig/xserver', content: 'XMODULE=new\n' }], {
      target: env.target,
      fs: env.fs,
    });
    expect(again).toEqual({ written: [], unchanged: ['/etc/sysconfig/xserver'], backups: [], removedTemps: [] });
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
    expect(second).toEqual({ written: [], unchanged: files.map((f) => f.path), backups: [], removedTemps: [] });
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
      removedTemps: [],
    });
    expect(await write('third\n')).toEqual({ written: ['/etc/sysconfig/xserver'], unchanged: [], backups: [], removedTemps: [] });
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

  it('keeps no backup when asked not to (a file rewritten on every run)', async () => {
    put(env, '/var/lib/autoconfig/last-run.json', '{"run":1}\n');
    const result = await writeFiles([{ path: '/var/lib/autoconfig/last-run.json', content: '{"run":2}\n' }], {
      target: env.target,
      fs: env.fs,
      backup: false,
    });
    expect(result).toEqual({ written: ['/var/lib/autoconfig/last-run.json'], unchanged: [], backups: [], removedTemps: [] });
    expect(Object.keys(tree(env.sync, env.target))).toEqual(['var', 'var/lib', 'var/lib/autoconfig', 'var/lib/autoconfig/last-run.json']);
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

  it('when only the final rename fails, the old file stays and so does nothing else: no backup, no temp file', async () => {
    put(env, '/etc/sysconfig/xserver', 'old\n');
    const before = tree(env.sync, env.target);
    // Matched by name: on node:fs the writer renames through /proc/self/fd/N/NAME of the opened directory.
    const fs = override(env.fs, {
      rename: async (from: string, to: string) => {
        if (posix.basename(to) === 'xserver') throw errno('ENOSPC');
        return env.fs.rename(from, to);
      },
    });
    const error = await writeFiles([{ path: '/etc/sysconfig/xserver', content: 'new\n' }], {
      target: env.target,
      fs,
    }).catch((e: unknown) => e);
    expect(error).not.toBeInstanceOf(WriteFilesError);
    expect(error).toMatchObject({
      code: 'E_IO',
      path: '/etc/sysconfig/xserver',
      message: expect.stringMatching(/ENOSPC.*nothing was changed \(the 0 file|ENOSPC.*nothing was changed$/),
    });
    expect(tree(env.sync, env.target)).toEqual(before);
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

  it('a rename that fails after others succeeded puts them back: the set is wholly old, backups and new directories gone', async () => {
    put(env, '/etc/first', 'old 1\n', 0o600);
    put(env, '/etc/third', 'old 3\n');
    const before = tree(env.sync, env.target);
    const fs = override(env.fs, {
      rename: async (from: string, to: string) => {
        if (posix.basename(to) === 'third') throw errno('EIO');
        return env.fs.rename(from, to);
      },
    });
    const files = [
      { path: '/etc/first', content: '1' },
      { path: '/etc/new/second', content: '2' },
      { path: '/etc/third', content: '3' },
    ];
    const error = await writeFiles(files, { target: env.target, fs }).catch((e: unknown) => e);
    expect(error).not.toBeInstanceOf(WriteFilesError);
    expect(error).toMatchObject({
      code: 'E_IO',
      path: '/etc/third',
      message: expect.stringMatching(/^\/etc\/third: cannot write \(EIO\); nothing was changed \(the 2 file\(s\) already replaced were put back\)$/),
    });
    expect(tree(env.sync, env.target)).toEqual(before);
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

// On a real directory only: memfs's rename() follows a symlink it is given (rename(2) moves the link itself), so a
// link renamed into place there would become a copy of what it points at.
describe.each(envs.filter(([label]) => label === 'real temp dir'))('symlinks, modes and removal on %s', (_label, makeEnv) => {
  let env: Env;
  beforeEach(() => {
    env = makeEnv();
  });
  const unit = '/etc/systemd/system/autoconfig.service';
  const link = '/etc/systemd/system/sysinit.target.wants/autoconfig.service';
  const script = '/etc/init.d/autoconfig';
  const entries: EntryToWrite[] = [
    { path: unit, content: '[Unit]\n', mode: 0o644 },
    { path: link, symlink: '../autoconfig.service' },
    { path: script, content: '#!/bin/sh\n', mode: 0o755 },
  ];

  it('creates a symlink (never followed), an executable, and changes nothing the second time', async () => {
    const first = await writeFiles(entries, { target: env.target, fs: env.fs });
    expect(first).toEqual({ written: [unit, link, script], unchanged: [], backups: [], removedTemps: [] });
    const t = tree(env.sync, env.target);
    expect(t['etc/systemd/system/sysinit.target.wants/autoconfig.service']).toEqual({ type: 'link', to: '../autoconfig.service' });
    expect(t['etc/init.d/autoconfig']).toMatchObject({ type: 'file', mode: 0o755 });
    expect(temps(env.sync, env.target)).toEqual([]);
    const second = await writeFiles(entries, { target: env.target, fs: env.fs });
    expect(second).toEqual({ written: [], unchanged: [unit, link, script], backups: [], removedTemps: [] });
    expect(tree(env.sync, env.target)).toEqual(t);
  });

  it('a 0644 file that should be 0755 is made executable in one rename, its old self kept as the backup', async () => {
    put(env, script, '#!/bin/sh\n', 0o644);
    const ino = env.sync.lstatSync(posix.join(env.target, script)).ino;
    const result = await writeFiles([entries[2]!], { target: env.target, fs: env.fs });
    expect(result).toEqual({ written: [script], unchanged: [], backups: [script + DEFAULT_BACKUP_SUFFIX], removedTemps: [] });
    const t = tree(env.sync, env.target);
    expect(t['etc/init.d/autoconfig']).toMatchObject({ mode: 0o755 });
    expect(t['etc/init.d/autoconfig.autoconfig-old']).toMatchObject({ mode: 0o644 });
    // A new inode: the mode came with the rename, not from a chmod of the live file.
    expect(env.sync.lstatSync(posix.join(env.target, script)).ino).not.toBe(ino);
  });

  it('replaces a different symlink atomically, keeping the old one once as a link', async () => {
    env.sync.mkdirSync(posix.join(env.target, posix.dirname(link)), { recursive: true });
    env.sync.symlinkSync('/lib/systemd/system/autoconfig.service', posix.join(env.target, link));
    const result = await writeFiles([entries[1]!], { target: env.target, fs: env.fs });
    expect(result).toEqual({ written: [link], unchanged: [], backups: [link + DEFAULT_BACKUP_SUFFIX], removedTemps: [] });
    const t = tree(env.sync, env.target);
    expect(t['etc/systemd/system/sysinit.target.wants/autoconfig.service']).toEqual({ type: 'link', to: '../autoconfig.service' });
    expect(t['etc/systemd/system/sysinit.target.wants/autoconfig.service.autoconfig-old']).toEqual({
      type: 'link',
      to: '/lib/systemd/system/autoconfig.service',
    });
    expect(temps(env.sync, env.target)).toEqual([]);
  });

  it.each([
    ['../../../../../x', 'leads out of the target root'],
    ['../../../../../etc/passwd', 'leads out of the target root'],
    ['/etc/../../x', 'has ".." in an absolute link'],
    ['', 'is empty'],
    ['.', 'names no file'],
  ])('refuses the symlink text %j before writing anything', async (text, why) => {
    const call = writeFiles([entries[0]!, { path: link, symlink: text }], { target: env.target, fs: env.fs });
    await expect(call).rejects.toMatchObject({ code: 'E_OUTSIDE_ROOT', path: link, message: expect.stringContaining(why) });
    expect(tree(env.sync, env.target)).toEqual({});
  });

  it('accepts a link text that climbs exactly to the root, or an absolute one', async () => {
    const result = await writeFiles(
      [
        { path: '/etc/a/b', symlink: '../../usr/x' },
        { path: '/etc/a/c', symlink: '/etc/systemd/system/autoconfig.service' },
      ],
      { target: env.target, fs: env.fs },
    );
    expect(result.written).toEqual(['/etc/a/b', '/etc/a/c']);
  });

  it('refuses a symlink where a regular file is, and a symlinked directory on the way to a link', async () => {
    put(env, link, 'a file, not a link');
    await expect(writeFiles([entries[1]!], { target: env.target, fs: env.fs })).rejects.toMatchObject({
      code: 'E_IO',
      path: link,
      message: expect.stringContaining('is not a symlink'),
    });
    const other = makeEnv();
    other.sync.mkdirSync(posix.join(other.target, 'etc/systemd'), { recursive: true });
    other.sync.symlinkSync(other.outside, posix.join(other.target, 'etc/systemd/system'));
    await expect(writeFiles([entries[1]!], { target: other.target, fs: other.fs })).rejects.toMatchObject({
      code: 'E_OUTSIDE_ROOT',
    });
    expect(tree(other.sync, other.outside)).toEqual({});
  });

  it('removeFiles takes back exactly what was written: unlinks new ones, renames backups back', async () => {
    put(env, script, 'the old script\n', 0o700);
    await writeFiles(entries, { target: env.target, fs: env.fs });
    const result = await removeFiles(entries, { target: env.target, fs: env.fs });
    expect(result).toEqual({ removed: [unit, link], restored: [script], absent: [] });
    const t = tree(env.sync, env.target);
    expect(t['etc/init.d/autoconfig']).toEqual({ type: 'file', hex: Buffer.from('the old script\n').toString('hex'), mode: 0o700 });
    expect(Object.keys(t).filter((p) => p.includes('autoconfig'))).toEqual(['etc/init.d/autoconfig']);
    // Again: nothing there, nothing done.
    expect(await removeFiles(entries.slice(0, 2), { target: env.target, fs: env.fs })).toEqual({
      removed: [],
      restored: [],
      absent: [unit, link],
    });
  });

  it('removeFiles removes nothing when one entry was changed since, naming it', async () => {
    await writeFiles(entries, { target: env.target, fs: env.fs });
    put(env, script, '#!/bin/sh\n# edited by hand\n', 0o755);
    const before = tree(env.sync, env.target);
    await expect(removeFiles(entries, { target: env.target, fs: env.fs })).rejects.toMatchObject({
      code: 'E_CHANGED',
      path: script,
    });
    expect(tree(env.sync, env.target)).toEqual(before);
    env.sync.symlinkSync('/elsewhere', posix.join(env.target, link + '.x'));
    await expect(
      removeFiles([{ path: link + '.x', symlink: '../autoconfig.service' }], { target: env.target, fs: env.fs }),
    ).rejects.toMatchObject({ code: 'E_CHANGED', path: link + '.x' });
  });

  it('readEntry shows what is there without following links, and what would be refused', async () => {
    await writeFiles(entries, { target: env.target, fs: env.fs });
    const options = { target: env.target, fs: env.fs };
    expect(await readEntry(link, { ...options, kind: 'symlink' })).toEqual({ kind: 'symlink', symlink: '../autoconfig.service' });
    expect(await readEntry(script, options)).toMatchObject({ kind: 'file', mode: 0o755 });
    expect(await readEntry('/etc/nothing/here', options)).toEqual({ kind: 'missing' });
    expect(await readEntry(link, options)).toMatchObject({ kind: 'refused', reason: expect.stringContaining('symlink') });
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

// Issue #11 item 2: a set of files changes together. Every call of each kind the writer makes is failed in turn
// (once, and from then on, as a filesystem that turns read-only), over the real files of a fixture's plans: the
// ThinkPad T60 configured for Xen 3.0.2, then for 4.17 (new files, replaced files, unchanged files, backups and a
// new directory). After each: wholly new on success; wholly as before on an error; on E_PARTIAL (only when putting
// back failed too) every file exactly in the state the error lists.
describe('a set of files is all-or-nothing under injected failures', () => {
  let oldSet: FileToWrite[];
  let newSet: FileToWrite[];
  const fresh = () => {
    const { fs } = memfs();
    fs.mkdirSync('/target', { recursive: true });
    return { fs: fs.promises as unknown as WriteFsLike, sync: fs as unknown as SyncFs };
  };
  const seeded = async () => {
    const env = fresh();
    await writeFiles(oldSet, { target: '/target', fs: env.fs });
    return env;
  };
  const ops: FaultOp[] = ['create', 'write', 'sync', 'link', 'rename', 'mkdir'];
  let cases: [FaultOp, number, boolean][] = [];
  let clean: Record<FaultOp, number>;
  let after: Record<string, Entry>;

  beforeAll(async () => {
    oldSet = render(await planFor('thinkpad-t60', '3.0.2'));
    newSet = render(await planFor('thinkpad-t60', '4.17'));
    const env = await seeded();
    const counted = faultyFs(env.fs, { op: 'rename', nth: 0, code: 'EIO' });
    await writeFiles(newSet, { target: '/target', fs: counted.fs });
    clean = counted.counts;
    after = tree(env.sync, '/target');
    cases = ops.flatMap((op) => Array.from({ length: clean[op] }, (_, i) => [[op, i + 1, false], [op, i + 1, true]] as [FaultOp, number, boolean][]).flat());
  });

  it('the plans differ in every way the writer handles', () => {
    const oldPaths = new Set(oldSet.map((f) => f.path));
    expect(newSet.some((f) => !oldPaths.has(f.path))).toBe(true);
    expect(newSet.some((f) => oldPaths.has(f.path) && oldSet.find((o) => o.path === f.path)!.content !== f.content)).toBe(true);
    expect(newSet.some((f) => oldSet.find((o) => o.path === f.path)?.content === f.content)).toBe(true);
    expect(clean.rename).toBeGreaterThan(10);
    expect(clean.link).toBeGreaterThan(5);
    expect(clean.mkdir).toBeGreaterThan(0);
  });

  it('every call failed in turn, once and from then on: wholly new, wholly old, or exactly the listed states', async () => {
    expect(cases.length).toBeGreaterThan(50);
    let partials = 0;
    for (const [op, nth, sticky] of cases) {
      const env = await seeded();
      const before = tree(env.sync, '/target');
      const { fs } = faultyFs(env.fs, { op, nth, code: sticky ? 'EROFS' : 'ENOSPC', sticky });
      const label = `${op} #${nth}${sticky ? ' and later' : ''}`;
      const outcome = await writeFiles(newSet, { target: '/target', fs }).then(
        () => null,
        (e: unknown) => e as WriteFilesError,
      );
      const now = tree(env.sync, '/target');
      expect(temps(env.sync, '/target'), label).toEqual([]);
      if (outcome === null) {
        // A failed link falls back to a copy, a failed directory fsync is let be: the set is written all the same.
        expect(now, label).toEqual(after);
        continue;
      }
      if (outcome.code !== 'E_PARTIAL') {
        expect(outcome, label).toMatchObject({ code: 'E_IO', message: expect.stringMatching(/(ENOSPC|EROFS|read-only)/) });
        expect(outcome, label).not.toBeInstanceOf(WriteFilesError);
        expect(now, label).toEqual(before);
        continue;
      }
      partials++;
      expect(sticky, label).toBe(true);
      expect(outcome, label).toBeInstanceOf(WriteFilesError);
      const { written, old, notRestored } = outcome.partial;
      expect(written.length, label).toBeGreaterThan(0);
      expect(notRestored.map((n) => n.path), label).toEqual(written);
      for (const path of written) expect(now[path.slice(1)], `${label}: ${path} new`).toEqual(after[path.slice(1)]);
      for (const path of old) expect(now[path.slice(1)], `${label}: ${path} old`).toEqual(before[path.slice(1)]);
      expect(outcome.message, label).toContain(`files partly written: ${written.length} new (${written.join(', ')})`);
    }
    // A filesystem that turns read-only after some renames is the one case that cannot be put back.
    expect(partials).toBeGreaterThan(0);
  });
});

// Durability (issue #11): a file's data is on disk before the rename can make it visible, and the rename before the
// call returns. A recording fs logs every write, fsync and rename with the real path (a /proc/self/fd/N/NAME path
// resolved through the descriptors it saw opened); per file written: write(temp) < fsync(temp) < rename(temp ->
// file) < fsync(the file's directory). Without either fsync in src/emit/write.ts this fails.
describe.each(envs)('the order of writes, fsyncs and renames on %s', (_label, makeEnv) => {
  type Event = { op: 'write' | 'fsync' | 'rename'; path: string; to?: string; raw?: string };

  function recording(base: WriteFsLike) {
    const events: Event[] = [];
    const byFd = new Map<number, string>();
    const resolve = (path: string): string => {
      const m = /^\/proc\/self\/fd\/(\d+)\/(.*)$/.exec(path);
      if (m === null) return posix.normalize(path);
      return posix.join(byFd.get(Number(m[1])) ?? `?fd${m[1]}`, m[2]!);
    };
    const fs = override(base, {
      open: async (path: string, flags: string | number, mode?: number) => {
        const handle = await base.open(path, flags, mode);
        const real = resolve(path);
        if (typeof handle.fd === 'number') byFd.set(handle.fd, real);
        return Object.assign(Object.create(handle) as typeof handle, {
          write: async (buffer: Uint8Array, offset: number, length: number, position: number | null) => {
            events.push({ op: 'write', path: real });
            return handle.write(buffer, offset, length, position);
          },
          sync: async () => {
            events.push({ op: 'fsync', path: real });
            return handle.sync();
          },
          close: () => handle.close(),
        });
      },
      rename: async (from: string, to: string) => {
        events.push({ op: 'rename', path: resolve(from), to: resolve(to), raw: to });
        return base.rename(from, to);
      },
    });
    return { fs, events };
  }

  it('per file: write, fsync the file, rename, then fsync its directory', async () => {
    const env = makeEnv();
    const anchored = _label === 'real temp dir' && nodeFsSync.existsSync('/proc/self/fd');
    const files = render(await planFor('thinkpad-t60', '4.17'));
    put(env, files[0]!.path, 'an older version\n');
    const { fs, events } = recording(env.fs);
    const result = await writeFiles(files, { target: env.target, fs });
    expect(result.written).toEqual(files.map((f) => f.path));
    const at = (want: (e: Event) => boolean) => events.findIndex(want);
    for (const path of result.written) {
      const real = posix.join(env.target, path);
      const rename = at((e) => e.op === 'rename' && e.to === real);
      expect(rename, `${path} renamed into place`).toBeGreaterThanOrEqual(0);
      const temp = events[rename]!.path;
      expect(posix.basename(temp)).toMatch(/^\..*\.autoconfig-[0-9a-f]{8}\.tmp$/);
      const write = at((e) => e.op === 'write' && e.path === temp);
      const fsync = events.map((e) => e.op === 'fsync' && e.path === temp).lastIndexOf(true);
      const dirSync = events.findIndex((e, i) => i > rename && e.op === 'fsync' && e.path === posix.dirname(real));
      expect({ path, write: write >= 0, order: write < fsync && fsync < rename && rename < dirSync }).toEqual({ path, write: true, order: true });
    }
    // On node:fs with /proc every rename goes through the opened directory, never through a path from the root.
    expect(events.filter((e) => e.op === 'rename').every((e) => e.raw!.startsWith('/proc/self/fd/'))).toBe(anchored);
    // The backup was made before anything was renamed over the file, and is the old content.
    expect(read(env, files[0]!.path + DEFAULT_BACKUP_SUFFIX)).toBe('an older version\n');
  });
});

// The same on real filesystems, where root can make them: a tiny tmpfs that fills up half-way through the set, one
// remounted read-only, and an immutable directory (chattr +i on ext4). Each must leave the set wholly as it was.
const isRoot = process.getuid?.() === 0;
function tryRun(cmd: string, args: string[]): boolean {
  try {
    execFileSync(cmd, args, { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
const canMount = (() => {
  if (!isRoot) return false;
  const dir = mkdtempSync(join(tmpdir(), 'autoconfig-mount-probe-'));
  const ok = tryRun('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', dir]) && tryRun('umount', [dir]);
  rmSync(dir, { recursive: true, force: true });
  return ok;
})();
const canChattr = (() => {
  if (!isRoot) return false;
  const dir = mkdtempSync(join(tmpdir(), 'autoconfig-chattr-probe-'));
  const ok = tryRun('chattr', ['+i', dir]) && tryRun('chattr', ['-i', dir]);
  rmSync(dir, { recursive: true, force: true });
  return ok;
})();

describe('real ENOSPC, EROFS and an immutable directory leave the set wholly old', () => {
  let oldSet: FileToWrite[];
  let newSet: FileToWrite[];
  beforeAll(async () => {
    oldSet = render(await planFor('thinkpad-t60', '3.0.2'));
    newSet = render(await planFor('thinkpad-t60', '4.17'));
  });

  async function withTmpfs(sizeKiB: number, body: (dir: string) => Promise<void>): Promise<void> {
    const dir = mkdtempSync(join(tmpdir(), 'autoconfig-tmpfs-'));
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeKiB}k,mode=755`, 'tmpfs', dir]);
    try {
      await body(dir);
    } finally {
      execFileSync('umount', [dir]);
      rmSync(dir, { recursive: true, force: true });
    }
  }

  it.skipIf(!canMount)(`a tmpfs that fills up half-way: E_IO ENOSPC, nothing changed, then the set once there is room${canMount ? '' : ' (skipped: not root or no tmpfs mount)'}`, async () => {
    await withTmpfs(512, async (target) => {
      await writeFiles(oldSet, { target });
      const before = tree(nodeFsSync as unknown as SyncFs, target);
      // Fill it, then free 3 pages: the stage gets a few files in (each takes a page on tmpfs), not all of them.
      let n = 0;
      try {
        for (;; n++) nodeFsSync.writeFileSync(join(target, `fill-${n}`), Buffer.alloc(4096));
      } catch (error) {
        expect((error as { code?: string }).code).toBe('ENOSPC');
      }
      for (const i of [n - 1, n - 2, n - 3]) nodeFsSync.unlinkSync(join(target, `fill-${i}`));
      const filler = (name: string) => name.startsWith('fill-');
      const error = await writeFiles(newSet, { target }).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'E_IO', message: expect.stringMatching(/ENOSPC.*nothing was changed/) });
      const now = Object.fromEntries(Object.entries(tree(nodeFsSync as unknown as SyncFs, target)).filter(([p]) => !filler(p)));
      expect(now).toEqual(before);
      for (let i = 0; i < n - 3; i++) nodeFsSync.unlinkSync(join(target, `fill-${i}`));
      const result = await writeFiles(newSet, { target });
      expect(result.written.length + result.unchanged.length).toBe(newSet.length);
      for (const f of newSet) expect(nodeFsSync.readFileSync(join(target, f.path), 'utf8')).toBe(f.content);
    });
  });

  it.skipIf(!canMount)(`a filesystem remounted read-only: E_IO "read-only filesystem", nothing changed${canMount ? '' : ' (skipped: not root or no tmpfs mount)'}`, async () => {
    await withTmpfs(1024, async (target) => {
      await writeFiles(oldSet, { target });
      const before = tree(nodeFsSync as unknown as SyncFs, target);
      execFileSync('mount', ['-o', 'remount,ro', target]);
      try {
        await expect(writeFiles(newSet, { target })).rejects.toMatchObject({
          code: 'E_IO',
          message: expect.stringContaining('read-only filesystem'),
        });
      } finally {
        execFileSync('mount', ['-o', 'remount,rw', target]);
      }
      expect(tree(nodeFsSync as unknown as SyncFs, target)).toEqual(before);
    });
  });

  it.skipIf(!canChattr)(`an immutable directory (chattr +i): E_IO naming the file, nothing changed elsewhere either${canChattr ? '' : ' (skipped: not root or no chattr on this filesystem)'}`, async () => {
    const target = mkdtempSync(join(tmpdir(), 'autoconfig-immutable-'));
    await writeFiles(oldSet, { target });
    const before = tree(nodeFsSync as unknown as SyncFs, target);
    // The last directory the set writes to: every other file is staged before this one fails.
    const last = posix.dirname(newSet.at(-1)!.path);
    execFileSync('chattr', ['+i', join(target, last)]);
    try {
      const error = await writeFiles(newSet, { target }).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'E_IO', message: expect.stringContaining('permission denied') });
      expect((error as { path: string }).path.startsWith(last)).toBe(true);
    } finally {
      execFileSync('chattr', ['-i', join(target, last)]);
    }
    expect(tree(nodeFsSync as unknown as SyncFs, target)).toEqual(before);
    rmSync(target, { recursive: true, force: true });
  });
});

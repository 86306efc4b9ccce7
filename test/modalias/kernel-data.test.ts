import { copyFileSync, mkdtempSync, readFileSync, rmSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { FsLike, SyncFsLike } from '../../src/fs.ts';
import { parseModuleList, parseModulesDep } from '../../src/modalias/alias-file.ts';
import { normalizeAlias, toByteString } from '../../src/modalias/glob.ts';
import { loadKernelData, referenceKernels, type KernelData } from '../../src/modalias/kernel-data.ts';
import { volume } from '../_support/memfs.ts';
import { BIN_FILES, loopedAliasIndex, oracleQueries, readText, repo, shippedDir, shippedRelease, TEXT_FILES } from './_kmod.ts';

// Small module directories made of real lines of Debian's 6.1.0-56-amd64 files.
const alias = 'alias xen-backend:vif xen_netback\nalias pci:v00001AF4d00001041sv*sd*bc*sc*i* virtio_pci\n';
const dep = 'kernel/drivers/net/xen-netback/xen-netback.ko:\nkernel/drivers/virtio/virtio_pci.ko:\n';

describe('which kernel', () => {
  it("uses the target's own /lib/modules/<release> when it is there", async () => {
    const { fs } = volume({ files: { '/t/lib/modules/6.1.0-56-amd64/modules.alias': alias, '/t/lib/modules/6.1.0-56-amd64/modules.dep': dep } });
    const k = await loadKernelData({ fs, root: '/t', release: '6.1.0-56-amd64', kernelDir: '/elsewhere' });
    expect(k).toMatchObject({ source: 'target', dir: '/lib/modules/6.1.0-56-amd64', release: '6.1.0-56-amd64' });
    expect(k.lookupAlias('xen_backend:vif')).toEqual(['xen_netback']);
    // modules.order and modules.builtin are missing there: said, and assumed empty.
    expect(k.issues.map((i) => i.file)).toEqual(['/lib/modules/6.1.0-56-amd64/modules.order', '/lib/modules/6.1.0-56-amd64/modules.builtin']);
  });

  it('else --kernel DIR, else the shipped reference, saying why', async () => {
    const { fs } = volume({ files: { '/k/6.1.0-x/modules.alias': alias, '/k/6.1.0-x/modules.dep': dep, '/t/etc/hostname': 'x\n' } });
    const option = await loadKernelData({ fs, root: '/t', release: '6.1.0-56-amd64', kernelDir: '/k/6.1.0-x' });
    expect(option).toMatchObject({ source: 'option', dir: '/k/6.1.0-x', release: '6.1.0-x' });
    // A --kernel directory without modules.dep is not usable: the reference is used, with a warning.
    const { fs: fs2 } = volume({
      files: {
        '/k/6.1.0-x/modules.alias': alias,
        [`${shippedDir}/modules.alias`]: readText(`${shippedDir}/modules.alias`),
        [`${shippedDir}/modules.dep`]: readText(`${shippedDir}/modules.dep`),
      },
    });
    const fallback = await loadKernelData({ fs: fs2, kernelDir: '/k/6.1.0-x' });
    expect(fallback).toMatchObject({ source: 'reference', release: shippedRelease, dir: shippedDir });
    expect(fallback.issues.map((i) => i.message)).toEqual(
      expect.arrayContaining(['cannot read modules.dep', 'not usable; falling back to the reference']),
    );
    expect(fallback.lookupAlias('xen_backend:vif')).toEqual(['xen_netback']);
  });

  it('reports a malformed alias line with file and line, and goes on', async () => {
    const { fs } = volume({
      files: { '/t/lib/modules/r/modules.alias': `${alias}alias pci:v[0 broken\nalias usb:v1234*\n`, '/t/lib/modules/r/modules.dep': dep },
    });
    const k = await loadKernelData({ fs, root: '/t', release: 'r' });
    expect(k.issues.filter((i) => i.line !== null).map((i) => `${i.file}:${i.line}`)).toEqual([
      '/lib/modules/r/modules.alias:3',
      '/lib/modules/r/modules.alias:4',
    ]);
    expect(k.lookupAlias('pci:v00001AF4d00001041sv1sd2bc3sc4i5')).toEqual(['virtio_pci']);
    expect(k.files).toEqual({ alias: 'modules.alias', dep: 'modules.dep', builtin: 'modules.builtin', builtinAlias: 'modules.builtin.modinfo' });
  });
});

describe("depmod's .bin indexes, with the text files as fallback", () => {
  const dir = '/lib/modules/r';
  const real = (files: readonly string[]) => Object.fromEntries(files.map((f) => [`/t${dir}/${f}`, readFileSync(join(shippedDir, f))]));
  const binNames = { alias: 'modules.alias.bin', dep: 'modules.dep.bin', builtin: 'modules.builtin.bin', builtinAlias: 'modules.builtin.alias.bin' };
  const textNames = { alias: 'modules.alias', dep: 'modules.dep', builtin: 'modules.builtin', builtinAlias: 'modules.builtin.modinfo' };
  /** memfs with its synchronous calls, as node:fs has them. */
  const withSync = (v: ReturnType<typeof volume>): FsLike => Object.assign(Object.create(v.fs) as FsLike, { sync: v.sync as unknown as SyncFsLike });
  const radeon = 'pci:v00001002d00006798sv00001002sd00003000bc03sc00i00';
  let text: KernelData;
  beforeAll(async () => {
    text = await loadKernelData({ fs: volume({ files: real(TEXT_FILES) }).fs, root: '/t', release: 'r' });
    expect(text.files).toEqual(textNames);
  });

  it('answers from the .bin files when the directory has them, as the text files do', async () => {
    const bin = await loadKernelData({ fs: volume({ files: real([...TEXT_FILES, ...BIN_FILES]) }).fs, root: '/t', release: 'r' });
    expect(bin.files).toEqual(binNames);
    expect(bin.issues).toEqual([]);
    expect(bin.softdep?.text).toBe(readText(join(shippedDir, 'modules.softdep')));
    // modules.dep.bin against modules.dep for every module, and for names that are not modules.
    const modules = parseModulesDep(readText(join(shippedDir, 'modules.dep')), 'x').deps;
    expect(modules.size).toBe(readText(join(shippedDir, 'modules.dep')).split('\n').filter((l) => l !== '').length);
    for (const name of [...modules.keys(), 'ext', 'xen-netback', 'e1000e_local', '']) {
      expect([bin.isModule(name), bin.dependencies(name), bin.modulePath(name)], name).toEqual([
        text.isModule(name),
        text.dependencies(name),
        text.modulePath(name),
      ]);
    }
    expect(bin.dependencies('ext4')).toEqual(['crc16', 'mbcache', 'jbd2']);
    expect(bin.modulePath('ext4')).toMatch(/^kernel\/fs\/ext4\/ext4\.ko(\.xz)?$/); // Debian 13 compresses its modules
    expect(bin.modulePath('xenbus')).toBeNull(); // built in: no file
    for (const name of [...parseModuleList(readText(join(shippedDir, 'modules.builtin'))), 'xenbus', 'ext4', 'radeon']) {
      expect(bin.isBuiltin(name), name).toBe(text.isBuiltin(name));
    }
    expect(bin.isBuiltin('xenbus')).toBe(true);
    const queries = oracleQueries().queries.filter((_, i) => i % 10 === 0).map((q) => normalizeAlias(toByteString(q)) ?? '');
    for (const q of [...queries, 'xen:vfb', 'xen:vkbd', 'fs_debugfs']) {
      expect([bin.lookupAlias(q), bin.lookupBuiltinAlias(q)], q).toEqual([text.lookupAlias(q), text.lookupBuiltinAlias(q)]);
    }
    expect(bin.lookupAlias(radeon)).toEqual(['radeon', 'amdgpu']);
  });

  it('read a page at a time through node:fs (an open descriptor) as read whole: every fixture device and module', async () => {
    // The directory as --kernel DIR on the real filesystem (node:fs, synchronous: pages at positions), against the
    // same files through an fs without synchronous calls (read whole), on every modalias of every fixture and of
    // this machine and every module of modules.dep.
    const tmp = mkdtempSync(join(tmpdir(), 'kernel-data-'));
    try {
      for (const f of [...TEXT_FILES, ...BIN_FILES]) copyFileSync(join(shippedDir, f), join(tmp, f));
      const paged = await loadKernelData({ kernelDir: tmp });
      const whole = await loadKernelData({ fs: volume({ files: real([...TEXT_FILES, ...BIN_FILES]) }).fs, root: '/t', release: 'r' });
      expect([paged.source, paged.files, paged.issues]).toEqual(['option', binNames, []]);
      const queries = oracleQueries().queries.map((q) => normalizeAlias(toByteString(q)) ?? '');
      const differ = queries.filter((q) => JSON.stringify([paged.lookupAlias(q), paged.lookupBuiltinAlias(q)]) !== JSON.stringify([whole.lookupAlias(q), whole.lookupBuiltinAlias(q)]));
      expect(differ.slice(0, 5)).toEqual([]);
      const modules = [...parseModulesDep(readText(join(shippedDir, 'modules.dep')), 'x').deps.keys()];
      const odd = modules.filter((m) => JSON.stringify([paged.dependencies(m), paged.modulePath(m), paged.isBuiltin(m)]) !== JSON.stringify([whole.dependencies(m), whole.modulePath(m), whole.isBuiltin(m)]));
      expect(odd.slice(0, 5)).toEqual([]);
      expect(queries.length).toBeGreaterThan(6000);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });

  it('an index cut while open: the lookup that meets the cut says so, and its text file answers from then on', async () => {
    const tmp = mkdtempSync(join(tmpdir(), 'kernel-data-'));
    try {
      for (const f of [...TEXT_FILES, ...BIN_FILES]) copyFileSync(join(shippedDir, f), join(tmp, f));
      const k = await loadKernelData({ kernelDir: tmp });
      expect(k.lookupAlias(radeon)).toEqual(['radeon', 'amdgpu']);
      // depmod rewrites its files whole; a file cut in place is what a lookup can still meet. Nodes before the root
      // (written last, and read at the open) are gone.
      truncateSync(join(tmp, 'modules.alias.bin'), 12);
      const usb = 'usb:v0781p5567d0100dc00dsc00dp00ic08isc06ip50in00';
      expect(k.lookupAlias(usb)).toEqual(['uas', 'usb_storage']);
      expect(k.files.alias).toBe('modules.alias');
      expect(k.issues).toEqual([
        {
          file: join(tmp, 'modules.alias.bin'),
          line: null,
          message: expect.stringMatching(/^the file ends before its size of \d+ bytes \(changed while in use\) at offset \d+; using modules\.alias instead$/),
        },
      ]);
      expect(k.lookupAlias(radeon)).toEqual(['radeon', 'amdgpu']);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });

  it('needs no text file when all four .bin files are there', async () => {
    const k = await loadKernelData({ fs: volume({ files: real(BIN_FILES) }).fs, root: '/t', release: 'r' });
    expect(k).toMatchObject({ source: 'target', files: binNames, issues: [], softdep: null });
    expect(k.lookupAlias(radeon)).toEqual(['radeon', 'amdgpu']);
    expect(k.lookupBuiltinAlias('xen:vfb')).toEqual(['xen_fbfront']);
  });

  it('a truncated .bin: an issue naming it, and its text file answers', async () => {
    const files = real([...TEXT_FILES, ...BIN_FILES]);
    files[`/t${dir}/modules.alias.bin`] = files[`/t${dir}/modules.alias.bin`]!.subarray(0, 70_000);
    files[`/t${dir}/modules.builtin.bin`] = files[`/t${dir}/modules.builtin.bin`]!.subarray(0, 5_000);
    const k = await loadKernelData({ fs: volume({ files }).fs, root: '/t', release: 'r' });
    expect(k.issues).toEqual([
      { file: `${dir}/modules.alias.bin`, line: null, message: expect.stringMatching(/^the root node at offset \d+, outside the file's nodes \(12\.\.70000\); using modules\.alias instead$/) },
      { file: `${dir}/modules.builtin.bin`, line: null, message: expect.stringMatching(/; using modules\.builtin instead$/) },
    ]);
    expect(k.files).toEqual({ ...binNames, alias: 'modules.alias', builtin: 'modules.builtin' });
    expect(k.lookupAlias(radeon)).toEqual(['radeon', 'amdgpu']);
    expect(k.isBuiltin('xenbus')).toBe(true);
    // Without its text file either, the table cannot be read: the directory is not used.
    delete files[`/t${dir}/modules.alias`];
    const fallback = await loadKernelData({ fs: volume({ files }).fs, root: '/t', release: 'r' });
    expect(fallback.source).toBe('reference');
    expect(fallback.issues.map((i) => `${i.file}: ${i.message}`)).toEqual(
      expect.arrayContaining([`${dir}: cannot read modules.alias`, `${dir}: not usable; falling back`]),
    );
  });

  it('damage only a lookup meets: reported then, and the text file answers from then on', async () => {
    const files = { ...real([...TEXT_FILES, ...BIN_FILES]), [`/t${dir}/modules.alias.bin`]: loopedAliasIndex() };
    const k = await loadKernelData({ fs: withSync(volume({ files })), root: '/t', release: 'r' });
    expect(k.files.alias).toBe('modules.alias.bin');
    expect(k.issues).toEqual([]);
    expect(k.lookupAlias('usb:v0781p5567d0100dc00dsc00dp00ic08isc06ip50in00')).toEqual(['uas', 'usb_storage']);
    expect(k.lookupAlias(radeon)).toEqual(['radeon', 'amdgpu']);
    expect(k.files.alias).toBe('modules.alias');
    expect(k.issues).toEqual([
      {
        file: `${dir}/modules.alias.bin`,
        line: null,
        message: expect.stringMatching(/^a second path to this node: child offsets loop or share nodes \(node at offset \d+\); using modules\.alias instead$/),
      },
    ]);
    expect(k.lookupAlias('pci:v000010ECd00008139sv000010ECsd00008139bc02sc00i00')).toEqual(['8139cp', '8139too']);
    expect(k.issues).toHaveLength(1);
    // An fs without synchronous calls cannot read the text file in the middle of a lookup: said, and no answers.
    const noSync = await loadKernelData({ fs: volume({ files }).fs, root: '/t', release: 'r' });
    expect(noSync.lookupAlias(radeon)).toEqual([]);
    expect(noSync.issues.map((i) => `${i.file}: ${i.message.replace(/.*; /, '')}`)).toEqual([
      `${dir}/modules.alias.bin: using modules.alias instead`,
      `${dir}/modules.alias: cannot be read here (no synchronous fs): no answers from it`,
    ]);
  });
});

describe('the shipped reference kernels', () => {
  it('each names the Xen its Debian release ships (SOURCE), oldest first', async () => {
    const kernels = await referenceKernels();
    expect(kernels).toEqual([
      { release: '6.1.0-56-amd64', xen: '4.17' },
      { release: '6.12.117+deb13-amd64', xen: '4.20' },
    ]);
  });

  // Lunar Lake's iGPU: 8086:64a0 "Core Ultra 200V Series Processors Arc Graphics 130V/140V GPU" in data/pci.ids, VGA
  // class 0300. Its xe alias pattern takes any subsystem, so the query carries none (sv00000000sd00000000).
  const lunarLake = 'pci:v00008086d000064A0sv00000000sd00000000bc03sc00i00';
  it.each([
    ['6.1.0-56-amd64', []],
    ['6.12.117+deb13-amd64', ['xe']],
  ])('a Lunar Lake iGPU (8086:64a0) in %s: %j', async (release, modules) => {
    expect(readFileSync(join(repo, 'data', 'pci.ids'), 'utf8')).toMatch(/^\t64a0  Core Ultra 200V Series Processors Arc Graphics/m);
    const k = await loadKernelData({ root: '/nonexistent-root', release: null, referenceRelease: release });
    expect([k.source, k.release]).toEqual(['reference', release]);
    expect(k.lookupAlias(normalizeAlias(toByteString(lunarLake))!)).toEqual(modules);
  });

  it('without a choice, the newest is the reference', async () => {
    const k = await loadKernelData({ root: '/nonexistent-root', release: null });
    expect(k.release).toBe(shippedRelease);
    expect(shippedRelease).toBe('6.12.117+deb13-amd64');
  });
});

describe('kernel data files that are not regular files (issue #11)', () => {
  it('a FIFO index is an issue and its text form answers; FIFO index and text: the directory is not used', async () => {
    const { cpSync, mkdtempSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { watchedFifo } = await import('../_support/fifo.ts');
    const dir = mkdtempSync(join(tmpdir(), 'autoconfig-kernel-'));
    cpSync(shippedDir, dir, { recursive: true });
    rmSync(join(dir, 'modules.alias.bin'));
    const fifos = [watchedFifo(join(dir, 'modules.alias.bin'))];
    try {
      const t0 = performance.now();
      const k = await loadKernelData({ root: '/', kernelDir: dir });
      // The diagnostic tells a refused FIFO from one opened (the watchdog would let that open return, empty).
      expect(performance.now() - t0).toBeLessThan(20_000);
      expect(k.source).toBe('option');
      expect(k.issues).toContainEqual({
        file: join(dir, 'modules.alias.bin'),
        line: null,
        message: 'a FIFO, not a regular file; not read; using modules.alias instead',
      });
      rmSync(join(dir, 'modules.dep.bin'));
      rmSync(join(dir, 'modules.dep'));
      fifos.push(watchedFifo(join(dir, 'modules.dep.bin')), watchedFifo(join(dir, 'modules.dep')));
      const fallback = await loadKernelData({ root: '/', kernelDir: dir });
      expect(fallback.source).toBe('reference');
      expect(fallback.issues).toContainEqual({
        file: join(dir, 'modules.dep'),
        line: null,
        message: `${join(dir, 'modules.dep')}: a FIFO, not a regular file; not read`,
      });
    } finally {
      for (const f of fifos) f.dispose();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the reference is chosen only when it is needed (the boot path reads no reference metadata)', () => {
  it('a target with its own modules never asks; one without them asks once, with the shipped references', async () => {
    const asked: string[][] = [];
    const choose = async (refs: { release: string }[]) => (asked.push(refs.map((r) => r.release)), '6.1.0-56-amd64');
    const { fs } = volume({ files: { '/t/lib/modules/6.1.0-56-amd64/modules.alias': alias, '/t/lib/modules/6.1.0-56-amd64/modules.dep': dep } });
    expect((await loadKernelData({ fs, root: '/t', release: '6.1.0-56-amd64', referenceRelease: choose })).source).toBe('target');
    expect(asked).toEqual([]);
    const k = await loadKernelData({ fs, root: '/t', release: '6.12.0-nothere', referenceRelease: choose });
    expect([k.source, k.release]).toEqual(['reference', '6.1.0-56-amd64']);
    expect(asked).toEqual([['6.1.0-56-amd64', '6.12.117+deb13-amd64']]);
  });
});

import { describe, expect, it } from 'vitest';
import { loadKernelData } from '../../src/modalias/kernel-data.ts';
import { volume } from '../_support/memfs.ts';
import { readText, shippedDir, shippedRelease } from './_kmod.ts';

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

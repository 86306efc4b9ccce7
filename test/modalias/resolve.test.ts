// Our lookups against the real `modprobe -R` on the same kernel data: every device of every fixture and of this
// machine, and 5,000+ modaliases composed in the kernel's format from real IDs of pci.ids and usb.ids; both
// through depmod's .bin indexes (as libkmod) and through the text files (the fallback).
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadKernelData, type KernelData } from '../../src/modalias/kernel-data.ts';
import { emptyConfig, loadModprobeConfig, moduleConfig } from '../../src/modalias/modprobe-d.ts';
import { devicesFromProfile, lookupModules, resolveDevice, resolveDrivers } from '../../src/modalias/resolve.ts';
import { formatDriversReport } from '../../src/modalias/format.ts';
import {
  BIN_FILES,
  kmodTree,
  modprobeDryRun,
  modprobeResolve,
  oracleQueries,
  measuredRelease,
  shippedDir,
  TEXT_FILES,
  writeTree,
  type KmodTree,
} from './_kmod.ts';

const tree = await kmodTree();
const skip = typeof tree === 'string' ? ` (skipped: ${tree})` : '';
const tmp = mkdtempSync(join(tmpdir(), 'resolve-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const emptyConf = join(tmp, 'empty.d');
writeTree(tmp, { 'empty.d/.keep': '' });

describe.skipIf(typeof tree === 'string')(`lookups equal modprobe -R${skip}`, () => {
  const t = tree as KmodTree;
  // The kmod tree as libkmod reads it (its .bin indexes), and the same directory without them (the text files).
  let kernels: Array<[string, KernelData]>;

  it('reads the same files kmod was built from: its .bin indexes, and the text files without them', async () => {
    const textDir = join(tmp, 'text', t.release);
    mkdirSync(textDir, { recursive: true });
    for (const f of TEXT_FILES) copyFileSync(join(t.dir, f), join(textDir, f));
    const bin = await loadKernelData({ kernelDir: t.dir });
    const text = await loadKernelData({ kernelDir: textDir });
    kernels = [
      ['.bin', bin],
      ['text', text],
    ];
    for (const [, kernel] of kernels) {
      expect(kernel.source).toBe('option');
      expect(kernel.issues).toEqual([]);
    }
    expect(bin.files).toEqual({ alias: 'modules.alias.bin', dep: 'modules.dep.bin', builtin: 'modules.builtin.bin', builtinAlias: 'modules.builtin.alias.bin' });
    expect(text.files).toEqual({ alias: 'modules.alias', dep: 'modules.dep', builtin: 'modules.builtin', builtinAlias: 'modules.builtin.modinfo' });
    if (t.shipped) {
      for (const f of [...TEXT_FILES, ...BIN_FILES]) {
        expect(readFileSync(join(t.dir, f)).equals(readFileSync(join(shippedDir, f))), f).toBe(true);
      }
    }
  });

  it('5,000+ modaliases from pci.ids and usb.ids, fixture and live /sys devices, odd strings', async () => {
    const { queries, generated, devices, fixtures } = oracleQueries();
    const theirs = await modprobeResolve(t, queries, [emptyConf]);
    for (const [name, kernel] of kernels) {
      const ctx = { kernel, config: emptyConfig() };
      const ours = queries.map((q) => lookupModules(ctx, q).modules);
      const differ = queries
        .map((q, i) => ({ q, ours: ours[i], theirs: theirs[i] }))
        .filter((r) => JSON.stringify(r.ours) !== JSON.stringify(r.theirs));
      const matched = ours.filter((m) => m.length > 0).length;
      console.log(
        `kmod cross-check (${name}): ${queries.length} modaliases (${generated} generated, ${devices} from /sys of ` +
          `${fixtures} fixtures and this machine), ${queries.length - differ.length} equal, ${matched} with a module`,
      );
      expect(differ.slice(0, 10), name).toEqual([]);
      expect(generated).toBeGreaterThanOrEqual(5000);
      // The sample must reach drivers (many pci.ids devices have none in this kernel).
      expect(matched).toBeGreaterThan(500);
      expect(ours.filter((m) => m.length > 1).length).toBeGreaterThan(20);
    }
  }, 300_000);
});

describe.skipIf(typeof tree === 'string')(`modprobe.d, as modprobe applies it${skip}`, () => {
  const t = tree as KmodTree;
  const radeon = 'pci:v00001002d00006798sv00001002sd00003000bc03sc00i00';
  const e1000e = 'pci:v00008086d000010D3sv00008086sd0000A01Fbc02sc00i00';
  const root = join(tmp, 'target');
  // Same name in /etc and /lib: /etc wins; other names from all directories, read in one name order.
  writeTree(root, {
    'etc/modprobe.d/gpu.conf': 'blacklist radeon\noptions amdgpu si_support=1\n',
    'lib/modprobe.d/gpu.conf': 'blacklist amdgpu\n',
    'lib/modprobe.d/aa.conf': 'softdep ext4 pre: loop\nsoftdep amdgpu pre: vfio-pci\n',
    'run/modprobe.d/net.conf': 'install e1000e /bin/false\ninstall e1000* /bin/true\n',
    'usr/local/lib/modprobe.d/zz.conf': 'alias pci:v00008086d000010D3* e1000e-local\nalias pci:v00008086d* e1000e\n',
    'etc/modprobe.d/ignored.txt': 'blacklist e1000e\n',
  });
  const confs = ['etc', 'run', 'usr/local/lib', 'usr/lib', 'lib'].map((d) => join(root, d, 'modprobe.d')).filter(existsSync);

  it('reads the directories with kmod precedence and resolves as modprobe -R does', async () => {
    const kernel = await loadKernelData({ kernelDir: t.dir });
    const config = await loadModprobeConfig({ root, kernelSoftdep: kernel.softdep });
    expect(config.files.map((f) => f.replace(root, ''))).toEqual([
      '/lib/modprobe.d/aa.conf',
      '/etc/modprobe.d/gpu.conf',
      `${t.dir}/modules.softdep`,
      '/run/modprobe.d/net.conf',
      '/usr/local/lib/modprobe.d/zz.conf',
    ]);
    const ctx = { kernel, config };
    const queries = [radeon, e1000e, 'radeon', 'e1000e', 'e1000*', 'ext4'];
    const theirs = await modprobeResolve(t, queries, confs);
    expect(queries.map((q) => lookupModules(ctx, q).modules)).toEqual(theirs);
    expect(theirs[1]).toEqual(['e1000e_local', 'e1000e']); // config aliases shadow modules.alias
  });

  it('hides blacklisted modules from alias loads only, with options and softdeps as modprobe -n -v', async () => {
    const kernel = await loadKernelData({ kernelDir: t.dir });
    const config = await loadModprobeConfig({ root, kernelSoftdep: kernel.softdep });
    const ctx = { kernel, config };
    const device = resolveDevice(ctx, { bus: 'pci', id: '0000:01:00.0', modalias: radeon, bound: null });
    expect(device).toMatchObject({ candidates: ['radeon', 'amdgpu'], blacklisted: ['radeon'], chosen: 'amdgpu' });
    const dry = modprobeDryRun(t, radeon, confs);
    // modprobe loads every candidate that is not blacklisted, each after its softdeps, with its options.
    const amdgpu = moduleConfig(config, 'amdgpu');
    expect(amdgpu.softdep?.pre).toEqual(['vfio-pci']);
    expect(dry.insmod.filter((m) => m.startsWith('amdgpu') || m.startsWith('radeon'))).toEqual([`amdgpu ${amdgpu.options}`, `amdgpu ${amdgpu.options}`]);
    expect(dry.insmod).toContain('vfio_pci');
    // By name the blacklist does not apply.
    expect(lookupModules(ctx, 'radeon')).toMatchObject({ modules: ['radeon'], viaAlias: false });
    expect(modprobeDryRun(t, 'radeon', confs).insmod.at(-1)).toBe('radeon');
    // The first softdep line wins: aa.conf comes before the kernel's modules.softdep.
    expect(moduleConfig(config, 'ext4').softdep?.pre).toEqual(['loop']);
    const ext4 = modprobeDryRun(t, 'ext4', confs).insmod;
    expect(ext4[0]).toBe('loop');
    expect(ext4).not.toContain('crc32c_generic'); // what the kernel's modules.softdep would have added
    // The first install line that matches (fnmatch) is what modprobe would run.
    expect(moduleConfig(config, 'e1000e').install?.command).toBe(modprobeDryRun(t, 'e1000e', confs).install[0]);
  });
});

describe('per device', () => {
  it('resolves a profile (PCI functions and USB interfaces) against the shipped reference (Debian 12 6.1, whose results matching.md measured)', async () => {
    const kernel = await loadKernelData({ root: join(tmp, 'no-such-root'), release: '6.1.0-56-amd64', referenceRelease: measuredRelease });
    expect(kernel.source).toBe('reference');
    const profile = {
      pci: [
        // This VM's virtio NIC and its host bridge (real sysfs values, see matching.md §1.1).
        { slot: '0000:00:03.0', modalias: 'pci:v00001AF4d00001041sv00001AF4sd00001041bc02sc00i00', driver: 'virtio-pci' },
        { slot: '0000:00:00.0', modalias: 'pci:v00008086d00000D57sv00000000sd00000000bc06sc00i00', driver: null },
        { slot: '0000:01:00.0', modalias: 'pci:v00001002d00006798sv00001002sd00003000bc03sc00i00', driver: null },
      ],
      usb: [
        {
          interfaces: [{ path: '2-1:1.0', modalias: 'usb:v0781p5567d0100dc00dsc00dp00ic08isc06ip50in00', driver: 'usb-storage' }],
        },
      ],
    } as unknown as Parameters<typeof devicesFromProfile>[0];
    const results = resolveDrivers({ kernel, config: emptyConfig() }, devicesFromProfile(profile));
    expect(results.map((r) => [r.id, r.candidates, r.chosen, r.bound])).toEqual([
      ['0000:00:03.0', ['virtio_pci'], 'virtio_pci', 'virtio-pci'],
      ['0000:00:00.0', [], null, null],
      ['0000:01:00.0', ['radeon', 'amdgpu'], 'radeon', null],
      ['2-1:1.0', ['uas', 'usb_storage'], 'uas', 'usb-storage'],
    ]);
    const xen = resolveDevice({ kernel, config: emptyConfig() }, { bus: 'xen', id: 'vfb-0', modalias: 'xen:vfb', bound: null });
    expect(xen).toMatchObject({ candidates: ['xen_fbfront'], builtin: ['xen_fbfront'], chosen: 'xen_fbfront' });
    const text = formatDriversReport({
      kernel: { source: kernel.source, dir: kernel.dir, release: kernel.release },
      configFiles: [],
      devices: results,
      issues: [],
    });
    expect(text).toContain('pci 0000:01:00.0: pci:v00001002d00006798sv00001002sd00003000bc03sc00i00\n\tKernel modules: radeon, amdgpu\n');
    expect(text).toContain('\tKernel driver in use: usb-storage\n');
    expect(text).toContain('Would load: nothing (no module alias matches)');
    expect(text.split('\n')[0]).toContain('shipped reference data');
  });

  it('a PCI function known only by its bound driver (no modalias in the log) loads that driver if this kernel has it', async () => {
    const kernel = await loadKernelData({ root: join(tmp, 'no-such-root'), release: '6.1.0-56-amd64', referenceRelease: measuredRelease });
    // The VirtualBox guest's /proc/bus/pci/devices: ids and bound drivers, no class, no subsystem ids.
    const profile = JSON.parse(readFileSync(join(import.meta.dirname, '..', '..', 'fixtures', 'virtualbox-guest', 'profile.json'), 'utf8'));
    const results = resolveDrivers({ kernel, config: emptyConfig() }, devicesFromProfile(profile));
    expect(results.map((r) => [r.id, r.modalias, r.chosen])).toEqual([
      ['0000:00:01.1', '', 'ata_piix'],
      ['0000:00:04.0', '', 'vboxguest'], // mainline since Linux 4.16
      ['0000:00:05.0', '', 'snd_intel8x0'],
      ['0000:00:06.0', '', 'ohci_pci'],
      ['0000:00:09.0', '', 'e1000'],
      ['0000:00:0d.0', '', 'ahci'],
    ]);
    expect(results[4]).toMatchObject({ reason: 'no modalias; the driver bound to it, e1000', paths: { e1000: 'kernel/drivers/net/ethernet/intel/e1000/e1000.ko' } });
    // A core driver that is no module (pcieport is bool, not tristate: in neither modules.dep nor modules.builtin).
    const bridge = resolveDevice({ kernel, config: emptyConfig() }, { bus: 'pci', id: '0000:00:1c.0', modalias: '', bound: 'pcieport' });
    expect(bridge).toMatchObject({ chosen: null, candidates: [], reason: 'no modalias; the bound driver pcieport is no module of this kernel' });
  });
});

// Our lookups against the real `modprobe -R` on the same kernel data: every device of every fixture and of this
// machine, and 5,000+ modaliases composed in the kernel's format from real IDs of pci.ids and usb.ids.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadKernelData, type KernelData } from '../../src/modalias/kernel-data.ts';
import { emptyConfig, loadModprobeConfig, moduleConfig } from '../../src/modalias/modprobe-d.ts';
import { devicesFromProfile, lookupModules, resolveDevice, resolveDrivers } from '../../src/modalias/resolve.ts';
import { formatDriversReport } from '../../src/modalias/format.ts';
import { kmodTree, modprobeDryRun, modprobeResolve, readText, repo, shippedDir, writeTree, type KmodTree } from './_kmod.ts';

const tree = await kmodTree();
const skip = typeof tree === 'string' ? ` (skipped: ${tree})` : '';
const tmp = mkdtempSync(join(tmpdir(), 'resolve-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const emptyConf = join(tmp, 'empty.d');
writeTree(tmp, { 'empty.d/.keep': '' });

function hex(value: string, width: number): string {
  return value.toUpperCase().padStart(width, '0');
}

/** Modaliases in the kernel's formats (drivers/pci/pci-sysfs.c, drivers/usb/core/sysfs.c) from real IDs. */
function generatedModaliases(): string[] {
  const pciIds = readText(existsSync(join(repo, 'data', 'pci.ids')) ? join(repo, 'data', 'pci.ids') : join(repo, '..', 'shared', 'data', 'pci.ids'));
  const usbIds = readText(existsSync(join(repo, 'data', 'usb.ids')) ? join(repo, 'data', 'usb.ids') : join(repo, '..', 'shared', 'data', 'usb.ids'));
  // PCI: every device with its first subsystem (or none), classes taken in turn from the class section.
  const classes: string[] = [];
  const devices: Array<[string, string, string, string]> = [];
  let vendor = '';
  let cls = '';
  let sub = '';
  for (const line of pciIds.split('\n')) {
    let m;
    if ((m = /^C ([0-9a-f]{2})\s/.exec(line))) (cls = m[1]!), (vendor = ''), classes.push(`${cls}0000`);
    else if (cls && (m = /^\t([0-9a-f]{2})\s/.exec(line))) (sub = m[1]!), classes.push(`${cls}${sub}00`);
    else if (cls && (m = /^\t\t([0-9a-f]{2})\s/.exec(line))) classes.push(`${cls}${sub}${m[1]}`);
    else if ((m = /^([0-9a-f]{4})\s/.exec(line))) (vendor = m[1]!), (cls = '');
    else if (vendor && (m = /^\t([0-9a-f]{4})\s/.exec(line))) devices.push([vendor, m[1]!, '0000', '0000']);
    else if (vendor && (m = /^\t\t([0-9a-f]{4}) ([0-9a-f]{4})\s/.exec(line))) {
      const last = devices.at(-1)!;
      if (last[2] === '0000' && last[3] === '0000') (last[2] = m[1]!), (last[3] = m[2]!);
    }
  }
  const out: string[] = [];
  const pciStep = Math.max(1, Math.floor(devices.length / 3500));
  for (let i = 0; i < devices.length; i += pciStep) {
    const [v, d, sv, sd] = devices[i]!;
    const c = classes[(i / pciStep) % classes.length]!;
    out.push(`pci:v${hex(v, 8)}d${hex(d, 8)}sv${hex(sv, 8)}sd${hex(sd, 8)}bc${hex(c.slice(0, 2), 2)}sc${hex(c.slice(2, 4), 2)}i${hex(c.slice(4), 2)}`);
  }
  // USB interfaces: vendor:product from usb.ids, device and interface classes from its C section, bcdDevice
  // values covering the ranges drivers match on.
  const usbClasses: string[] = [];
  const products: Array<[string, string]> = [];
  vendor = '';
  cls = '';
  for (const line of usbIds.split('\n')) {
    let m;
    if ((m = /^C ([0-9a-f]{2})\s/.exec(line))) (cls = m[1]!), (vendor = ''), usbClasses.push(`${cls}0000`);
    else if (cls && (m = /^\t([0-9a-f]{2})\s/.exec(line))) (sub = m[1]!), usbClasses.push(`${cls}${sub}00`);
    else if (cls && (m = /^\t\t([0-9a-f]{2})\s/.exec(line))) usbClasses.push(`${cls}${sub}${m[1]}`);
    else if ((m = /^([0-9a-f]{4})\s/.exec(line))) (vendor = m[1]!), (cls = '');
    else if (vendor && (m = /^\t([0-9a-f]{4})\s/.exec(line))) products.push([vendor, m[1]!]);
    else if (/^[A-Z]+ /.test(line)) (vendor = ''), (cls = '');
  }
  const bcds = ['0000', '0100', '0110', '0200', '0310', '1000', '2000', '9999'];
  const usbStep = Math.max(1, Math.floor(products.length / 2500));
  for (let i = 0; i < products.length; i += usbStep) {
    const [v, p] = products[i]!;
    const k = i / usbStep;
    const dc = k % 3 === 0 ? usbClasses[k % usbClasses.length]! : '000000';
    const ic = usbClasses[(k * 7) % usbClasses.length]!;
    out.push(
      `usb:v${hex(v, 4)}p${hex(p, 4)}d${bcds[k % bcds.length]}dc${hex(dc.slice(0, 2), 2)}dsc${hex(dc.slice(2, 4), 2)}dp${hex(dc.slice(4), 2)}` +
        `ic${hex(ic.slice(0, 2), 2)}isc${hex(ic.slice(2, 4), 2)}ip${hex(ic.slice(4), 2)}in${hex(String(k % 4), 2)}`,
    );
  }
  return out;
}

/** Every modalias under a root's /sys/bus/<bus>/devices/<dev>/modalias, with the bus and device name. */
function sysModaliases(root: string): Array<{ bus: string; id: string; modalias: string; bound: string | null }> {
  const found: Array<{ bus: string; id: string; modalias: string; bound: string | null }> = [];
  const busDir = join(root, 'sys', 'bus');
  if (!existsSync(busDir)) return found;
  for (const bus of readdirSync(busDir).sort()) {
    const devDir = join(busDir, bus, 'devices');
    if (!existsSync(devDir)) continue;
    for (const id of readdirSync(devDir).sort()) {
      try {
        const modalias = readFileSync(join(devDir, id, 'modalias'), 'utf8').trim();
        if (modalias !== '') found.push({ bus, id, modalias, bound: null });
      } catch {
        // no modalias attribute (USB devices as opposed to interfaces, bridges of some buses)
      }
    }
  }
  return found;
}

// Odd input: must never throw, and must still agree with kmod (which also takes these as lookup keys).
const odd = [
  '',
  '-',
  'pci:',
  'pci:v*',
  'pci:v00008086d000010D3sv*sd*bc*sc*i*',
  'pci:v00008086d000010d3sv00008086sd0000a01fbc02sc00i00', // lower case: kmod finds nothing
  'xen-backend:vbd',
  'xen_backend:vif',
  'xen:vfb',
  'xen:vkbd',
  'e1000e',
  'crc32c',
  'xenbus',
  'fs-xenfs',
  'platform:rtc_cmos',
  'cxl:t6x',
  'virtio:d00000001v00001AF4',
  'acpi:PNP0A08:PNP0A03:',
  'dmi:bvnDell Inc.:bvr1.0:svnDell Inc.:pnOptiPlex 7010:',
  'pci:v[0]',
  'a]b',
  'a[b',
  'usb:v0D96p410Ad[1-9]',
  'naïve:é',
  'tab\there',
  'x'.repeat(5000),
  'cpu:type:x86,ven0000fam0006mod00A7:feature:,0000,0001,0002,0003,0004,00E2,0132',
  'usb:v0D96p410Ad1100dc00dsc00dp00ic08isc06ip50in00',
  'usb:v0781p5567d0100dc00dsc00dp00ic08isc06ip50in00',
  'pci:v00001002d00006798sv00001002sd00003000bc03sc00i00',
  'pci:v000010ECd00008139sv000010ECsd00008139bc02sc00i00',
];

describe.skipIf(typeof tree === 'string')(`lookups equal modprobe -R${skip}`, () => {
  const t = tree as KmodTree;
  let kernel: KernelData;

  it('reads the same files kmod was built from', async () => {
    kernel = await loadKernelData({ kernelDir: t.dir });
    expect(kernel.source).toBe('option');
    expect(kernel.issues).toEqual([]);
    expect(kernel.aliasIndex.size).toBeGreaterThan(20_000);
    if (t.shipped) {
      for (const f of ['modules.alias', 'modules.dep', 'modules.order', 'modules.builtin', 'modules.builtin.modinfo', 'modules.softdep']) {
        expect(readFileSync(join(t.dir, f)).equals(readFileSync(join(shippedDir, f))), f).toBe(true);
      }
    }
  });

  it('5,000+ modaliases from pci.ids and usb.ids, fixture and live /sys devices, odd strings', async () => {
    const fixtures = existsSync(join(repo, 'fixtures')) ? readdirSync(join(repo, 'fixtures')).sort() : [];
    const devices = [
      ...fixtures.flatMap((f) => sysModaliases(join(repo, 'fixtures', f, 'root'))),
      ...sysModaliases('/'),
    ];
    const generated = generatedModaliases();
    const queries = [...new Set([...generated, ...devices.map((d) => d.modalias), ...odd])];
    const ctx = { kernel, config: emptyConfig() };
    const ours = queries.map((q) => lookupModules(ctx, q).modules);
    const theirs = await modprobeResolve(t, queries, [emptyConf]);
    const differ = queries
      .map((q, i) => ({ q, ours: ours[i], theirs: theirs[i] }))
      .filter((r) => JSON.stringify(r.ours) !== JSON.stringify(r.theirs));
    const matched = ours.filter((m) => m.length > 0).length;
    console.log(
      `kmod cross-check: ${queries.length} modaliases (${generated.length} generated, ${devices.length} from /sys of ` +
        `${fixtures.length} fixtures and this machine), ${queries.length - differ.length} equal, ${matched} with a module`,
    );
    expect(differ.slice(0, 10)).toEqual([]);
    expect(generated.length).toBeGreaterThanOrEqual(5000);
    // The sample must reach drivers (many pci.ids devices have none in this kernel).
    expect(matched).toBeGreaterThan(500);
    expect(ours.filter((m) => m.length > 1).length).toBeGreaterThan(20);
  }, 120_000);
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
  it('resolves a profile (PCI functions and USB interfaces) against the shipped reference', async () => {
    const kernel = await loadKernelData({ root: join(tmp, 'no-such-root'), release: '6.1.0-56-amd64' });
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
});

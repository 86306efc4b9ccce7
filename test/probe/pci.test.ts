import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { posix } from 'node:path';
import { describe, expect, it } from 'vitest';
import { nodeFsPromises } from '../../src/fs.ts';
import { probePci } from '../../src/probe/pci.ts';
import { Reader } from '../../src/probe/_reader.ts';
import type { DiagnosticCode, PciBar, PciDevice } from '../../src/types.ts';
import { volume } from '../_support/memfs.ts';

const base = '/snap';

// A device as sysfs shows it. Values come from real machines: this VM's /sys, and corpus captures
// (lspci -nnvv, dmesg "reg 0x.." lines) for the others.
interface SysPci {
  /** Path below /sys/devices, parents included: "pci0000:00/0000:00:01.0/0000:01:00.0". */
  at: string;
  vendor: string;
  device: string;
  subvendor: string;
  subdevice: string;
  /** The six hex digits of the `class` file. */
  class: string;
  revision: string;
  bootVga?: '0' | '1';
  /** Lines of `resource`; left out where the capture has no BARs. */
  resource?: string[];
  driver?: string;
  iommuGroup?: number;
}

// resource flags as the kernel sets them (include/linux/ioport.h + the BAR's low bits), seen in real files.
const MEM32 = 0x40200n;
const MEM64 = 0x140204n;
const MEM64_PREF = 0x14220cn;
const IO = 0x40101n;
const ROM = 0x46200n;
const ROM_SHADOW = 0x212n; // pci_fixup_video(): the legacy C0000 copy, MEM | ROM_SHADOW | PCI_FIXED
const WINDOW_IO16 = 0x100n;
const WINDOW_MEM = 0x200n;
const WINDOW_PREF64 = 0x102201n;

// `count` resource lines (7 without CONFIG_PCI_IOV; 13 with it, 17 for bridges then), zeros where no region is given.
function resource(count: number, ...regions: [index: number, start: bigint, end: bigint, flags: bigint][]): string[] {
  const hex = (n: bigint) => '0x' + n.toString(16).padStart(16, '0');
  return Array.from({ length: count }, (_, i) => {
    const [, start, end, flags] = regions.find((r) => r[0] === i) ?? [i, 0n, 0n, 0n];
    return `${hex(start)} ${hex(end)} ${hex(flags)}`;
  });
}

// modalias_show() in drivers/pci/pci-sysfs.c.
function modalias(d: SysPci): string {
  const id = (s: string) => s.toUpperCase().padStart(8, '0');
  const c = d.class.toUpperCase();
  const ids = `v${id(d.vendor)}d${id(d.device)}sv${id(d.subvendor)}sd${id(d.subdevice)}`;
  return `pci:${ids}bc${c.slice(0, 2)}sc${c.slice(2, 4)}i${c.slice(4)}`;
}

function pciTree(devices: SysPci[]) {
  const files: Record<string, string | null> = {};
  const links: Record<string, string> = {};
  for (const d of devices) {
    const dir = `sys/devices/${d.at}`;
    const toSys = '../'.repeat(d.at.split('/').length + 1);
    links[`sys/bus/pci/devices/${posix.basename(d.at)}`] = `../../../devices/${d.at}`;
    files[`${dir}/vendor`] = `0x${d.vendor}\n`;
    files[`${dir}/device`] = `0x${d.device}\n`;
    files[`${dir}/subsystem_vendor`] = `0x${d.subvendor}\n`;
    files[`${dir}/subsystem_device`] = `0x${d.subdevice}\n`;
    files[`${dir}/class`] = `0x${d.class}\n`;
    files[`${dir}/revision`] = `0x${d.revision}\n`;
    files[`${dir}/modalias`] = `${modalias(d)}\n`;
    if (d.bootVga !== undefined) files[`${dir}/boot_vga`] = `${d.bootVga}\n`;
    if (d.resource !== undefined) files[`${dir}/resource`] = d.resource.map((line) => `${line}\n`).join('');
    if (d.driver !== undefined) {
      files[`sys/bus/pci/drivers/${d.driver}/bind`] = '';
      links[`${dir}/driver`] = `${toSys}bus/pci/drivers/${d.driver}`;
    }
    if (d.iommuGroup !== undefined) {
      files[`sys/kernel/iommu_groups/${d.iommuGroup}/type`] = 'DMA\n';
      links[`${dir}/iommu_group`] = `${toSys}kernel/iommu_groups/${d.iommuGroup}`;
    }
  }
  // Paths to chmod 0 once the volume is built (memfs enforces modes, even for root).
  return { files, links, chmod0: [] as string[] };
}

/** A device from a capture; `ids` as lspci -nn shows them: "vendor:device subvendor:subdevice". */
function sysDev(at: string, ids: string, cls: string, revision: string, more: Partial<SysPci> = {}): SysPci {
  const [vendor, device, subvendor, subdevice] = ids.split(/[: ]/) as [string, string, string, string];
  return { at, vendor, device, subvendor, subdevice, class: cls, revision, ...more };
}

/** The expected probe result, in the same notation; `cls` is "class subclass prog-if". */
type More = Pick<PciDevice, 'modalias'> & Partial<PciDevice>;
function pciDev(slot: string, ids: string, cls: string, revision: string, more: More): PciDevice {
  const [vendor, device, subvendor, subdevice] = ids.split(/[: ]/) as [string, string, string, string];
  const [klass, subclass, progIf] = cls.split(' ') as [string, string, string];
  const empty = { driver: null, bootVga: null, bars: [], iommuGroup: null };
  return { slot, vendor, device, subvendor, subdevice, class: klass, subclass, progIf, revision, ...empty, ...more };
}

const mem = (index: number, size: number, is64: boolean, prefetchable: boolean): PciBar => ({
  index,
  size,
  kind: index === 6 ? 'rom' : 'mem',
  prefetchable,
  is64,
});
const io = (index: number, size: number): PciBar => ({ index, size, kind: 'io', prefetchable: false, is64: false });

// This VM (kernel 6.18, no CONFIG_PCI_IOV: 7 resource lines), copied from its /sys.
const virtioBar = (start: bigint) => ({
  driver: 'virtio-pci',
  resource: resource(7, [0, start, start + 0x7ffffn, MEM64]),
});
const vmSys: SysPci[] = [
  sysDev('pci0000:00/0000:00:00.0', '8086:0d57 0000:0000', '060000', '00', { resource: resource(7) }),
  sysDev('pci0000:00/0000:00:01.0', '1af4:1045 1af4:1045', 'ffff00', '01', virtioBar(0x4000000000n)),
  sysDev('pci0000:00/0000:00:02.0', '1af4:1042 1af4:1042', '018000', '01', virtioBar(0x4000080000n)),
  sysDev('pci0000:00/0000:00:03.0', '1af4:1041 1af4:1041', '020000', '01', virtioBar(0x4000100000n)),
  sysDev('pci0000:00/0000:00:04.0', '1af4:1053 1af4:1053', 'ffff00', '01', virtioBar(0x4000180000n)),
  sysDev('pci0000:00/0000:00:05.0', '1af4:1044 1af4:1044', 'ffff00', '01', virtioBar(0x4000200000n)),
];
const virtio = { driver: 'virtio-pci', bars: [mem(0, 512 << 10, true, false)] };
const vmExpected: PciDevice[] = [
  pciDev('0000:00:00.0', '8086:0d57 0000:0000', '06 00 00', '00', {
    modalias: 'pci:v00008086d00000D57sv00000000sd00000000bc06sc00i00',
  }),
  pciDev('0000:00:01.0', '1af4:1045 1af4:1045', 'ff ff 00', '01', {
    modalias: 'pci:v00001AF4d00001045sv00001AF4sd00001045bcFFscFFi00',
    ...virtio,
  }),
  pciDev('0000:00:02.0', '1af4:1042 1af4:1042', '01 80 00', '01', {
    modalias: 'pci:v00001AF4d00001042sv00001AF4sd00001042bc01sc80i00',
    ...virtio,
  }),
  pciDev('0000:00:03.0', '1af4:1041 1af4:1041', '02 00 00', '01', {
    modalias: 'pci:v00001AF4d00001041sv00001AF4sd00001041bc02sc00i00',
    ...virtio,
  }),
  pciDev('0000:00:04.0', '1af4:1053 1af4:1053', 'ff ff 00', '01', {
    modalias: 'pci:v00001AF4d00001053sv00001AF4sd00001053bcFFscFFi00',
    ...virtio,
  }),
  pciDev('0000:00:05.0', '1af4:1044 1af4:1044', 'ff ff 00', '01', {
    modalias: 'pci:v00001AF4d00001044sv00001AF4sd00001044bcFFscFFi00',
    ...virtio,
  }),
];

// Alienware M11x (corpus notebook-alienware-m11x-autoport-gh-cmotc, Debian 3.16 with CONFIG_PCI_IOV: 13 resource
// lines, 17 for bridges). BARs from its dmesg "reg 0x.." lines and lspci regions; boot VGA from vgaarb.
const m11xSys: SysPci[] = [
  sysDev('pci0000:00/0000:00:00.0', '8086:2a40 1028:0443', '060000', '07', {
    driver: 'agpgart-intel',
    resource: resource(13),
  }),
  sysDev('pci0000:00/0000:00:01.0', '8086:2a41 1028:0443', '060400', '07', {
    driver: 'pcieport',
    resource: resource(
      17,
      [13, 0x2000n, 0x2fffn, WINDOW_IO16],
      [14, 0xf0000000n, 0xf10fffffn, WINDOW_MEM],
      [15, 0xbe000000n, 0xcfffffffn, WINDOW_PREF64],
    ),
  }),
  sysDev('pci0000:00/0000:00:02.0', '8086:2a42 1028:0443', '030000', '07', {
    driver: 'i915',
    bootVga: '1',
    resource: resource(
      13,
      [0, 0xf1400000n, 0xf17fffffn, MEM64],
      [2, 0xd0000000n, 0xdfffffffn, MEM64_PREF],
      [4, 0x1800n, 0x1807n, IO],
    ),
  }),
  sysDev('pci0000:00/0000:00:1c.0', '8086:2940 1028:0443', '060400', '03', {
    driver: 'pcieport',
    resource: resource(
      17,
      [13, 0x3000n, 0x3fffn, WINDOW_IO16],
      [14, 0xf1100000n, 0xf11fffffn, WINDOW_MEM],
      [15, 0xa0000000n, 0xa01fffffn, WINDOW_PREF64],
    ),
  }),
  sysDev('pci0000:00/0000:00:01.0/0000:01:00.0', '10de:0caf 1028:0443', '030000', 'a2', {
    driver: 'nouveau',
    bootVga: '0',
    resource: resource(
      13,
      [0, 0xf0000000n, 0xf0ffffffn, MEM32],
      [1, 0xc0000000n, 0xcfffffffn, MEM64_PREF],
      [3, 0xbe000000n, 0xbfffffffn, MEM64_PREF],
      [5, 0x2000n, 0x207fn, IO],
      [6, 0xf1080000n, 0xf10fffffn, ROM],
    ),
  }),
  sysDev('pci0000:00/0000:00:1c.0/0000:02:00.0', '1969:1062 1028:0443', '020000', 'c0', {
    driver: 'atl1c',
    resource: resource(13, [0, 0xf1100000n, 0xf113ffffn, MEM64], [2, 0x3000n, 0x307fn, IO]),
  }),
];
const m11xExpected: PciDevice[] = [
  pciDev('0000:00:00.0', '8086:2a40 1028:0443', '06 00 00', '07', {
    modalias: 'pci:v00008086d00002A40sv00001028sd00000443bc06sc00i00',
    driver: 'agpgart-intel',
  }),
  pciDev('0000:00:01.0', '8086:2a41 1028:0443', '06 04 00', '07', {
    modalias: 'pci:v00008086d00002A41sv00001028sd00000443bc06sc04i00',
    driver: 'pcieport',
  }),
  pciDev('0000:00:02.0', '8086:2a42 1028:0443', '03 00 00', '07', {
    modalias: 'pci:v00008086d00002A42sv00001028sd00000443bc03sc00i00',
    driver: 'i915',
    bootVga: true,
    bars: [mem(0, 4 << 20, true, false), mem(2, 256 << 20, true, true), io(4, 8)],
  }),
  pciDev('0000:00:1c.0', '8086:2940 1028:0443', '06 04 00', '03', {
    modalias: 'pci:v00008086d00002940sv00001028sd00000443bc06sc04i00',
    driver: 'pcieport',
  }),
  pciDev('0000:01:00.0', '10de:0caf 1028:0443', '03 00 00', 'a2', {
    modalias: 'pci:v000010DEd00000CAFsv00001028sd00000443bc03sc00i00',
    driver: 'nouveau',
    bootVga: false,
    bars: [
      mem(0, 16 << 20, false, false),
      mem(1, 256 << 20, true, true),
      mem(3, 32 << 20, true, true),
      io(5, 128),
      mem(6, 512 << 10, false, true),
    ],
  }),
  pciDev('0000:02:00.0', '1969:1062 1028:0443', '02 00 00', 'c0', {
    modalias: 'pci:v00001969d00001062sv00001028sd00000443bc02sc00i00',
    driver: 'atl1c',
    bars: [mem(0, 256 << 10, true, false), io(2, 128)],
  }),
];

// ECS H310CH5-M2 (corpus desktop-ecs-h310ch5-m2-autoport-gh-ytec, Debian 6.1): IOMMU groups from dmesg and
// lspci, the GPU's shadowed legacy ROM ("Video device with shadowed ROM at [mem 0x000c0000-0x000dffff]").
const ecsSys: SysPci[] = [
  sysDev('pci0000:00/0000:00:01.0', '8086:1901 1019:a55d', '060400', '07', {
    driver: 'pcieport',
    iommuGroup: 1,
    resource: resource(
      17,
      [13, 0xe000n, 0xefffn, WINDOW_IO16],
      [14, 0xdc000000n, 0xde0fffffn, WINDOW_MEM],
      [15, 0xd0000000n, 0xdbffffffn, WINDOW_PREF64],
    ),
  }),
  sysDev('pci0000:00/0000:00:14.0', '8086:a2af 1019:a55d', '0c0330', '00', {
    driver: 'xhci_hcd',
    iommuGroup: 3,
    resource: resource(13, [0, 0xde210000n, 0xde21ffffn, MEM64]),
  }),
  sysDev('pci0000:00/0000:00:01.0/0000:01:00.0', '10de:1244 1462:809d', '030000', 'a1', {
    driver: 'nouveau',
    bootVga: '1',
    iommuGroup: 1,
    resource: resource(
      13,
      [0, 0xdc000000n, 0xddffffffn, MEM32],
      [1, 0xd0000000n, 0xd7ffffffn, MEM64_PREF],
      [3, 0xd8000000n, 0xdbffffffn, MEM64_PREF],
      [5, 0xe000n, 0xe07fn, IO],
      [6, 0xc0000n, 0xdffffn, ROM_SHADOW],
    ),
  }),
  sysDev('pci0000:00/0000:00:01.0/0000:01:00.1', '10de:0bee 1462:809d', '040300', 'a1', {
    driver: 'snd_hda_intel',
    iommuGroup: 1,
    resource: resource(13, [0, 0xde080000n, 0xde083fffn, MEM32]),
  }),
];
const ecsExpected: PciDevice[] = [
  pciDev('0000:00:01.0', '8086:1901 1019:a55d', '06 04 00', '07', {
    modalias: 'pci:v00008086d00001901sv00001019sd0000A55Dbc06sc04i00',
    driver: 'pcieport',
    iommuGroup: 1,
  }),
  pciDev('0000:00:14.0', '8086:a2af 1019:a55d', '0c 03 30', '00', {
    modalias: 'pci:v00008086d0000A2AFsv00001019sd0000A55Dbc0Csc03i30',
    driver: 'xhci_hcd',
    bars: [mem(0, 64 << 10, true, false)],
    iommuGroup: 3,
  }),
  pciDev('0000:01:00.0', '10de:1244 1462:809d', '03 00 00', 'a1', {
    modalias: 'pci:v000010DEd00001244sv00001462sd0000809Dbc03sc00i00',
    driver: 'nouveau',
    bootVga: true,
    bars: [
      mem(0, 32 << 20, false, false),
      mem(1, 128 << 20, true, true),
      mem(3, 64 << 20, true, true),
      io(5, 128),
      mem(6, 128 << 10, false, false),
    ],
    iommuGroup: 1,
  }),
  pciDev('0000:01:00.1', '10de:0bee 1462:809d', '04 03 00', 'a1', {
    modalias: 'pci:v000010DEd00000BEEsv00001462sd0000809Dbc04sc03i00',
    driver: 'snd_hda_intel',
    bars: [mem(0, 16 << 10, false, false)],
    iommuGroup: 1,
  }),
];

// ThinkPad T60 (corpus notebook-lenovo-thinkpad_t60-F815AEE35E, an `lspci -nnk` excerpt): ids, classes, drivers;
// no BARs or boot_vga in the capture, so those files are absent. 00:1e.0 has no SSVID capability: subsystem 0.
const t60Sys: SysPci[] = [
  sysDev('pci0000:00/0000:00:02.0', '8086:27a2 17aa:201a', '030000', '03', { driver: 'i915' }),
  sysDev('pci0000:00/0000:00:02.1', '8086:27a6 17aa:201a', '038000', '03'),
  sysDev('pci0000:00/0000:00:1d.7', '8086:27cc 17aa:200b', '0c0320', '02', { driver: 'ehci-pci' }),
  sysDev('pci0000:00/0000:00:1e.0', '8086:2448 0000:0000', '060401', 'e2'),
  sysDev('pci0000:00/0000:00:1f.2', '8086:27c4 17aa:200e', '010180', '02', { driver: 'ata_piix' }),
];
const t60Expected: PciDevice[] = [
  pciDev('0000:00:02.0', '8086:27a2 17aa:201a', '03 00 00', '03', {
    modalias: 'pci:v00008086d000027A2sv000017AAsd0000201Abc03sc00i00',
    driver: 'i915',
  }),
  pciDev('0000:00:02.1', '8086:27a6 17aa:201a', '03 80 00', '03', {
    modalias: 'pci:v00008086d000027A6sv000017AAsd0000201Abc03sc80i00',
  }),
  pciDev('0000:00:1d.7', '8086:27cc 17aa:200b', '0c 03 20', '02', {
    modalias: 'pci:v00008086d000027CCsv000017AAsd0000200Bbc0Csc03i20',
    driver: 'ehci-pci',
  }),
  pciDev('0000:00:1e.0', '8086:2448 0000:0000', '06 04 01', 'e2', {
    modalias: 'pci:v00008086d00002448sv00000000sd00000000bc06sc04i01',
  }),
  pciDev('0000:00:1f.2', '8086:27c4 17aa:200e', '01 01 80', '02', {
    modalias: 'pci:v00008086d000027C4sv000017AAsd0000200Ebc01sc01i80',
    driver: 'ata_piix',
  }),
];

function reader(tree: Partial<ReturnType<typeof pciTree>>) {
  const { fs, sync } = volume(tree, base);
  for (const path of tree.chmod0 ?? []) sync.chmodSync(posix.join(base, path), 0);
  return new Reader({ fs, root: base });
}

const diagnostics = (r: Reader) => r.diagnostics.map((d) => [d.code, d.path]);

describe('probePci', () => {
  it.each([
    ['this VM', vmSys, vmExpected],
    ['Alienware M11x (bridges, ROM, boot VGA)', m11xSys, m11xExpected],
    ['ECS H310CH5-M2 (IOMMU groups, shadowed ROM)', ecsSys, ecsExpected],
    ['ThinkPad T60 (no resource files)', t60Sys, t60Expected],
  ])('reads %s', async (_name, sys, expected) => {
    const r = reader(pciTree(sys));
    expect(await probePci(r)).toEqual(expected);
    expect(r.diagnostics).toEqual([]);
  });

  it('orders by slot however the directory lists them', async () => {
    // 0000:00:1c.0 sorts after 0000:00:02.0 and before 0000:01:00.0 in plain string order, as lspci -D shows.
    const { fs } = volume(pciTree(m11xSys), base);
    const reversed = { ...fs, readdir: async (path: string) => (await fs.readdir(path)).reverse() };
    const r = new Reader({ fs: reversed, root: base });
    expect((await probePci(r)).map((d) => d.slot)).toEqual(m11xExpected.map((d) => d.slot));
  });

  it('gives [] without diagnostics when there is no PCI bus', async () => {
    const r = reader({ files: { 'sys/bus': null } });
    expect(await probePci(r)).toEqual([]);
    expect(r.diagnostics).toEqual([]);
  });

  // Each case damages the ECS GeForce (01:00.0: nested below its bridge, driver, IOMMU group, boot_vga, ROM).
  const target = '0000:01:00.0';
  const D = 'sys/devices/pci0000:00/0000:00:01.0/0000:01:00.0';
  const M = `/sys/bus/pci/devices/${target}`;
  type Tree = ReturnType<typeof pciTree>;
  type Diag = [DiagnosticCode, string];
  const file = (name: string, content: string) => (t: Tree) => void (t.files[`${D}/${name}`] = content);
  const edit = (name: string, change: (text: string) => string) => (t: Tree) =>
    void (t.files[`${D}/${name}`] = change(t.files[`${D}/${name}`]!));
  const remove = (name: string) => (t: Tree) => void delete t.files[`${D}/${name}`];
  const link = (path: string, to: string | null) => (t: Tree) =>
    void (to === null ? delete t.links[path] : (t.links[path] = to));
  const entry = `sys/bus/pci/devices/${target}`;
  const gone = '../../../devices/pci0000:00/0000:00:01.0/0000:01:00.7';
  const bad = (name: string): Diag[] => [['malformed', `${M}/${name}`]];
  const noClass = { class: null, subclass: null, progIf: null };
  const huge = `0x${'0'.repeat(10 << 20)}10de\n`;
  const sixLines = (r: string) => r.split('\n').slice(0, 6).join('\n') + '\n';
  const badBar0 = resource(13, [0, 0xddffffffn, 0xdc000000n, MEM32]).join('\n') + '\n';
  // A region counts only when its end is not 0; flags alone do not make a BAR.
  const flagsOnly = resource(7, [6, 0n, 0n, ROM_SHADOW])[6]!;
  const romWithoutRange = (r: string) => r.split('\n').map((line, i) => (i === 6 ? flagsOnly : line)).join('\n');
  const barsWithoutRom = ecsExpected.find((d) => d.slot === target)!.bars.filter((b) => b.kind !== 'rom');
  const chmod0 = (name: string) => (t: Tree) => void t.chmod0.push(`${D}/${name}`);

  // [case, mutation, changed fields of the target (null: dropped), diagnostics]
  const cases: [string, (t: Tree) => void, Partial<PciDevice> | null, Diag[]][] = [
    ['an empty vendor', file('vendor', '\n'), { vendor: null }, bad('vendor')],
    ['a zero-byte device', file('device', ''), { device: null }, bad('device')],
    ['a non-hex device', file('device', '0x12g4\n'), { device: null }, bad('device')],
    ['a vendor without 0x', file('vendor', '10de\n'), { vendor: null }, bad('vendor')],
    ['a five-digit vendor', file('vendor', '0x010de\n'), { vendor: null }, bad('vendor')],
    ['a short subsystem_device', file('subsystem_device', '0x89d\n'), { subdevice: null }, bad('subsystem_device')],
    ['a four-digit class', file('class', '0x0300\n'), noClass, bad('class')],
    ['a one-digit revision', file('revision', '0xa\n'), { revision: null }, bad('revision')],
    ['a boot_vga that is not 0 or 1', file('boot_vga', '2\n'), { bootVga: null }, bad('boot_vga')],
    ['a modalias with lower-case ids', edit('modalias', (m) => m.toLowerCase()), { modalias: null }, bad('modalias')],
    ['an empty modalias', file('modalias', '\n'), { modalias: null }, bad('modalias')],
    ['a missing vendor', remove('vendor'), { vendor: null }, [['missing', `${M}/vendor`]]],
    ['a missing class', remove('class'), noClass, [['missing', `${M}/class`]]],
    ['a missing revision (optional)', remove('revision'), { revision: null }, []],
    ['no driver bound', link(`${D}/driver`, null), { driver: null }, []],
    ['a driver link that loops', link(`${D}/driver`, 'driver'), { driver: null }, [['symlink-loop', `${M}/driver`]]],
    [
      'a driver link that leaves the root',
      link(`${D}/driver`, '../../../../../../../etc'),
      { driver: null },
      [['outside-root', `${M}/driver`]],
    ],
    [
      'an iommu_group link to a non-number',
      link(`${D}/iommu_group`, '../../../../kernel/iommu_groups/x'),
      { iommuGroup: null },
      bad('iommu_group'),
    ],
    ['a resource cut mid-line', edit('resource', (r) => r.slice(0, 100)), { bars: [] }, bad('resource')],
    ['a resource with six lines', edit('resource', sixLines), { bars: [] }, bad('resource')],
    ['a resource with end below start', file('resource', badBar0), { bars: [] }, bad('resource')],
    ['a ROM line with flags but no range', edit('resource', romWithoutRange), { bars: barsWithoutRom }, []],
    ['a device link that leaves the root', link(entry, '../../../../../../../etc'), null, [['outside-root', M]]],
    ['a device link that loops', link(entry, target), null, [['symlink-loop', M]]],
    ['a dangling device link', link(entry, gone), null, [['missing', M]]],
    [
      'an entry that is not a slot name',
      link('sys/bus/pci/devices/0000:01:00', `../../../devices/pci0000:00/0000:00:01.0/${target}`),
      {},
      [['malformed', '/sys/bus/pci/devices/0000:01:00']],
    ],
    ['a 10 MB vendor', file('vendor', huge), { vendor: null }, [['too-large', `${M}/vendor`]]],
    ['an unreadable (EACCES) vendor', chmod0('vendor'), { vendor: null }, [['unreadable', `${M}/vendor`]]],
    ['an unreadable (EACCES) resource', chmod0('resource'), { bars: [] }, [['unreadable', `${M}/resource`]]],
  ];

  it.each(cases)('survives %s', async (_name, mutate, changes, expectedDiagnostics) => {
    const tree = pciTree(ecsSys);
    mutate(tree);
    const r = reader(tree);
    const expected = ecsExpected.flatMap((d) => {
      if (d.slot !== target) return [d];
      return changes === null ? [] : [{ ...d, ...changes }];
    });
    expect(await probePci(r)).toEqual(expected);
    expect(diagnostics(r)).toEqual(expectedDiagnostics);
  });
});

describe('probePci on this machine', () => {
  const bus = '/sys/bus/pci/devices';
  it.skipIf(!existsSync(bus))('agrees with /sys read directly', async () => {
    const attr = (slot: string, name: string) => readFileSync(`${bus}/${slot}/${name}`, 'utf8').trim();
    const driver = (slot: string) => {
      try {
        return posix.basename(readlinkSync(`${bus}/${slot}/driver`));
      } catch {
        return null;
      }
    };
    const direct = readdirSync(bus)
      .sort()
      .map((slot) => {
        const cls = attr(slot, 'class');
        return {
          slot,
          vendor: attr(slot, 'vendor').slice(2),
          device: attr(slot, 'device').slice(2),
          class: [cls.slice(2, 4), cls.slice(4, 6), cls.slice(6, 8)],
          driver: driver(slot),
          modalias: attr(slot, 'modalias'),
        };
      });
    const r = new Reader({ fs: nodeFsPromises, root: '/' });
    const probed = await probePci(r);
    expect(
      probed.map((d) => ({
        slot: d.slot,
        vendor: d.vendor,
        device: d.device,
        class: [d.class, d.subclass, d.progIf],
        driver: d.driver,
        modalias: d.modalias,
      })),
    ).toEqual(direct);
    expect(direct.length).toBeGreaterThan(0);
    expect(r.diagnostics).toEqual([]);
  });
});

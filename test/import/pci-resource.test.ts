import { describe, expect, it } from 'vitest';
import type { PciBar } from '../../src/types.ts';
import {
  corpusFile,
  dataFile,
  fixtureSource,
  importFiles,
  importMachine,
  pciDevice,
  probeImport,
} from './_support.ts';

// Lines of the sysfs resource file: start end flags (drivers/pci/pci-sysfs.c resource_show()).
const ZERO = '0x0000000000000000 0x0000000000000000 0x0000000000000000';
const h = (v: number) => `0x${v.toString(16).padStart(16, '0')}`;
const res = (start: number, size: number, flags: number) => `${h(start)} ${h(start + size - 1)} ${h(flags)}`;
const file = (...lines: Array<string | undefined>) =>
  Array.from({ length: 7 }, (_, i) => lines[i] ?? ZERO).join('\n');
// The flags the kernel gives what it reads from a BAR (decode_bar() | IORESOURCE_SIZEALIGN) and a ROM.
const MEM32 = 0x40200;
const MEM32_PREF = 0x42208;
const MEM64 = 0x140204;
const MEM64_PREF = 0x14220c;
const IO = 0x40101;
const ROM_OFF = 0x46200;
const ROM_ON = 0x46201;
const LEGACY_IO = 0x110;
const K = 1024;
const M = 1024 * K;
const bar = (index: number, size: number, kind: PciBar['kind'], prefetchable = false, is64 = false) => ({
  index,
  size,
  kind,
  prefetchable,
  is64,
});

const T60 = () => fixtureSource('thinkpad-t60', 'lspci-vvnn.txt');
const NVIDIA = () => fixtureSource('intel-nvidia-laptop', 'lspci-vvnn.txt');

describe('PCI BARs from lspci -vv ("Region N: ...", "Expansion ROM at ...")', () => {
  it.each([
    [
      // Region 0-3 32-bit memory and I/O, "[virtual] Expansion ROM at 000c0000 [disabled] [size=128K]" (old form):
      // the shadowed video BIOS, which the kernel places itself.
      'thinkpad-t60 i915',
      T60,
      '0000:00:02.0',
      file(
        res(0xee100000, 512 * K, MEM32),
        res(0x1800, 8, IO),
        res(0xd0000000, 256 * M, MEM32_PREF),
        res(0xee200000, 256 * K, MEM32),
        undefined,
        undefined,
        res(0xc0000, 128 * K, 0x200),
      ),
      [
        bar(0, 512 * K, 'mem'),
        bar(1, 8, 'io'),
        bar(2, 256 * M, 'mem', true),
        bar(3, 256 * K, 'mem'),
        bar(6, 128 * K, 'rom'),
      ],
    ],
    [
      // An IDE controller in compatibility mode: the kernel's fixed legacy ports; two are one byte long, which
      // lspci shows without a size at the address rounded down to 4.
      'thinkpad-t60 IDE (legacy ports)',
      T60,
      '0000:00:1f.2',
      file(
        res(0x1f0, 8, LEGACY_IO),
        res(0x3f6, 1, LEGACY_IO),
        res(0x170, 8, LEGACY_IO),
        res(0x376, 1, LEGACY_IO),
        res(0x18b0, 16, IO),
      ),
      [bar(0, 8, 'io'), bar(1, 1, 'io'), bar(2, 8, 'io'), bar(3, 1, 'io'), bar(4, 16, 'io')],
    ],
    [
      // Old pciutils took the same legacy ports for "[virtual] Memory" ("type 3" for 0x3f6's low bits).
      'thinkpad-t42 IDE (legacy ports, old lspci)',
      () => fixtureSource('thinkpad-t42', 'lspci-vvnn.txt'),
      '0000:00:1f.1',
      file(
        res(0x1f0, 8, LEGACY_IO),
        res(0x3f6, 1, LEGACY_IO),
        res(0x170, 8, LEGACY_IO),
        res(0x376, 1, LEGACY_IO),
        res(0x1860, 16, IO),
        res(0x80000000, 1 * K, MEM32),
      ),
      [bar(0, 8, 'io'), bar(1, 1, 'io'), bar(2, 8, 'io'), bar(3, 1, 'io'), bar(4, 16, 'io'), bar(5, K, 'mem')],
    ],
    [
      'amd-apu-laptop RTL8111 (64-bit memory)',
      () => fixtureSource('amd-apu-laptop', 'lspci-vvnn.txt'),
      '0000:01:00.0',
      file(res(0x3000, 256, IO), undefined, res(0xe0a04000, 4 * K, MEM64), undefined, res(0xe0a00000, 16 * K, MEM64)),
      [bar(0, 256, 'io'), bar(2, 4 * K, 'mem', false, true), bar(4, 16 * K, 'mem', false, true)],
    ],
    [
      'amd-apu-laptop Renoir GPU (64-bit prefetchable)',
      () => fixtureSource('amd-apu-laptop', 'lspci-vvnn.txt'),
      '0000:05:00.0',
      file(
        res(0xd0000000, 256 * M, MEM64_PREF),
        undefined,
        res(0xe0000000, 2 * M, MEM64_PREF),
        undefined,
        res(0x2000, 256, IO),
        res(0xe0600000, 512 * K, MEM32),
      ),
      [
        bar(0, 256 * M, 'mem', true, true),
        bar(2, 2 * M, 'mem', true, true),
        bar(4, 256, 'io'),
        bar(5, 512 * K, 'mem'),
      ],
    ],
    [
      // "Expansion ROM at 000c0000 [virtual] [disabled] [size=128K]" (new form).
      'intel-nvidia-laptop i915 (virtual ROM, new form)',
      NVIDIA,
      '0000:00:02.0',
      file(
        res(0xeb000000, 16 * M, MEM64),
        undefined,
        res(0x80000000, 256 * M, MEM64_PREF),
        undefined,
        res(0x4000, 64, IO),
        undefined,
        res(0xc0000, 128 * K, 0x200),
      ),
      [
        bar(0, 16 * M, 'mem', false, true),
        bar(2, 256 * M, 'mem', true, true),
        bar(4, 64, 'io'),
        bar(6, 128 * K, 'rom'),
      ],
    ],
    [
      // "[disabled]": the command register has memory decoding off; the kernel's resource is the same.
      'intel-nvidia-laptop 00:08.0 (decoding disabled)',
      NVIDIA,
      '0000:00:08.0',
      file(res(0xed528000, 4 * K, MEM64)),
      [bar(0, 4 * K, 'mem', false, true)],
    ],
    [
      // "Memory at 7f800000 (64-bit, non-prefetchable) [virtual] [size=4K]": address space and type only.
      'intel-nvidia-laptop 00:15.0 (virtual BAR, new form)',
      NVIDIA,
      '0000:00:15.0',
      file(res(0x7f800000, 4 * K, 0x100204)),
      [bar(0, 4 * K, 'mem', false, true)],
    ],
    [
      // "Expansion ROM at 92000000 [disabled] [size=256K]": the ROM is not enabled.
      'server-iommu-bmc 01:00.0 (ROM disabled)',
      () => fixtureSource('server-iommu-bmc', 'lspci-vvnn.txt'),
      '0000:01:00.0',
      file(
        res(0x91b30000, 64 * K, MEM64_PREF),
        undefined,
        res(0x91b40000, 64 * K, MEM64_PREF),
        undefined,
        res(0x91b50000, 64 * K, MEM64_PREF),
        undefined,
        res(0x92000000, 256 * K, ROM_OFF),
      ),
      [
        bar(0, 64 * K, 'mem', true, true),
        bar(2, 64 * K, 'mem', true, true),
        bar(4, 64 * K, 'mem', true, true),
        bar(6, 256 * K, 'rom', true),
      ],
    ],
    [
      // An arm64 server: "Expansion ROM at e0c40000 [size=128K]" enabled, a 64-bit BAR above 4G.
      'Kunpeng W510 Radeon (ROM enabled)',
      () => corpusFile('server-arm64-huawei-kunpeng-w510-hwprobe-gh-kingfs', 'lspci_all'),
      '0000:01:00.0',
      file(
        `${h(0x80000000000)} ${h(0x80000000000 + 256 * M - 1)} ${h(MEM64_PREF)}`,
        undefined,
        res(0xe0c00000, 256 * K, MEM64),
        undefined,
        res(0x1000, 256, IO),
        undefined,
        res(0xe0c40000, 128 * K, ROM_ON),
      ),
      [
        bar(0, 256 * M, 'mem', true, true),
        bar(2, 256 * K, 'mem', false, true),
        bar(4, 256, 'io'),
        bar(6, 128 * K, 'rom', true),
      ],
    ],
    [
      // Its SR-IOV capability lists the virtual functions' BARs as "Region N:" one level deeper: not this device's.
      'Kunpeng W510 network controller (SR-IOV)',
      () => corpusFile('server-arm64-huawei-kunpeng-w510-hwprobe-gh-kingfs', 'lspci_all'),
      '0000:7d:00.0',
      file(res(0x120100000, 64 * K, MEM64_PREF), undefined, res(0x120000000, 1 * M, MEM64_PREF)),
      [bar(0, 64 * K, 'mem', true, true), bar(2, 1 * M, 'mem', true, true)],
    ],
  ])('%s: %s', async (_, log, slot, resource, bars) => {
    const result = await importFiles({ 'lspci.txt': log() });
    expect(pciDevice(result, slot).resource).toBe(resource);
    const profile = await probeImport(result);
    expect(profile.pci.find((d) => d.slot === slot)!.bars).toEqual(bars);
    expect(profile.diagnostics.filter((d) => d.path.endsWith('/resource'))).toEqual([]);
  });

  it('writes a resource file of zeros for a device whose verbose block shows no region', async () => {
    const result = await importFiles({ 'lspci.txt': T60() });
    expect(pciDevice(result, '0000:00:00.0').resource).toBe(file());
    expect(result.manifest.absent).not.toContain('pci.resources');
    expect(result.manifest.sources[0]!.used).toContain('pci.resources');
  });

  it('leaves a region without an address or a size unused, with a note', async () => {
    const server = await importFiles({ 'lspci.txt': fixtureSource('server-iommu-bmc', 'lspci-vvnn.txt') });
    expect(server.manifest.notes).toEqual(
      expect.arrayContaining([
        'lspci.txt:1013: 0000:03:00.0 ROM: address <ignored> not shown; left unused',
        'lspci.txt:1568: 0000:7f:1e.3 BAR 0: address <ignored> not shown; left unused',
        'pci.resources: unknown for 3 of 174 devices (no lspci -vv region list, or a region without address or size)',
      ]),
    );
    expect(server.manifest.absent).toContain('pci.resources');
    // "Expansion ROM at <unassigned> [disabled]"
    const atom = await importFiles({ 'lspci.txt': fixtureSource('atom-netbook', 'lspci-vvnn.txt') });
    expect(atom.manifest.notes).toContain(
      'lspci.txt:19: 0000:00:02.0 ROM: address <unassigned> not shown; left unused',
    );
    expect(pciDevice(atom, '0000:00:02.0').resource!.split('\n')[6]).toBe(ZERO);
    // Copied from a web page without the sizes: every region unknown.
    const noSizes = await importFiles({ 'lspci.txt': corpusFile('notebook-dell-inspiron_3442-gh-leegb', 'lspci.txt') });
    expect(noSizes.manifest.notes).toContain('lspci.txt:14: 0000:00:02.0 BAR 0: no size shown; left unused');
    expect((await probeImport(noSizes)).pci.find((d) => d.slot === '0000:00:02.0')!.bars).toEqual([]);
    // stderr mixed into the line: the region is there, its values are not.
    const spoilt = await importFiles({ 'lspci.txt': corpusFile('desktop-dell-inspiron_620-gh-jake5253', 'lspci.txt') });
    expect(spoilt.manifest.notes).toContain(
      'lspci.txt:419: 0000:03:00.0 BAR 0: not a region line as lspci prints it; left unused',
    );
  });

  it('takes no BAR from lspci -v, which does not number them, but the ROM and a device without any', async () => {
    const here = await importFiles({ 'lspci.txt': dataFile('this-machine-firecracker-kvm', 'logs/lspci-nv.txt') });
    expect(pciDevice(here, '0000:00:01.0').resource).toBeUndefined();
    expect(pciDevice(here, '0000:00:00.0').resource).toBe(file());
    expect(here.manifest.notes).toContain(
      'lspci.txt: lspci -v does not number the regions (-vv does): the BARs of 5 devices stay unknown',
    );
    expect(here.manifest.absent).toContain('pci.resources');
  });
});

describe('PCI BARs from /proc/bus/pci/devices (base addresses with flag bits, sizes)', () => {
  it.each([
    [
      // f0000004 (64-bit memory) 400000, e000000c (64-bit prefetchable) 10000000, 6111 (I/O) 8; the ROM column
      // "2" with size 0 is the shadow flag alone (old kernels): no region.
      'Latitude E4310 i915',
      () => dataFile('notebook-dell-latitude_e4310-ul', 'proc__bus__pci__devices'),
      '0000:00:02.0',
      file(
        res(0xf0000000, 4 * M, MEM64),
        undefined,
        res(0xe0000000, 256 * M, MEM64_PREF),
        undefined,
        res(0x6110, 8, IO),
      ),
      [bar(0, 4 * M, 'mem', false, true), bar(2, 256 * M, 'mem', true, true), bar(4, 8, 'io')],
    ],
    [
      // f5400000 (32-bit memory) 20000, f5470000 1000, 6021 (I/O) 20.
      'Latitude E4310 e1000e',
      () => dataFile('notebook-dell-latitude_e4310-ul', 'proc__bus__pci__devices'),
      '0000:00:19.0',
      file(res(0xf5400000, 128 * K, MEM32), res(0xf5470000, 4 * K, MEM32), res(0x6020, 32, IO)),
      [bar(0, 128 * K, 'mem'), bar(1, 4 * K, 'mem'), bar(2, 32, 'io')],
    ],
    [
      // 1f0/8, 3f6/0, 170/8, 376/0 with no I/O bit: the legacy IDE ports (sizes of one byte print as 0).
      'VirtualBox PIIX4 IDE (legacy ports)',
      () => fixtureSource('virtualbox-guest', 'proc__bus__pci__devices'),
      '0000:00:01.1',
      file(
        res(0x1f0, 8, LEGACY_IO),
        res(0x3f6, 1, LEGACY_IO),
        res(0x170, 8, LEGACY_IO),
        res(0x376, 1, LEGACY_IO),
        res(0xd000, 16, IO),
      ),
      [bar(0, 8, 'io'), bar(1, 1, 'io'), bar(2, 8, 'io'), bar(3, 1, 'io'), bar(4, 16, 'io')],
    ],
    [
      'VirtualBox guest service (32-bit prefetchable)',
      () => fixtureSource('virtualbox-guest', 'proc__bus__pci__devices'),
      '0000:00:04.0',
      file(res(0xd020, 32, IO), res(0xf0000000, 4 * M, MEM32), res(0xf0400000, 16 * K, MEM32_PREF)),
      [bar(0, 32, 'io'), bar(1, 4 * M, 'mem'), bar(2, 16 * K, 'mem', true)],
    ],
  ])('%s: %s', async (_, log, slot, resource, bars) => {
    const result = await importFiles({ devices: log() });
    expect(pciDevice(result, slot).resource).toBe(resource);
    const profile = await probeImport(result);
    expect(profile.pci.find((d) => d.slot === slot)!.bars).toEqual(bars);
    expect(profile.diagnostics.filter((d) => d.path.endsWith('/resource'))).toEqual([]);
  });

  it('gives every device a resource file', async () => {
    const result = await importMachine('notebook-dell-latitude_e4310-ul');
    expect(result.manifest.absent).not.toContain('pci.resources');
    expect(pciDevice(result, '0000:00:00.0').resource).toBe(file());
    expect(result.manifest.sources.find((s) => s.file === 'proc__bus__pci__devices')!.used).toContain('pci.resources');
  });
});

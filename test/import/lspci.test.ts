import { readFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseLspci } from '../../src/import/lspci.ts';
import {
  corpusFile,
  dataDir,
  dataFile,
  fixtureSource,
  importFiles,
  importMachine,
  pciDevice,
  pciSlots,
  probeImport,
} from './_support.ts';

const HERE = 'this-machine-firecracker-kvm';
// What this VM's sysfs says (data/this-machine-firecracker-kvm/sysfs-pci.txt): "<slot>/<attr>" -> value.
const truth = new Map(
  readFileSync(join(dataDir, HERE, 'sysfs-pci.txt'), 'utf8')
    .trim()
    .split('\n')
    .map((line) => {
      const m = /^([^/]+)\/(\w+)(?::|->)(.*)$/.exec(line)!;
      return [`${m[1]}/${m[2]}`, m[3]!] as const;
    }),
);
const SLOTS = ['0000:00:01.0', '0000:00:02.0', '0000:00:03.0', '0000:00:04.0', '0000:00:05.0'];
const each = (attrs: string[], slots = SLOTS) => slots.flatMap((s) => attrs.map((a) => `${s}/${a}`));
// 00:00.0 has subsystem 0000:0000, which lspci hides like ffff: only a hex dump shows it.
const hostSubsystem = ['0000:00:00.0/subsystem_vendor', '0000:00:00.0/subsystem_device', '0000:00:00.0/modalias'];
// /sys/bus/pci/devices/*/resource of this VM, read beside its lspci logs (kernel 6.18.44, no CONFIG_PCI_IOV: 7
// lines): the host bridge has no BAR, the virtio functions one 64-bit 512K memory BAR each.
const ZERO = '0x0000000000000000 0x0000000000000000 0x0000000000000000';
const resource = (bar0: string) => [bar0, ...Array<string>(6).fill(ZERO)].join('\n');
const resourceTruth = new Map([
  ['0000:00:00.0/resource', resource(ZERO)],
  ...SLOTS.map((slot, i) => {
    const start = 0x4000000000 + i * 0x80000;
    const bar0 = `0x${start.toString(16).padStart(16, '0')} 0x${(start + 0x7ffff).toString(16).padStart(16, '0')} ` +
      '0x0000000000140204';
    return [`${slot}/resource`, resource(bar0)] as const;
  }),
]);

describe('lspci output of this machine against its own sysfs', () => {
  it.each<[string, string, string[], string[]?]>([
    // file, detected format, what the output cannot tell; resource files only from -v and -vv
    ['lspci-nnvvvxxxk.txt', 'lspci -vnnk', [], [...resourceTruth.keys()]],
    ['lspci-nnk.txt', 'lspci -nnk', [...each(['class', 'modalias']), '0000:00:00.0/class', ...hostSubsystem]],
    // -v lists the BARs in use without their numbers: only the host bridge, which has none, gets the file.
    ['lspci-nv.txt', 'lspci -vnk', hostSubsystem, ['0000:00:00.0/resource']],
    ['lspci-vmmnnk.txt', 'lspci -vmm', hostSubsystem],
    [
      'lspci-n.txt',
      'lspci -n',
      [
        ...each(['class', 'modalias', 'subsystem_vendor', 'subsystem_device', 'driver']),
        '0000:00:00.0/class',
        ...hostSubsystem,
      ],
    ],
    ['lspci-mmnn.txt', 'lspci -mm', [...each(['driver']), ...hostSubsystem]],
    ['lspci-vmnn.txt', 'lspci -vm', [...each(['driver']), ...hostSubsystem]],
    ['lspci-vmmn.txt', 'lspci -vmm', [...each(['driver']), ...hostSubsystem]],
  ])('%s (%s) states exactly the sysfs values, minus what it cannot know', async (file, format, unknown, stated) => {
    const result = await importFiles({ [file]: dataFile(HERE, join('logs', file)) });
    expect(result.manifest.sources.map((s) => s.format)).toEqual([format]);
    expect(result.issues).toEqual([]);
    const got = new Map<string, string>();
    for (const slot of pciSlots(result)) {
      for (const [attr, value] of Object.entries(pciDevice(result, slot))) got.set(`${slot}/${attr}`, value);
    }
    const expected = new Map<string, string>([...truth].filter(([key]) => !unknown.includes(key)));
    for (const key of stated ?? []) expected.set(key, resourceTruth.get(key)!);
    expect(Object.fromEntries(got)).toEqual(Object.fromEntries(expected));
  });
});

describe('lspci -vvnn (linux-hardware.org excerpts)', () => {
  it('gives the ThinkPad T60 its i915 GPU with the modalias the kernel composes', async () => {
    const result = await importMachine('notebook-lenovo-thinkpad_t60-F815AEE35E');
    expect(pciSlots(result)).toHaveLength(20);
    expect(pciDevice(result, '0000:00:02.0')).toEqual({
      vendor: '0x8086',
      device: '0x27a2',
      subsystem_vendor: '0x17aa',
      subsystem_device: '0x201a',
      class: '0x030000',
      revision: '0x03',
      modalias: 'pci:v00008086d000027A2sv000017AAsd0000201Abc03sc00i00',
      driver: 'i915',
    });
    expect(result.tree.dirs).toContain('sys/bus/pci/drivers/i915');
    expect(result.tree.links['sys/bus/pci/devices/0000:00:02.0']).toBe('../../../devices/pci0000:00/0000:00:02.0');
  });

  it.each([
    // "SATA Controller [IDE mode] [8086:27c4]": the ids are the LAST bracket group
    [
      'notebook-lenovo-thinkpad_t60-F815AEE35E',
      '0000:00:1f.2',
      { vendor: '0x8086', device: '0x27c4', class: '0x010180', driver: 'ata_piix' },
    ],
    // "C79 [GeForce 9400M] [10de:0863]"
    [
      'notebook-apple-macbookpro5_5-9F7081CC76',
      '0000:02:00.0',
      {
        vendor: '0x10de',
        device: '0x0863',
        subsystem_vendor: '0x106b',
        subsystem_device: '0x00b9',
        class: '0x030000',
        revision: '0xb1',
        driver: 'nouveau',
      },
    ],
    // "(rev e2) (prog-if 01 [Subtractive decode])", no driver line: no driver link
    [
      'notebook-lenovo-thinkpad_t60-F815AEE35E',
      '0000:00:1e.0',
      { vendor: '0x8086', device: '0x2448', class: '0x060401', revision: '0xe2' },
    ],
  ])('%s %s', async (machine, slot, expected) => {
    const device = pciDevice(await importMachine(machine), slot);
    expect(device).toMatchObject(expected);
    if (!('driver' in expected)) expect(device.driver).toBeUndefined();
  });

  it('leaves the subsystem and modalias of a bridge without a Subsystem line unknown', async () => {
    const bridge = pciDevice(await importMachine('notebook-lenovo-thinkpad_t60-F815AEE35E'), '0000:00:1c.0');
    expect(bridge).toEqual({
      vendor: '0x8086',
      device: '0x27d0',
      class: '0x060400',
      revision: '0x02',
      driver: 'pcieport',
    });
  });
});

describe('lspci input that is damaged or incomplete', () => {
  const t60 = dataFile('notebook-lenovo-thinkpad_t60-F815AEE35E', 'lspci.excerpt.txt');

  it('reads CRLF line ends like LF ones', async () => {
    const lf = await importFiles({ 'lspci.txt': t60 });
    const crlf = await importFiles({ 'lspci.txt': t60.replace(/\n/g, '\r\n') });
    const withoutManifest = (files: Record<string, string>) =>
      Object.fromEntries(Object.entries(files).filter(([p]) => p !== 'autoconfig-snapshot.json'));
    expect(withoutManifest(crlf.tree.files)).toEqual(withoutManifest(lf.tree.files));
    expect(crlf.tree.links).toEqual(lf.tree.links);
    expect(crlf.manifest.notes).toContain('lspci.txt: CR/LF line ends read as LF');
  });

  it('keeps the devices before a cut and skips the cut header line with an issue', async () => {
    const cut = t60.indexOf('00:1f.2 IDE interface') + 'IDE interface [0101]: Intel Corporation 82801GBM/GHM'.length;
    const result = await importFiles({ 'lspci.txt': t60.slice(0, cut + 8) });
    expect(pciSlots(result)).toEqual(
      pciSlots(await importFiles({ 'lspci.txt': t60 })).filter((s) => s < '0000:00:1f.2'),
    );
    expect(result.issues).toEqual([
      {
        file: 'lspci.txt',
        line: 65,
        message: '00:1f.2: no numeric [vendor:device] id (lspci without -n/-nn); skipped',
      },
    ]);
  });

  it('skips every device of an lspci run without -nn, one issue per header line', () => {
    const text = dataFile('notebook-lenovo-legion_y520-15ikbn-gh-sergeyklay', 'lspci');
    const parsed = parseLspci(text, 'lspci');
    const headers = text.split('\n').flatMap((l, i) => (/^[0-9a-f]{2}:[0-9a-f]{2}\.[0-7] /.test(l) ? [i + 1] : []));
    expect(headers).toHaveLength(20);
    expect(parsed.issues.map((i) => i.line)).toEqual(headers);
    // What the slot still tells (revision, driver) waits for ids from another log; nothing has ids here.
    expect(parsed.pci.every((r) => r.vendor === undefined)).toBe(true);
    expect(parsed.pci.find((r) => r.slot === '0000:00:02.0')).toMatchObject({ revision: '04', driver: 'i915' });
  });
});

describe('lspci -xxx hex dumps (shared corpus, read in place)', () => {
  it('takes a bridge subsystem of 0000:0000 from a capability list without SSVID', () => {
    const parsed = parseLspci(corpusFile('server-huananzhi-x99-bd4-autoport-gh-mrartemsid', 'lspci.log'), 'lspci.log');
    // Header type 01; capabilities 48 (vendor) -> 50 (PM) -> 58 (Express) -> a0 (MSI) -> end.
    expect(parsed.pci.find((r) => r.slot === '0000:03:00.0')).toMatchObject({
      vendor: '1002',
      device: '1478',
      class: '060400',
      revision: 'c3',
      subvendor: '0000',
      subdevice: '0000',
    });
  });

  it('does not use a dump of all ones (a powered-down function)', () => {
    const parsed = parseLspci(
      corpusFile('notebook-dell-latitude_e6430-nvs5200m-autoport-gh-jneumann', 'lspci.log'),
      'lspci.log',
    );
    expect(parsed.pci.find((r) => r.slot === '0000:01:00.1')).toMatchObject({
      vendor: '10de',
      device: '0bea',
      class: '0403ff',
    });
    expect(parsed.notes).toContain(
      'lspci.log:2843: 0000:01:00.1 hex dump reads all ones (device not answering); not used',
    );
  });
});

describe('IOMMU groups (lspci -vv "IOMMU group: N", -v "Flags: ..., IOMMU group N", -vmm "IOMMUGroup:")', () => {
  const LEGION = 'notebook-lenovo-legion_y520-15ikbn-gh-sergeyklay';
  const vmm = dataFile(HERE, 'logs/lspci-vmmnnk.txt').replace('Slot:\t00:03.0\n', 'Slot:\t00:03.0\nIOMMUGroup:\t3\n');
  it.each([
    // name, slot, its group (the log line), how many distinct groups the log names, the logs
    ['amd-apu-laptop -vvnn', '0000:01:00.0', 9, 13, { l: fixtureSource('amd-apu-laptop', 'lspci-vvnn.txt') }],
    ['amd-apu-laptop -vvnn', '0000:05:00.0', 6, 13, { l: fixtureSource('amd-apu-laptop', 'lspci-vvnn.txt') }],
    [
      'desktop ECS H310CH5 -vvxxx',
      '0000:00:00.0',
      0,
      8,
      { l: corpusFile('desktop-ecs-h310ch5-m2-autoport-gh-ytec', 'lspci.log') },
    ],
    // lspci -v without -nn: the groups join the ids the kernel log gives the same slots.
    ['Legion Y520 -v', '0000:00:01.0', 2, 15, { l: dataFile(LEGION, 'lspci'), d: dataFile(LEGION, 'dmesg') }],
    ['this machine -vmmnnk, one IOMMUGroup tag added', '0000:00:03.0', 3, 1, { l: vmm }],
  ])('%s: %s is in group %i', async (_, slot, group, groups, logs) => {
    const result = await importFiles(logs);
    const link = `sys/devices/pci0000:00/${slot}/iommu_group`;
    expect(result.tree.links[link]).toBe(`../../../kernel/iommu_groups/${group}`);
    expect(posix.normalize(posix.join(posix.dirname(link), result.tree.links[link]!))).toBe(
      `sys/kernel/iommu_groups/${group}`,
    );
    expect(result.tree.dirs).toContain(`sys/kernel/iommu_groups/${group}`);
    expect(result.tree.links[`sys/kernel/iommu_groups/${group}/devices/${slot}`]).toBe(
      `../../../../devices/pci0000:00/${slot}`,
    );
    expect(result.manifest.absent).not.toContain('pci.iommu_group');
    const profile = await probeImport(result);
    expect(profile.pci.find((d) => d.slot === slot)!.iommuGroup).toBe(group);
    expect(profile.firmware.iommu.groups).toBe(groups);
    expect(profile.diagnostics.filter((d) => d.code !== 'missing')).toEqual([]);
  });

  it('leaves a device without a group line out of every group (the AMD IOMMU function itself)', async () => {
    const result = await importFiles({ l: fixtureSource('amd-apu-laptop', 'lspci-vvnn.txt') });
    expect(result.tree.links['sys/devices/pci0000:00/0000:00:00.2/iommu_group']).toBeUndefined();
    expect(result.manifest.sources[0]!.used).toContain('pci.iommu_group');
    expect(result.manifest.notes).toContain(
      'sys/kernel/iommu_groups: the 13 groups of the PCI devices listed; groups holding only other devices are unknown',
    );
  });

  it('gives no group where the log shows none, and says so', async () => {
    const result = await importFiles({ l: fixtureSource('thinkpad-t60', 'lspci-vvnn.txt') });
    expect(Object.keys(result.tree.links).filter((l) => l.includes('iommu'))).toEqual([]);
    expect(result.manifest.absent).toContain('pci.iommu_group');
    expect((await probeImport(result)).firmware.iommu.groups).toBe(0);
  });

  it('refuses a group that is not a number', async () => {
    const result = await importFiles({ l: vmm.replace('IOMMUGroup:\t3', 'IOMMUGroup:\t../3') });
    expect(result.issues).toEqual([{ file: 'l', line: 27, message: 'IOMMU group "../3" is not a group number' }]);
    expect(Object.keys(result.tree.links).filter((l) => l.includes('iommu'))).toEqual([]);
  });
});

// Conditions against real machines (fixtures/<name>/profile.json) and kmod's matches for them from the shipped
// reference kernel: which devices match, and the evidence a match reports.
import { describe, expect, it } from 'vitest';
import { parseCheatcodes } from '../../src/rules/cheatcodes.ts';
import { conditionContext, evaluateCondition, parseSize, type ContextInput } from '../../src/rules/conditions.ts';
import type { Condition, FactValue, IdList, Target } from '../../src/rules/types.ts';
import type { HardwareProfile } from '../../src/types.ts';
import { fixtureDrivers, fixtureProfile, load } from './_support.ts';

const XEN_4 = { xen: '4.17.3', arch: null } satisfies Target;
const gfxList: IdList = {
  name: 'intel-integrated-graphics',
  pci: ['8086:27a2', '8086:2a42', '8086:3e9b'],
  usb: [],
  pos: { file: 't.yaml', line: 1, column: 1 },
};
const hubs: IdList = { name: 'linux-root-hubs', pci: [], usb: ['1d6b:*'], pos: { file: 't.yaml', line: 2, column: 1 } };

async function ctxFor(profile: HardwareProfile, extra: Partial<ContextInput> = {}) {
  return conditionContext({
    profile,
    drivers: await fixtureDrivers(profile),
    target: XEN_4,
    cheatcodes: parseCheatcodes(profile.cmdline),
    lists: [gfxList, hubs],
    ...extra,
  });
}

async function run(fixture: string | HardwareProfile, c: Condition, extra: Partial<ContextInput> = {}) {
  const profile = typeof fixture === 'string' ? fixtureProfile(fixture) : fixture;
  return evaluateCondition(c, await ctxFor(profile, extra));
}

describe('pci', () => {
  it.each<[string, Condition, string[]]>([
    ['thinkpad-t60', { pci: { vendor: '8086', device: '27a2' } }, ['0000:00:02.0']],
    ['thinkpad-t60', { pci: { slot: '00:02.0' } }, ['0000:00:02.0']],
    ['thinkpad-t60', { pci: { slot: '0000:00:02.0' } }, ['0000:00:02.0']],
    ['thinkpad-t60', { pci: { class: '03' } }, ['0000:00:02.0', '0000:00:02.1']],
    ['thinkpad-t60', { pci: { class: '03', subclass: '00' } }, ['0000:00:02.0']],
    ['thinkpad-t60', { pci: { list: 'intel-integrated-graphics' } }, ['0000:00:02.0']],
    ['thinkpad-t60', { pci: { driver: 'i915' } }, ['0000:00:02.0']],
    // sysfs names the driver ehci-pci, the module is ehci_pci: kmod treats them alike, so do we.
    ['thinkpad-t60', { pci: { driver: 'ehci_pci' } }, ['0000:00:1d.7']],
    ['thinkpad-t60', { pci: { driver: 'none' } }, ['0000:00:00.0', '0000:00:02.1', '0000:00:1e.0']],
    ['thinkpad-t60', { pci: { candidate: 'ata_generic' } }, ['0000:00:1f.2']],
    ['thinkpad-t60', { pci: { modalias: 'pci:v00008086d*bc03sc00*' } }, ['0000:00:02.0']],
    ['thinkpad-t60', { pci: { vendor: ['168c', '104c'] } }, ['0000:03:00.0', '0000:15:00.0']],
    ['thinkpad-t60', { pci: { vendor: '10de' } }, []],
    ['desktop-amd-gpu', { pci: { candidate: ['amdgpu'] } }, ['0000:01:00.0']],
    ['intel-nvidia-laptop', { pci: { list: 'intel-integrated-graphics', class: '03' } }, ['0000:00:02.0']],
    ['kvm-guest', { pci: {} }, []],
  ])('%s %j -> %j', async (fixture, c, devices) => {
    const r = await run(fixture, c);
    expect(r.match).toBe(devices.length > 0);
    expect(r.devices).toEqual(devices);
  });

  it('says what matched', async () => {
    const r = await run('thinkpad-t60', { pci: { list: 'intel-integrated-graphics', slot: '00:02.0', candidate: 'i915' } });
    expect(r.evidence).toEqual(['pci 0000:00:02.0 [8086:27a2] at 0000:00:02.0, in list intel-integrated-graphics, kmod candidate i915']);
  });
});

describe('usb', () => {
  it.each<[Condition, string[]]>([
    [{ usb: { vendor: '1d6b', product: '0002' } }, ['1-0:1.0']],
    [{ usb: { class: '09' } }, ['1-0:1.0', '2-0:1.0', '3-0:1.0', '4-0:1.0', '5-0:1.0']],
    [{ usb: { list: 'linux-root-hubs', product: '0001' } }, ['2-0:1.0', '3-0:1.0', '4-0:1.0', '5-0:1.0']],
    // Its lsusb log names no drivers (bindingUnknown: usb): neither `none` nor a driver holds; see below.
    [{ usb: { candidate: 'usbcore', driver: 'none' } }, []],
    [{ usb: { modalias: 'usb:v1D6Bp0002*' } }, ['1-0:1.0']],
    [{ usb: { class: '03' } }, []],
  ])('thinkpad-t60 %j -> %j', async (c, devices) => {
    const r = await run('thinkpad-t60', c);
    expect(r.devices).toEqual(devices);
    expect(r.match).toBe(devices.length > 0);
  });
});

describe('driver: where the binding is unknown, neither a driver nor none holds', () => {
  // Every fixture whose import manifest says its logs name no USB drivers, as imported and with that statement taken
  // away (what sysfs would say of a live machine whose interfaces had no driver: unbound).
  const imported = ['amd-apu-laptop', 'atom-netbook', 'thinkpad-t60', 'server-iommu-bmc'];
  it.each(imported)('%s: usb driver none matches no interface as imported, every unbound one once known', async (name) => {
    const profile = fixtureProfile(name);
    expect(profile.bindingUnknown).toEqual(['usb']);
    const unbound = profile.usb.flatMap((u) => u.interfaces.filter((i) => i.driver === null).map((i) => i.path));
    expect(unbound.length).toBeGreaterThan(0);
    for (const c of [{ usb: { driver: 'none' } }, { usb: { driver: 'usbhid' } }, { usb: { driver: ['none', 'hub'] } }] satisfies Condition[]) {
      expect((await run(profile, c)).match).toBe(false);
    }
    const { bindingUnknown: _, ...known } = profile;
    expect((await run(known, { usb: { driver: 'none' } })).devices).toEqual(unbound);
  });

  it('pci is known in those imports (lspci -k): driver none still matches the unbound functions', async () => {
    const profile = fixtureProfile('amd-apu-laptop');
    const unbound = profile.pci.filter((d) => d.driver === null).map((d) => d.slot);
    expect((await run(profile, { pci: { driver: 'none' } })).devices).toEqual(unbound);
    expect((await run({ ...profile, bindingUnknown: ['usb', 'pci'] }, { pci: { driver: 'none' } })).match).toBe(false);
  });
});

describe('cpu, memory, dmi, firmware, hypervisor', () => {
  it.each<[string, Condition, boolean]>([
    // ThinkPad T60: Core Duo T2400, VT-x, 32-bit only.
    ['thinkpad-t60', { cpu: { flags: ['vmx', 'pae'], lacks: ['lm'] } }, true],
    // vmx under kernel 4.9, which shows it whatever the firmware did: unverified, not enabled.
    ['thinkpad-t60', { cpu: { longMode: false, vt: 'unverified' } }, true],
    ['thinkpad-t60', { cpu: { vt: 'enabled' } }, false],
    ['intel-nvidia-laptop', { cpu: { vt: 'enabled' } }, true], // vmx under 5.8, which would have cleared it
    ['thinkpad-t60', { cpu: { vendor: 'GenuineIntel', family: 6, model: { min: 14, max: 14 } } }, true],
    ['thinkpad-t60', { cpu: { model: { min: 15 } } }, false],
    ['thinkpad-t60', { cpu: { modelName: '*T2400*' } }, true],
    ['thinkpad-t60', { cpu: { vendor: ['AuthenticAMD'] } }, false],
    // atom-netbook has no flags line, only what its lscpu's op-mode and Virtualization lines say: no lm, vmx, svm.
    // "lacks" holds for those and must not read any other unknown flag as absent.
    ['atom-netbook', { cpu: { lacks: ['vmx', 'svm', 'lm'] } }, true],
    ['atom-netbook', { cpu: { lacks: ['pae'] } }, false],
    ['atom-netbook', { cpu: { lacks: ['vmx', 'pae'] } }, false],
    ['atom-netbook', { cpu: { flags: ['lm'] } }, false],
    ['atom-netbook', { cpu: { vt: ['absent'], longMode: false } }, true],
    ['xen-hvm-guest', { cpu: { lacks: ['vmx'] } }, false], // no cpuinfo at all
    ['xen-hvm-guest', { cpu: { vt: 'unknown', longMode: null } }, true],
    ['vt-disabled', { cpu: { vt: 'disabled-by-firmware' } }, true],
    ['firecracker-vm', { cpu: { vt: 'absent', flags: ['hypervisor', 'lm'] } }, true],
    // HAP: the i7-9750H lists ept; the Core 2 P7550 lists tpr_shadow/vnmi/flexpriority but no ept (Penryn has none);
    // the T60's kernel lists no synthetic VMX flag at all, so its missing ept says nothing.
    ['intel-nvidia-laptop', { cpu: { hap: 'present' } }, true],
    ['amd-apu-laptop', { cpu: { hap: ['present'], vt: 'unverified' } }, true],
    ['macbookpro5-5', { cpu: { hap: 'absent', vt: 'unverified' } }, true],
    ['macbookpro5-5', { cpu: { hap: ['present', 'unknown'] } }, false],
    // Its kernel lists none of ept's kind, but its Yonah says no EPT (cpu.ts modelHap).
    ['thinkpad-t60', { cpu: { hap: 'absent' } }, true],
    ['thinkpad-t60', { cpu: { hap: 'unknown' } }, false],
    // Xen lists hvm-* with or without HAP; the Dom0's Merom model has none.
    ['xen-dom0', { cpu: { hap: 'absent', vt: 'enabled' } }, true],
    ['kvm-guest', { cpu: { hap: 'unknown' } }, true],
    // firecracker-vm: MemTotal 24683656 kB (23.5 GiB).
    ['firecracker-vm', { memory: { min: '16G', max: '24G' } }, true],
    ['firecracker-vm', { memory: { min: '24G' } }, false],
    // MemTotal unknown; its dmidecode lists 1024 MB + 2048 MB of modules, which stand in for it, a size equal to a
    // bound counting as below it (MemTotal is a little lower).
    ['thinkpad-t60', { memory: { min: '1K' } }, true],
    ['thinkpad-t60', { memory: { min: '2G', max: '3G' } }, true],
    ['thinkpad-t60', { memory: { min: '3G' } }, false],
    ['thinkpad-t60', { memory: { max: '3G' } }, true],
    ['virtualbox-guest', { memory: { min: '1K' } }, false], // neither MemTotal nor modules: no size condition holds
    ['thinkpad-t60', { dmi: { sysVendor: 'LENOVO', productVersion: 'ThinkPad T6?' } }, true],
    ['thinkpad-t60', { dmi: { chassisType: ['9', '10'] } }, true],
    ['firecracker-vm', { dmi: { sysVendor: '*' } }, false], // no DMI at all
    ['firecracker-vm', { firmware: { acpi: ['APIC', 'MCFG'], efi: false, iommu: false } }, true],
    ['firecracker-vm', { firmware: { acpi: ['DMAR'] } }, false],
    // No log of the T60 tells EFI from BIOS or lists ACPI tables: unknown matches neither way.
    ['thinkpad-t60', { firmware: { efi: false } }, false],
    ['thinkpad-t60', { firmware: { efi: true } }, false],
    ['thinkpad-t60', { firmware: { iommu: false } }, false],
    ['thinkpad-t60', { firmware: { iommu: true } }, false],
    ['thinkpad-t60', { not: { firmware: { efi: true } } }, true], // `not` of a condition that fails holds
    // The ProBook's lspci lists 13 IOMMU groups: the kernel drove an IOMMU, whatever the unknown tables say.
    ['amd-apu-laptop', { firmware: { iommu: true } }, true],
    ['amd-apu-laptop', { firmware: { iommu: false } }, false],
    ['firecracker-vm', { firmware: { efiBits: 64 } }, false],
    ['xen-dom0', { hypervisor: { role: 'dom0', nested: false, xenHvm: true, detected: 'Xen' } }, true],
    ['xen-pv-guest', { hypervisor: { role: ['xen-pv', 'xen-hvm'], nested: true } }, true],
    ['firecracker-vm', { hypervisor: { detected: 'kvm', nested: true } }, true],
    // No Xen capabilities list at all: unknown, so neither xenHvm value holds.
    ['firecracker-vm', { hypervisor: { xenHvm: false } }, false],
    ['firecracker-vm', { hypervisor: { xenHvm: true } }, false],
    ['thinkpad-t60', { hypervisor: { role: 'bare-metal', nested: false } }, true],
    ['thinkpad-t60', { hypervisor: { detected: 'kvm' } }, false],
  ])('%s %j: %s', async (fixture, c, match) => {
    expect((await run(fixture, c)).match).toBe(match);
  });

  it('reports the facts behind a match', async () => {
    expect((await run('thinkpad-t60', { cpu: { flags: ['vmx'], lacks: ['lm'], vt: 'unverified', longMode: false } })).evidence).toEqual([
      'cpu flags vmx',
      'cpu lacks lm',
      'cpu vt unverified (vmx)',
      'cpu long mode no',
    ]);
    expect((await run('firecracker-vm', { memory: { min: '16G' } })).evidence).toEqual(['memory 24105 MiB (>= 16G)']);
    expect((await run('macbookpro5-5', { cpu: { hap: 'absent' } })).evidence).toEqual([
      'cpu hap absent (ept): no ept although this kernel lists its kind (tpr_shadow, vnmi, flexpriority)',
    ]);
    expect((await run('thinkpad-t60', { memory: { max: '3G' } })).evidence).toEqual([
      'memory installed (SMBIOS; MemTotal is a little lower) 3072 MiB (<= 3G)',
    ]);
    expect((await run('xen-dom0', { hypervisor: { xenHvm: true } })).evidence).toEqual(['Xen offers hvm-3.0-x86_32 hvm-3.0-x86_32p hvm-3.0-x86_64']);
  });

  it('sees an IOMMU when firmware describes one', async () => {
    // server-iommu-bmc's import carries no ACPI table list; the same machine as the kernel would show DMAR.
    const server = fixtureProfile('server-iommu-bmc');
    expect((await run(server, { firmware: { iommu: true } })).match).toBe(false);
    const withDmar = { ...server, firmware: { ...server.firmware, acpiTables: ['DMAR'], iommu: { ...server.firmware.iommu, dmar: true } } };
    expect((await run(withDmar, { firmware: { iommu: true, acpi: ['DMAR'] } })).evidence).toEqual(['IOMMU described by ACPI DMAR', 'ACPI tables DMAR']);
  });
});

describe('target, cheatcodes, facts', () => {
  it.each<[Target, Condition, boolean]>([
    [{ xen: '3.0.2', arch: null }, { target: { xen: '>=3.0.3' } }, false],
    [{ xen: '3.0.3', arch: null }, { target: { xen: '>=3.0.3' } }, true],
    [{ xen: '3.0.2', arch: null }, { target: { xen: '>=3.0.2 <3.0.3' } }, true],
    [{ xen: '4.17', arch: null }, { target: { xen: '<4.19' } }, true],
    [{ xen: '4.17', arch: 'x86_32' }, { target: { arch: 'x86_32' } }, true],
    [{ xen: '4.17', arch: null }, { target: { arch: ['x86_64', 'x86_32'] } }, false], // nothing chose one yet
  ])('target %j %j: %s', async (target, c, match) => {
    expect((await run('thinkpad-t60', c, { target })).match).toBe(match);
  });

  it('reads the architecture the rules chose when none is forced', async () => {
    const facts = new Map<string, FactValue>([['arch.xen', 'x86_32']]);
    const r = await run('thinkpad-t60', { target: { arch: 'x86_32' } }, { facts });
    expect(r.evidence).toEqual(['target arch x86_32 (fact arch.xen)']);
    expect((await run('thinkpad-t60', { target: { arch: 'x86_32' } }, { facts, target: { xen: '4.17', arch: 'x86_64' } })).match).toBe(false);
  });

  it('compares the Dom0 kernel', async () => {
    // firecracker-vm runs 6.18.44-fc-v769.
    expect((await run('firecracker-vm', { target: { kernel: '>=6.1 <7' } })).evidence).toEqual(['Dom0 kernel 6.18.44-fc-v769 (>=6.1 <7)']);
    expect((await run('firecracker-vm', { target: { kernel: '<6.18.44' } })).match).toBe(false);
    // The T60's release comes from its USB root hubs' iManufacturer (4.9.124-nrj-desktop-1rosa-i586).
    expect((await run('thinkpad-t60', { target: { kernel: '>=4.9 <4.10' } })).match).toBe(true);
    expect((await run('thinkpad-t42', { target: { kernel: '>=2.6' } })).match).toBe(false); // release unknown
  });

  it('matches whole boot-line tokens of the real firecracker command line', async () => {
    expect((await run('firecracker-vm', { cheatcode: 'quiet' })).evidence).toEqual(['boot line quiet']);
    expect((await run('firecracker-vm', { cheatcode: { console: 'ttyS*' } })).evidence).toEqual(['boot line console=ttyS0']);
    expect((await run('firecracker-vm', { cheatcode: [{ console: 'tty0' }, 'nomodule'] })).evidence).toEqual(['boot line nomodule']);
    expect((await run('firecracker-vm', { cheatcode: { console: 'ttyS0', panic: '1' } })).match).toBe(true);
    expect((await run('firecracker-vm', { cheatcode: { console: 'ttyS0', panic: '0' } })).match).toBe(false);
    expect((await run('firecracker-vm', { cheatcode: 'console' })).match).toBe(true);
    expect((await run('firecracker-vm', { cheatcode: { quiet: '*' } })).match).toBe(false); // a flag has no value
    expect((await run('firecracker-vm', { cheatcode: 'quie' })).match).toBe(false);
    // After "--" the words are init's, not the kernel's.
    expect((await run('firecracker-vm', { cheatcode: '--auth-required' })).match).toBe(false);
  });

  it('tests facts by truthiness and by value; unset reads as null', async () => {
    const facts = new Map<string, FactValue>([
      ['hvm.available', true],
      ['hvm.technology', 'vmx'],
      ['safe', false],
    ]);
    const t = async (c: Condition) => (await run('thinkpad-t60', c, { facts })).match;
    expect(await t({ fact: 'hvm.available' })).toBe(true);
    expect(await t({ fact: 'safe' })).toBe(false);
    expect(await t({ fact: { 'hvm.technology': 'vmx', 'hvm.available': true } })).toBe(true);
    expect(await t({ fact: { 'hvm.technology': 'svm' } })).toBe(false);
    expect(await t({ fact: [{ 'hvm.technology': 'svm' }, 'hvm.available'] })).toBe(true);
    expect(await t({ fact: { 'uma.present': null } })).toBe(true);
  });
});

describe('combinations', () => {
  it('all/any collect the devices of every matching part; not gives none', async () => {
    const r = await run('thinkpad-t60', {
      any: [{ pci: { class: '03', subclass: '00' } }, { pci: { vendor: '168c' } }, { pci: { vendor: '10de' } }],
      not: { cpu: { flags: ['lm'] } },
      all: [{ pci: { driver: 'e1000e' } }, {}],
    });
    expect(r.match).toBe(true);
    expect(r.devices).toEqual(['0000:02:00.0', '0000:00:02.0', '0000:03:00.0']);
    expect(r.evidence).toEqual([
      'pci 0000:02:00.0 [8086:109a] driver e1000e',
      'pci 0000:00:02.0 [8086:27a2] class 03, subclass 00',
      'pci 0000:03:00.0 [168c:1014]',
      'not {"cpu":{"flags":["lm"]}}',
    ]);
  });

  it('every key of a mapping must hold', async () => {
    expect((await run('thinkpad-t60', { pci: { class: '03' }, cpu: { flags: ['lm'] } })).match).toBe(false);
    expect((await run('thinkpad-t60', { any: [] })).match).toBe(false);
    expect((await run('thinkpad-t60', { all: [] })).match).toBe(true);
    expect((await run('thinkpad-t60', {})).match).toBe(true);
  });

  it('evaluates conditions as lint normalized them from YAML (upper-case IDs, short slots)', async () => {
    const { files, issues } = await load({ 'a.yaml': 'rules:\n  - { id: r, source: s, when: { pci: { vendor: "8086", device: "27A2", slot: "00:02.0" } }, then: [note: n] }\n' });
    expect(issues).toEqual([]);
    expect((await run('thinkpad-t60', files[0]!.rules[0]!.when!)).devices).toEqual(['0000:00:02.0']);
  });
});

it('parses sizes with binary units', () => {
  expect(parseSize('512M')).toBe(512 * 2 ** 20);
  expect(parseSize('4G')).toBe(4 * 2 ** 30);
  expect(parseSize('1T')).toBe(2 ** 40);
  expect(parseSize('1024K')).toBe(2 ** 20);
  for (const bad of ['512', '512MB', '1.5G', 'G', '-1G', '4g']) expect(parseSize(bad)).toBeNull();
});

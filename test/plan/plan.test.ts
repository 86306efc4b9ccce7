import { describe, expect, it } from 'vitest';
import { decide } from '../../src/plan/decide.ts';
import { dom0MemOption, plan, sizeMiB, targetInfo, umaStolenMiB } from '../../src/plan/plan.ts';
import type { Plan } from '../../src/plan/types.ts';
import type { HardwareProfile } from '../../src/types.ts';
import { fixtureNames, loadFixture, readExpected } from '../_support/memfs.ts';

async function planFor(name: string, xen: string): Promise<Plan> {
  const { fs, root } = loadFixture(name);
  const d = await decide({ fs, root, xen });
  return plan({ profile: d.profile, drivers: d.drivers.devices, target: d.target, outcome: d.outcome });
}

describe('targetInfo', () => {
  it.each([
    ['3.0.2', '3.0', 'xend', 'plain', 'multiboot'],
    ['3.0.3', '3.0', 'xend', 'plain', 'multiboot'],
    ['3.1.2-238.el5', '3.x', 'xend', 'minmax', 'multiboot'],
    ['4.0', '4.x', 'xend', 'minmax', 'multiboot'],
    ['4.17', '4.x', 'xl', 'minmax', 'multiboot2'],
    // A release candidate has its release's interfaces, as the rules' ranges also say (rules/version.ts).
    ['4.9-rc1', '4.x', 'xl', 'minmax', 'multiboot2'],
    ['4.1.0-rc3', '4.x', 'xl', 'minmax', 'multiboot'],
  ])('%s', (version, generation, toolstack, dom0MemSyntax, multiboot) => {
    expect(targetInfo({ version, source: 'option', detail: '' })).toMatchObject({
      generation,
      toolstack,
      dom0MemSyntax,
      multiboot,
    });
  });
});

describe('a target newer than the newest Xen autoconfig knows (4.20)', () => {
  it("is planned as 4.20, and plan.warnings says so; 4.20's own plan has no such warning", async () => {
    const known = await planFor('desktop-amd-gpu', '4.20.1');
    const newer = await planFor('desktop-amd-gpu', '4.21');
    const warning =
      'Xen 4.21 is newer than the newest this autoconfig knows (4.20): options are those of 4.20 (known: 3.0.2 to 4.20.x)';
    expect(newer.warnings).toContain(warning);
    const { version, source, detail, ...rest } = newer.target;
    expect({ version, source, detail }).toEqual({ version: '4.21', source: 'option', detail: '--xen 4.21' });
    expect(rest).toEqual({ ...known.target, version: undefined, source: undefined, detail: undefined, warning });
    expect(known.warnings.filter((w) => w.includes('newer than the newest'))).toEqual([]);
    expect(known.target.warning).toBeUndefined();
    for (const key of ['hvm', 'memory', 'vcpus', 'iommu', 'xen', 'dom0', 'drivers', 'guest', 'sysconfig'] as const) {
      expect(newer[key], key).toEqual(known[key]);
    }
    expect(newer.grub.flavor).toBe(known.grub.flavor);
    expect(newer.warnings.filter((w) => w !== warning)).toEqual(known.warnings);
  });
});

describe('dom0_mem syntax', () => {
  it.each([
    ['512M', 'plain', '524288'],
    ['1024M,max:1024M', 'plain', '1048576'],
    ['1024M,max:1024M', 'minmax', '1024M,max:1024M'],
    ['max:4096M', 'plain', '4194304'],
  ] as const)('%s in %s syntax -> %s', (value, dom0MemSyntax, expected) => {
    expect(dom0MemOption(value, { dom0MemSyntax })).toBe(expected);
  });

  it.each([
    ['512M', 512],
    ['2G', 2048],
    ['524288', 512],
    ['524288K', 512],
    ['lots', null],
  ])('sizeMiB(%s) = %s', (size, mib) => {
    expect(sizeMiB(size)).toBe(mib);
  });
});

describe('plan over real machines', () => {
  it.each([
    // Core Duo T2400 + 945GM, no long mode: 32-bit PAE Xen; on 3.0.2 HVM works but UMA makes it unreliable, Dom0
    // gets a fixed 512 MB written in 3.0.2's KiB syntax, guests need nolapic nosmp noapm.
    [
      'thinkpad-t60',
      '3.0.2',
      {
        hvm: { available: true, technology: 'vmx', unreliable: true },
        arch: { xen: 'x86_32', dom0: 'x86_32', guests64: false },
        memory: { dom0: '512M', dom0MiB: 512 },
        xen: { cmdline: 'dom0_mem=524288' },
        guest: { extra: 'nolapic nosmp noapm' },
        target: { toolstack: 'xend', generation: '3.0' },
        grub: { flavor: 'legacy' },
      },
    ],
    ['thinkpad-t60', '3.0.3', { hvm: { available: true, unreliable: false }, target: { generation: '3.0' } }],
    // Pentium M without PAE: no Xen on a modern target; the plain kernel boots by default.
    ['thinkpad-t42', '4.17', { xenDisabled: true, hvm: { available: false }, arch: { xen: 'x86_32' } }],
    // Radeon HD 4850: radeon preferred over amdgpu's catch-all; modern backends; GRUB 2 with xl.
    [
      'desktop-amd-gpu',
      '4.17',
      { hvm: { available: true, technology: 'vmx' }, arch: { guests64: true }, grub: { flavor: 'grub2' } },
    ],
    // The Dom0 trusts Xen's capabilities.
    ['xen-dom0', '3.0.3', { hvm: { available: true, reason: "Xen's capabilities offer hvm-* guests" } }],
    ['vt-disabled', '4.17', { hvm: { available: false, technology: null } }],
  ] as const)('%s on Xen %s', async (name, xen, expected) => {
    expect(await planFor(name, xen)).toMatchObject(expected);
  });

  it('chooses radeon for the Radeon HD 4850 and loads the modern backends first', async () => {
    const p = await planFor('desktop-amd-gpu', '4.17');
    const gpu = p.drivers.find((d) => d.id === '0000:01:00.0')!;
    expect(gpu).toMatchObject({ candidates: ['radeon', 'amdgpu'], chosen: 'radeon' });
    // radeon is already kmod's first candidate, so the rule's preference changes nothing here.
    expect(gpu.reason).toBe('first loadable of 2 candidates in modules.order');
    const names = p.dom0.modules.map((m) => m.name);
    expect(names.slice(0, 5)).toEqual(['xenfs', 'xen-evtchn', 'xen-gntdev', 'xen-gntalloc', 'xen-privcmd']);
    expect(names).toContain('radeon');
    expect(names).not.toContain('amdgpu');
    // The rule marks xen-acpi-processor optional where there is no device (ENODEV expected); every other module not.
    expect(p.dom0.modules.filter((m) => m.optional !== null)).toEqual([
      { name: 'xen-acpi-processor', options: null, reason: 'rule dom0-backends-pvops', optional: 'no-device' },
    ]);
    expect(p.dom0.modules.every((m) => m.optional === null || m.optional === 'no-device')).toBe(true);
  });

  it("a rule's preference replaces kmod's first candidate, and only among the candidates", async () => {
    const { fs, root } = loadFixture('desktop-amd-gpu');
    const d = await decide({ fs, root, xen: '4.17' });
    const withPrefer = (name: string) =>
      plan({
        profile: d.profile,
        drivers: d.drivers.devices,
        target: d.target,
        outcome: { ...d.outcome, modules: { ...d.outcome.modules, prefer: [{ name, devices: ['0000:01:00.0'], rule: 'test' }] } },
      }).drivers.find((m) => m.id === '0000:01:00.0')!;
    expect(withPrefer('amdgpu')).toMatchObject({ chosen: 'amdgpu', reason: 'preferred by rule test over radeon' });
    // nouveau is no candidate of a Radeon: kmod's choice stands.
    expect(withPrefer('nouveau')).toMatchObject({ chosen: 'radeon' });
  });

  it.each(fixtureNames().flatMap((name) => ['3.0.2', '3.0.3', '4.17'].map((xen) => [name, xen] as const)))(
    '%s on Xen %s: exactly one default GRUB entry, no 64-bit entry without long mode, options rendered',
    async (name, xen) => {
      const p = await planFor(name, xen);
      expect(p.grub.entries.filter((e) => e.default)).toHaveLength(1);
      if (p.longMode === false) expect(p.grub.entries.every((e) => e.arch === 'x86_32')).toBe(true);
      // 32-bit Xen ended with 4.2.
      const xen32 = p.grub.entries.some((e) => e.xen && e.arch === 'x86_32');
      expect(xen32).toBe(xen !== '4.17');
      expect(p.grub.entries.find((e) => e.default)!.xen).toBe(!p.xenDisabled);
      expect(p.xen.cmdline).toBe(p.xen.options.map((o) => (o.value === null ? o.name : `${o.name}=${o.value}`)).join(' '));
      if (p.target.dom0MemSyntax === 'plain') expect(p.xen.cmdline).not.toMatch(/dom0_mem=[^ ]*(max|min):/);
      expect(new Set(p.dom0.modules.map((m) => m.name)).size).toBe(p.dom0.modules.length);
      // Before 4.0 the Xen entries boot the XenLinux Dom0 kernel, which cannot boot alone; from 4.0 one kernel.
      for (const e of p.grub.entries) {
        const own = e.xen && xen !== '4.17' ? '-xen' : '';
        expect([e.kernel, e.initrd]).toEqual([`/boot/${e.arch}/vmlinuz${own}`, `/boot/${e.arch}/initrd${own}.gz`]);
      }
    },
  );
});

describe('Dom0 modules and the kernel they were matched against', () => {
  it.each([
    ['thinkpad-t60', '3.0.3', 'reference', 'e1000e', false],
    ['amd-apu-laptop', '4.17', 'reference', 'r8169', true],
    ['thinkpad-t60', '3.0.3', 'target', 'e1000e', true],
  ] as const)('%s on Xen %s, %s kernel data: %s listed: %s', async (fixture, xen, source, module, listed) => {
    const { fs, root } = loadFixture(fixture);
    const d = await decide({ fs, root, xen });
    const p = plan({ profile: d.profile, drivers: d.drivers.devices, target: d.target, outcome: d.outcome, kernel: { source, release: '6.1.0-56-amd64' } });
    const names = p.dom0.modules.map((m) => m.name);
    expect(names.includes(module), names.join(' ')).toBe(listed);
    // The backends come from the rules, whatever kernel the devices were matched against (3.0.x: pciback alone).
    expect(names).toContain(xen === '4.17' ? 'xen-netback' : 'pciback');
    const warned = p.warnings.some((w) => w.startsWith('No device modules listed: drivers were matched against'));
    expect(warned).toBe(!listed);
  });

  it("names a card's driver only from what the machine bound when the kernel data is not the Dom0's", async () => {
    const { fs, root } = loadFixture('thinkpad-t60');
    const d = await decide({ fs, root, xen: '3.0.3' });
    // The T60's Ethernet as a log without its bound driver: kmod's choice (e1000e, a 6.1 name) must not stand in.
    const profile = { ...d.profile, pci: d.profile.pci.map((x) => (x.slot === '0000:02:00.0' ? { ...x, driver: null } : x)) };
    const input = { profile, drivers: d.drivers.devices, target: d.target, outcome: d.outcome };
    expect(plan({ ...input, kernel: { source: 'reference', release: '6.1.0-56-amd64' } }).netcards[0]!.driver).toBeNull();
    expect(plan({ ...input, kernel: { source: 'target', release: '2.6.16-xen' } }).netcards[0]!.driver).toBe('e1000e');
  });
});

describe('the network and sound cards the sysconfig files name (the first of each)', () => {
  const first = (p: Plan) => [p.netcards[0]?.device.id ?? null, p.netcards[0]?.driver ?? null, p.sound[0]?.device.id ?? null];

  it.each([
    // A WLAN chip that calls itself Ethernet (168c:001c, class 0200): its driver's place, drivers/net/wireless, tells.
    ['atom-netbook', ['0000:03:00.0', 'atl1c', '0000:00:1b.0']],
    ['thinkpad-t60', ['0000:02:00.0', 'e1000e', '0000:00:1b.0']],
    // The APU's HDMI/DP audio (05:00.1, right after the GPU at 05:00.0) after its analog HD-Audio (05:00.6).
    ['amd-apu-laptop', ['0000:01:00.0', 'r8169', '0000:05:00.6']],
  ] as const)('%s', async (name, expected) => {
    expect(first(await planFor(name, '4.17'))).toEqual(expected);
  });

  it('ranks by the kernel module tree, which the driver matches carry', async () => {
    const p = await planFor('atom-netbook', '4.17');
    expect(p.drivers.find((m) => m.id === '0000:01:00.0')!.paths['ath5k']).toBe('kernel/drivers/net/wireless/ath/ath5k/ath5k.ko');
    expect(p.netcards.map((n) => n.driver)).toEqual(['atl1c', 'ath5k']);
  });
});

describe('UMA graphics', () => {
  const MiB = 1048576;
  async function planWith(name: string, xen: string, edit: (p: HardwareProfile) => void): Promise<Plan> {
    const { fs, root } = loadFixture(name);
    const d = await decide({ fs, root, xen });
    edit(d.profile);
    return plan({ profile: d.profile, drivers: d.drivers.devices, target: d.target, outcome: d.outcome });
  }

  it.each([
    // The fixtures' logs tell no stolen size: it stays unknown.
    ['thinkpad-t60', { present: true, device: '0000:00:02.0', stolenMiB: null }],
    ['amd-apu-laptop', { present: true, device: '0000:05:00.0', stolenMiB: null }],
    ['macbookpro5-5', { present: true, device: '0000:02:00.0', stolenMiB: null }],
    ['desktop-amd-gpu', { present: false, device: null, stolenMiB: null }],
  ] as const)('%s: the device the rules named', async (name, uma) => {
    expect((await planFor(name, '4.17')).uma).toEqual(uma);
  });

  it("an APU: amdgpu's carve-out of the UMA slot, not a discrete card's VRAM", async () => {
    // Byte counts real amdgpu devices reported: a Raphael APU's 512M, a discrete Radeon's 16368M (corpus
    // desktop-asrock-x670e_taichi), put on the ProBook's Renoir slot and a slot of its own for the card.
    const p = await planWith('amd-apu-laptop', '4.17', (profile) => {
      profile.graphicsMemory.vram = [
        { slot: '0000:03:00.0', bytes: 16368 * MiB },
        { slot: '0000:05:00.0', bytes: 512 * MiB },
      ];
    });
    expect(p.uma).toEqual({ present: true, device: '0000:05:00.0', stolenMiB: 512 });
  });

  it('an Intel IGD: the Graphics Stolen Memory region, rounded up to whole MiB', async () => {
    // The Legion Y520's 32 MiB range as i915 requests it after the BIOS off-by-one retry (start + 1, size - 2).
    const p = await planWith('thinkpad-t60', '4.17', (profile) => {
      profile.graphicsMemory.stolen = { start: '7e000001', end: '7ffffffe', bytes: 32 * MiB - 2 };
    });
    expect(p.uma).toEqual({ present: true, device: '0000:00:02.0', stolenMiB: 32 });
  });

  it('the Intel region is not taken for another vendor, nor without a UMA device', async () => {
    const stolen = { start: '7e000000', end: '7fffffff', bytes: 32 * MiB };
    const nvidia = await planWith('macbookpro5-5', '4.17', (profile) => {
      profile.graphicsMemory.stolen = stolen;
    });
    expect(nvidia.uma.stolenMiB).toBeNull();
    const discrete = await planWith('desktop-amd-gpu', '4.17', (profile) => {
      profile.graphicsMemory.vram = [{ slot: '0000:01:00.0', bytes: 512 * MiB }];
    });
    expect(discrete.uma).toEqual({ present: false, device: null, stolenMiB: null });
    const t60 = readExpected('thinkpad-t60', 'profile.json') as HardwareProfile;
    t60.graphicsMemory.stolen = stolen;
    expect(umaStolenMiB(t60, '0000:00:02.0')).toBe(32);
    expect(umaStolenMiB(t60, null)).toBeNull();
  });

  it('the memory for guests is MemTotal less Dom0: stolen memory is already outside MemTotal, not subtracted again', async () => {
    // ThinkPad T60 on Xen 3.0.2 (Dom0 512M), with this machine's real MemTotal and the IGD's stolen memory known, and
    // no SMBIOS figure (which would come first: see the next test).
    const p = await planWith('thinkpad-t60', '3.0.2', (profile) => {
      profile.memory.totalKiB = 24683656;
      profile.memory.installedKiB = null;
      profile.graphicsMemory.stolen = { start: '7e000000', end: '7fffffff', bytes: 32 * MiB };
    });
    expect(p.uma.stolenMiB).toBe(32);
    expect(p.memory).toMatchObject({ totalMiB: 24105, dom0MiB: 512, guestsMiB: 24105 - 512 });
  });

  it('the installed memory (SMBIOS) comes first, MemTotal or not, and holds the carve-out: subtracted from the guests', async () => {
    const p = await planWith('thinkpad-t60', '3.0.2', (profile) => {
      profile.memory.totalKiB = 3000000;
      profile.graphicsMemory.stolen = { start: '7e000000', end: '7fffffff', bytes: 32 * MiB };
    });
    expect(p.memory).toEqual({ totalMiB: null, installedMiB: 3072, dom0: '512M', dom0MiB: 512, guestsMiB: 3072 - 512 - 32 });
    expect(p.notes).toContain(
      "The memory sizes are from the 3072 MiB of installed memory the firmware's SMBIOS tables state (the same inside " +
        'a Xen Dom0 and without Xen), a little more than the OS will get.',
    );
  });

  it('without MemTotal the installed modules hold the carve-out: it is subtracted from the guests', async () => {
    // The T60's 1024 + 2048 MB of modules (its dmidecode), and the stolen range the Legion Y520's kernel reserved.
    const p = await planWith('thinkpad-t60', '3.0.2', (profile) => {
      profile.graphicsMemory.stolen = { start: '7e000000', end: '7fffffff', bytes: 32 * MiB };
    });
    expect(p.memory).toEqual({ totalMiB: null, installedMiB: 3072, dom0: '512M', dom0MiB: 512, guestsMiB: 3072 - 512 - 32 });
  });
});

describe('firmware: EFI or BIOS, and the IOMMU, where the profile does not know them', () => {
  const NOTE = 'EFI or BIOS is unknown: the BIOS GRUB is written; on an EFI machine, boot it in legacy (CSM) mode.';

  it('thinkpad-t60 (no log tells EFI from BIOS, none lists ACPI tables): BIOS assumed and said, IOMMU unknown', async () => {
    const p = await planFor('thinkpad-t60', '3.0.3');
    expect(p.grub).toMatchObject({ variant: 'bios', variantAssumed: true });
    expect(p.notes).toContain(NOTE);
    expect(p.iommu).toEqual({ available: null, hidden: [] });
  });

  it('firecracker-vm (a live snapshot: /sys/firmware without efi, ACPI tables without DMAR/IVRS): known', async () => {
    const p = await planFor('firecracker-vm', '4.17');
    expect(p.grub).toMatchObject({ variant: 'bios', variantAssumed: false });
    expect(p.notes).not.toContain(NOTE);
    expect(p.iommu.available).toBe(false);
  });

  it('a rule that chose the variant decides, unknown firmware or not (AMD on Xen 3.0.x: BIOS GRUB)', async () => {
    const p = await planFor('amd-apu-laptop', '3.0.3');
    expect(p.grub).toMatchObject({ variant: 'bios', variantAssumed: false });
    expect(p.notes).not.toContain(NOTE);
    // Its lspci lists IOMMU groups: an IOMMU is known, which Xen before 3.2 cannot use.
    expect(p.iommu.available).toBe(false);
    expect((await planFor('amd-apu-laptop', '4.17')).iommu.available).toBe(true);
  });
});

describe('memory: the installed memory (SMBIOS) whenever known, else MemTotal', () => {
  const NOTE = /^MemTotal is unknown: the memory sizes are estimated from the (\d+) MiB of installed memory modules/;

  it('macbookpro5-5 (2 x 4096 MB in its dmidecode, no /proc/meminfo): sized from 8 GiB, and the plan says so', async () => {
    const p = await planFor('macbookpro5-5', '4.17');
    expect(p.memory).toEqual({
      totalMiB: null,
      installedMiB: 8192,
      dom0: '1024M,max:1024M',
      dom0MiB: 1024,
      guestsMiB: 8192 - 1024,
    });
    expect(p.xen.cmdline).toBe('ucode=scan dom0_mem=1024M,max:1024M');
    expect(p.notes.filter((n) => NOTE.test(n))).toEqual([
      'MemTotal is unknown: the memory sizes are estimated from the 8192 MiB of installed memory modules (SMBIOS), ' +
        'a little more than the OS will get.',
    ]);
  });

  it('MemTotal known (firecracker-vm): no estimate and no note', async () => {
    const p = await planFor('firecracker-vm', '4.17');
    expect(p.memory).toMatchObject({ totalMiB: 24105, installedMiB: null, dom0MiB: 2048, guestsMiB: 24105 - 2048 });
    expect(p.notes.some((n) => NOTE.test(n))).toBe(false);
  });

  it('no size decided (Xen 3.0.3 balloons Dom0): the modules are shown, no note claims an estimate', async () => {
    const p = await planFor('macbookpro5-5', '3.0.3');
    expect(p.memory).toEqual({ totalMiB: null, installedMiB: 8192, dom0: null, dom0MiB: null, guestsMiB: null });
    expect(p.notes.some((n) => NOTE.test(n))).toBe(false);
  });
});

/** A fixture booted with `cmdline` (its /proc/cmdline written into the memfs copy), planned for `xen`. */
async function planWithCmdline(name: string, xen: string, cmdline: string): Promise<Plan> {
  const { fs, sync, root } = loadFixture(name);
  sync.writeFileSync(`${root}/proc/cmdline`, `${cmdline}\n`);
  const d = await decide({ fs, root, xen });
  return plan({ profile: d.profile, drivers: d.drivers.devices, target: d.target, outcome: d.outcome });
}

const dom0MaxVcpus = (p: Plan) => p.xen.options.find((o) => o.name === 'dom0_max_vcpus') ?? null;

describe("Dom0's vCPUs on machines with more than 4 logical CPUs (dom0.vcpus_max, Debian's dom0_max_vcpus=1-4)", () => {
  it.each([
    // The R730's 40 logical CPUs (2x E5-2650 v3), the XPS 15's 12, the iMac's 8: capped, the range form from 4.3.
    ['server-iommu-bmc', '4.17', '1-4', 4],
    ['intel-nvidia-laptop', '4.17', '1-4', 4],
    ['desktop-amd-gpu', '4.17', '1-4', 4],
    ['server-iommu-bmc', '4.2', '4', 4],
    // 4 or fewer: Dom0 keeps all (1-4 would give the same).
    ['vt-disabled', '4.17', null, 'all'],
    ['firecracker-vm', '4.17', null, 'all'],
    // Xen 3.x: xend's (dom0-cpus 0) as before.
    ['server-iommu-bmc', '3.0.3', null, 'all'],
    // In this Dom0 the machine's CPU count is unknown: no cap from a guess.
    ['xen-dom0', '4.17', null, 'all'],
  ] as const)('%s on Xen %s: dom0_max_vcpus=%s', async (name, xen, option, dom0) => {
    const p = await planFor(name, xen);
    expect(dom0MaxVcpus(p)?.value ?? null).toBe(option);
    expect(p.vcpus.dom0).toBe(dom0);
    if (option !== null) {
      expect(dom0MaxVcpus(p)!.rule).toBe('dom0-vcpus-cap');
      expect(p.xen.cmdline).toContain(`dom0_max_vcpus=${option}`);
      expect(p.notes.some((n) => n.startsWith(`Dom0 gets at most 4 of the machine's ${p.vcpus.host} logical CPUs`))).toBe(true);
    }
  });

  it('a dom0_vcpus= boot option is the user\'s choice: all stays all, a number stays that number', async () => {
    const all = await planWithCmdline('server-iommu-bmc', '4.17', 'dom0_vcpus=all');
    expect(dom0MaxVcpus(all)).toBeNull();
    expect(all.vcpus.dom0).toBe('all');
    const six = await planWithCmdline('server-iommu-bmc', '4.17', 'dom0_vcpus=6');
    expect(dom0MaxVcpus(six)).toEqual({ name: 'dom0_max_vcpus', value: '6', rule: 'cheatcode:dom0_vcpus=6' });
  });
});

describe("HVM guests' vCPUs: at most 4 on Xen 3.0.x (hvmloader's DSDT declares CPU0-CPU3)", () => {
  it.each([
    ['3.0.3', 4],
    ['3.1', 20],
    ['4.17', 20],
  ] as const)('the R730 (20 cores) on Xen %s: %i', async (xen, vcpus) => {
    const p = await planFor('server-iommu-bmc', xen);
    expect(p.vcpus.guests).toBe(vcpus);
    expect(p.guest['vcpus']).toBe(vcpus);
  });

  it('a machine with fewer cores keeps them: the MacBook Pro (2 cores) on 3.0.3', async () => {
    expect((await planFor('macbookpro5-5', '3.0.3')).vcpus.guests).toBe(2);
  });
});

describe("the guests' bridge (plan.network)", () => {
  it.each([
    // The first wired Ethernet card: the RTL8111 before the Wi-Fi card (iwlwifi).
    ['amd-apu-laptop', '4.17', 'ifupdown', '0000:01:00.0', 'r8169'],
    ['server-iommu-bmc', '4.17', 'ifupdown', '0000:01:00.0', 'tg3'],
    // virtio-net: its PCI function's driver is virtio-pci (the interface hangs off the virtio device).
    ['firecracker-vm', '4.17', 'ifupdown', '0000:00:03.0', 'virtio-pci'],
    // The Atom's AR5007EG (168c:001c) calls itself Ethernet (0200); ath5k's place in the tree says wireless.
    ['atom-netbook', '4.2', 'ifupdown', '0000:03:00.0', 'atl1c'],
    // Only a Wi-Fi card (8086:2723, class 0280), or no NIC at all: no bridge.
    ['intel-nvidia-laptop', '4.17', null, null, null],
    ['kvm-guest', '4.17', null, null, null],
    // No Xen on a 32-bit CPU from 4.3: nothing to bridge for.
    ['thinkpad-t60', '4.17', null, null, null],
    // xend's network-bridge makes xenbr0 (Xen 3.x, and 4.0, whose toolstack is still xend).
    ['thinkpad-t60', '3.0.3', 'xend', '0000:02:00.0', 'e1000e'],
    ['desktop-amd-gpu', '4.0', 'xend', '0000:02:00.0', 'tg3'],
  ] as const)('%s on Xen %s: %s on %s (%s)', async (name, xen, by, slot, driver) => {
    const p = await planFor(name, xen);
    expect(p.network.by).toBe(by);
    expect(p.network.bridge).toBe(by === null ? null : 'xenbr0');
    expect(p.network.port?.device.id ?? null).toBe(slot);
    expect(p.network.port?.driver ?? null).toBe(driver);
    expect(p.network.dhcp).toBe(true);
    expect(p.network.reason).not.toBe('');
  });

  it('the reasons say why there is no bridge', async () => {
    expect((await planFor('intel-nvidia-laptop', '4.17')).network.reason).toMatch(/^no wired Ethernet card/);
    expect((await planFor('thinkpad-t60', '4.17')).network.reason).toBe('Xen does not run here: no guests to bridge');
  });

  it("a Wi-Fi card that calls itself Ethernet is never the port: the Atom without its atl1c has no bridge", async () => {
    const { fs, sync, root } = loadFixture('atom-netbook');
    sync.rmSync(`${root}/sys/bus/pci/devices/0000:03:00.0`, { recursive: true, force: true });
    const d = await decide({ fs, root, xen: '4.2' });
    const p = plan({ profile: d.profile, drivers: d.drivers.devices, target: d.target, outcome: d.outcome });
    expect(p.netcards.map((n) => [n.device.id, n.driver])).toEqual([['0000:01:00.0', 'ath5k']]);
    expect(p.network).toMatchObject({ bridge: null, by: null, port: null });
  });

  it('nodhcp on the boot line: the bridge without DHCP', async () => {
    const p = await planWithCmdline('amd-apu-laptop', '4.17', 'nodhcp');
    expect(p.network).toMatchObject({ bridge: 'xenbr0', by: 'ifupdown', dhcp: false });
  });
});

describe('passthrough=: the PCI backend hides the devices by its own option and loads before their drivers', () => {
  it("the ProBook's RTL8111 on Xen 4.17: options xen-pciback hide=, softdep r8169 pre: xen-pciback", async () => {
    const p = await planWithCmdline('amd-apu-laptop', '4.17', 'passthrough=01:00.0');
    expect(p.iommu.hidden).toEqual(['0000:01:00.0']);
    const backend = p.dom0.modules.find((m) => m.name === 'xen-pciback')!;
    expect(backend.options).toBe('hide=(0000:01:00.0)');
    expect(backend.reason).toBe('rule dom0-backends-pvops; hide=(0000:01:00.0): cheatcode:passthrough=01:00.0');
    expect(p.dom0.softdeps).toEqual([
      {
        module: 'r8169',
        pre: ['xen-pciback'],
        reason: 'cheatcode:passthrough=01:00.0: PCI 0000:01:00.0 goes to xen-pciback before r8169',
      },
    ]);
    // Other modules keep no options.
    expect(p.dom0.modules.filter((m) => m.options !== null).map((m) => m.name)).toEqual(['xen-pciback']);
  });

  it('two devices: one hide= list; every module kmod offers for each device gets its softdep once', async () => {
    const p = await planWithCmdline('desktop-amd-gpu', '4.17', 'passthrough=01:00.0,02:00.0');
    const backend = p.dom0.modules.find((m) => m.name === 'xen-pciback')!;
    expect(backend.options).toBe('hide=(0000:01:00.0)(0000:02:00.0)');
    // The Radeon HD 4850: radeon and amdgpu both claim it (kmod's candidates); the BCM5764M: tg3.
    expect(p.dom0.softdeps.map((s) => s.module)).toEqual(['radeon', 'amdgpu', 'tg3']);
    expect(p.dom0.softdeps.every((s) => s.pre.join() === 'xen-pciback')).toBe(true);
  });

  it("Xen 3.0.3: pciback's own hide= (a 2006 modprobe does not read the boot line), no softdep", async () => {
    const p = await planWithCmdline('thinkpad-t60', '3.0.3', 'passthrough=02:00.0');
    expect(p.dom0.modules.find((m) => m.name === 'pciback')!.options).toBe('hide=(0000:02:00.0)');
    expect(p.dom0.softdeps).toEqual([]);
  });

  it('where Xen does not run (the T60 on 4.17) no backend is loaded: nothing to set', async () => {
    const p = await planWithCmdline('thinkpad-t60', '4.17', 'passthrough=02:00.0');
    expect(p.dom0.modules.some((m) => m.options !== null)).toBe(false);
    expect(p.dom0.softdeps).toEqual([]);
  });

  it('no passthrough=: no options, no softdeps', async () => {
    const p = await planFor('amd-apu-laptop', '4.17');
    expect(p.dom0.modules.find((m) => m.name === 'xen-pciback')!.options).toBeNull();
    expect(p.dom0.softdeps).toEqual([]);
  });
});

// Issue #11: a size no machine can honour never reaches Xen's line or /etc/sysconfig/xen as a float.
describe("a rule's Dom0 size absurd for this machine", () => {
  it.each([
    ['99999999999G', "99999999999G is more than this machine's 3072 MiB of memory"],
    ['1K', '1K is less than the 64 MiB any Linux Dom0 needs'],
  ])('dom0Memory %s is dropped with a warning; Xen sizes Dom0', async (size, reason) => {
    const { fs, root } = loadFixture('thinkpad-t60'); // 3 GiB installed (SMBIOS)
    const d = await decide({ fs, root, xen: '4.20' });
    const p = plan({ profile: d.profile, drivers: d.drivers.devices, target: d.target, outcome: { ...d.outcome, dom0Memory: size } });
    expect(p.warnings).toContain(`dom0_mem ${size}: ${reason}; Dom0 memory is left to Xen's default`);
    expect(p.memory.dom0).toBeNull();
    expect(p.memory.dom0MiB).toBeNull();
    expect(p.xen.options.map((o) => o.name)).not.toContain('dom0_mem');
    const sane = plan({ profile: d.profile, drivers: d.drivers.devices, target: d.target, outcome: { ...d.outcome, dom0Memory: '1024M,max:1024M' } });
    expect(sane.xen.cmdline).toContain('dom0_mem=1024M,max:1024M');
    expect(sane.memory.dom0MiB).toBe(1024);
  });
});

// The engine over real machines: one pass in load order, facts visible to later rules, later wins per key (the
// earlier decision marked), cheatcodes last and winning, and the same outcome however the directory lists files.
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { FsLike } from '../../src/fs.ts';
import { cheatcodeActions, parseCheatcodes } from '../../src/rules/cheatcodes.ts';
import { CMDLINE_FILE, evaluateRules, splitOption } from '../../src/rules/evaluate.ts';
import { loadRules } from '../../src/rules/load.ts';
import type { CheatcodeAction, RuleFile, Target } from '../../src/rules/types.ts';
import type { HardwareProfile } from '../../src/types.ts';
import { fixtureNames, volume } from '../_support/memfs.ts';
import { fixtureDrivers, fixtureProfile, load, yaml } from './_support.ts';

const DATA = join(import.meta.dirname, 'data');
const testSet = (await loadRules({ paths: [DATA] })).files;
const XEN_4 = { xen: '4.17.3', arch: null } satisfies Target;

async function evaluate(profile: HardwareProfile, files: readonly RuleFile[] = testSet, target: Target = XEN_4, cheatcodes: CheatcodeAction[] = []) {
  return evaluateRules({ files, profile, drivers: await fixtureDrivers(profile), target, cheatcodes });
}

describe('the test rule set on real machines', () => {
  it('loads without issues', async () => {
    const { files, issues } = await loadRules({ paths: [DATA] });
    expect(issues).toEqual([]);
    expect(files.map((f) => f.file)).toEqual(['10-cpu.yaml', '50-graphics.yaml', '90-site.yaml'].map((n) => join(DATA, n)));
  });

  it('ThinkPad T60: VT-x without long mode, Intel 945GM graphics at 00:02.0', async () => {
    const out = await evaluate(fixtureProfile('thinkpad-t60'));
    expect(out.facts).toEqual({
      'hvm.available': true,
      'hvm.technology': 'vmx',
      'hvm.reason': 'VT-x present',
      'arch.xen': 'x86_32',
      'arch.dom0': 'x86_32',
      'guests.64bit': false,
      'uma.present': true,
      'quirks.igfx': true,
    });
    expect(out.xen).toEqual([
      { name: 'iommu', value: 'no-igfx', rule: 'igfx-no-igfx' },
      { name: 'dom0_vcpus_pin', value: null, rule: 'dom0-small' },
      { name: 'console', value: 'vga', rule: 'dom0-small' },
    ]);
    expect(out.sysconfig).toEqual({ xserver: { XMODULE: 'intel' } });
    expect([out.dom0Memory, out.dom0Vcpus]).toEqual(['512M,max:512M', 1]);
    expect(out.guest).toEqual({ acpi: 1, apic: 1, vcpus: 2 });
    expect(out.notes).toEqual([{ text: 'Intel graphics is left out of the IOMMU (iommu=no-igfx)', rule: 'igfx-no-igfx' }]);
    expect(out.modules).toEqual({ load: [], blacklist: [], prefer: [] });
    const igfx = out.decisions.find((d) => d.rule === 'igfx-no-igfx')!;
    expect(igfx).toEqual({
      rule: 'igfx-no-igfx',
      file: join(DATA, '50-graphics.yaml'),
      line: 25,
      evidence: ['pci 0000:00:02.0 [8086:27a2] at 0000:00:02.0, in list intel-integrated-graphics', 'target Xen 4.17.3 (>=4.0)'],
      action: { xen: { add: 'iommu=no-igfx' } },
    });
  });

  it('the same machine for Xen 3.0.3 gets no iommu=no-igfx (the rule needs >=4.0)', async () => {
    const out = await evaluate(fixtureProfile('thinkpad-t60'), testSet, { xen: '3.0.3', arch: null });
    expect(out.xen.map((o) => o.name)).toEqual(['dom0_vcpus_pin', 'console']);
    expect(out.facts['quirks.igfx']).toBeUndefined();
  });

  it('VT locked by firmware: no HVM, a warning, no guest template', async () => {
    const out = await evaluate(fixtureProfile('vt-disabled'));
    expect(out.facts).toMatchObject({ 'hvm.available': false, 'arch.xen': 'x86_64' });
    expect(out.warnings).toEqual([{ text: 'Hardware virtualization is switched off in the firmware setup; HVM guests cannot run', rule: 'hvm-locked' }]);
    expect(out.guest).toEqual({});
    expect([out.dom0Memory, out.dom0Vcpus]).toEqual(['1024M,max:1024M', 'all']);
  });

  it('Xen Dom0 fixture: VT-x, 64-bit', async () => {
    const out = await evaluate(fixtureProfile('xen-dom0'), testSet, { xen: '3.1.2', arch: null });
    expect(out.facts).toMatchObject({ 'hvm.available': true, 'hvm.technology': 'vmx', 'arch.xen': 'x86_64', 'guests.64bit': true });
  });

  it('firecracker-vm: no VT, so no HVM facts and no guest template', async () => {
    const out = await evaluate(fixtureProfile('firecracker-vm'));
    expect(out.facts).toEqual({ 'arch.xen': 'x86_64', 'arch.dom0': 'x86_64', 'guests.64bit': true });
    expect(out.guest).toEqual({});
  });

  it('iMac with a Radeon: the later prefer takes the device, blacklist radeon follows', async () => {
    const out = await evaluate(fixtureProfile('desktop-amd-gpu'));
    expect(out.modules).toEqual({
      load: [],
      blacklist: [{ name: 'radeon', rule: 'prefer-amdgpu-here' }],
      prefer: [{ name: 'amdgpu', devices: ['0000:01:00.0'], rule: 'prefer-amdgpu-here' }],
    });
    const first = out.decisions.find((d) => d.rule === 'radeon-prefer-amdgpu')!;
    expect(first.devices).toEqual(['0000:01:00.0']);
    expect(first.overriddenBy).toBe('prefer-amdgpu-here');
    expect(first.evidence).toEqual(['pci 0000:01:00.0 [1002:944a] class 03, kmod candidate radeon']);
  });
});

describe('order and overrides', () => {
  it('a later rule wins per key; the earlier decision stays, marked', async () => {
    const out = await evaluate(fixtureProfile('thinkpad-t60'), (await load({
      'a.yaml': yaml`
        rules:
          - id: first
            source: s
            then:
              - xen: { add: [console=vga, noreboot, loglvl=all] }
              - dom0: { add: console=tty0 }
              - sysconfig: { file: xserver, set: { XMODULE: vesa, XSCREEN: 1024x768 } }
          - id: second
            source: s
            then:
              - xen: { add: console=com1, remove: noreboot }
              - sysconfig: { file: xserver, set: { XMODULE: intel } }
          - id: third
            source: s
            then:
              - xen: { add: noreboot }
      `,
    })).files);
    // First-set order; a removed option comes back last.
    expect(out.xen).toEqual([
      { name: 'console', value: 'com1', rule: 'second' },
      { name: 'loglvl', value: 'all', rule: 'first' },
      { name: 'noreboot', value: null, rule: 'third' },
    ]);
    expect(out.dom0).toEqual([{ name: 'console', value: 'tty0', rule: 'first' }]);
    expect(out.sysconfig).toEqual({ xserver: { XMODULE: 'intel', XSCREEN: '1024x768' } });
    const summary = out.decisions.map((d) => `${d.rule}:${d.line} ${JSON.stringify(d.action)}${d.overriddenBy ? ` <- ${d.overriddenBy}` : ''}`);
    expect(summary).toEqual([
      'first:5 {"xen":{"add":"console=vga"}} <- second',
      'first:5 {"xen":{"add":"noreboot"}} <- second',
      'first:5 {"xen":{"add":"loglvl=all"}}',
      'first:6 {"dom0":{"add":"console=tty0"}}',
      'first:7 {"sysconfig":{"file":"xserver","set":{"XMODULE":"vesa"}}} <- second',
      'first:7 {"sysconfig":{"file":"xserver","set":{"XSCREEN":"1024x768"}}}',
      'second:11 {"xen":{"remove":"noreboot"}} <- third',
      'second:11 {"xen":{"add":"console=com1"}}',
      'second:12 {"sysconfig":{"file":"xserver","set":{"XMODULE":"intel"}}}',
      'third:16 {"xen":{"add":"noreboot"}}',
    ]);
  });

  it('facts are visible to later rules only, and files count in load order', async () => {
    const { files, issues } = await load({
      'a.yaml': yaml`
        facts:
          site.big: { type: boolean }
        rules:
          - { id: too-early, source: s, when: { fact: site.big }, then: [note: never] }
          - { id: sets, source: s, when: { cpu: { flags: [vmx] } }, then: [fact: { site.big: true }] }
          - { id: sees, source: s, when: { fact: site.big }, then: [note: seen in a.yaml] }
      `,
      'b.yaml': 'rules:\n  - { id: sees-too, source: s, when: { fact: { site.big: true } }, then: [note: seen in b.yaml] }\n',
    });
    expect(issues).toEqual([]);
    const out = await evaluate(fixtureProfile('thinkpad-t60'), files);
    expect(out.notes).toEqual([
      { text: 'seen in a.yaml', rule: 'sees' },
      { text: 'seen in b.yaml', rule: 'sees-too' },
    ]);
    expect(out.decisions.find((d) => d.rule === 'sees')!.evidence).toEqual(['fact site.big = true']);
  });

  it('module policy: load for the devices or always, blacklist replaces load, prefer is per device', async () => {
    const { files } = await load({
      'a.yaml': yaml`
        rules:
          - id: usb-host
            source: s
            when: { pci: { class: "0c", subclass: "03" } }
            then:
              - module: { load: ehci-hcd, options: "log2_irq_thresh=0" }
          - { id: always, source: s, then: [module: { load: loop }, module: { load: pcspkr }] }
          - id: quiet
            source: s
            then:
              - module: { blacklist: pcspkr }
          - id: uhci-first
            source: s
            when: { pci: { driver: uhci_hcd } }
            then:
              - module: { prefer: uhci_hcd }
          - id: one-uhci
            source: s
            when: { pci: { slot: "00:1d.1" } }
            then:
              - module: { prefer: ohci_pci }
      `,
    });
    const out = await evaluate(fixtureProfile('thinkpad-t60'), files);
    expect(out.modules.load).toEqual([
      { name: 'ehci-hcd', options: 'log2_irq_thresh=0', optional: null, devices: ['0000:00:1d.0', '0000:00:1d.1', '0000:00:1d.2', '0000:00:1d.3', '0000:00:1d.7'], rule: 'usb-host' },
      { name: 'loop', options: null, optional: null, devices: [], rule: 'always' },
    ]);
    expect(out.modules.blacklist).toEqual([{ name: 'pcspkr', rule: 'quiet' }]);
    expect(out.modules.prefer).toEqual([
      { name: 'uhci_hcd', devices: ['0000:00:1d.0', '0000:00:1d.2', '0000:00:1d.3'], rule: 'uhci-first' },
      { name: 'ohci_pci', devices: ['0000:00:1d.1'], rule: 'one-uhci' },
    ]);
    const decision = (rule: string, i = 0) => out.decisions.filter((d) => d.rule === rule)[i]!;
    expect(decision('always', 1).overriddenBy).toBe('quiet');
    expect(decision('always', 0).devices).toBeUndefined(); // loaded always, not for devices
    // Partly taken over: still in force for three devices, so not marked.
    expect(decision('uhci-first').overriddenBy).toBeUndefined();
  });

  it('a prefer that loses every device is marked', async () => {
    const { files } = await load({
      'a.yaml': 'rules:\n  - { id: a, source: s, when: { pci: { slot: "00:02.0" } }, then: [module: { prefer: i915 }] }\n  - { id: b, source: s, when: { pci: { class: "03" } }, then: [module: { prefer: vesafb }] }\n',
    });
    const out = await evaluate(fixtureProfile('thinkpad-t60'), files);
    expect(out.modules.prefer).toEqual([{ name: 'vesafb', devices: ['0000:00:02.0', '0000:00:02.1'], rule: 'b' }]);
    expect(out.decisions[0]!.overriddenBy).toBe('b');
  });
});

describe('placeholders: {slot} in a fact value', () => {
  const rules = () =>
    load({
      'a.yaml': yaml`
        facts:
          gpu.first: { type: string }
          gpu.seen: { type: boolean }
        rules:
          - id: gpu
            source: s
            when:
              any:
                - pci: { class: "03" }
                - cpu: { vendor: GenuineIntel }
            then:
              - fact: { gpu.first: "{slot}", gpu.seen: true }
              - fact: { gpu.label: "display at {slot}" }
      `,
    });

  it('is the slot of the matched PCI function; with several, the first in profile order, every slot in the evidence', async () => {
    const { files, issues } = await rules();
    expect(issues.filter((i) => i.severity === 'error')).toEqual([]);
    // Core i7 laptop: Intel UHD 630 at 00:02.0, GeForce (3D controller) at 01:00.0.
    const out = await evaluate(fixtureProfile('intel-nvidia-laptop'), files);
    expect(out.facts).toEqual({ 'gpu.first': '0000:00:02.0', 'gpu.seen': true, 'gpu.label': 'display at 0000:00:02.0' });
    const first = out.decisions.find((d) => 'fact' in d.action && 'gpu.first' in d.action.fact)!;
    expect(first.action).toEqual({ fact: { 'gpu.first': '0000:00:02.0' } });
    expect(first.evidence.at(-1)).toBe(
      '{slot} = 0000:00:02.0, the first of 2 matching PCI functions in profile order (0000:00:02.0, 0000:01:00.0)',
    );
    expect(first.line).toBe(12);
  });

  it('one matched function: its slot; an AMD APU is not at 00:02.0', async () => {
    const { files } = await rules();
    const out = await evaluate(fixtureProfile('amd-apu-laptop'), files);
    expect(out.facts['gpu.first']).toBe('0000:05:00.0');
    expect(out.decisions.find((d) => d.rule === 'gpu')!.evidence.at(-1)).toBe('{slot} = 0000:05:00.0');
  });

  it('a rule that matched without a PCI function (the cpu branch of any:) does not set the facts that need {slot}', async () => {
    const { files } = await rules();
    // The Firecracker VM has an Intel CPU and no display function.
    const out = await evaluate(fixtureProfile('firecracker-vm'), files);
    expect(out.facts).toEqual({ 'gpu.seen': true });
    expect(out.decisions.map((d) => d.action)).toEqual([{ fact: { 'gpu.seen': true } }]);
    expect(out.decisions[0]!.evidence.at(-1)).toBe('{slot}: no matching PCI function, so the facts that need it are not set');
  });

  it('is not filled in cheatcode values', async () => {
    const profile = fixtureProfile('thinkpad-t60');
    const out = await evaluate(profile, [], XEN_4, [{ token: 't', action: { fact: { 'uma.device': '{slot}' } }, devices: ['0000:00:02.0'] }]);
    expect(out.facts).toEqual({ 'uma.device': '{slot}' });
  });
});

describe('cheatcodes', () => {
  // The T60 as booted with cheatcodes on its (otherwise empty) recorded command line.
  const booted = (cmdline: string[]) => ({ ...fixtureProfile('thinkpad-t60'), cmdline });

  it('come last and win; their decisions name the token', async () => {
    const profile = booted(['BOOT_IMAGE=/boot/xen.gz', 'dom0_mem=768M', 'xmodule=vesa', 'passthrough=02:00.0']);
    const actions = cheatcodeActions(parseCheatcodes(profile.cmdline), profile);
    const out = await evaluate(profile, testSet, XEN_4, actions);
    expect(out.dom0Memory).toBe('768M');
    expect(out.sysconfig.xserver).toEqual({ XMODULE: 'vesa' });
    expect(out.dom0.map((o) => `${o.name}=${o.value}`)).toEqual(['xen-pciback.hide=(0000:02:00.0)', 'pciback.hide=(0000:02:00.0)']);
    expect(out.decisions.find((d) => d.rule === 'dom0-small' && 'dom0Memory' in d.action)!.overriddenBy).toBe('cheatcode:dom0_mem=768M');
    expect(out.decisions.find((d) => d.rule === 'uma-intel' && 'sysconfig' in d.action)!.overriddenBy).toBe('cheatcode:xmodule=vesa');
    const hide = out.decisions.find((d) => d.rule === 'cheatcode:passthrough=02:00.0' && 'dom0' in d.action)!;
    expect(hide).toMatchObject({ file: CMDLINE_FILE, line: 1, evidence: ['boot line passthrough=02:00.0'], devices: ['0000:02:00.0'] });
  });

  it("rules see the facts the boot line sets, and still cannot override them", async () => {
    const { files } = await load({
      'a.yaml': [
        'rules:',
        '  - { id: backends, source: s, when: { not: { fact: { xen.disabled: true } } }, then: [module: { load: xen-netback }] }',
        '  - { id: xen-back-on, source: s, then: [fact: { xen.disabled: false }] }',
      ].join('\n'),
    });
    const profile = booted(['noxen']);
    const out = await evaluate(profile, files, XEN_4, cheatcodeActions(parseCheatcodes(profile.cmdline), profile));
    expect(out.modules.load).toEqual([]);
    expect(out.facts['xen.disabled']).toBe(true);
    expect(out.decisions.find((d) => d.rule === 'xen-back-on')!.overriddenBy).toBe('cheatcode:noxen');
    // Without the cheatcode the rule loads its module.
    expect((await evaluate(booted([]), files)).modules.load.map((m) => m.name)).toEqual(['xen-netback']);
  });

  it('rules can test the boot line themselves', async () => {
    const { files } = await load({ 'a.yaml': 'rules:\n  - { id: nomodeset, source: s, when: { cheatcode: nomodeset }, then: [dom0: { add: nomodeset }] }\n' });
    expect((await evaluate(booted(['quiet', 'nomodeset']), files)).dom0).toEqual([{ name: 'nomodeset', value: null, rule: 'nomodeset' }]);
    expect((await evaluate(booted(['quiet', 'nomodeset=1']), files)).dom0).toEqual([{ name: 'nomodeset', value: null, rule: 'nomodeset' }]);
    expect((await evaluate(booted(['xnomodeset']), files)).dom0).toEqual([]);
  });
});

it('splits options at the first "="', () => {
  expect(splitOption('dom0_mem=1024M,max:1024M')).toEqual({ name: 'dom0_mem', value: '1024M,max:1024M' });
  expect(splitOption('xen-pciback.hide=(0000:02:00.0)')).toEqual({ name: 'xen-pciback.hide', value: '(0000:02:00.0)' });
  expect(splitOption('noreboot')).toEqual({ name: 'noreboot', value: null });
  expect(splitOption('a=')).toEqual({ name: 'a', value: '' });
});

describe('determinism', () => {
  const names = ['10-cpu.yaml', '50-graphics.yaml', '90-site.yaml'];
  const texts = Object.fromEntries(names.map((n) => [n, readFileSync(join(DATA, n), 'utf8')]));

  /** An fs whose directory listings come back in the given order, whatever the names. */
  function shuffled(fs: FsLike, order: number[]): FsLike {
    return {
      open: (p, f) => fs.open(p, f),
      readlink: (p) => fs.readlink(p),
      lstat: (p) => fs.lstat(p),
      stat: (p) => fs.stat(p),
      readdir: async (p) => {
        const names = await fs.readdir(p);
        return names.length === order.length ? order.map((i) => names[i]!) : names;
      },
    };
  }

  it('the same names in any listing and creation order give a deep-equal outcome (property)', async () => {
    const profile = fixtureProfile('desktop-amd-gpu');
    const drivers = await fixtureDrivers(profile);
    const reference = evaluateRules({ files: testSet.map((f) => ({ ...f, file: f.file.replace(`${DATA}/`, '/r/') })), profile, drivers, target: XEN_4, cheatcodes: [] });
    await fc.assert(
      fc.asyncProperty(fc.shuffledSubarray([0, 1, 2], { minLength: 3, maxLength: 3 }), fc.shuffledSubarray([0, 1, 2], { minLength: 3, maxLength: 3 }), async (create, list) => {
        const files: Record<string, string> = {};
        for (const i of create) files[`r/${names[i]}`] = texts[names[i]!]!;
        const { fs } = volume({ files });
        const { files: loaded } = await loadRules({ paths: ['/r'], fs: shuffled(fs, list) });
        const before = JSON.stringify(loaded);
        const out = evaluateRules({ files: loaded, profile, drivers, target: XEN_4, cheatcodes: [] });
        expect(out).toEqual(reference);
        expect(JSON.stringify(loaded)).toBe(before); // evaluation does not touch its input
      }),
      { numRuns: 30 },
    );
  });

  it('random changes to real profiles never crash evaluation (property)', async () => {
    const machines = fixtureNames().map((n) => fixtureProfile(n));
    const { files } = await loadRules({ paths: [DATA] });
    const text = fc.oneof(fc.constant(null), fc.string({ maxLength: 8 }), fc.constantFrom('8086', '03', '00:02.0', 'x86_64', 'dom0'));
    const mutation = fc.oneof(
      fc.record({ kind: fc.constant('pci' as const), at: fc.nat(), field: fc.constantFrom('vendor', 'device', 'class', 'subclass', 'driver', 'modalias'), value: text }),
      fc.record({ kind: fc.constant('pci' as const), at: fc.nat(), field: fc.constant('slot'), value: fc.oneof(fc.string({ maxLength: 12 }), fc.constant('0000:00:02.0')) }),
      fc.record({ kind: fc.constant('cpu' as const), flags: fc.array(fc.constantFrom('vmx', 'svm', 'lm', 'pae', 'hypervisor'), { maxLength: 4 }), known: fc.boolean(), state: fc.constantFrom('enabled', 'disabled-by-firmware', 'absent', 'unknown'), longMode: fc.constantFrom(true, false, null), family: fc.option(fc.nat({ max: 30 })) }),
      fc.record({ kind: fc.constant('hv' as const), role: fc.constantFrom('dom0', 'xen-pv', 'xen-hvm', 'xen-pvh', 'guest', 'bare-metal', 'unknown'), detected: text, caps: fc.array(fc.constantFrom('hvm-3.0-x86_32', 'xen-3.0-x86_64', ''), { maxLength: 2 }) }),
      fc.record({ kind: fc.constant('misc' as const), kib: fc.option(fc.nat()), cmdline: fc.array(fc.oneof(fc.string({ maxLength: 10 }), fc.constantFrom('dom0_mem=1G', 'xmodule=vesa', 'passthrough=00:02.0', 'nohvm', 'lang=de', '--')), { maxLength: 5 }), release: text, dmi: text }),
      fc.record({ kind: fc.constant('drop' as const), at: fc.nat() }),
    );
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: machines.length - 1 }), fc.array(mutation, { maxLength: 6 }), fc.constantFrom('3.0.2', '4.17', 'junk'), fc.constantFrom(null, 'x86_64', 'x86_32'), async (m, mutations, xen, arch) => {
        const p = structuredClone(machines[m]!) as HardwareProfile;
        for (const mu of mutations) {
          if (mu.kind === 'pci' && p.pci.length) (p.pci[mu.at % p.pci.length] as unknown as Record<string, string | null>)[mu.field] = mu.value;
          else if (mu.kind === 'cpu') Object.assign(p.cpu, { flags: mu.flags, flagsKnown: mu.known, longMode: mu.longMode, family: mu.family, vt: { ...p.cpu.vt, state: mu.state } });
          else if (mu.kind === 'hv') Object.assign(p.hypervisor, { role: mu.role, detected: mu.detected, xen: { ...p.hypervisor.xen, capabilities: mu.caps } });
          else if (mu.kind === 'misc') Object.assign(p, { memory: { totalKiB: mu.kib }, cmdline: mu.cmdline, kernel: { release: mu.release }, dmi: { ...p.dmi, productName: mu.dmi } });
          else if (mu.kind === 'drop' && p.pci.length) p.pci.splice(mu.at % p.pci.length, 1);
        }
        const drivers = await fixtureDrivers(p);
        const out = evaluateRules({ files, profile: p, drivers, target: { xen, arch }, cheatcodes: cheatcodeActions(parseCheatcodes(p.cmdline), p) });
        expect(JSON.parse(JSON.stringify(out))).toEqual(out);
        for (const d of out.decisions) expect(d.overriddenBy === undefined || typeof d.overriddenBy === 'string').toBe(true);
      }),
      { numRuns: 200 },
    );
  });
});

import { describe, expect, it } from 'vitest';
import { concerns, describeAction, formatVerdicts } from '../../src/cli/format-decisions.ts';
import type { Decision } from '../../src/rules/types.ts';
import { planFor } from '../emit/_plans.ts';

const decision = (over: Partial<Decision>): Decision => ({
  rule: 'r',
  file: 'f.yaml',
  line: 1,
  evidence: [],
  action: { note: 'x' },
  ...over,
});

describe('describeAction', () => {
  it.each([
    [{ xen: { add: ['iommu=no-igfx', 'x2apic=false'] } }, 'xen add iommu=no-igfx x2apic=false'],
    [{ fact: { 'hvm.available': true } }, 'fact hvm.available = true'],
    [{ module: { prefer: 'radeon' } }, 'module prefer radeon'],
    [{ sysconfig: { file: 'xserver', set: { XMODULE: 'intel' } } }, 'sysconfig xserver XMODULE="intel"'],
    [{ dom0Memory: '512M' }, 'dom0Memory "512M"'],
  ] as const)('%j', (action, text) => {
    expect(describeAction(action as Decision['action'])).toBe(text);
  });
});

describe('concerns', () => {
  it.each([
    [decision({ devices: ['0000:00:02.0'] }), '00:02.0', true],
    [decision({ devices: ['0000:00:02.0'] }), '0000:00:02.0', true],
    [decision({ devices: ['0000:00:02.0'] }), '00:02.1', false],
    [decision({ action: { fact: { 'hvm.available': true } } }), 'hvm', true],
    [decision({ action: { fact: { 'hvm.available': true } } }), 'vm', false],
    [decision({ action: { module: { blacklist: 'snd-atiixp-modem' } } }), 'snd_atiixp_modem', true],
    [decision({ action: { xen: { add: 'iommu=no-igfx' } } }), 'iommu', true],
  ])('%#: %s', (d, topic, expected) => {
    expect(concerns(d, topic)).toBe(expected);
  });
});

// The report's verdict lines, on plans the real pipeline makes of the fixtures (test/emit/_plans.ts planFor).
describe('formatVerdicts', () => {
  it.each([
    // Long mode known: the planned Xen, Dom0 and 64-bit guests.
    ['intel-nvidia-laptop', '4.17', '64-bit: yes — x86_64 Xen, x86_64 Dom0, 64-bit guests possible'],
    ['thinkpad-t60', '3.0.3', '64-bit: no — x86_32 Xen, x86_32 Dom0, 64-bit guests impossible'],
    // No Xen (no long mode at 4.17; no PAE at 3.0.3; a PV guest): no Xen arch named, the kernel that boots instead.
    ['thinkpad-t60', '4.17', '64-bit: no — no Xen (it does not run here, see the warnings); the x86_32 kernel boots without it'],
    ['thinkpad-t42', '3.0.3', '64-bit: no — no Xen (it does not run here, see the warnings); the x86_32 kernel boots without it'],
    ['xen-pv-guest', '4.17', '64-bit: yes — no Xen (it does not run here, see the warnings); the x86_64 kernel boots without it'],
    // Long mode unknown (the EC2 guest has no cpuinfo): what the planned Xen does about it, never "impossible".
    [
      'xen-hvm-guest',
      '3.0.3',
      '64-bit: unknown — x86_32 Xen, x86_32 Dom0 (they run on 32- and 64-bit CPUs alike); 64-bit guests would need the x86_64 Xen',
    ],
    [
      'xen-hvm-guest',
      '4.17',
      '64-bit: unknown — x86_64 Xen, x86_64 Dom0 (the only Xen there is from 4.3: it boots on a 64-bit CPU only, which then runs 64-bit guests too)',
    ],
  ])('%s on Xen %s: %s', async (fixture, xen, line) => {
    expect(formatVerdicts(await planFor(fixture, xen))[1]).toBe(line);
  });

  it.each([
    ['server-iommu-bmc', '4.17', /^HVM guests: yes \(vmx\) — the CPU has Intel VT-x \(vmx\), but whether the firmware left it on is unverified/],
    ['macbookpro5-5', '3.0.3', /^HVM guests: yes \(vmx\) — /],
    ['macbookpro5-5', '4.17', /^HVM guests: no — the CPU lacks EPT\/NPT, which this Xen needs/],
    ['xen-dom0', '4.17', /^HVM guests: no — the CPU lacks EPT\/NPT \(by its model\)/], // a Core 2 (Merom)
    ['xen-hvm-guest', '4.17', /^HVM guests: no — .*whether it passes VT-x\/AMD-V through is unknown/],
  ])('%s on Xen %s: the HVM line', async (fixture, xen, line) => {
    expect(formatVerdicts(await planFor(fixture, xen))[0]).toMatch(line);
  });
});

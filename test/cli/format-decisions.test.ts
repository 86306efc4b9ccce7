import { describe, expect, it } from 'vitest';
import { concerns, describeAction } from '../../src/cli/format-decisions.ts';
import type { Decision } from '../../src/rules/types.ts';

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

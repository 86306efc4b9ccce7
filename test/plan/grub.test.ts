// decideGrub and grubEntries (src/plan/grub.ts) over every fixture and target: which GRUB, the entries each
// architecture gets with and without Xen, the one default, and EFI or BIOS where the profile does not tell.
import { describe, expect, it } from 'vitest';
import { decideGrub } from '../../src/plan/grub.ts';
import { targetInfo } from '../../src/plan/plan.ts';
import { versionAtLeast } from '../../src/rules/version.ts';
import { decideArch } from '../../src/plan/verdicts.ts';
import { fixtureNames } from '../_support/memfs.ts';
import { decided } from './_decided.ts';

async function grubOf(fixture: string, xen: string, change: { efi?: boolean | null; facts?: Record<string, string> } = {}) {
  const d = await decided(fixture, xen);
  const target = targetInfo(d.target);
  const facts = { ...d.outcome.facts, ...change.facts };
  return decideGrub({
    facts,
    efi: change.efi === undefined ? d.profile.firmware.efi : change.efi,
    target,
    xenArch: decideArch(d.profile.cpu.longMode, facts).xen,
    longMode: d.profile.cpu.longMode,
    xenDisabled: facts['xen.disabled'] === true,
    xenOptions: d.outcome.xen,
    dom0Options: d.outcome.dom0,
    nativeOptions: d.outcome.dom0,
  });
}

const TARGETS = ['3.0.2', '3.0.3', '4.2', '4.17', '4.20'];

describe('grubEntries', () => {
  it.each(fixtureNames().flatMap((f) => TARGETS.map((xen) => [f, xen] as const)))('%s at Xen %s', async (fixture, xen) => {
    const d = await decided(fixture, xen);
    const { grub } = await grubOf(fixture, xen);
    const xenDisabled = d.outcome.facts['xen.disabled'] === true;
    expect(grub.flavor).toBe(versionAtLeast(xen, '4.0') ? 'grub2' : 'legacy');
    // Each architecture without Xen; no x86_64 on a CPU without long mode; a 32-bit Xen only before 4.3.
    const arches = d.profile.cpu.longMode === false ? ['x86_32'] : ['x86_64', 'x86_32'];
    expect(grub.entries.filter((e) => !e.xen).map((e) => e.arch)).toEqual(arches);
    const xenArches = arches.filter((a) => a === 'x86_64' || !versionAtLeast(xen, '4.3'));
    expect(grub.entries.filter((e) => e.xen).map((e) => e.arch)).toEqual(xenArches);
    for (const e of grub.entries) {
      expect(e.hypervisor).toBe(e.xen ? `/boot/${e.arch}/xen.gz` : null);
      // A XenLinux Dom0 (Xen 3.x) has its own kernel; from 4.0 one pvops kernel boots both ways.
      const own = e.xen && !versionAtLeast(xen, '4.0') ? '-xen' : '';
      expect(e.kernel).toBe(`/boot/${e.arch}/vmlinuz${own}`);
      if (!e.xen) expect(e.xenOptions).toBe('');
    }
    // One default: the Xen entry of the rules' arch, or the first plain kernel where Xen does not boot.
    const defaults = grub.entries.filter((e) => e.default);
    expect(defaults).toHaveLength(1);
    expect(defaults[0]!.xen).toBe(!xenDisabled);
    if (!xenDisabled) expect(defaults[0]!.arch).toBe(decideArch(d.profile.cpu.longMode, d.outcome.facts).xen);
  });
});

describe('decideGrub: EFI or BIOS', () => {
  it.each(fixtureNames().map((f) => [f] as const))('%s: BIOS assumed, and said, exactly where the profile does not tell', async (fixture) => {
    const d = await decided(fixture, '4.17');
    const g = await grubOf(fixture, '4.17');
    const unknown = d.profile.firmware.efi === null && d.outcome.facts['grub.variant'] === undefined;
    expect(g.grub.variantAssumed).toBe(unknown);
    expect(g.notes).toHaveLength(unknown ? 1 : 0);
    if (unknown) expect(g.grub.variant).toBe('bios');
  });

  it.each([
    // GRUB on UEFI starts Xen only by multiboot2, which Xen has from 4.9.
    ['4.8', 1],
    ['4.9', 0],
    ['4.17', 0],
  ] as const)('the Radeon desktop booted by UEFI, Xen %s: %d warning(s)', async (xen, warnings) => {
    const g = await grubOf('desktop-amd-gpu', xen, { efi: true });
    expect(g.grub.variant).toBe('efi');
    expect(g.warnings).toHaveLength(warnings);
  });

  it("a rule's grub.variant beats the firmware", async () => {
    const g = await grubOf('firecracker-vm', '4.17', { facts: { 'grub.variant': 'efi' } });
    expect(g.grub).toMatchObject({ variant: 'efi', variantAssumed: false });
  });
});

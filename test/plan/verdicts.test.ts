// decideHvm, decideArch, decideIommu (src/plan/verdicts.ts) over every fixture, and with the outcome's facts changed.
import { describe, expect, it } from 'vitest';
import { planDecided } from '../../src/plan/decide.ts';
import { decideArch, decideHvm, decideIommu } from '../../src/plan/verdicts.ts';
import { fixtureNames } from '../_support/memfs.ts';
import { decided } from './_decided.ts';

const cases = fixtureNames().flatMap((f) => ['3.0.3', '4.17', '4.20'].map((xen) => [f, xen] as const));

describe('decideHvm', () => {
  it.each(cases)('%s at Xen %s: HVM only where Xen boots, the technology only with HVM', async (fixture, xen) => {
    const { outcome } = await decided(fixture, xen);
    const xenDisabled = outcome.facts['xen.disabled'] === true;
    const hvm = decideHvm(outcome.facts, xenDisabled);
    expect(hvm.available).toBe(outcome.facts['hvm.available'] === true && !xenDisabled);
    if (!hvm.available) expect(hvm.technology).toBeNull();
    else expect(hvm.technology).toBe(outcome.facts['hvm.technology']);
    expect(hvm.reason).not.toBe('');
  });

  it("the Radeon desktop (VT-x, HVM yes at 4.17) where Xen will not boot: no HVM, and the reason says why", async () => {
    const { outcome } = await decided('desktop-amd-gpu', '4.17');
    expect(decideHvm(outcome.facts, false)).toMatchObject({ available: true, technology: 'vmx' });
    expect(decideHvm(outcome.facts, true)).toEqual({
      available: false,
      technology: null,
      reason: 'Xen does not run on this machine (see the warnings), so neither do HVM guests',
      unreliable: false,
    });
  });

  it('no rule decided: none, said so', () => {
    expect(decideHvm({}, false)).toEqual({ available: false, technology: null, reason: 'no rule decided about HVM', unreliable: false });
  });
});

describe('decideArch', () => {
  it.each(cases)("%s at Xen %s: the rules' arch facts; without them 32-bit only where long mode is absent", async (fixture, xen) => {
    const { profile, outcome } = await decided(fixture, xen);
    const ruled = decideArch(profile.cpu.longMode, outcome.facts);
    expect(ruled.xen).toBe(outcome.facts['arch.xen'] ?? ruled.xen);
    expect(ruled.dom0).toBe(outcome.facts['arch.dom0'] ?? ruled.xen);
    const unruled = decideArch(profile.cpu.longMode, {});
    expect(unruled).toEqual({
      xen: profile.cpu.longMode === false ? 'x86_32' : 'x86_64',
      dom0: profile.cpu.longMode === false ? 'x86_32' : 'x86_64',
      guests64: false,
    });
  });
});

describe('decideIommu', () => {
  it.each([
    // IVRS in the ProBook's logs; firecracker's ACPI tables lack DMAR/IVRS; the T60's logs list no ACPI tables.
    ['amd-apu-laptop', '4.17', true],
    ['firecracker-vm', '4.17', false],
    ['thinkpad-t60', '3.0.3', null],
  ] as const)('%s at Xen %s: %s', async (fixture, xen, available) => {
    const d = await decided(fixture, xen);
    expect(decideIommu(d.outcome.facts, [])).toEqual({ available, hidden: [] });
    expect(planDecided(d).iommu.available).toBe(available);
  });
});

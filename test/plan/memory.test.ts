// decideMemory and decideUma (src/plan/memory.ts) over real machines: the figure the sizes come from, Dom0's size in
// the target's syntax, what is left for guests, and a size no machine can honour.
import { describe, expect, it } from 'vitest';
import { decideMemory, decideUma } from '../../src/plan/memory.ts';
import { targetInfo } from '../../src/plan/plan.ts';
import { fixtureNames } from '../_support/memfs.ts';
import { decided } from './_decided.ts';

async function memoryOf(fixture: string, xen: string) {
  const d = await decided(fixture, xen);
  const target = targetInfo(d.target);
  const uma = decideUma(d.profile, d.outcome.facts);
  return { d, target, uma, m: decideMemory(d.profile, d.outcome, target, uma.stolenMiB) };
}

describe('decideMemory', () => {
  it.each([
    // SMBIOS states 16 GiB (the ProBook's dmidecode); the shipped rules give Dom0 2 GiB from Xen 4.x.
    ['amd-apu-laptop', '4.17', { totalMiB: null, installedMiB: 16384, dom0: '2048M,max:2048M', dom0MiB: 2048, guestsMiB: 14336 }, 'dom0_mem=2048M,max:2048M'],
    // A live snapshot with MemTotal and no SMBIOS memory: guests get MemTotal less Dom0.
    ['firecracker-vm', '4.17', { totalMiB: 24105, installedMiB: null, dom0: '2048M,max:2048M', dom0MiB: 2048, guestsMiB: 22057 }, 'dom0_mem=2048M,max:2048M'],
    // 1 GiB: Dom0 512M.
    ['kvm-guest', '4.20', { totalMiB: null, installedMiB: 1024, dom0: '512M,max:512M', dom0MiB: 512, guestsMiB: 512 }, 'dom0_mem=512M,max:512M'],
    // Xen 3.0.3 balloons Dom0: no size, no option.
    ['server-iommu-bmc', '3.0.3', { totalMiB: null, installedMiB: 131072, dom0: null, dom0MiB: null, guestsMiB: null }, null],
  ] as const)('%s at Xen %s', async (fixture, xen, memory, option) => {
    const { d, m } = await memoryOf(fixture, xen);
    expect(m.memory).toEqual(memory);
    expect(m.option === null ? null : `${m.option.name}=${m.option.value}`).toBe(option);
    if (m.option !== null) {
      // The option names the rule that sized Dom0.
      const sizing = d.outcome.decisions.filter((x) => 'dom0Memory' in x.action && !x.overriddenBy).at(-1)!;
      expect(m.option.rule).toBe(sizing.rule);
    }
    expect(m.warnings).toEqual([]);
  });

  it("the T60 at Xen 3.0.2: 512M in 3.0.2's own syntax, KiB without a suffix", async () => {
    const { m } = await memoryOf('thinkpad-t60', '3.0.2');
    expect(m.memory.dom0).toBe('512M');
    expect(m.option?.value).toBe('524288');
  });

  it("a rule's size larger than the machine (the ProBook's 16 GiB, 99999G): dropped with a warning, Xen's default", async () => {
    const { d, target, uma } = await memoryOf('amd-apu-laptop', '4.17');
    const m = decideMemory(d.profile, { ...d.outcome, dom0Memory: '99999G' }, target, uma.stolenMiB);
    expect(m.option).toBeNull();
    expect(m.memory).toMatchObject({ dom0: null, dom0MiB: null, guestsMiB: null, installedMiB: 16384 });
    expect(m.warnings).toHaveLength(1);
    expect(m.warnings[0]).toMatch(/^dom0_mem 99999G: .*; Dom0 memory is left to Xen's default$/);
  });

  it.each(fixtureNames().map((f) => [f] as const))('%s at 4.17: a note exactly where the sizes come from SMBIOS', async (fixture) => {
    const { m } = await memoryOf(fixture, '4.17');
    const fromSmbios = m.memory.installedMiB !== null && m.memory.dom0MiB !== null;
    expect(m.notes).toHaveLength(fromSmbios ? 1 : 0);
    if (fromSmbios) expect(m.notes[0]).toContain(`${m.memory.installedMiB} MiB of installed memory`);
  });
});

describe('decideUma', () => {
  it.each(fixtureNames().map((f) => [f] as const))("%s: the rules' UMA device; no carve-out without one", async (fixture) => {
    const { d, uma } = await memoryOf(fixture, '4.17');
    expect(uma.present).toBe(d.outcome.facts['uma.present'] === true);
    expect(uma.device).toBe(d.outcome.facts['uma.device'] ?? null);
    if (!uma.present) expect(uma.stolenMiB).toBeNull();
  });
});

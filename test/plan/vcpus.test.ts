// decideVcpus (src/plan/vcpus.ts) over real machines: the host's logical CPUs, Dom0's (and dom0_max_vcpus= in the
// target's form), the HVM template's, and what a plan made inside a Dom0 cannot know.
import { describe, expect, it } from 'vitest';
import { targetInfo } from '../../src/plan/plan.ts';
import { decideVcpus } from '../../src/plan/vcpus.ts';
import { decided } from './_decided.ts';

async function vcpusOf(fixture: string, xen: string, extra = '') {
  const d = await decided(fixture, xen, extra);
  return decideVcpus(d.profile, d.outcome, targetInfo(d.target));
}

describe('decideVcpus', () => {
  it.each([
    // The R730's 40 logical CPUs: Dom0 capped at 4, the range form from Xen 4.3, the plain count before.
    ['server-iommu-bmc', '4.17', '', { host: 40, dom0: 4, guests: 20 }, '1-4'],
    ['server-iommu-bmc', '4.2', '', { host: 40, dom0: 4, guests: 20 }, '4'],
    // Xen 3.0.3: Dom0 takes all; the template at most 4 vCPUs (hvmloader's DSDT).
    ['server-iommu-bmc', '3.0.3', '', { host: 40, dom0: 'all', guests: 4 }, null],
    // The user's dom0_vcpus= wins over the cap: all stays all, a number stays that number.
    ['server-iommu-bmc', '4.17', 'dom0_vcpus=all', { host: 40, dom0: 'all', guests: 20 }, null],
    ['server-iommu-bmc', '4.17', 'dom0_vcpus=6', { host: 40, dom0: 6, guests: 20 }, '6'],
    // Two logical CPUs: nothing to cap.
    ['thinkpad-t60', '3.0.3', '', { host: 2, dom0: 'all', guests: 2 }, null],
  ] as const)('%s at Xen %s %s', async (fixture, xen, extra, vcpus, option) => {
    const v = await vcpusOf(fixture, xen, extra);
    expect(v.vcpus).toEqual(vcpus);
    expect(v.option?.value ?? null).toBe(option);
    if (v.option !== null) expect(v.option.name).toBe('dom0_max_vcpus');
    // The cap is said; the user's choice needs no note.
    expect(v.notes.some((n) => n.startsWith('Dom0 gets at most'))).toBe(option === '1-4' || option === '4');
  });

  it("inside a Xen Dom0 without Xen's PCPU list: the logical CPUs are unknown, and a note says so", async () => {
    const v = await vcpusOf('xen-dom0', '4.17');
    expect(v.vcpus.host).toBeNull();
    expect(v.option).toBeNull();
    expect(v.notes.some((n) => n.includes("the machine's logical CPUs are unknown"))).toBe(true);
  });
});

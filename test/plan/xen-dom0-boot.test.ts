// What a real boot of Xen 4.17 + a Debian 6.1 Dom0 under QEMU showed (issue #9 §3): inside a PV Dom0 the CPU flags
// hide VT and /proc/meminfo is Dom0's share. The verdicts made there must be the ones Xen's own interfaces prove, no
// note may contradict them, and the plan must be the one the same machine gets without Xen.
import { describe, expect, it } from 'vitest';
import { render } from '../../src/emit/render.ts';
import { decide } from '../../src/plan/decide.ts';
import { plan } from '../../src/plan/plan.ts';
import type { Plan } from '../../src/plan/types.ts';
import { probe } from '../../src/probe/probe.ts';
import { fixtureNames, loadFixture, volume, type Tree } from '../_support/memfs.ts';
import { qemuBareTree, qemuDom0Tree } from '../_support/qemu-xen.ts';

const TARGETS = ['3.0.2', '3.0.3', '4.17'] as const;

async function planOf(fs: Parameters<typeof decide>[0]['fs'], root: string, xen: string): Promise<Plan> {
  const d = await decide({ fs, root, xen });
  return plan({ profile: d.profile, drivers: d.drivers.devices, target: d.target, outcome: d.outcome, kernel: d.drivers.kernel });
}

function planOfTree(tree: Tree, xen: string): Promise<Plan> {
  const { fs } = volume(tree, '/machine');
  return planOf(fs, '/machine', xen);
}

/** What a note or warning says about HVM guests: available (true), not (false), or nothing (null). */
function hvmClaim(text: string): boolean | null {
  if (/^No HVM guests\b/.test(text)) return false;
  if (/^HVM guests (planned|would run|boot with|can use)\b/.test(text)) return true;
  return null;
}

/** Every note and warning that contradicts the final HVM verdict, and every note of a rule whose verdict lost. */
function contradictions(p: Plan): string[] {
  const out: string[] = [];
  for (const text of [...p.notes, ...p.warnings]) {
    const claim = hvmClaim(text);
    if (claim !== null && claim !== p.hvm.available) out.push(`says HVM ${claim ? 'yes' : 'no'} against ${p.hvm.available}: ${text}`);
  }
  // A rule that set hvm.available to what did not stand must have left no note or warning standing either.
  const final = p.decisions.find((d) => 'fact' in d.action && 'hvm.available' in d.action.fact && !d.overriddenBy);
  const finalValue = final && 'fact' in final.action ? final.action.fact['hvm.available'] : undefined;
  const losers = new Set(
    p.decisions
      .filter((d) => 'fact' in d.action && 'hvm.available' in d.action.fact && d.action.fact['hvm.available'] !== finalValue)
      .map((d) => d.rule),
  );
  for (const d of p.decisions) {
    if (!losers.has(d.rule)) continue;
    if ('note' in d.action) out.push(`rule ${d.rule}, whose HVM verdict was replaced, notes: ${d.action.note}`);
    if ('warn' in d.action) out.push(`rule ${d.rule}, whose HVM verdict was replaced, warns: ${d.action.warn}`);
  }
  return out;
}

describe('HVM in a Xen Dom0: Xen decides, and nothing contradicts the verdict', () => {
  it('the QEMU PV Dom0 (no svm in cpuinfo): cpu.vt says what Xen proves, HVM yes with AMD-V', async () => {
    const { fs } = volume(qemuDom0Tree(), '/machine');
    const profile = await probe({ fs, root: '/machine' });
    expect(profile.hypervisor.role).toBe('dom0');
    expect(profile.cpu.flags).not.toContain('svm');
    expect(profile.cpu.vt.state).toBe('enabled');
    expect(profile.cpu.vt.technology).toBe('svm');
    expect(profile.cpu.vt.evidence.join('; ')).toMatch(/hvm-3\.0-x86_64/);
    const p = await planOfTree(qemuDom0Tree(), '4.17');
    expect(p.hvm).toMatchObject({ available: true, technology: 'svm' });
    expect(contradictions(p)).toEqual([]);
    expect([...p.notes, ...p.warnings].join('\n')).not.toMatch(/neither Intel VT-x nor AMD-V|shows neither vmx nor svm/);
  });

  it.each(fixtureNames().flatMap((name) => TARGETS.map((xen) => [name, xen] as const)))(
    '%s on Xen %s: no note or warning contradicts the HVM verdict',
    async (name, xen) => {
      const { fs, root } = loadFixture(name);
      expect(contradictions(await planOf(fs, root, xen))).toEqual([]);
    },
  );

  it.each(TARGETS)('the QEMU Dom0 and the same machine without Xen on Xen %s: no contradiction', async (xen) => {
    expect(contradictions(await planOfTree(qemuDom0Tree(), xen))).toEqual([]);
    expect(contradictions(await planOfTree(qemuBareTree(), xen))).toEqual([]);
  });

  it('a Dom0 whose Xen offers no hvm-*: HVM no, and no note of the CPU flags says otherwise', async () => {
    const tree = qemuDom0Tree();
    tree.files!['sys/hypervisor/properties/capabilities'] = 'xen-3.0-x86_64\n';
    const p = await planOfTree(tree, '4.17');
    expect(p.hvm.available).toBe(false);
    expect(p.hvm.reason).toMatch(/no hvm-\* capability/);
    expect(contradictions(p)).toEqual([]);
  });

  it('the xen-dom0 fixture (RHEL5, vmx shown by its XenLinux kernel): enabled by what Xen offers, no unverified note', async () => {
    const { fs, root } = loadFixture('xen-dom0');
    const profile = await probe({ fs, root });
    expect(profile.cpu.vt).toMatchObject({ state: 'enabled', technology: 'vmx' });
    const p = await planOf(fs, root, '4.17');
    expect(p.notes.join('\n')).not.toMatch(/could not be checked/);
  });
});

describe("memory in a Xen Dom0: the machine's, never Dom0's share", () => {
  it.each(TARGETS)('Xen %s: the plan made inside the QEMU Dom0 is the one made without Xen', async (xen) => {
    const inside = await planOfTree(qemuDom0Tree(), xen);
    const outside = await planOfTree(qemuBareTree(), xen);
    // What may differ is why HVM is available (Xen's capabilities there, the CPU flag here) and what is said about it.
    const comparable = (p: Plan) => ({ ...p, hvm: { ...p.hvm, reason: '' }, notes: [], warnings: [], decisions: [] });
    expect(comparable(inside)).toEqual(comparable(outside));
    expect(inside.memory).toMatchObject({ totalMiB: null, installedMiB: 3072 });
    if (xen === '4.17') expect(inside.xen.cmdline).toBe('dom0_mem=1024M,max:1024M');
    const files = (p: Plan) => render(p).map((f) => ({ ...f, content: f.content.replace(/^HVM_REASON=.*$/m, '') }));
    expect(files(inside)).toEqual(files(outside));
  });

  it('without SMBIOS data (not root) a Dom0 sizes nothing from its MemTotal: Xen default, said in a note', async () => {
    const tree = qemuDom0Tree();
    for (const path of Object.keys(tree.files!)) if (path.startsWith('sys/firmware/dmi/')) delete tree.files![path];
    const p = await planOfTree(tree, '4.17');
    expect(p.memory).toEqual({ totalMiB: null, installedMiB: null, dom0: null, dom0MiB: null, guestsMiB: null });
    expect(p.xen.cmdline).not.toMatch(/dom0_mem/);
    expect(p.notes.filter((n) => /Inside this Xen Dom0 the machine's memory is unknown/.test(n))).toHaveLength(1);
    expect(p.notes.join('\n')).not.toMatch(/The memory size is unknown/);
    // The same machine without Xen still sizes from MemTotal: it is the machine's there.
    const bare = qemuBareTree();
    for (const path of Object.keys(bare.files!)) if (path.startsWith('sys/firmware/dmi/')) delete bare.files![path];
    expect((await planOfTree(bare, '4.17')).memory).toMatchObject({ totalMiB: 2933, installedMiB: null, dom0: '1024M,max:1024M' });
  });
});

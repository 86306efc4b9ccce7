// What a real boot of Xen 4.17 + a Debian 6.1 Dom0 under QEMU showed (issue #9 §3): inside a PV Dom0 the CPU flags
// hide VT and /proc/meminfo is Dom0's share. The verdicts made there must be the ones Xen's own interfaces prove, no
// note may contradict them, and the plan must be the one the same machine gets without Xen.
import { describe, expect, it } from 'vitest';
import { render } from '../../src/emit/render.ts';
import { decide, planDecided } from '../../src/plan/decide.ts';
import type { Plan } from '../../src/plan/types.ts';
import { probe } from '../../src/probe/probe.ts';
import { fixtureNames, loadFixture, volume, type Tree } from '../_support/memfs.ts';
import { qemuBareTree, qemuDom0Tree } from '../_support/qemu-xen.ts';

const TARGETS = ['3.0.2', '3.0.3', '4.17'] as const;

async function planOf(fs: Parameters<typeof decide>[0]['fs'], root: string, xen: string): Promise<Plan> {
  const d = await decide({ fs, root, xen });
  return planDecided(d);
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
    // On Xen 3.x (shadow paging) VT is all HVM needs. From 4.7 Xen lists hvm-* with or without EPT/NPT, which a
    // Dom0's flags hide, and where the machine is real its CPU's model decides; this one is QEMU's (DMI), whose
    // qemu64 model says K8 but which offers NPT on request: unknown, not planned, and said why (hvm-dom0-hap-unknown).
    const p = await planOfTree(qemuDom0Tree(), '3.0.3');
    expect(p.hvm).toMatchObject({ available: true, technology: 'svm' });
    expect(contradictions(p)).toEqual([]);
    const now = await planOfTree(qemuDom0Tree(), '4.17');
    expect(now.hvm.available).toBe(false);
    expect(now.hvm.reason).toMatch(/with or without EPT\/NPT/);
    expect(profile.cpu.hap).toMatchObject({ state: 'unknown', feature: 'npt' });
    expect(profile.cpu.hap.evidence.at(-1)).toBe('this machine is itself virtual (DMI), so its CPU model does not tell');
    expect(contradictions(now)).toEqual([]);
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
    if (xen === '4.17') expect(inside.xen.cmdline).toBe('ucode=scan dom0_mem=1024M,max:1024M');
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

// The same for CPUs (issue #9, QEMU -smp 2: 1 socket, 2 cores): Dom0's cpuinfo lists its own vCPUs with their
// topology (both "core id 0"), so the machine's counts come from Xen's PCPU list and the SMBIOS type 4 structures.
describe("vCPUs in a Xen Dom0: the machine's CPUs, never Dom0's vCPUs", () => {
  /** The first processor of a cpuinfo only: a Dom0 booted with dom0_max_vcpus=1. */
  const oneVcpu = (tree: Tree) => {
    tree.files!['proc/cpuinfo'] = `${String(tree.files!['proc/cpuinfo']).split('\n\n')[0]}\n`;
    return tree;
  };
  const without = (tree: Tree, prefix: string) => {
    for (const path of Object.keys(tree.files!)) if (path.startsWith(prefix)) delete tree.files![path];
    return tree;
  };
  const cpuNotes = (p: Plan) => p.notes.filter((n) => /^Inside this Xen Dom0 the machine's (logical CPUs|CPU cores)/.test(n));

  it.each<[string, { host: number | null; dom0: number | 'all' | null; guests: number | null }]>([
    ['3.0.2', { host: 2, dom0: 'all', guests: 1 }],
    ['3.0.3', { host: 2, dom0: 'all', guests: 2 }],
    // No HVM guests on 4.17, inside or without Xen: QEMU's svm comes without npt or any SVM feature flag (HAP unknown).
    ['4.17', { host: 2, dom0: 'all', guests: null }],
  ])('Xen %s: host and guest vCPUs from inside the Dom0 are those without Xen', async (xen, vcpus) => {
    const inside = await planOfTree(qemuDom0Tree(), xen);
    const outside = await planOfTree(qemuBareTree(), xen);
    expect(outside.vcpus).toEqual(vcpus);
    expect(inside.vcpus).toEqual(outside.vcpus);
    expect(inside.guest).toEqual(outside.guest);
    expect(cpuNotes(inside)).toEqual([]);
  });

  it('a Dom0 capped by dom0_vcpus=1 (one vCPU in its cpuinfo) plans the same at the next boot: no drift', async () => {
    const line = 'BOOT_IMAGE=/boot/vmlinuz root=/dev/ram0 dom0_vcpus=1\n';
    const capped = oneVcpu(qemuDom0Tree());
    capped.files!['proc/cmdline'] = line;
    const bare = qemuBareTree();
    bare.files!['proc/cmdline'] = line;
    const inside = await planOfTree(capped, '4.17');
    const outside = await planOfTree(bare, '4.17');
    expect(inside.vcpus).toEqual({ host: 2, dom0: 1, guests: null }); // no HVM guests on 4.17 here (HAP unknown)
    expect(inside.vcpus).toEqual(outside.vcpus);
    expect(inside.xen.cmdline).toBe(outside.xen.cmdline);
    expect(inside.xen.cmdline).toMatch(/\bdom0_max_vcpus=1\b/);
    const files = (p: Plan) => render(p).map((f) => ({ ...f, content: f.content.replace(/^HVM_REASON=.*$/m, '') }));
    expect(files(inside)).toEqual(files(outside));
  });

  it.each<[string, (t: Tree) => Tree, { host: number | null; guests: number | null }, RegExp[]]>([
    // Not root: the raw SMBIOS files are 0400. Xen's PCPU list is world-readable.
    ['no SMBIOS type 4 (not root)', (t) => without(t, 'sys/firmware/dmi/entries/4-'), { host: 2, guests: null }, [/CPU cores are unknown.*toolstack's default, 1 vCPU/]],
    ['no xen_cpu (an older Dom0 kernel)', (t) => without(t, 'sys/devices/system/xen_cpu'), { host: null, guests: 2 }, [/logical CPUs are unknown.*HOST_CPUS is left empty/]],
    [
      'neither, and one vCPU: nothing from Dom0 itself',
      (t) => oneVcpu(without(without(t, 'sys/devices/system/xen_cpu'), 'sys/firmware/dmi/entries/4-')),
      { host: null, guests: null },
      [/logical CPUs are unknown/, /CPU cores are unknown/],
    ],
  ])('%s: what is unknown stays unknown, with a note', async (_name, change, vcpus, notes) => {
    // Xen 3.0.3, where the Dom0 plans HVM guests from Xen's capabilities (from 4.7 it cannot: HAP unknown).
    const p = await planOfTree(change(qemuDom0Tree()), '3.0.3');
    expect(p.vcpus).toEqual({ ...vcpus, dom0: 'all' });
    expect(cpuNotes(p)).toHaveLength(notes.length);
    notes.forEach((note, i) => expect(cpuNotes(p)[i]).toMatch(note));
    const cfg = render(p).find((f) => f.path === '/etc/xen/autoconfig-hvm.cfg')!.content;
    if (vcpus.guests === null) expect(cfg).not.toMatch(/^vcpus/m);
    else expect(cfg).toMatch(new RegExp(`^vcpus = ${vcpus.guests}$`, 'm'));
    expect(contradictions(p)).toEqual([]);
  });

  it('without Xen nothing changes: the machine without type 4 or xen_cpu still plans from its cpuinfo', async () => {
    const bare = without(qemuBareTree(), 'sys/firmware/dmi/entries/4-');
    const p = await planOfTree(bare, '3.0.3');
    expect(p.vcpus).toEqual({ host: 2, dom0: 'all', guests: 2 });
    expect(cpuNotes(p)).toEqual([]);
  });

  it('the xen-dom0 fixture (RHEL5 XenLinux, SMBIOS 2.4, no xen_cpu): counts unknown, guests at the toolstack default', async () => {
    const { fs, root } = loadFixture('xen-dom0');
    const p = await planOf(fs, root, '3.0.3');
    expect(p.vcpus).toEqual({ host: null, dom0: 'all', guests: null });
    expect(cpuNotes(p)).toHaveLength(2);
  });
});

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatCpuidCapture, probeCpu } from '../../src/probe/cpu.ts';
import { probeDmi } from '../../src/probe/dmi.ts';
import { cpuidSignature, probeHypervisor } from '../../src/probe/hypervisor.ts';
import type { CpuidLeaf, Hypervisor } from '../../src/types.ts';
import type { Tree } from '../_support/memfs.ts';
import { dataDir, dataFile, machineTree, merge, readerFor } from './_corpus.ts';
import { probe } from '../../src/probe/probe.ts';
import { loadFixture } from '../_support/memfs.ts';

/**
 * The CPUID 0x40000000 leaf behind a signature as virt-what's cpuid helper printed it (EBX, ECX, EDX as text).
 * The helper does not print EAX (the highest hypervisor leaf); nothing here reads it, so it is left 0.
 */
function signatureLeaf(signature: string): CpuidLeaf {
  const bytes = Buffer.alloc(12);
  bytes.write(signature, 'latin1');
  const reg = (i: number) => bytes.readUInt32LE(i * 4).toString(16).padStart(8, '0');
  return { leaf: '40000000', subleaf: '00000000', eax: '00000000', ebx: reg(0), ecx: reg(1), edx: reg(2) };
}

/** The machine's tree, with its captured CPUID signature (if virt-what captured one) as a cpuid capture. */
function treeWithSignature(machine: string, useSignature = true): Tree {
  const tree = machineTree(machine);
  const file = join(dataDir, machine, 'cpuid-hypervisor-signature.txt');
  const signature = existsSync(file) ? dataFile(machine, 'cpuid-hypervisor-signature.txt').replace(/\n$/, '') : '';
  if (useSignature && signature !== '' && !tree.files!['dev/cpu/0/cpuid']) {
    tree.files!['dev/cpu/0/cpuid'] = formatCpuidCapture([signatureLeaf(signature)]);
  }
  return tree;
}

async function hypervisorOf(tree: Tree, kernelRelease: string | null = null) {
  const reader = readerFor(tree);
  const [cpu, dmi] = await Promise.all([probeCpu(reader, { kernelRelease }), probeDmi(reader)]);
  const hypervisor = await probeHypervisor(reader, { cpu, dmi });
  return { hypervisor, diagnostics: reader.diagnostics };
}

type Verdict = Pick<Hypervisor, 'role' | 'detected' | 'dmiVendor' | 'cpuidSignature'>;
const v = (role: Verdict['role'], detected: string | null, dmiVendor: string | null, cpuidSignature: string | null) =>
  ({ role, detected, dmiVendor, cpuidSignature }) satisfies Verdict;

describe('probeHypervisor on real machines', () => {
  it.each<[string, Verdict, boolean?]>([
    // virt-what test data: guests of many hypervisors and two bare-metal controls.
    ['vm-virtwhat-kvm', v('guest', 'kvm', 'Bochs', 'KVMKVMKVM')],
    ['vm-virtwhat-rhev', v('guest', 'kvm', 'KVM', 'KVMKVMKVM')],
    ['vm-virtwhat-nutanix-ahv', v('guest', 'kvm', 'Nutanix AHV', 'KVMKVMKVM')],
    ['vm-virtwhat-aws-kvm-x86', v('guest', 'kvm', 'Amazon EC2', 'KVMKVMKVM')],
    ['vm-virtwhat-alibaba-cloud-x86', v('guest', 'kvm', 'Alibaba Cloud', 'KVMKVMKVM')],
    // UpCloud's SMBIOS names its own company; the chassis still says QEMU.
    ['vm-virtwhat-upcloud', v('guest', 'kvm', 'QEMU', 'KVMKVMKVM')],
    ['vm-virtwhat-lkvm', v('guest', 'kvm', null, 'LKVMLKVMLKVM')],
    // An old kernel without the hypervisor flag: the known signature is still taken.
    ['vm-virtwhat-hyperv', v('guest', 'hyperv', 'Microsoft', 'Microsoft Hv')],
    ['vm-virtwhat-bhyve', v('guest', 'bhyve', 'bhyve', 'bhyve bhyve ')],
    ['vm-virtwhat-vmm', v('guest', 'openbsd-vmm', null, 'OpenBSDVMM58')],
    // virt-what's stub prints "?" here, not a CPUID result: left out; DMI and the hypervisor flag decide.
    ['vm-virtwhat-qemu', v('guest', 'bochs', 'Bochs', null), false],
    // AWS i3.metal carries the same "Amazon EC2" strings as its guests: DMI alone does not make a guest.
    ['vm-virtwhat-aws-baremetal-x86', v('bare-metal', null, 'Amazon EC2', null)],
    ['vm-virtwhat-baremetal', v('bare-metal', null, null, null)],
    // Old Xen (RHEL5 xenlinux): /sys/hypervisor without guest_type, /proc/xen/capabilities decides.
    ['vm-virtwhat-rhel5-xen-dom0', v('dom0', 'xen', null, null)],
    ['vm-virtwhat-rhel5-xen-domU-pv', v('xen-pv', 'xen', null, null)],
    // linux-hardware.org DMI of guests (no CPU data): the strings alone name the hypervisor.
    ['vm-linuxhw-bochs-BE32418C1D7C', v('guest', 'bochs', 'Bochs', null)],
    ['vm-linuxhw-optimized_hosting-kvm-9112EC3CC44C', v('guest', 'kvm', 'KVM', null)],
    ['vm-linuxhw-qemu-q35-ovmf-418878F10378', v('guest', 'qemu', 'QEMU', null)],
    ['vm-linuxhw-redhat-kvm-23637EA53652', v('guest', 'kvm', 'KVM', null)],
    ['vm-aws-xen-hvm-g2.2xlarge-gh-manouchehri', v('xen-hvm', 'xen', 'Xen', null)],
    // Bare metal whose product name is "XENIA 14": not Xen. Without CPU data nothing says bare metal either.
    ['notebook-adata-xenia14-namecontainsXEN-AA93FD80B499', v('unknown', null, null, null)],
    ['this-machine-firecracker-kvm', v('guest', 'kvm', null, 'KVMKVMKVM')],
  ])('%s', async (machine, expected, useSignature = true) => {
    const { hypervisor, diagnostics } = await hypervisorOf(treeWithSignature(machine, useSignature));
    expect(hypervisor).toMatchObject(expected);
    expect(hypervisor.evidence.length).toBeGreaterThan(0);
    expect(diagnostics.filter((d) => !d.path.startsWith('/proc/cpuinfo'))).toEqual([]);
  });

  it('reads the RHEL5 dom0 Xen version and capabilities', async () => {
    const { hypervisor } = await hypervisorOf(treeWithSignature('vm-virtwhat-rhel5-xen-dom0'));
    expect(hypervisor.xen).toEqual({
      present: true,
      guestType: null,
      version: '3.1.2-238.el5',
      capabilities: ['xen-3.0-x86_64', 'xen-3.0-x86_32p', 'hvm-3.0-x86_32', 'hvm-3.0-x86_32p', 'hvm-3.0-x86_64'],
      features: null,
      dom0: true,
    });
    expect(hypervisor.evidence).toContain('/proc/xen/capabilities has control_d');
  });

  it.each([
    ['vm-virtwhat-rhel5-xen-dom0', 'dom0'],
    ['vm-virtwhat-rhel5-xen-domU-pv', 'xen-pv'],
  ] as const)('%s without /sys/hypervisor (kernels without sys-hypervisor): /proc/xen alone', async (machine, role) => {
    const tree = machineTree(machine);
    for (const path of Object.keys(tree.files!)) if (path.startsWith('sys/hypervisor/')) delete tree.files![path];
    const { hypervisor } = await hypervisorOf(tree);
    expect(hypervisor).toMatchObject({ detected: 'xen', role, xen: { present: false, version: null } });
  });

  it('tells the ADATA XENIA trap from Xen when its CPU says bare metal', async () => {
    // The trap's DMI with the bare-metal T510's cpuinfo (no hypervisor flag): bare metal, not Xen.
    const tree = merge(machineTree('notebook-adata-xenia14-namecontainsXEN-AA93FD80B499'), {
      files: { 'proc/cpuinfo': dataFile('vm-virtwhat-baremetal', 'proc__cpuinfo') },
    });
    const { hypervisor } = await hypervisorOf(tree);
    expect(hypervisor).toMatchObject({ role: 'bare-metal', detected: null, dmiVendor: null });
    expect(hypervisor.evidence.join('\n')).toContain('ADATA XENIA 14');
  });
});

describe('Xen through /sys/hypervisor on newer kernels', () => {
  const xenSys = (values: Record<string, string>): Tree => ({
    files: Object.fromEntries(Object.entries(values).map(([k, v]) => [`sys/hypervisor/${k}`, `${v}\n`])),
  });

  it.each<[string, Tree, Pick<Hypervisor, 'role'> & { dom0: boolean | null; features: string | null }]>([
    [
      // systemd issue #28113: a Debian 12 (6.1.27) PV dom0 whose xenfs is not mounted.
      'PV dom0 by XENFEAT_dom0 (features 000228f0)',
      xenSys({ type: 'xen', guest_type: 'PV', 'properties/features': '000228f0' }),
      { role: 'dom0', dom0: true, features: '000228f0' },
    ],
    [
      // systemd issue #8844 and imvirt issue #19: HVM guests on Xen 4.8.
      'HVM domU (features 00002705)',
      xenSys({ type: 'xen', guest_type: 'HVM', 'properties/features': '00002705' }),
      { role: 'xen-hvm', dom0: false, features: '00002705' },
    ],
    [
      'PV domU: a clear bit 11 alone does not say domU (Xen before XENFEAT_dom0 never sets it)',
      xenSys({ type: 'xen', guest_type: 'PV', 'properties/features': '00002705' }),
      { role: 'xen-pv', dom0: null, features: '00002705' },
    ],
    [
      'PVH guest',
      xenSys({ type: 'xen', guest_type: 'PVH' }),
      { role: 'xen-pvh', dom0: null, features: null },
    ],
    [
      'no guest_type, no features, xenfs not mounted: dom0 or domU cannot be told',
      xenSys({ type: 'xen' }),
      { role: 'unknown', dom0: null, features: null },
    ],
    [
      'xenfs mounted: /proc/xen/capabilities decides',
      merge(xenSys({ type: 'xen', guest_type: 'PV' }), { files: { 'proc/xen/capabilities': 'control_d\n' } }),
      { role: 'dom0', dom0: true, features: null },
    ],
  ])('%s', async (_name, tree, expected) => {
    const { hypervisor, diagnostics } = await hypervisorOf(tree);
    expect(hypervisor).toMatchObject({ detected: 'xen', role: expected.role });
    expect(hypervisor.xen).toMatchObject({ present: true, dom0: expected.dom0, features: expected.features });
    expect(diagnostics).toEqual([]);
  });

  it('takes Xen SMBIOS (hvmloader) as an HVM guest when the kernel has no guest_type', async () => {
    const tree = merge(machineTree('vm-aws-xen-hvm-g2.2xlarge-gh-manouchehri'), xenSys({ type: 'xen' }));
    const { hypervisor } = await hypervisorOf(tree);
    expect(hypervisor).toMatchObject({ detected: 'xen', role: 'xen-hvm', dmiVendor: 'Xen', xen: { dom0: null } });
  });

  it('reports a features value that is not hex', async () => {
    const { hypervisor, diagnostics } = await hypervisorOf(xenSys({ type: 'xen', 'properties/features': 'zz' }));
    expect(hypervisor.xen.features).toBeNull();
    expect(diagnostics.map((d) => [d.code, d.path])).toEqual([['malformed', '/sys/hypervisor/properties/features']]);
  });

  it('does not take an empty /sys/hypervisor (present on bare metal) for Xen', async () => {
    const tree = merge(machineTree('vm-virtwhat-baremetal'), { files: { 'sys/hypervisor': null } });
    const { hypervisor } = await hypervisorOf(tree);
    expect(hypervisor).toMatchObject({ role: 'bare-metal', detected: null, xen: { present: false, dom0: null } });
  });
});

describe('CPUID signatures', () => {
  it('prefers DMI when "Microsoft Hv" comes from Xen or KVM offering Hyper-V enlightenments', async () => {
    // systemd issue #8844: XenServer guests that answer "Microsoft Hv"; DMI of an AWS Xen HVM guest.
    const tree = merge(machineTree('vm-aws-xen-hvm-g2.2xlarge-gh-manouchehri'), {
      files: { 'dev/cpu/0/cpuid': formatCpuidCapture([signatureLeaf('Microsoft Hv')]) },
    });
    const { hypervisor } = await hypervisorOf(tree);
    expect(hypervisor).toMatchObject({ cpuidSignature: 'Microsoft Hv', detected: 'xen', role: 'xen-hvm' });
  });

  it.each<[string, boolean | null, string | null]>([
    ['KVMKVMKVM', false, 'KVMKVMKVM'],
    ['HAXMHAXMHAXM', true, 'HAXMHAXMHAXM'],
    // Intel HAXM's signature, not in the table: taken only with the hypervisor bit (bare metal returns other data).
    ['HAXMHAXMHAXM', false, null],
    ['HAXMHAXMHAXM', null, null],
  ])('signature %j with hypervisorFlag %s -> %j', async (text, hypervisorFlag, expected) => {
    const { cpu } = { cpu: await probeCpu(readerFor({ files: {} }), { kernelRelease: null, arch: null }) };
    expect(cpuidSignature({ ...cpu, hypervisorFlag, cpuid: [signatureLeaf(text)] })).toBe(expected);
  });
});

describe('virtual PCI hardware', () => {
  it.each([
    // util-linux vbox-win dump: no hypervisor flag, no DMI, but VirtualBox's own PCI functions.
    ['virtualbox-guest', 'virtualbox', 'guest'],
    // A bare-metal laptop with no virtual device stays bare metal.
    ['thinkpad-t60', null, 'bare-metal'],
  ])('%s -> %s %s', async (name, detected, role) => {
    const { fs, root } = loadFixture(name);
    const profile = await probe({ fs, root });
    expect(profile.hypervisor).toMatchObject({ detected, role });
  });

  it('names the device in the evidence and ignores it when CPU or DMI already decided', async () => {
    const { fs, root } = loadFixture('virtualbox-guest');
    const profile = await probe({ fs, root });
    expect(profile.hypervisor.evidence).toContain(
      'PCI 80ee:beef (VirtualBox Graphics Adapter) exists only in virtualbox guests',
    );
    const cpu = { ...profile.cpu, hypervisorFlag: true, cpuid: [signatureLeaf('KVMKVMKVM')] };
    const reader = readerFor({ files: {} });
    const h = await probeHypervisor(reader, { cpu, dmi: profile.dmi, pci: profile.pci });
    expect(h).toMatchObject({ detected: 'kvm', role: 'guest' });
  });
});

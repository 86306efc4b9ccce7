import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { importLogs } from '../../src/import/import.ts';
import {
  NOW,
  corpusDir,
  dataFile,
  fixtureSource,
  importFiles,
  importFixture,
  importMachine,
  probeImport,
} from './_support.ts';

const HEADER = '# /dev/cpu/0/cpuid capture: LEAF SUBLEAF EAX EBX ECX EDX (hex)';
const PARTIAL = 'cpu.cpuid (except the hypervisor signature leaf)';

describe("virt-what's cpuid-hypervisor-signature.txt -> /dev/cpu/0/cpuid leaf 40000000", () => {
  it.each([
    // virt-what test case (shared corpus, read in place), EBX ECX EDX: the signature's bytes little-endian
    // (KVM's own KVM_CPUID_SIGNATURE is 0x4b4d564b 0x564b4d56 0x0000004d, Hyper-V's EBX "Micr" 0x7263694d)
    ['vm-virtwhat-kvm', 'KVMKVMKVM', '4b4d564b 564b4d56 0000004d', 'kvm'],
    ['vm-virtwhat-rhev', 'KVMKVMKVM', '4b4d564b 564b4d56 0000004d', 'kvm'],
    ['vm-virtwhat-lkvm', 'LKVMLKVMLKVM', '4d564b4c 4d564b4c 4d564b4c', 'kvm'],
    ['vm-virtwhat-hyperv', 'Microsoft Hv', '7263694d 666f736f 76482074', 'hyperv'],
    // The trailing space is part of the signature.
    ['vm-virtwhat-bhyve', 'bhyve bhyve ', '76796862 68622065 20657679', 'bhyve'],
    ['vm-virtwhat-vmm', 'OpenBSDVMM58', '6e65704f 56445342 38354d4d', 'openbsd-vmm'],
  ])('%s: %s', async (machine, signature, registers, detected) => {
    const result = await importLogs(join(corpusDir, machine), { now: NOW });
    expect(result.tree.files['dev/cpu/0/cpuid']).toBe(`${HEADER}\n40000000 00000000 00000000 ${registers}\n`);
    expect(result.manifest.absent).toContain(PARTIAL);
    expect(result.manifest.absent).not.toContain('cpu.cpuid');
    expect(result.manifest.sources.find((s) => s.file === 'cpuid-hypervisor-signature.txt')).toEqual({
      file: 'cpuid-hypervisor-signature.txt',
      format: 'virt-what-cpuid-helper',
      used: ['cpu.cpuid.40000000'],
    });
    const profile = await probeImport(result);
    expect(profile.hypervisor).toMatchObject({ cpuidSignature: signature, detected, role: 'guest' });
    expect(profile.diagnostics.filter((d) => d.path === '/dev/cpu/0/cpuid')).toEqual([]);
  });

  it('says in the manifest what the capture holds and what it does not', async () => {
    const result = await importFixture('kvm-guest');
    expect(result.manifest.notes).toContain(
      'cpuid-hypervisor-signature.txt: /dev/cpu/0/cpuid holds only leaf 40000000, EBX ECX EDX from the signature ' +
        '"KVMKVMKVM" (the leaf the helper found it in, taken as 40000000) and EAX 00000000 (not in the helper output)',
    );
    expect((await probeImport(result)).hypervisor).toMatchObject({ cpuidSignature: 'KVMKVMKVM', detected: 'kvm' });
  });

  it.each([
    // The helper printed nothing: bare metal (and these Xen hosts' dom0 and domU, which it does not report).
    ['vm-virtwhat-rhel5-xen-dom0 (test data)', () => importMachine('vm-virtwhat-rhel5-xen-dom0')],
    ['vm-virtwhat-baremetal', () => importLogs(join(corpusDir, 'vm-virtwhat-baremetal'), { now: NOW })],
  ])('%s: no signature, no capture', async (_, load) => {
    const result = await load();
    expect(result.tree.files['dev/cpu/0/cpuid']).toBeUndefined();
    expect(result.manifest.absent).toContain('cpu.cpuid');
    expect(result.manifest.notes).toContain(
      'cpuid-hypervisor-signature.txt: the helper printed no signature (bare metal, or a hypervisor it does not know)',
    );
    expect(result.manifest.sources.find((s) => s.file === 'cpuid-hypervisor-signature.txt')).toEqual({
      file: 'cpuid-hypervisor-signature.txt',
      format: 'virt-what-cpuid-helper',
      used: [],
    });
  });

  it('refuses what is no signature: the "?" of virt-what\'s qemu case, more than 12 characters', async () => {
    const qemu = await importLogs(join(corpusDir, 'vm-virtwhat-qemu'), { now: NOW });
    expect(qemu.tree.files['dev/cpu/0/cpuid']).toBeUndefined();
    expect(qemu.issues).toContainEqual({
      file: 'cpuid-hypervisor-signature.txt',
      line: 1,
      message: '"?" is not a CPUID signature (1 to 12 printable characters); skipped',
    });
    const kvm = fixtureSource('kvm-guest', 'cpuid-hypervisor-signature.txt');
    const long = await importFiles({ 'cpuid-hypervisor-signature.txt': kvm.trim() + kvm });
    expect(long.tree.files['dev/cpu/0/cpuid']).toBeUndefined();
    expect(long.issues).toHaveLength(1);
  });

  it('is recognized by its name only: the same line under another name is no signature', async () => {
    const text = dataFile('vm-virtwhat-rhel5-xen-dom0', 'cpuid-hypervisor-signature.txt');
    expect(text).toBe('\n');
    const kvm = fixtureSource('kvm-guest', 'cpuid-hypervisor-signature.txt');
    const named = await importFiles({ 'sub/virt-what-cpuid-helper': kvm });
    expect(named.tree.files['dev/cpu/0/cpuid']).toContain('4b4d564b 564b4d56 0000004d');
    const other = await importFiles({ 'signature.txt': kvm });
    expect(other.tree.files['dev/cpu/0/cpuid']).toBeUndefined();
  });

  it('takes the first of several lines (helpers of 2009-2019 printed one per hypervisor leaf)', async () => {
    const lines = ['vm-virtwhat-hyperv', 'vm-virtwhat-kvm'].map((m) =>
      readFileSync(join(corpusDir, m, 'cpuid-hypervisor-signature.txt'), 'utf8'),
    );
    const result = await importFiles({ 'cpuid-hypervisor-signature.txt': lines.join('') });
    const leaf = '40000000 00000000 00000000 7263694d 666f736f 76482074';
    expect(result.tree.files['dev/cpu/0/cpuid']).toBe(`${HEADER}\n${leaf}\n`);
    expect(result.manifest.notes).toContain(
      'cpuid-hypervisor-signature.txt: 1 further lines (higher leaves) not taken',
    );
  });
});

import { openSync, closeSync, readFileSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { nodeFsPromises } from '../../src/fs.ts';
import { Reader } from '../../src/probe/_reader.ts';
import {
  formatCpuidCapture,
  formatMsrCapture,
  bcdKernelVersion,
  dom0Hap,
  kernelBefore,
  modelHap,
  parseCpuidCapture,
  parseMsrCapture,
  probeCpu,
  type CpuProbeOptions,
} from '../../src/probe/cpu.ts';
import type { Cpu, CpuidLeaf } from '../../src/types.ts';
import { charDevice, dataFile, failingOpen, machineTree, merge, readerFor } from './_corpus.ts';
import { fixturesDir, readTree, type Tree } from '../_support/memfs.ts';

const T510 = 'vm-virtwhat-baremetal'; // ThinkPad T510, Core i7 M 620 (CPUID signature 0x20655)
const FIRECRACKER = 'this-machine-firecracker-kvm';
const EPYC = 'server-amd-epyc_7451-ul';
const HYPERV = 'vm-virtwhat-hyperv'; // Xeon 5130 in a Hyper-V guest with an old kernel: no vmx, no hypervisor flag

// CPUID.1 of an Arrandale with the T510's signature 0x20655, as coreboot's ironlake raminit.c records it
// ("CPUID: eax: 00000001; ecx: 00000e00 => 00020655.00010800.029ae3ff.bfebfbff"): ECX bit 5 (VMX) is set, in
// line with the vmx flag of the T510's cpuinfo.
const ARRANDALE_LEAF1: CpuidLeaf = {
  leaf: '00000001',
  subleaf: '00000000',
  eax: '00020655',
  ebx: '00010800',
  ecx: '029ae3ff',
  edx: 'bfebfbff',
};

/** The T510's cpuinfo as a >= 5.6 kernel prints it after firmware locked VMX off: vmx and its word-8 flags go. */
const t510VmxHidden = () =>
  dataFile(T510, 'proc__cpuinfo').replace(/ vmx( smx)/g, '$1').replace(/ tpr_shadow vnmi flexpriority ept vpid/g, '');

async function cpuOf(tree: Tree, options: CpuProbeOptions = {}, wrap?: Parameters<typeof readerFor>[1]) {
  const reader = readerFor(tree, wrap);
  const cpu = await probeCpu(reader, options);
  return { cpu, diagnostics: reader.diagnostics };
}

const cpuinfoTree = (text: string): Tree => ({ files: { 'proc/cpuinfo': text } });
const captureTree = (leaves: CpuidLeaf[]): Tree => ({ files: { 'dev/cpu/0/cpuid': formatCpuidCapture(leaves) } });
const msrTree = (msr: Record<string, string>): Tree => ({ files: { 'dev/cpu/0/msr': formatMsrCapture(msr) } });

describe('probeCpu on real /proc/cpuinfo files', () => {
  it.each<[string, Partial<Cpu>]>([
    [
      T510,
      {
        vendor: 'GenuineIntel',
        family: 6,
        model: 37,
        stepping: 5,
        modelName: 'Intel(R) Core(TM) i7 CPU       M 620  @ 2.67GHz',
        logicalCpus: 4,
        cores: 2,
        packages: 1,
        longMode: true,
        pae: true,
        hypervisorFlag: false,
      },
    ],
    // Two sockets of one core each as the RHEL5 Xen dom0 kernel shows its vCPUs.
    ['vm-virtwhat-rhel5-xen-dom0', { family: 6, model: 15, stepping: 6, logicalCpus: 2, cores: 2, packages: 2 }],
    // No physical id / core id lines at all: topology unknown.
    ['vm-virtwhat-kvm', { modelName: 'QEMU Virtual CPU version 0.13.0', logicalCpus: 1, cores: null, packages: null }],
    ['notebook-intel-i7-1165g7-tigerlake-ul', { family: 6, model: 140, logicalCpus: 8, cores: 4, packages: 1 }],
    ['server-intel-xeon-x7550-64cpu-ul', { model: 46, stepping: 6, logicalCpus: 64, cores: 32, packages: 4 }],
    [EPYC, { vendor: 'AuthenticAMD', family: 23, model: 1, stepping: 2, logicalCpus: 96, cores: 48, packages: 2 }],
    ['vm-virtwhat-aws-baremetal-x86', { model: 79, logicalCpus: 72, cores: 36, packages: 2, hypervisorFlag: false }],
    [
      'virtwhat-esx-arm',
      {
        vendor: 'ARM',
        family: null,
        modelName: null,
        logicalCpus: 2,
        flags: ['fp', 'asimd', 'evtstrm', 'crc32', 'cpuid'],
        flagsKnown: true,
        longMode: null,
        pae: null,
        hypervisorFlag: null,
      },
    ],
  ])('%s', async (machine, expected) => {
    const { cpu, diagnostics } = await cpuOf(machineTree(machine));
    expect(cpu).toMatchObject(expected);
    expect(diagnostics).toEqual([]);
  });

  it('takes the flags and the separate `vmx flags` line of the first CPU', async () => {
    const { cpu } = await cpuOf(machineTree('notebook-intel-i7-1165g7-tigerlake-ul'));
    expect(cpu.flags).toHaveLength(147);
    expect(cpu.flags.slice(0, 3)).toEqual(['fpu', 'vme', 'de']);
    expect(cpu.vmxFlags).toHaveLength(22);
    expect(cpu.vmxFlags).toEqual(expect.arrayContaining(['ept', 'vpid', 'unrestricted_guest']));
    expect(cpu.vt).toMatchObject({ technology: 'vmx', state: 'enabled' });
  });

  it('reads this machine as captured: arch, raw CPUID, and no VT offered to this KVM guest', async () => {
    const { cpu, diagnostics } = await cpuOf(machineTree(FIRECRACKER));
    expect(cpu).toMatchObject({ arch: 'x86_64', vendor: 'GenuineIntel', model: 167, logicalCpus: 2, cores: 2 });
    expect(cpu.cpuid.map((l) => l.leaf)).toEqual(['00000000', '00000001', '80000000', '80000001', '40000000']);
    // CPUID.1:ECX[5] and CPUID.80000001:ECX[2] are clear, so no hidden VT: absent even under a hypervisor.
    expect(cpu.vt).toMatchObject({ technology: null, state: 'absent' });
    expect(cpu).toMatchObject({ hypervisorFlag: true, longMode: true, pae: true });
    expect(diagnostics).toEqual([]);
  });

  it('takes lm, pae and the hypervisor bit from raw CPUID when the flags are unknown', async () => {
    const tree = machineTree(FIRECRACKER);
    tree.files!['proc/cpuinfo'] = '';
    const { cpu } = await cpuOf(tree);
    expect(cpu).toMatchObject({ flagsKnown: false, longMode: true, pae: true, hypervisorFlag: true });
    // CPUID.1:EDX / 80000001:EDX of this machine with the PAE and LM bits cleared.
    const cleared = { '00000001': { edx: '1f8bfbbf', ecx: '7ffa3203' }, '80000001': { edx: '0c100800' } };
    const leaves = cpu.cpuid.map((l) => ({ ...l, ...cleared[l.leaf as keyof typeof cleared] }));
    const { cpu: without } = await cpuOf(merge(tree, captureTree(leaves)));
    expect(without).toMatchObject({ longMode: false, pae: false, hypervisorFlag: false });
  });

  it('leaves arch and the kernel release alone when the caller gives them', async () => {
    const { cpu } = await cpuOf(machineTree(FIRECRACKER), { arch: null, kernelRelease: null });
    expect(cpu.arch).toBeNull();
  });
});

describe('probeCpu on damaged input', () => {
  const t510 = dataFile(T510, 'proc__cpuinfo');
  const flagsAt = t510.indexOf('flags\t\t:');
  const bigCpuinfo = t510.repeat(Math.ceil((10 * 1024 * 1024) / t510.length));

  it.each<[string, Tree, Partial<Cpu>, { code: string; message?: string }[]]>([
    [
      'cut in the middle of the first flags line',
      cpuinfoTree(t510.slice(0, flagsAt + 40)),
      { vendor: 'GenuineIntel', logicalCpus: 1, flagsKnown: false, flags: [], longMode: null },
      [{ code: 'malformed', message: '/proc/cpuinfo: line 19: cut off (no newline at the end), not used' }],
    ],
    [
      'cut in the third CPU',
      cpuinfoTree(t510.slice(0, t510.indexOf('processor\t: 2') + 30)),
      { family: 6, logicalCpus: 3, flagsKnown: true, vt: expect.objectContaining({ state: 'unverified' }) },
      [{ code: 'malformed', message: expect.stringMatching(/^\/proc\/cpuinfo: line 5\d: cut off/) }],
    ],
    [
      'a non-numeric cpu family',
      cpuinfoTree(t510.replace('cpu family\t: 6', 'cpu family\t: six')),
      { family: null, model: 37, logicalCpus: 4 },
      [{ code: 'malformed', message: '/proc/cpuinfo: line 3: cpu family "six" is not a number' }],
    ],
    [
      'blank lines squeezed out: CPUs still start at each processor line',
      cpuinfoTree(t510.replace(/\n\n/g, '\n')),
      { logicalCpus: 4, cores: 2, packages: 1, flagsKnown: true },
      [],
    ],
    [
      'stepping "unknown" (the kernel prints it for a CPU without a stepping)',
      cpuinfoTree(t510.replace('stepping\t: 5', 'stepping\t: unknown')),
      { stepping: null, model: 37 },
      [],
    ],
    [
      'an empty file (bhyve guest, as virt-what captured it)',
      machineTree('vm-virtwhat-bhyve'),
      { vendor: null, logicalCpus: null, cores: null, flagsKnown: false, hypervisorFlag: null },
      [{ code: 'malformed', message: '/proc/cpuinfo: empty' }],
    ],
    [
      'a 10 MB file (beyond the 8 MiB cap)',
      cpuinfoTree(bigCpuinfo),
      { vendor: null, logicalCpus: null, flagsKnown: false },
      [{ code: 'too-large' }],
    ],
    [
      'no newline after the last line (Alibaba guest, as virt-what stores it)',
      machineTree('vm-virtwhat-alibaba-cloud-x86'),
      { logicalCpus: 2, flagsKnown: true, hypervisorFlag: true },
      [{ code: 'malformed', message: '/proc/cpuinfo: line 53: cut off (no newline at the end), not used' }],
    ],
  ])('%s', async (_name, tree, expected, diagnostics) => {
    const { cpu, diagnostics: got } = await cpuOf(tree, { kernelRelease: null });
    expect(cpu).toMatchObject(expected);
    expect(got).toEqual(diagnostics.map((d) => expect.objectContaining({ path: '/proc/cpuinfo', ...d })));
  });

  it('reports an unreadable /proc/cpuinfo (EACCES) and knows nothing', async () => {
    const { cpu, diagnostics } = await cpuOf(machineTree(T510), {}, { wrap: failingOpen('/proc/cpuinfo', 'EACCES') });
    expect(cpu).toMatchObject({ vendor: null, flagsKnown: false, logicalCpus: null });
    expect(cpu.vt.state).toBe('unknown');
    expect(diagnostics).toEqual([{ code: 'unreadable', path: '/proc/cpuinfo', message: '/proc/cpuinfo: EACCES' }]);
  });
});

describe('a partial flags statement (an imported lscpu without a Flags line)', () => {
  // fixtures/atom-netbook/root/proc/cpuinfo: synthesized by `autoconfig import` from the Atom N270's lscpu, which has
  // no Flags line; CPU 0's block ends in "flags (partial)\t: -lm -vmx -svm" (src/import/cpuinfo.ts).
  const atom = readFileSync(new URL('../../fixtures/atom-netbook/root/proc/cpuinfo', import.meta.url), 'utf8');

  it('takes the flags it names as known in or not in the line, and every other flag as unknown', async () => {
    expect(atom).toContain('\nflags (partial)\t: -lm -vmx -svm\n');
    const { cpu, diagnostics } = await cpuOf(cpuinfoTree(atom), { kernelRelease: null });
    expect(cpu).toMatchObject({ flagsKnown: false, flags: [], flagsAbsent: ['lm', 'vmx', 'svm'], vmxFlags: [] });
    expect(cpu).toMatchObject({ longMode: false, pae: null, hypervisorFlag: null, logicalCpus: 2 });
    expect(cpu.vt).toEqual({
      technology: null,
      state: 'unknown',
      evidence: [
        'the flags line is known only in part: no lm, no vmx, no svm',
        'neither vmx nor svm in the flags; kernels >= 5.6 hide a locked-off vmx',
      ],
    });
    expect(diagnostics).toEqual([]);
  });

  it('with the kernel that wrote it (3.14, which never hides vmx): VT absent', async () => {
    const { cpu } = await cpuOf(cpuinfoTree(atom), { kernelRelease: '3.14.44-nrj-desktop-2rosa-i586' });
    expect(cpu.vt).toMatchObject({ technology: null, state: 'absent' });
  });

  it('a real flags line wins over it', async () => {
    const t510 = dataFile(T510, 'proc__cpuinfo');
    const both = t510.replace('\nflags\t\t:', '\nflags (partial)\t: -lm -vmx -svm\nflags\t\t:');
    const { cpu } = await cpuOf(cpuinfoTree(both), { kernelRelease: null });
    expect(cpu).toMatchObject({ flagsKnown: true, flagsAbsent: [], longMode: true });
    expect(cpu.flags).toContain('vmx');
  });

  it('reports a word that is not +flag or -flag, and keeps the others', async () => {
    const damaged = atom.replace('-lm -vmx -svm', '-lm vmx -svm');
    const { cpu, diagnostics } = await cpuOf(cpuinfoTree(damaged), { kernelRelease: null });
    expect(cpu).toMatchObject({ flags: [], flagsAbsent: ['lm', 'svm'], longMode: false });
    expect(cpu.vt.state).toBe('unknown');
    expect(diagnostics).toEqual([
      {
        code: 'malformed',
        path: '/proc/cpuinfo',
        message: '/proc/cpuinfo: line 11: flags (partial) "vmx" is not +flag or -flag',
      },
    ]);
  });
});

describe("the kernel's major.minor from its USB root hubs, where the release is unknown", () => {
  // fixtures/thinkpad-t42: imported from a non-root lsusb -v (no "Linux 4.18.0-21-generic ..." manufacturer strings),
  // so no release; its four root hubs (1d6b:0002, 1d6b:0001 x 3) say "bcdDevice 4.18".
  const t42 = () => readTree(join(fixturesDir, 'thinkpad-t42', 'root'));

  it.each([
    ['0418', '4.18'],
    ['0503', '5.3'],
    ['0510', '5.10'],
    ['0314', '3.14'],
    ['0206', '2.6'],
    // Before bin2bcd() the numbers were binary: 3.10 was 030a.
    ['030a', '3.10'],
    ['04.18', null],
  ] as const)('bcdDevice %s: %s', (bcd, version) => {
    expect(bcdKernelVersion(bcd)).toBe(version);
  });

  it('thinkpad-t42 (Pentium M, no vmx or svm): 4.18 never hides vmx, so VT is absent', async () => {
    const { cpu, diagnostics } = await cpuOf(t42());
    expect(cpu.vt).toEqual({
      technology: null,
      state: 'absent',
      evidence: [
        'kernel 4.18 (bcdDevice 0418 of the USB root hubs; the release itself is unknown) is older than 5.6 and ' +
          'never hides vmx',
      ],
    });
    expect(diagnostics).toEqual([]);
  });

  it('a known release wins over the root hubs', async () => {
    const { cpu } = await cpuOf(t42(), { kernelRelease: '6.19.4-gentoo' });
    expect(cpu.vt.state).toBe('unknown');
  });

  it('root hubs that disagree tell nothing', async () => {
    const tree = t42();
    tree.files!['sys/devices/usb/usb1/bcdDevice'] = '0510\n';
    const { cpu } = await cpuOf(tree);
    expect(cpu.vt.state).toBe('unknown');
  });

  it('only Linux root hubs count (1d6b:0001-0003, usbN): not another 1d6b device', async () => {
    const tree = t42();
    for (const hub of ['usb1', 'usb2', 'usb3', 'usb4']) tree.files![`sys/devices/usb/${hub}/idProduct`] = '0104\n';
    const { cpu } = await cpuOf(tree);
    expect(cpu.vt.state).toBe('unknown');
  });
});

describe('the VT verdict', () => {
  const leaves = () => parseCpuidCapture(dataFile(FIRECRACKER, 'dev__cpu__0__cpuid')).leaves;

  it.each<[string, Tree, string | null, Cpu['vt']['technology'], Cpu['vt']['state'], string?]>([
    [
      'vmx in CPUID but not in the flags of a >= 5.6 kernel',
      merge(cpuinfoTree(t510VmxHidden()), captureTree([ARRANDALE_LEAF1])),
      '6.19.4-gentoo',
      'vmx',
      'disabled-by-firmware',
      'kernels >= 5.6 clear it',
    ],
    [
      'vmx in CPUID but not in the flags of a kernel that never hides it',
      merge(cpuinfoTree(t510VmxHidden()), captureTree([ARRANDALE_LEAF1])),
      '2.6.18',
      'vmx',
      'unknown',
    ],
    [
      'MSR 0x3a = 0x1: locked, VMX outside SMX clear (the flag still shows on an old kernel)',
      merge(machineTree(T510), msrTree({ '3a': '0000000000000001' })),
      '2.6.18',
      'vmx',
      'disabled-by-firmware',
      'MSR 0x3a = 0x1: locked with VMX outside SMX clear',
    ],
    [
      'MSR 0x3a = 0x5: locked with VMX enabled',
      merge(machineTree(T510), msrTree({ '3a': '0000000000000005' })),
      '2.6.18',
      'vmx',
      'enabled',
      'MSR 0x3a = 0x5: locked with VMX outside SMX enabled',
    ],
    [
      'MSR 0x3a = 0x0: unlocked, the OS may enable VMX',
      merge(machineTree(T510), msrTree({ '3a': '0000000000000000' })),
      '2.6.18',
      'vmx',
      'enabled',
    ],
    [
      'MSR 0x3a locked off and no vmx flag, no CPUID: the MSR only answers on a VMX/SMX CPU',
      merge(cpuinfoTree(t510VmxHidden()), msrTree({ '3a': '0000000000000001' })),
      '6.19.4-gentoo',
      'vmx',
      'disabled-by-firmware',
    ],
    [
      'AMD VM_CR with SVMDIS set',
      merge(machineTree(EPYC), msrTree({ c0010114: '0000000000000010' })),
      null,
      'svm',
      'disabled-by-firmware',
      'MSR 0xc0010114 = 0x10: SVMDIS set',
    ],
    [
      'AMD VM_CR with SVMDIS and LOCK set',
      merge(machineTree(EPYC), msrTree({ c0010114: '0000000000000018' })),
      null,
      'svm',
      'disabled-by-firmware',
    ],
    ['AMD VM_CR clear', merge(machineTree(EPYC), msrTree({ c0010114: '0000000000000000' })), null, 'svm', 'enabled'],
    [
      'no CPUID, no flag, kernel 2.6.18 (never hides vmx)',
      machineTree(HYPERV),
      '2.6.18',
      null,
      'absent',
      'kernel 2.6.18 is older than 5.6',
    ],
    ['no CPUID, no flag, a new kernel (it may have hidden vmx)', machineTree(HYPERV), '6.19.4-gentoo', null, 'unknown'],
    ['no CPUID, no flag, kernel unknown', machineTree(HYPERV), null, null, 'unknown'],
    [
      'no CPUID, no flag, under a hypervisor',
      machineTree('vm-virtwhat-kvm'),
      '2.6.18',
      null,
      'unknown',
      'running under a hypervisor',
    ],
    ['raw CPUID without VMX/SVM under a hypervisor', machineTree(FIRECRACKER), null, null, 'absent'],
    [
      'raw CPUID says no even when the flags are unknown',
      merge(cpuinfoTree(''), captureTree(leaves())),
      '6.19.4-gentoo',
      null,
      'absent',
    ],
    ['the svm flag of a QEMU guest', machineTree('vm-virtwhat-qemu'), null, 'svm', 'unverified'],
    // The flag without an MSR: verified only where a kernel would have hidden a locked-off vmx (xen.md §4.2).
    [
      'the vmx flag of a kernel older than 5.6: shown whether or not firmware locked VMX off',
      machineTree(T510),
      '2.6.18',
      'vmx',
      'unverified',
      'kernel 2.6.18 is older than 5.6: it shows vmx even when firmware locked VMX off (MSR 0x3a, not read)',
    ],
    [
      'the vmx flag of a kernel of unknown version',
      machineTree(T510),
      null,
      'vmx',
      'unverified',
      'kernel version unknown: one older than 5.6 shows vmx even when firmware locked VMX off',
    ],
    [
      'the vmx flag of a kernel >= 5.6, which clears it when firmware locked VMX off',
      machineTree(T510),
      '6.19.4-gentoo',
      'vmx',
      'enabled',
      'kernel 6.19.4-gentoo (>= 5.6) would have cleared vmx had firmware locked VMX off',
    ],
    [
      // feat_ctl.c fills the `vmx flags` line only where it leaves vmx set.
      'a `vmx flags` line, whatever the kernel version',
      machineTree('notebook-intel-i7-1165g7-tigerlake-ul'),
      null,
      'vmx',
      'enabled',
      'a `vmx flags` line',
    ],
    [
      'the svm flag, on any kernel: Linux never hides svm when SVMDIS is set',
      machineTree(EPYC),
      '6.19.4-gentoo',
      'svm',
      'unverified',
      'Linux shows svm even when firmware set SVMDIS (MSR VM_CR 0xc0010114, not read)',
    ],
    ['an arm64 CPU', machineTree('virtwhat-esx-arm'), null, null, 'unknown', 'not an x86 CPU'],
  ])('%s', async (_name, tree, kernelRelease, technology, state, evidence) => {
    const { cpu } = await cpuOf(tree, { kernelRelease });
    expect(cpu.vt.technology).toBe(technology);
    expect(cpu.vt.state).toBe(state);
    if (evidence !== undefined) expect(cpu.vt.evidence.join('\n')).toContain(evidence);
  });

  it.each([
    ['2.6.18', true],
    ['5.5.19', true],
    ['5.6.0', false],
    ['6.19.4-gentoo', false],
    ['not-a-release', null],
    [null, null],
  ] as const)('kernelBefore(%s, 5.6) is %s', (release, expected) => {
    expect(kernelBefore(release, 5, 6)).toBe(expected);
  });
});

describe('the HAP (EPT/NPT) verdict', () => {
  const TIGERLAKE = 'notebook-intel-i7-1165g7-tigerlake-ul'; // flags with ept, and a `vmx flags` line with ept
  const RHEL5_DOM0 = 'vm-virtwhat-rhel5-xen-dom0'; // a 2.6.18 kernel: vmx but none of the synthetic VMX flags
  /** A machine's cpuinfo with words taken out of its flags lines (`vmx flags` too), as a CPU without them shows. */
  const without = (machine: string, ...words: string[]) => cpuinfoTree(cut(machine, /^(flags|vmx flags)(\s*:.*)$/gm, words));
  /** The same, in the flags line only. */
  const withoutInFlags = (machine: string, ...words: string[]) => cpuinfoTree(cut(machine, /^(flags)(\s*:.*)$/gm, words));
  const cut = (machine: string, lines: RegExp, words: string[]) =>
    dataFile(machine, 'proc__cpuinfo').replace(lines, (_line, key: string, rest: string) =>
      key + rest.split(' ').filter((w) => !words.includes(w)).join(' '),
    );
  const flagsOnly = (machine: string) => cpuinfoTree(dataFile(machine, 'proc__cpuinfo').replace(/^vmx flags.*\n/gm, ''));

  it.each<[string, Tree, Cpu['hap']['state'], Cpu['hap']['feature'], string]>([
    ['ept in the flags line', machineTree(TIGERLAKE), 'present', 'ept', 'cpuinfo flag ept'],
    ['ept only in the `vmx flags` line', withoutInFlags(TIGERLAKE, 'ept'), 'present', 'ept', '`vmx flags` ept'],
    [
      'no ept where the `vmx flags` line and tpr_shadow show the kernel lists it',
      without(TIGERLAKE, 'ept', 'ept_ad', 'ept_x_only', 'ept_1gb', 'ept_mode_based_exec'),
      'absent',
      'ept',
      'no ept although this kernel lists its kind (tpr_shadow, vnmi, flexpriority, vpid, a `vmx flags` line)',
    ],
    [
      'no ept, and vpid alone shows the kernel lists the synthetic VMX flags',
      without(T510, 'ept', 'tpr_shadow', 'vnmi', 'flexpriority'),
      'absent',
      'ept',
      'no ept although this kernel lists its kind (vpid)',
    ],
    [
      'no ept and none of its kind (a 2.6.18 kernel may not list ept): the model tells, a Core 2 T7600 has none',
      machineTree(RHEL5_DOM0),
      'absent',
      'ept',
      'by the CPU model: Intel family 6 model 0xf, Core 2 (Merom): VT-x without EPT',
    ],
    [
      'the same from a vendor the model table does not know: unknown',
      cpuinfoTree(dataFile(RHEL5_DOM0, 'proc__cpuinfo').replaceAll('GenuineIntel', 'CentaurHauls')),
      'unknown',
      'ept',
      'no ept and none of tpr_shadow/vnmi/flexpriority/vpid: this kernel may not list ept at all',
    ],
    ['npt in the flags line', machineTree(EPYC), 'present', 'npt', 'cpuinfo flag npt'],
    [
      'no npt where lbrv and the other SVM features show',
      without(EPYC, 'npt'),
      'absent',
      'npt',
      'no npt although this kernel lists its kind (lbrv, svm_lock, nrip_save, tsc_scale, vmcb_clean, flushbyasid, decodeassists, pausefilter, pfthreshold, avic, v_vmsave_vmload, vgif)',
    ],
    [
      'svm in a QEMU guest without any SVM feature flag: unknown',
      machineTree('vm-virtwhat-qemu'),
      'unknown',
      'npt',
      'no npt and none of lbrv/svm_lock/nrip_save: this kernel may not list npt at all',
    ],
    ['no VT at all (Firecracker guest, CPUID says so)', machineTree(FIRECRACKER), 'absent', null, 'the CPU has no VT-x/AMD-V, so no EPT/NPT either'],
    [
      'VT locked off (vmx and its flags hidden): a missing ept proves nothing',
      merge(cpuinfoTree(t510VmxHidden()), captureTree([ARRANDALE_LEAF1])),
      'unknown',
      'ept',
      'VT is disabled-by-firmware: a missing ept flag proves nothing',
    ],
  ])('%s', async (_name, tree, state, feature, last) => {
    const { cpu } = await cpuOf(tree, { kernelRelease: null });
    expect(cpu.hap).toMatchObject({ state, feature });
    expect(cpu.hap.evidence.at(-1)).toBe(last);
  });

  it('the tigerlake without its `vmx flags` line still proves ept from the flags line', async () => {
    const { cpu } = await cpuOf(flagsOnly(TIGERLAKE));
    expect(cpu.vmxFlags).toEqual([]);
    expect(cpu.hap).toMatchObject({ state: 'present', feature: 'ept' });
  });

  it('a partial flags statement (an imported lscpu without a Flags line) says nothing of ept; the model (a Bonnell Atom) does', async () => {
    const atom = readFileSync(join(fixturesDir, 'atom-netbook', 'root', 'proc', 'cpuinfo'), 'utf8');
    const { cpu } = await cpuOf(cpuinfoTree(atom.replace('-vmx -svm', '+vmx')), { kernelRelease: null });
    expect(cpu.vt.technology).toBe('vmx');
    expect(cpu.hap).toEqual({
      state: 'absent',
      feature: 'ept',
      evidence: ['the flags line is not known whole: ept unknown', 'by the CPU model: Intel family 6 model 0x1c, Atom (Bonnell): VT-x without EPT'],
    });
  });

  it.each([
    ['+vmx +ept', 'present', 'cpuinfo flag ept'],
    ['+vmx -ept', 'absent', 'no ept in the flags line'],
  ] as const)('a partial statement naming ept (%s): %s', async (words, state, evidence) => {
    const atom = readFileSync(join(fixturesDir, 'atom-netbook', 'root', 'proc', 'cpuinfo'), 'utf8');
    const { cpu } = await cpuOf(cpuinfoTree(atom.replace('-vmx -svm', words)), { kernelRelease: null });
    expect(cpu.hap).toEqual({ state, feature: 'ept', evidence: [evidence] });
  });

  it('no flags line at all: unknown, and why', async () => {
    const { cpu } = await cpuOf(cpuinfoTree(dataFile(EPYC, 'proc__cpuinfo').replace(/^flags.*\n/gm, '')), { kernelRelease: null });
    expect(cpu.hap).toMatchObject({ state: 'unknown', feature: null });
  });

  // CPUID 0x8000000A EDX is the leaf Linux's word 15 (npt lbrv svm_lock nrip_save ...) is read from, bit for bit
  // (cpufeatures.h X86_FEATURE_NPT = 15*32+0). The EPYC 7451's own flags give the leaf's bits: npt lbrv svm_lock
  // nrip_save tsc_scale vmcb_clean flushbyasid decodeassists (bits 0-7), pausefilter (10), pfthreshold (12), avic (13),
  // v_vmsave_vmload (15), vgif (16) = 0x0001b4ff; SVM is CPUID.80000001:ECX[2] (its svm flag); its extended maximum
  // is 0x8000001f (AMD family 17h PPR, CPUID_Fn80000000_EAX). Its cpuinfo here has no flags line, so only CPUID tells.
  const epycSvm = (edx: string) =>
    merge(
      cpuinfoTree(dataFile(EPYC, 'proc__cpuinfo').replace(/^flags.*\n/gm, '')),
      captureTree([
        { leaf: '80000000', subleaf: '00000000', eax: '8000001f', ebx: '00000000', ecx: '00000000', edx: '00000000' },
        { leaf: '80000001', subleaf: '00000000', eax: '00000000', ebx: '00000000', ecx: '00000004', edx: '00000000' },
        { leaf: '8000000a', subleaf: '00000000', eax: '00000000', ebx: '00000000', ecx: '00000000', edx },
      ]),
    );
  // The VMX capability MSRs of a Tiger Lake i5-1135G7 as AIDA64 dumped them (bochs-emu/Bochs
  // bochs/cpu/cpudb/intel/tigerlake.txt: "MSR 00000482: FFFB-FFFE-0401-E172", "MSR 0000048B: 035F-3FFF-0000-0000"):
  // bit 63 of 0x482 allows secondary controls, bit 33 of 0x48b "enable EPT". With the T510's flags line stripped of
  // ept (and its siblings), only the MSRs tell; each mutation clears the one bit that decides.
  const TIGERLAKE_482 = 'fffbfffe0401e172';
  const TIGERLAKE_48B = '035f3fff00000000';
  const noEptFlags = () => without(T510, 'ept', 'vpid', 'tpr_shadow', 'vnmi', 'flexpriority');
  it.each([
    ['both as dumped', { '482': TIGERLAKE_482, '48b': TIGERLAKE_48B }, 'present', 'MSR 0x48b (IA32_VMX_PROCBASED_CTLS2) bit 33 (enable EPT) set'],
    ['0x48b bit 33 cleared', { '482': TIGERLAKE_482, '48b': '035f3ffd00000000' }, 'absent', 'MSR 0x48b (IA32_VMX_PROCBASED_CTLS2) bit 33 (enable EPT) clear'],
    ['0x482 bit 63 cleared', { '482': '7ffbfffe0401e172' }, 'absent', 'MSR 0x482 (IA32_VMX_PROCBASED_CTLS) bit 63 clear: no secondary controls, so no EPT'],
    // Nothing settles it but the model: the T510's Arrandale (family 6 model 0x25) is a Westmere.
    ['0x482 alone, allowing secondary controls', { '482': TIGERLAKE_482 }, 'present', 'by the CPU model: Intel family 6 model 0x25: Nehalem or later, every one with VT-x has EPT'],
  ] as const)('VMX capability MSRs (%s): %s', async (_name, msr, state, evidence) => {
    const { cpu } = await cpuOf(merge(noEptFlags(), msrTree(msr)), { kernelRelease: null });
    expect(cpu.hap).toMatchObject({ state, feature: 'ept' });
    expect(cpu.hap.evidence.at(-1)).toBe(evidence);
  });

  it.each([
    ['0001b4ff', 'present', 'CPUID.8000000A:EDX[0] (NPT) set'],
    ['0001b4fe', 'absent', 'CPUID.8000000A:EDX[0] (NPT) clear'],
  ] as const)('CPUID 8000000A EDX %s (the EPYC 7451, no flags line): %s', async (edx, state, evidence) => {
    const { cpu } = await cpuOf(epycSvm(edx), { kernelRelease: null });
    expect(cpu.hap).toEqual({ state, feature: 'npt', evidence: [evidence] });
  });
});

describe('raw CPUID and MSR sources', () => {
  const capture = dataFile(FIRECRACKER, 'dev__cpu__0__cpuid');
  const leaves = parseCpuidCapture(capture).leaves;
  const leafBytes = (position: number): Uint8Array | Error => {
    const leaf = leaves.find((l) => Number.parseInt(l.leaf, 16) === position);
    if (!leaf) return Object.assign(new Error('EIO'), { code: 'EIO' });
    const bytes = new Uint8Array(16);
    const view = new DataView(bytes.buffer);
    [leaf.eax, leaf.ebx, leaf.ecx, leaf.edx].forEach((reg, i) => view.setUint32(i * 4, Number.parseInt(reg, 16), true));
    return bytes;
  };

  it('writes the capture format it reads, byte for byte', () => {
    expect(leaves).toHaveLength(5);
    expect(formatCpuidCapture(leaves)).toBe(capture);
    const msr = { '3a': '0000000000000005' };
    expect(parseMsrCapture(formatMsrCapture(msr))).toEqual({ msr, problems: [] });
  });

  it('reports malformed capture lines by number and keeps the good ones', async () => {
    const broken = capture.replace('80000000 00000000 80000008', '80000000 00000000 8000008');
    const parsed = parseCpuidCapture(broken);
    expect(parsed.leaves).toHaveLength(4);
    expect(parsed.problems).toEqual(['line 4: expected LEAF SUBLEAF EAX EBX ECX EDX as 8 hex digits each']);
    const { diagnostics } = await cpuOf(merge(machineTree(FIRECRACKER), { files: { 'dev/cpu/0/cpuid': broken } }));
    expect(diagnostics).toEqual([expect.objectContaining({ code: 'malformed', path: '/dev/cpu/0/cpuid' })]);
    expect(parseMsrCapture('3a 5\nzz 1\n').problems).toEqual(['line 2: expected ADDRESS VALUE in hex']);
  });

  it('reads the cpuid device at position = leaf, 16 bytes little-endian', async () => {
    const asked: number[] = [];
    const tree = machineTree(FIRECRACKER);
    delete tree.files!['dev/cpu/0/cpuid'];
    tree.files!['dev/cpu/0/cpuid'] = '';
    const device = charDevice('/dev/cpu/0/cpuid', (position, length) => {
      asked.push(position);
      expect(length).toBe(16);
      return leafBytes(position);
    });
    const { cpu, diagnostics } = await cpuOf(tree, {}, { wrap: device });
    expect(asked).toEqual([0x0, 0x1, 0x80000000, 0x80000001, 0x40000000]);
    expect(cpu.cpuid).toEqual(leaves);
    expect(diagnostics).toEqual([]);
  });

  it('takes an unreadable device (EACCES, not root) as unknown, without a diagnostic', async () => {
    const tree = merge(machineTree(T510), { files: { 'dev/cpu/0/cpuid': '', 'dev/cpu/0/msr': '' } });
    const eacces = () => Object.assign(new Error('EACCES'), { code: 'EACCES' });
    const wrap = (fs: Parameters<ReturnType<typeof charDevice>>[0]) =>
      charDevice('/dev/cpu/0/msr', eacces)(charDevice('/dev/cpu/0/cpuid', eacces)(fs));
    const { cpu, diagnostics } = await cpuOf(tree, { kernelRelease: null }, { wrap });
    expect(cpu.cpuid).toEqual([]);
    expect(cpu.msr).toEqual({});
    // The vmx flag of a kernel of unknown version, and no MSR to say what firmware did with it.
    expect(cpu.vt).toMatchObject({ technology: 'vmx', state: 'unverified' });
    expect(diagnostics).toEqual([]);
  });

  it('gives up on a device that does not answer, with one timeout diagnostic', async () => {
    const tree = merge(machineTree(FIRECRACKER), { files: { 'dev/cpu/0/cpuid': '' } });
    const device = charDevice('/dev/cpu/0/cpuid', () => 'hang');
    const { cpu, diagnostics } = await cpuOf(tree, {}, { wrap: device, deviceTimeoutMs: 20 });
    expect(cpu.cpuid).toEqual([]);
    expect(diagnostics.map((d) => [d.code, d.path])).toEqual([['timeout', '/dev/cpu/0/cpuid']]);
  });

  it('reads the MSR matching the vendor at position = address, 8 bytes little-endian', async () => {
    const asked: number[] = [];
    const tree = merge(machineTree(EPYC), { files: { 'dev/cpu/0/msr': '' } });
    const device = charDevice('/dev/cpu/0/msr', (position) => {
      asked.push(position);
      return Uint8Array.of(0x18, 0, 0, 0, 0, 0, 0, 0);
    });
    const { cpu } = await cpuOf(tree, { kernelRelease: null }, { wrap: device });
    expect(asked).toEqual([0xc0010114]);
    expect(cpu.msr).toEqual({ c0010114: '0000000000000018' });
    expect(cpu.vt.state).toBe('disabled-by-firmware');
  });

  // Intel: 0x3a, then the VMX capability MSRs, 0x48b only where 0x482 allows secondary controls (else it faults).
  // 0x482/0x48b: the Tiger Lake's, as dumped (see the HAP verdict above); 0x3a: locked with VMX on (0x5).
  it.each([
    ['0x482 allows secondary controls', 'fffbfffe0401e172', [0x3a, 0x482, 0x48b]],
    ['0x482 bit 63 cleared: 0x48b is not read', '7ffbfffe0401e172', [0x3a, 0x482]],
  ])('reads the VMX capability MSRs of an Intel CPU: %s', async (_name, ctls, expected) => {
    const asked: number[] = [];
    const values: Record<number, bigint> = { 0x3a: 0x5n, 0x482: BigInt(`0x${ctls}`), 0x48b: 0x035f3fff00000000n };
    const tree = merge(machineTree(T510), { files: { 'dev/cpu/0/msr': '' } });
    const device = charDevice('/dev/cpu/0/msr', (position) => {
      asked.push(position);
      const bytes = new Uint8Array(8);
      new DataView(bytes.buffer).setBigUint64(0, values[position]!, true);
      return bytes;
    });
    const { cpu, diagnostics } = await cpuOf(tree, { kernelRelease: null }, { wrap: device });
    expect(asked).toEqual(expected);
    expect(Object.keys(cpu.msr).sort()).toEqual(expected.map((a) => a.toString(16)).sort());
    expect(cpu.vt.state).toBe('enabled');
    expect(diagnostics).toEqual([]);
  });

  it('stops at the first MSR that does not answer (EIO: no VMX capability MSRs on this CPU)', async () => {
    const asked: number[] = [];
    const tree = merge(machineTree(T510), { files: { 'dev/cpu/0/msr': '' } });
    const device = charDevice('/dev/cpu/0/msr', (position) => {
      asked.push(position);
      return position === 0x3a ? Uint8Array.of(5, 0, 0, 0, 0, 0, 0, 0) : Object.assign(new Error('EIO'), { code: 'EIO' });
    });
    const { cpu } = await cpuOf(tree, { kernelRelease: null }, { wrap: device });
    expect(asked).toEqual([0x3a, 0x482]);
    expect(cpu.msr).toEqual({ '3a': '0000000000000005' });
  });
});

describe('probeCpu on this machine', () => {
  const live = (() => {
    try {
      return readFileSync('/proc/cpuinfo', 'utf8');
    } catch {
      return null;
    }
  })();

  it.skipIf(live === null)('returns the flags of the first flags line of /proc/cpuinfo', async () => {
    const reader = new Reader({ fs: nodeFsPromises, root: '/' });
    const cpu = await probeCpu(reader);
    const line = /^flags\s*:(.*)$/m.exec(live!);
    expect(cpu.flagsKnown).toBe(line !== null);
    expect(cpu.flags).toEqual(line ? line[1]!.trim().split(/\s+/) : []);
    expect(cpu.logicalCpus).toBe(live!.match(/^processor\s*:/gm)?.length ?? null);
  });

  const cpuidReadable = (() => {
    try {
      closeSync(openSync('/dev/cpu/0/cpuid', 'r'));
      return true;
    } catch {
      return false;
    }
  })();

  it.skipIf(!cpuidReadable)('reads CPUID leaf 0 whose vendor string is cpuinfo vendor_id', async () => {
    const cpu = await probeCpu(new Reader({ fs: nodeFsPromises, root: '/' }));
    const fd = openSync('/dev/cpu/0/cpuid', 'r');
    const buffer = Buffer.alloc(16);
    readSync(fd, buffer, 0, 16, 0);
    closeSync(fd);
    const vendor = [4, 12, 8].map((o) => buffer.subarray(o, o + 4).toString('latin1')).join('');
    expect(cpu.vendor).toBe(vendor);
    expect(cpu.cpuid[0]).toMatchObject({ leaf: '00000000', eax: buffer.readUInt32LE(0).toString(16).padStart(8, '0') });
  });
});

// The last source of the HAP verdict (cpu.ts modelHap): the CPU's identity, as the fixtures' real CPUs state it.
describe('EPT/NPT by the CPU model', () => {
  it.each([
    ['amd-apu-laptop', 'present'], // Ryzen 7 4700U, family 17h
    ['desktop-amd-gpu', 'present'], // Core i7 860, Lynnfield (0x1e)
    ['intel-nvidia-laptop', 'present'], // Core i7-9750H, Coffee Lake (0x9e)
    ['server-iommu-bmc', 'present'], // Xeon E5-2650 v3, Haswell-EP (0x3f)
    ['vt-disabled-base', 'present'], // Core i5-6300U, Skylake (0x4e)
    ['atom-netbook', 'absent'], // Atom N270, Bonnell (0x1c)
    ['macbookpro5-5', 'absent'], // Core 2 Duo P7550, Penryn (0x17)
    ['thinkpad-t60', 'absent'], // Core Duo T2400, Yonah (0x0e)
    ['xen-dom0', 'absent'], // Core 2 T7600, Merom (0x0f)
    ['thinkpad-t42', null], // Pentium M (0x0d): no VT-x at all, and the table does not guess
    ['xen-hvm-guest', null], // no CPU identity
  ] as const)('%s: %s', (fixture, state) => {
    const profile = JSON.parse(readFileSync(join(fixturesDir, fixture, 'profile.json'), 'utf8')) as { cpu: Cpu };
    expect(modelHap(profile.cpu)?.state ?? null).toBe(state);
  });

  it("a vendor or family the table does not know stays unknown (VIA's Nano, AMD's K7, Intel's Itanium family)", () => {
    expect(modelHap({ vendor: 'CentaurHauls', family: 6, model: 15 })).toBeNull();
    expect(modelHap({ vendor: 'AuthenticAMD', family: 6, model: 8 })).toBeNull();
    expect(modelHap({ vendor: 'GenuineIntel', family: 7, model: 0 })).toBeNull();
    expect(modelHap({ vendor: 'AuthenticAMD', family: 15, model: 107 })).toEqual({ state: 'absent', why: 'AMD family 0Fh (K8): AMD-V without nested paging' });
  });

  it('in a Dom0, only where Xen enabled VT: the MacBook Pro 2,1 (Merom) has no EPT; without hvm-*, unknown', () => {
    const profile = JSON.parse(readFileSync(join(fixturesDir, 'xen-dom0', 'profile.json'), 'utf8')) as { cpu: Cpu };
    expect(dom0Hap(profile.cpu)).toMatchObject({ state: 'absent', feature: 'ept' });
    expect(dom0Hap({ ...profile.cpu, vt: { ...profile.cpu.vt, state: 'unknown' } }).state).toBe('unknown');
  });
});

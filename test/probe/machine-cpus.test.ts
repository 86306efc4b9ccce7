// The machine's CPU counts inside a Xen Dom0 (issue #9: "a machine must not drift from boot to boot"): Xen's PCPU
// list and the SMBIOS processor structures, never Dom0's own cpuinfo, whose topology is its vCPUs'. On bare metal
// and in guests cpuinfo stays the source.
import { describe, expect, it } from 'vitest';
import { probeCpu } from '../../src/probe/cpu.ts';
import { parseType4, type Processor } from '../../src/probe/machine-cpus.ts';
import { probe, probeWith } from '../../src/probe/probe.ts';
import type { Cpu } from '../../src/types.ts';
import { volume, type Tree } from '../_support/memfs.ts';
import { qemuBareTree, qemuDom0Tree, TYPE4_RAW } from '../_support/qemu-xen.ts';
import { failingOpen, readerFor } from './_corpus.ts';

const TYPE4 = 'sys/firmware/dmi/entries/4-0/raw';

/** A type 4 structure from QEMU's, with some bytes of its formatted area replaced: { offset: bytes }. */
function type4(changes: Record<number, number[]> = {}, length = TYPE4_RAW[1]!): Uint8Array {
  const out = new Uint8Array(Math.max(length, 0x1a) + 2);
  out.set(TYPE4_RAW.subarray(0, Math.min(length, TYPE4_RAW[1]!)));
  out[1] = length;
  for (const [at, bytes] of Object.entries(changes)) out.set(bytes, Number(at));
  return out;
}

/** The QEMU Dom0 of issue #9 with some files replaced (null: a directory; undefined: removed). */
function dom0(files: Record<string, string | Uint8Array | null | undefined> = {}): Tree {
  const tree = qemuDom0Tree();
  for (const [path, content] of Object.entries(files)) {
    if (content === undefined) {
      for (const key of Object.keys(tree.files!)) if (key === path || key.startsWith(`${path}/`)) delete tree.files![key];
    } else tree.files![path] = content;
  }
  return tree;
}

const counts = (cpu: Cpu) => ({
  logicalCpus: cpu.logicalCpus,
  cores: cpu.cores,
  packages: cpu.packages,
  from: [cpu.countsFrom.logicalCpus, cpu.countsFrom.cores, cpu.countsFrom.packages],
});

describe('parseType4: the fields of the formatted area', () => {
  const qemu: Processor = { type: 3, populated: true, cpuStatus: 1, coreCount: 2, coreEnabled: 2, threadCount: 2 };
  it.each<[string, Uint8Array, Processor | RegExp]>([
    ['QEMU -smp 2 as measured (65 bytes with its strings)', TYPE4_RAW, qemu],
    ['the same as a snapshot keeps it (formatted area and two NULs)', type4(), qemu],
    // SMBIOS 2.4 (the MacBookPro2,1 of the xen-dom0 fixture: "DMI type 4, 35 bytes"): no core fields yet.
    ['SMBIOS 2.4, 23h bytes: no counts', type4({}, 0x23), { ...qemu, coreCount: null, coreEnabled: null, threadCount: null }],
    ['Core Enabled unknown (0)', type4({ 0x24: [0] }), { ...qemu, coreEnabled: null }],
    [
      'SMBIOS 3.0, 288 cores: FFh in the bytes, the WORD fields',
      type4({ 0x23: [0xff, 0xff, 0xff], 0x2a: [0x20, 0x01, 0x20, 0x01, 0x40, 0x02] }, 0x30),
      { ...qemu, coreCount: 288, coreEnabled: 288, threadCount: 576 },
    ],
    [
      'FFh and a WORD of 0 or FFFFh: unknown',
      type4({ 0x23: [0xff, 0xff], 0x2a: [0, 0, 0xff, 0xff] }, 0x30),
      { ...qemu, coreCount: null, coreEnabled: null },
    ],
    ['FFh without the WORD fields (before SMBIOS 3.0): unknown', type4({ 0x24: [0xff] }), { ...qemu, coreEnabled: null }],
    ['socket unpopulated', type4({ 0x18: [0x00] }), { ...qemu, populated: false, cpuStatus: 0 }],
    ['CPU disabled by the firmware', type4({ 0x18: [0x43] }), { ...qemu, cpuStatus: 3 }],
    ['another type', type4({ 0: [19] }), /not an SMBIOS type 4 structure/],
    ['cut short', TYPE4_RAW.slice(0, 0x19), /not an SMBIOS type 4 structure \(25 bytes/],
    ['a length beyond the file', TYPE4_RAW.slice(0, 0x28), /length 42/],
  ])('%s', (_name, raw, expected) => {
    const got = parseType4(raw);
    if (expected instanceof RegExp) expect(got).toMatch(expected);
    else expect(got).toEqual(expected);
  });
});

describe("in a Xen Dom0: the machine's counts, never Dom0's own cpuinfo", () => {
  it("the QEMU Dom0 of issue #9: Dom0's cpuinfo says 1 core; the machine has 2 logical CPUs, 2 cores, 1 package", async () => {
    const tree = dom0();
    // What Dom0's /proc/cpuinfo alone gives: its vCPUs' topology (both "core id 0").
    const own = await probeCpu(readerFor(tree), { kernelRelease: '6.1.0-56-amd64' });
    expect(counts(own)).toEqual({ logicalCpus: 2, cores: 1, packages: 1, from: ['cpuinfo', 'cpuinfo', 'cpuinfo'] });
    const { fs } = volume(tree, '/machine');
    const profile = await probe({ fs, root: '/machine' });
    expect(profile.hypervisor.role).toBe('dom0');
    expect(counts(profile.cpu)).toEqual({ logicalCpus: 2, cores: 2, packages: 1, from: ['xen', 'smbios', 'smbios'] });
    expect(profile.cpu.countsFrom.evidence).toEqual([
      'Xen lists 2 physical CPUs to its Dom0 (/sys/devices/system/xen_cpu: xen_cpu0 xen_cpu1, 2 online)',
      'SMBIOS processor structures (type 4): 2 cores in 1 socket (4-0: Core Enabled 2, Core Count 2, Thread Count 2)',
      "this Dom0's /proc/cpuinfo (2 vCPUs, 1 core) describes its own vCPUs, not the machine: not used",
    ]);
    expect(profile.diagnostics).toEqual([]);
  });

  // Each row: the QEMU Dom0 with these files changed -> the counts, and the diagnostics.
  it.each<[string, Record<string, string | Uint8Array | null | undefined>, ReturnType<typeof counts>, string[], RegExp?]>([
    [
      'dom0_max_vcpus=1: Dom0 has 1 vCPU, the machine still 2 CPUs',
      { 'proc/cpuinfo': qemuDom0Tree().files!['proc/cpuinfo']!.toString().split('\n\n')[0] + '\n' },
      { logicalCpus: 2, cores: 2, packages: 1, from: ['xen', 'smbios', 'smbios'] },
      [],
      /\(1 vCPU, 1 core\)/,
    ],
    [
      'one PCPU offline (xen-hptool): still the machine\'s',
      { 'sys/devices/system/xen_cpu/xen_cpu1/online': '0\n' },
      { logicalCpus: 2, cores: 2, packages: 1, from: ['xen', 'smbios', 'smbios'] },
      [],
      /xen_cpu0 xen_cpu1, 1 online\)/,
    ],
    [
      'an online file that is not 0 or 1: counted, said',
      { 'sys/devices/system/xen_cpu/xen_cpu1/online': 'yes\n' },
      { logicalCpus: 2, cores: 2, packages: 1, from: ['xen', 'smbios', 'smbios'] },
      ['malformed /sys/devices/system/xen_cpu/xen_cpu1/online'],
      /xen_cpu0 xen_cpu1\)/,
    ],
    [
      'no /sys/devices/system/xen_cpu (an older Dom0 kernel): logical CPUs unknown',
      { 'sys/devices/system/xen_cpu': undefined },
      { logicalCpus: null, cores: 2, packages: 1, from: [null, 'smbios', 'smbios'] },
      [],
      /no \/sys\/devices\/system\/xen_cpu .*: the machine's logical CPUs are unknown/,
    ],
    [
      'no SMBIOS type 4: cores unknown',
      { [TYPE4]: undefined, 'sys/firmware/dmi/entries/4-0': undefined },
      { logicalCpus: 2, cores: null, packages: null, from: ['xen', null, null] },
      [],
      /no SMBIOS processor structures \(type 4\)/,
    ],
    [
      'SMBIOS 2.4 (no core count): cores unknown',
      { [TYPE4]: type4({}, 0x23) },
      { logicalCpus: 2, cores: null, packages: null, from: ['xen', null, null] },
      [],
      /4-0 gives no core count \(an SMBIOS structure before 2\.5\): the machine's cores are unknown/,
    ],
    [
      'a malformed type 4: cores unknown, said',
      { [TYPE4]: new Uint8Array([4, 0x2a, 0, 4]) },
      { logicalCpus: 2, cores: null, packages: null, from: ['xen', null, null] },
      ['malformed /sys/firmware/dmi/entries/4-0/raw'],
      /4-0 is malformed/,
    ],
    [
      'two sockets of 8 cores (Core Enabled), one of 4 enabled of 6 (Core Count only where Enabled is 0)',
      { [TYPE4]: type4({ 0x23: [8, 8] }), 'sys/firmware/dmi/entries/4-1/raw': type4({ 0x23: [6, 4] }), 'sys/firmware/dmi/entries/4-2/raw': type4({ 0x23: [4, 0] }) },
      { logicalCpus: 2, cores: 16, packages: 3, from: ['xen', 'smbios', 'smbios'] },
      [],
      /16 cores in 3 sockets \(4-0: Core Enabled 8, Core Count 8.*; 4-1: Core Enabled 4, Core Count 6.*; 4-2: Core Count 4,/,
    ],
    [
      'an unpopulated socket and a CPU disabled by the firmware are not counted',
      {
        'sys/firmware/dmi/entries/4-1/raw': type4({ 0x18: [0x00], 0x23: [0, 0, 0] }),
        'sys/firmware/dmi/entries/4-2/raw': type4({ 0x18: [0x43] }),
        'sys/firmware/dmi/entries/4-3/raw': type4({ 0x05: [5] }),
      },
      { logicalCpus: 2, cores: 2, packages: 1, from: ['xen', 'smbios', 'smbios'] },
      [],
      /2 cores in 1 socket .*; 4-1: socket unpopulated, not counted; 4-2: CPU disabled by the firmware \(POST error\), not counted; 4-3: a DSP, not counted/,
    ],
    [
      'no populated socket at all: cores unknown',
      { [TYPE4]: type4({ 0x18: [0x00] }) },
      { logicalCpus: 2, cores: null, packages: null, from: ['xen', null, null] },
      [],
      /no populated socket with its CPU enabled; 4-0: socket unpopulated, not counted: the machine's cores are unknown/,
    ],
  ])('%s', async (_name, files, expected, diagnostics, evidence) => {
    const { fs } = volume(dom0(files), '/machine');
    const profile = await probe({ fs, root: '/machine' });
    expect(counts(profile.cpu)).toEqual(expected);
    expect(profile.diagnostics.map((d) => `${d.code} ${d.path}`)).toEqual(diagnostics);
    if (evidence) expect(profile.cpu.countsFrom.evidence.join('\n')).toMatch(evidence);
  });

  it('not root (the raw SMBIOS files are 0400): cores unknown, the unreadable file named; the PCPUs are known', async () => {
    const reader = readerFor(dom0(), { wrap: failingOpen(`/${TYPE4}`, 'EACCES') });
    const profile = await probeWith(reader);
    expect(counts(profile.cpu)).toEqual({ logicalCpus: 2, cores: null, packages: null, from: ['xen', null, null] });
    expect(profile.diagnostics.map((d) => `${d.code} ${d.path}`)).toEqual([`unreadable /${TYPE4}`]);
    expect(profile.cpu.countsFrom.evidence[1]).toBe(
      "SMBIOS processor structures (type 4): 4-0 cannot be read (root only): the machine's cores are unknown",
    );
  });

  it('reads the formatted area only: a structure whose strings were cut gives the same counts', async () => {
    const whole = await probe({ ...volume(dom0(), '/m'), root: '/m' });
    const cut = await probe({ ...volume(dom0({ [TYPE4]: type4() }), '/m'), root: '/m' });
    expect(cut.cpu).toEqual(whole.cpu);
  });
});

describe('on bare metal (and in guests) cpuinfo stays the source', () => {
  it('the same QEMU machine without Xen: 2 logical CPUs, 2 cores from cpuinfo; neither xen_cpu nor type 4 is read', async () => {
    const tree = qemuBareTree();
    // Even where these were there, a machine that is not a Dom0 does not read them.
    tree.files!['sys/devices/system/xen_cpu/xen_cpu7/online'] = '1\n';
    tree.files![TYPE4] = type4({ 0x23: [64, 64] });
    const reader = readerFor(tree);
    const profile = await probeWith(reader);
    expect(profile.hypervisor.role).not.toBe('dom0');
    expect(counts(profile.cpu)).toEqual({ logicalCpus: 2, cores: 2, packages: 1, from: ['cpuinfo', 'cpuinfo', 'cpuinfo'] });
    expect(profile.cpu.countsFrom.evidence).toEqual([]);
    expect([...reader.touched].filter((p) => p.includes('xen_cpu') || p.includes('/entries/4-'))).toEqual([]);
  });

  it("the Dom0's cpuinfo, were it a bare machine's, would be taken as it is", async () => {
    // The measured Dom0 topology without Xen around it: nothing says it is not the machine's.
    const tree = qemuBareTree();
    tree.files!['proc/cpuinfo'] = qemuDom0Tree().files!['proc/cpuinfo']!;
    const { fs } = volume(tree, '/machine');
    expect(counts((await probe({ fs, root: '/machine' })).cpu)).toMatchObject({ cores: 1, from: ['cpuinfo', 'cpuinfo', 'cpuinfo'] });
  });
});

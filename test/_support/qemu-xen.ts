// Test support: the QEMU machine of the Xen 4.17 boot test (issue #9 §3, ../shared/research/boot-test.md), as the
// probes see it from inside its PV Dom0 (Xen 4.17.7, Debian's 6.1.0-56-amd64, `-machine q35 -cpu qemu64,+svm
// -m 3072`, plan dom0_mem=2048M,max:2048M) and, for comparison, booted without Xen ("bare metal": the same QEMU
// guest, no hypervisor of its own).
//
// Measured in the Dom0: the cpuinfo flags line (no svm, no vmx), MemTotal, /sys/hypervisor/type and
// properties/capabilities, /proc/xen/capabilities, the raw SMBIOS type 19 structures; with `-smp 2` (1 socket, 2
// cores; 2026-12-06) the cpuinfo topology lines of both boots, Dom0's /sys/devices/system/xen_cpu, and the raw SMBIOS
// type 4 structure (the same on bare metal and in Dom0). Not measured, filled with
// what QEMU's qemu64 model and q35 machine report (the decisions under test do not depend on them): vendor_id,
// family/model/stepping and model name (qemu64: AuthenticAMD, family 15 model 107 stepping 1), the DMI strings,
// the version minor/extra, and the bare-metal MemTotal (a 3072 MiB guest without Xen; any value near 3 GiB does).
import type { Tree } from './memfs.ts';

/** /proc/cpuinfo flags in the Dom0, as measured. */
export const DOM0_FLAGS =
  'fpu de tsc msr pae mce cx8 apic mca cmov pat clflush mmx fxsr sse sse2 ht syscall nx lm rep_good nopl cpuid ' +
  'extd_apicid tsc_known_freq pni cx16 hypervisor lahf_lm cmp_legacy 3dnowprefetch vmmcall';

/** The same CPU without Xen: QEMU offers svm (-cpu qemu64,+svm) and the kernel shows it. */
export const BARE_FLAGS = DOM0_FLAGS.replace(' lahf_lm ', ' lahf_lm svm ');

/**
 * The topology lines of /proc/cpuinfo, per processor, as measured (`-smp 2`: 1 socket, 2 cores). Without Xen each
 * processor is its own core (core id 0 and 1, apicid 0 and 1); in the PV Dom0 both vCPUs say core id 0 and apicid 0:
 * Dom0's topology is its vCPUs', not the machine's (the distinct (physical id, core id) pairs give 1 core).
 */
export const BARE_TOPOLOGY = [0, 1].map((n) => ({ 'physical id': 0, siblings: 2, 'core id': n, 'cpu cores': 2, apicid: n, 'initial apicid': n }));
export const DOM0_TOPOLOGY = [0, 1].map(() => ({ 'physical id': 0, siblings: 2, 'core id': 0, 'cpu cores': 2, apicid: 0, 'initial apicid': 0 }));

function cpuinfo(flags: string, topology: Record<string, number>[]): string {
  const block = (n: number) =>
    [
      `processor\t: ${n}`,
      'vendor_id\t: AuthenticAMD',
      'cpu family\t: 15',
      'model\t\t: 107',
      'model name\t: QEMU Virtual CPU version 2.5+',
      'stepping\t: 1',
      ...Object.entries(topology[n]!).map(([key, value]) => `${key}${key.length < 8 ? '\t\t' : '\t'}: ${value}`),
      `flags\t\t: ${flags}`,
      '',
    ].join('\n');
  return topology.map((_, n) => block(n)).join('\n');
}

/** Raw SMBIOS structure bytes as written in hex ("13 1f 00 13 ..."), padded with zeros to `length`, + "\0\0". */
export function smbiosRaw(hex: string, length = Number.parseInt(hex.split(' ')[1]!, 16)): Uint8Array {
  const bytes = hex.split(/\s+/).map((b) => Number.parseInt(b, 16));
  const out = new Uint8Array(length + 2);
  out.set(bytes.slice(0, length));
  return out;
}

/** Type 19 under QEMU -m 3072: 0-2 GiB and 4-5 GiB (the PCI hole between), 3 GiB in all. */
export const TYPE19_RAW = {
  '19-0': smbiosRaw('13 1f 00 13 00 00 00 00 ff ff 1f 00 00 10 01 00'),
  '19-1': smbiosRaw('13 1f 01 13 00 00 40 00 ff ff 4f 00 00 10 01 00'),
};
export const SMBIOS_KIB = 3 * 1024 * 1024;

/**
 * Type 4 (Processor Information) under `-smp 2`, as measured (65 bytes, SMBIOS 2.5+ fields): Status 41h (socket
 * populated, CPU enabled), Core Count 2, Core Enabled 2, Thread Count 2; then its strings "CPU 0", "QEMU",
 * "pc-q35-7.2".
 */
export const TYPE4_RAW = new Uint8Array(
  (
    '04 2a 00 04 01 03 01 02 b1 0f 06 00 fd fb 8b 07 03 00 00 00 d0 07 d0 07 41 01 ff ff ff ff ff ff 00 00 00 02 02 02 ' +
    '02 00 01 00 43 50 55 20 30 00 51 45 4d 55 00 70 63 2d 71 33 35 2d 37 2e 32 00 00'
  )
    .split(' ')
    .map((b) => Number.parseInt(b, 16)),
);

const DMI: Record<string, string> = {
  sys_vendor: 'QEMU\n',
  product_name: 'Standard PC (Q35 + ICH9, 2009)\n',
  product_version: 'pc-q35-7.2\n',
  bios_vendor: 'SeaBIOS\n',
  bios_version: '1.16.2-debian-1.16.2-1\n',
  bios_date: '04/01/2014\n',
  chassis_vendor: 'QEMU\n',
  chassis_type: '1\n',
};

function common(flags: string, topology: Record<string, number>[], memTotalKiB: number): Record<string, string | Uint8Array | null> {
  const files: Record<string, string | Uint8Array | null> = {
    'proc/cpuinfo': cpuinfo(flags, topology),
    'proc/meminfo': `MemTotal:        ${memTotalKiB} kB\nMemFree:          1500000 kB\n`,
    // The same boot line in both: a console= differs between them in reality, and is not what is compared.
    'proc/cmdline': 'BOOT_IMAGE=/boot/vmlinuz root=/dev/ram0\n',
    'proc/sys/kernel/osrelease': '6.1.0-56-amd64\n',
    'proc/sys/kernel/arch': 'x86_64\n',
    'sys/bus/pci/devices': null,
    'sys/bus/usb/devices': null,
  };
  for (const [name, value] of Object.entries(DMI)) files[`sys/class/dmi/id/${name}`] = value;
  for (const [entry, raw] of Object.entries(TYPE19_RAW)) files[`sys/firmware/dmi/entries/${entry}/raw`] = raw;
  files['sys/firmware/dmi/entries/4-0/raw'] = TYPE4_RAW;
  return files;
}

/** Inside the PV Dom0, as measured. */
export function qemuDom0Tree(): Tree {
  const files = common(DOM0_FLAGS, DOM0_TOPOLOGY, 1938596);
  files['sys/hypervisor/type'] = 'xen\n';
  files['sys/hypervisor/version/major'] = '4\n';
  files['sys/hypervisor/version/minor'] = '17\n';
  files['sys/hypervisor/version/extra'] = '.7\n';
  files['sys/hypervisor/properties/capabilities'] = 'xen-3.0-x86_64 hvm-3.0-x86_32 hvm-3.0-x86_32p hvm-3.0-x86_64\n';
  files['proc/xen/capabilities'] = 'control_d\n';
  files['sys/devices/system/xen_memory/xen_memory0/info/current_kb'] = '2097152\n';
  // One xen_cpuN per physical CPU (Linux drivers/xen/pcpu.c), beside the subsystem's power/ and uevent.
  files['sys/devices/system/xen_cpu/power'] = null;
  files['sys/devices/system/xen_cpu/uevent'] = '';
  for (const n of [0, 1]) files[`sys/devices/system/xen_cpu/xen_cpu${n}/online`] = '1\n';
  return { files };
}

/** The same QEMU machine booted without Xen. */
export function qemuBareTree(): Tree {
  const files = common(BARE_FLAGS, BARE_TOPOLOGY, 3003440);
  return { files };
}

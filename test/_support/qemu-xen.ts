// Test support: the QEMU machine of the Xen 4.17 boot test (issue #9 §3, ../shared/research/boot-test.md), as the
// probes see it from inside its PV Dom0 (Xen 4.17.7, Debian's 6.1.0-56-amd64, `-machine q35 -cpu qemu64,+svm
// -m 3072`, plan dom0_mem=2048M,max:2048M) and, for comparison, booted without Xen ("bare metal": the same QEMU
// guest, no hypervisor of its own).
//
// Measured in the Dom0: the cpuinfo flags line (no svm, no vmx), MemTotal, /sys/hypervisor/type and
// properties/capabilities, /proc/xen/capabilities, the raw SMBIOS type 19 structures. Not measured, filled with
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

function cpuinfo(flags: string, cpus = 2): string {
  const block = (n: number) =>
    [
      `processor\t: ${n}`,
      'vendor_id\t: AuthenticAMD',
      'cpu family\t: 15',
      'model\t\t: 107',
      'model name\t: QEMU Virtual CPU version 2.5+',
      'stepping\t: 1',
      `flags\t\t: ${flags}`,
      '',
    ].join('\n');
  return Array.from({ length: cpus }, (_, n) => block(n)).join('\n');
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

function common(flags: string, memTotalKiB: number): Record<string, string | Uint8Array | null> {
  const files: Record<string, string | Uint8Array | null> = {
    'proc/cpuinfo': cpuinfo(flags),
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
  return files;
}

/** Inside the PV Dom0, as measured. */
export function qemuDom0Tree(): Tree {
  const files = common(DOM0_FLAGS, 1938596);
  files['sys/hypervisor/type'] = 'xen\n';
  files['sys/hypervisor/version/major'] = '4\n';
  files['sys/hypervisor/version/minor'] = '17\n';
  files['sys/hypervisor/version/extra'] = '.7\n';
  files['sys/hypervisor/properties/capabilities'] = 'xen-3.0-x86_64 hvm-3.0-x86_32 hvm-3.0-x86_32p hvm-3.0-x86_64\n';
  files['proc/xen/capabilities'] = 'control_d\n';
  files['sys/devices/system/xen_memory/xen_memory0/info/current_kb'] = '2097152\n';
  return { files };
}

/** The same QEMU machine booted without Xen. */
export function qemuBareTree(): Tree {
  const files = common(BARE_FLAGS, 3003440);
  return { files };
}

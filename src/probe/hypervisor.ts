// Which hypervisor this kernel runs under, and for Xen in which role. Xen's own interfaces come first
// (/sys/hypervisor, /proc/xen/capabilities): a Dom0 runs on real hardware and must not be taken for a guest
// just because Xen is present. Then the CPUID 0x40000000 signature, then the DMI strings, matched as exact
// strings: a bare-metal "ADATA XENIA 14" must not read as Xen.
import type { Cpu, Dmi, Hypervisor, PciDevice } from '../types.ts';
import type { Reader } from './_reader.ts';

const XENFEAT_DOM0 = 11;

/** CPUID 0x40000000 signatures (EBX, ECX, EDX as text, trailing NULs removed) and the short names used here. */
const SIGNATURES: Record<string, string> = {
  KVMKVMKVM: 'kvm',
  LKVMLKVMLKVM: 'kvm', // kvmtool, on KVM
  TCGTCGTCGTCG: 'qemu', // QEMU without acceleration
  XenVMMXenVMM: 'xen',
  'Microsoft Hv': 'hyperv',
  VMwareVMware: 'vmware',
  VBoxVBoxVBox: 'virtualbox',
  'bhyve bhyve ': 'bhyve',
  ' lrpepyh  vr': 'parallels', // "prl hyperv  " in Parallels' byte order
  OpenBSDVMM58: 'openbsd-vmm',
  ACRNACRNACRN: 'acrn',
};

/**
 * PCI functions that exist only as a hypervisor's virtual hardware (their ids name the hypervisor's vendor):
 * the last resort for old guests whose CPU flags and DMI say nothing. Virtio (1af4) is left out: KVM, bhyve,
 * Firecracker and others all offer it.
 */
const PCI_RULES: { vendor: string; device: string; detected: string; name: string }[] = [
  { vendor: '80ee', device: 'cafe', detected: 'virtualbox', name: 'VirtualBox Guest Service' },
  { vendor: '80ee', device: 'beef', detected: 'virtualbox', name: 'VirtualBox Graphics Adapter' },
  { vendor: '5853', device: '0001', detected: 'xen', name: 'Xen Platform Device' },
  { vendor: '15ad', device: '0405', detected: 'vmware', name: 'VMware SVGA II Adapter' },
  { vendor: '15ad', device: '0740', detected: 'vmware', name: 'VMware Virtual Machine Communication Interface' },
  { vendor: '1414', device: '5353', detected: 'hyperv', name: 'Hyper-V virtual VGA' },
];

interface DmiRule {
  /** dmiVendor as reported. */
  vendor: string;
  /** The hypervisor's short name. */
  detected: string;
  /** false when the same strings also name bare metal (AWS *.metal, Alibaba ECS Bare Metal). */
  virtualOnly: boolean;
  test: (d: Dmi) => boolean;
}

// Exact strings as SMBIOS tables of these hypervisors carry them (virt-what's and systemd's lists); order matters:
// a KVM host's product name wins over the QEMU chassis vendor it also shows.
const DMI_RULES: DmiRule[] = [
  {
    vendor: 'KVM',
    detected: 'kvm',
    virtualOnly: true,
    test: (d) => d.productName === 'KVM' || d.productName === 'RHEV Hypervisor',
  },
  {
    vendor: 'Nutanix AHV',
    detected: 'kvm',
    virtualOnly: true,
    test: (d) => d.sysVendor === 'Nutanix' && d.productName === 'AHV',
  },
  {
    vendor: 'Xen',
    detected: 'xen',
    virtualOnly: true,
    test: (d) => d.sysVendor === 'Xen' || d.biosVendor === 'Xen' || d.productName === 'HVM domU',
  },
  {
    vendor: 'VirtualBox',
    detected: 'virtualbox',
    virtualOnly: true,
    test: (d) => d.sysVendor === 'innotek GmbH' || d.productName === 'VirtualBox',
  },
  {
    vendor: 'VMware',
    detected: 'vmware',
    virtualOnly: true,
    test: (d) => startsWith(d.sysVendor, 'VMware') || startsWith(d.productName, 'VMware'),
  },
  {
    vendor: 'Microsoft',
    detected: 'hyperv',
    virtualOnly: true,
    test: (d) => d.sysVendor === 'Microsoft Corporation' && d.productName === 'Virtual Machine',
  },
  {
    vendor: 'Parallels',
    detected: 'parallels',
    virtualOnly: true,
    test: (d) => startsWith(d.sysVendor, 'Parallels ') || startsWith(d.biosVendor, 'Parallels '),
  },
  {
    vendor: 'bhyve',
    detected: 'bhyve',
    virtualOnly: true,
    test: (d) => d.biosVendor === 'BHYVE' || d.productName === 'BHYVE',
  },
  {
    vendor: 'QEMU',
    detected: 'qemu',
    virtualOnly: true,
    test: (d) => d.sysVendor === 'QEMU' || d.chassisVendor === 'QEMU',
  },
  {
    vendor: 'Bochs',
    detected: 'bochs',
    virtualOnly: true,
    test: (d) => d.sysVendor === 'Bochs' || d.biosVendor === 'Bochs',
  },
  {
    vendor: 'Amazon EC2',
    detected: 'kvm',
    virtualOnly: false,
    test: (d) => d.sysVendor === 'Amazon EC2' || d.biosVendor === 'Amazon EC2',
  },
  {
    vendor: 'Alibaba Cloud',
    detected: 'kvm',
    virtualOnly: false,
    test: (d) => d.sysVendor === 'Alibaba Cloud',
  },
];

function startsWith(value: string | null, prefix: string): boolean {
  return value !== null && value.startsWith(prefix);
}

export function dmiRule(dmi: Dmi): DmiRule | null {
  return DMI_RULES.find((rule) => rule.test(dmi)) ?? null;
}

/** The 0x40000000 signature: known ones always, other printable text only when the hypervisor bit is set. */
export function cpuidSignature(cpu: Cpu): string | null {
  const leaf = cpu.cpuid.find((l) => l.leaf === '40000000' && l.subleaf === '00000000');
  if (!leaf) return null;
  const bytes = [leaf.ebx, leaf.ecx, leaf.edx].flatMap((reg) => {
    const value = Number.parseInt(reg, 16);
    return [0, 8, 16, 24].map((shift) => (value >>> shift) & 0xff);
  });
  while (bytes.length > 0 && bytes[bytes.length - 1] === 0) bytes.pop();
  if (bytes.length === 0 || bytes.some((b) => b < 0x20 || b > 0x7e)) return null;
  const text = String.fromCharCode(...bytes);
  // On bare metal leaf 0x40000000 returns another leaf's data, which may happen to be printable.
  return text in SIGNATURES || cpu.hypervisorFlag === true ? text : null;
}

export async function probeHypervisor(
  reader: Reader,
  facts: { cpu: Cpu; dmi: Dmi; pci?: readonly PciDevice[] },
): Promise<Hypervisor> {
  const { cpu, dmi } = facts;
  const evidence: string[] = [];
  const [type, guestType, major, minor, extra, caps, features, procCaps] = await Promise.all([
    reader.attr('/sys/hypervisor/type'),
    reader.attr('/sys/hypervisor/guest_type'),
    reader.attr('/sys/hypervisor/version/major'),
    reader.attr('/sys/hypervisor/version/minor'),
    reader.attr('/sys/hypervisor/version/extra'),
    reader.attr('/sys/hypervisor/properties/capabilities'),
    reader.attr('/sys/hypervisor/properties/features'),
    // Exists with classic xenlinux kernels and wherever xenfs is mounted on /proc/xen.
    reader.text('/proc/xen/capabilities'),
  ]);

  const present = type?.trim() === 'xen';
  if (present) evidence.push('/sys/hypervisor/type is xen');
  const featureBits = parseFeatures(reader, features);
  const xen: Hypervisor['xen'] = {
    present,
    guestType: guestType?.trim() || null,
    version: xenVersion(reader, major, minor, extra),
    capabilities: (caps ?? '').split(/\s+/).filter((c) => c !== ''),
    features: featureBits === null ? null : features!.trim().toLowerCase(),
    dom0: null,
  };
  xen.dom0 = decideDom0(xen, featureBits, procCaps, evidence);

  const signature = cpuidSignature(cpu);
  const rule = dmiRule(dmi);
  const dmiVendor = rule?.vendor ?? null;
  const result = (detected: string | null, role: Hypervisor['role']): Hypervisor => ({
    xen,
    cpuidSignature: signature,
    dmiVendor,
    detected,
    role,
    evidence,
  });
  if (signature !== null) evidence.push(`CPUID 0x40000000 signature ${JSON.stringify(signature)}`);
  if (rule) evidence.push(`DMI names ${rule.vendor}`);

  if (present || procCaps !== null) return result('xen', xenRole(xen, procCaps, rule, evidence));

  let detected: string | null = signature === null ? null : (SIGNATURES[signature] ?? null);
  // Xen (viridian) and KVM (hv-* enlightenments) also answer "Microsoft Hv" for Windows guests; DMI then
  // still names the real one.
  if (detected === 'hyperv' && rule?.virtualOnly && rule.detected !== 'hyperv') {
    evidence.push(`"Microsoft Hv" is also offered by ${rule.vendor} for Windows guests: DMI decides`);
    detected = rule.detected;
  }
  if (detected === null && rule?.virtualOnly) detected = rule.detected;
  if (detected === null && signature !== null) evidence.push('unknown CPUID signature');
  if (detected !== null || signature !== null || cpu.hypervisorFlag === true) {
    if (cpu.hypervisorFlag === true) evidence.push('hypervisor flag set');
    if (detected === null && rule) detected = rule.detected;
    // Seen only through CPUID/DMI, Xen is an HVM host: a PV kernel always has Xen's own interfaces.
    return result(detected, detected === 'xen' ? 'xen-hvm' : 'guest');
  }

  const device = (facts.pci ?? [])
    .map((d) => PCI_RULES.find((r) => r.vendor === d.vendor && r.device === d.device))
    .find((r) => r !== undefined);
  if (device) {
    evidence.push(`PCI ${device.vendor}:${device.device} (${device.name}) exists only in ${device.detected} guests`);
    return result(device.detected, device.detected === 'xen' ? 'xen-hvm' : 'guest');
  }

  const dmiPresent = Object.values(dmi).some((v) => v !== null);
  if (cpu.hypervisorFlag === false && dmiPresent) {
    evidence.push(`no hypervisor flag; DMI: ${[dmi.sysVendor, dmi.productName].filter((v) => v).join(' ')}`);
    return result(null, 'bare-metal');
  }
  evidence.push('no hypervisor signal, and not enough to call it bare metal');
  return result(null, 'unknown');
}

function parseFeatures(reader: Reader, features: string | null): number | null {
  if (features === null) return null;
  const value = features.trim();
  if (/^[0-9a-f]{1,8}$/i.test(value)) return Number.parseInt(value, 16);
  reader.diag('malformed', '/sys/hypervisor/properties/features', `features ${JSON.stringify(value)} is not hex`);
  return null;
}

function xenVersion(reader: Reader, major: string | null, minor: string | null, extra: string | null) {
  if (major === null || minor === null) return null;
  const [a, b] = [major.trim(), minor.trim()];
  if (!/^\d+$/.test(a) || !/^\d+$/.test(b)) {
    reader.diag('malformed', '/sys/hypervisor/version', `version ${JSON.stringify(`${a}.${b}`)}`);
    return null;
  }
  return `${a}.${b}${(extra ?? '').trim()}`;
}

function decideDom0(
  xen: Hypervisor['xen'],
  features: number | null,
  procCaps: string | null,
  evidence: string[],
): boolean | null {
  const hex = xen.features;
  if (features !== null && ((features >>> XENFEAT_DOM0) & 1) === 1) {
    evidence.push(`features ${hex}: bit 11 XENFEAT_dom0 set`);
    return true;
  }
  if (procCaps !== null) {
    const control = /\bcontrol_d\b/.test(procCaps);
    evidence.push(`/proc/xen/capabilities ${control ? 'has' : 'lacks'} control_d`);
    return control;
  }
  // Xen versions before XENFEAT_dom0 never set the bit, so a clear bit alone does not make a domU; but an
  // HVM or PVH guest_type comes with a Xen that sets it for its hardware domain.
  if (features !== null && (xen.guestType === 'HVM' || xen.guestType === 'PVH')) {
    evidence.push(`features ${hex}: bit 11 XENFEAT_dom0 clear`);
    return false;
  }
  return null;
}

function xenRole(
  xen: Hypervisor['xen'],
  procCaps: string | null,
  rule: DmiRule | null,
  evidence: string[],
): Hypervisor['role'] {
  if (xen.dom0 === true) return 'dom0';
  switch (xen.guestType) {
    case 'PV':
      return 'xen-pv';
    case 'HVM':
      return 'xen-hvm';
    case 'PVH':
      return 'xen-pvh';
    case 'Xen':
      // Arm guests: hardware virtualization with PV drivers and no emulated devices, PVH-like.
      evidence.push('guest_type Xen: an Arm guest');
      return 'xen-pvh';
    case null:
      break;
    default:
      evidence.push(`unknown guest_type ${JSON.stringify(xen.guestType)}`);
      return 'unknown';
  }
  // Kernels before 4.13 have no guest_type.
  if (rule?.vendor === 'Xen') {
    evidence.push('Xen SMBIOS (hvmloader): an HVM guest; PV domains have no DMI');
    return 'xen-hvm';
  }
  if (procCaps !== null) {
    evidence.push('xenlinux /proc/xen without control_d: a PV domU');
    return 'xen-pv';
  }
  evidence.push('no guest_type and no /proc/xen/capabilities: dom0 or domU cannot be told (mount xenfs on /proc/xen)');
  return 'unknown';
}

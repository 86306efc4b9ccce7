// The readable listing of `autoconfig probe`: PCI like `lspci -nnk`, then USB like `lsusb`, then the CPU,
// memory, firmware and hypervisor verdicts. Names are optional: decisions never depend on them.
import type { HardwareProfile, PciDevice, UsbDevice, UsbInterface } from '../types.ts';
import { cpuModelName, dmiString, machineName } from './_display.ts';

export interface PciNameSource {
  vendor(v: string): string | null;
  device(v: string, d: string): string | null;
  subsystem(v: string, d: string, sv: string, sd: string): string | null;
  className(c: string, s?: string, p?: string): string | null;
}

export interface UsbNameSource {
  vendor(v: string): string | null;
  product(v: string, p: string): string | null;
  className(c: string, s?: string, p?: string): string | null;
}

export interface Names {
  pci?: PciNameSource | null;
  usb?: UsbNameSource | null;
}

export function formatProfile(profile: HardwareProfile, names: Names = {}): string {
  const lines: string[] = [];
  const unknown = (bus: 'pci' | 'usb') => profile.bindingUnknown?.includes(bus) ?? false;
  // lspci -nn prints no driver lines either: say why none are shown, once, where the logs did not tell.
  const header = (what: string, count: number, bus: 'pci' | 'usb') =>
    `${what} devices (${count}${count > 0 && unknown(bus) ? ', bound drivers unknown: the logs do not say' : ''}):`;
  lines.push(header('PCI', profile.pci.length, 'pci'));
  if (profile.pci.length === 0) lines.push('  none found');
  for (const device of profile.pci) lines.push(...formatPci(device, names.pci ?? null));
  lines.push('', header('USB', profile.usb.length, 'usb'));
  if (profile.usb.length === 0) lines.push('  none found');
  for (const device of profile.usb) lines.push(...formatUsb(device, names.usb ?? null, unknown('usb')));
  lines.push('', ...formatSystem(profile));
  if (profile.diagnostics.length > 0) {
    lines.push('', `Diagnostics (${profile.diagnostics.length}):`);
    for (const d of profile.diagnostics) lines.push(`  ${d.code}: ${d.message}`);
  }
  return lines.join('\n') + '\n';
}

function shortSlot(slot: string): string {
  return slot.startsWith('0000:') ? slot.slice(5) : slot;
}

/**
 * A PCI function as lspci -nn's header names it, without the slot: "VGA compatible controller [0300]: Intel
 * Corporation ... [8086:27a2] (rev 03)"; ids ("Class", "Vendor 8086 Device 27a2") where names are not loaded.
 */
export function pciLabel(d: PciDevice, names: PciNameSource | null): string {
  const cls = `${d.class ?? '??'}${d.subclass ?? '??'}`;
  const className =
    (d.class && d.subclass && names?.className(d.class, d.subclass)) ||
    (d.class && names?.className(d.class)) ||
    'Class';
  const vendorName = d.vendor ? names?.vendor(d.vendor) : null;
  const deviceName = d.vendor && d.device ? names?.device(d.vendor, d.device) : null;
  const ids = `[${d.vendor ?? '????'}:${d.device ?? '????'}]`;
  const what = [vendorName ?? (d.vendor ? `Vendor ${d.vendor}` : null), deviceName ?? `Device ${d.device ?? '????'}`]
    .filter(Boolean)
    .join(' ');
  const rev = d.revision && d.revision !== '00' ? ` (rev ${d.revision})` : '';
  return `${className} [${cls}]: ${what} ${ids}${rev}`;
}

function formatPci(d: PciDevice, names: PciNameSource | null): string[] {
  const deviceName = d.vendor && d.device ? names?.device(d.vendor, d.device) : null;
  const out = [`${shortSlot(d.slot)} ${pciLabel(d, names)}`];
  if (d.subvendor && d.subdevice && !(d.subvendor === '0000' && d.subdevice === '0000')) {
    // As lspci: the subsystem vendor's name, then the subsystem's own name, else the device's name when the
    // subsystem ids repeat the device ids, else "Device xxxx".
    const own = d.vendor && d.device ? names?.subsystem(d.vendor, d.device, d.subvendor, d.subdevice) : null;
    const same = d.subvendor === d.vendor && d.subdevice === d.device ? deviceName : null;
    const sub = [names?.vendor(d.subvendor) ?? null, own ?? same ?? `Device ${d.subdevice}`].filter(Boolean).join(' ');
    out.push(`\tSubsystem: ${sub} [${d.subvendor}:${d.subdevice}]`);
  }
  if (d.driver) out.push(`\tKernel driver in use: ${d.driver}`);
  const extra: string[] = [];
  if (d.bootVga) extra.push('boot VGA');
  if (d.iommuGroup !== null) extra.push(`IOMMU group ${d.iommuGroup}`);
  if (extra.length > 0) out.push(`\t${extra.join(', ')}`);
  return out;
}

/** A USB device as lsusb names it: "ID 046d:c52b Logitech, Inc. Unifying Receiver" (its own strings without names). */
export function usbLabel(d: UsbDevice, names: UsbNameSource | null): string {
  const vendorName = d.vendor ? names?.vendor(d.vendor) : null;
  const productName = d.vendor && d.product ? names?.product(d.vendor, d.product) : null;
  const label = [vendorName ?? d.manufacturer, productName ?? d.productName].filter(Boolean).join(' ');
  return `ID ${d.vendor ?? '????'}:${d.product ?? '????'} ${label}`.trimEnd();
}

/** An interface's class triple and, with names, its class name: "class 03/01/02 (Human Interface Device)". */
export function usbInterfaceClass(i: UsbInterface, names: UsbNameSource | null): string {
  const className = i.class ? names?.className(i.class) : null;
  return `class ${i.class ?? '??'}/${i.subclass ?? '??'}/${i.protocol ?? '??'}${className ? ` (${className})` : ''}`;
}

function formatUsb(d: UsbDevice, names: UsbNameSource | null, bindingUnknown: boolean): string[] {
  const num = (n: number | null) => (n === null ? '???' : String(n).padStart(3, '0'));
  const speed = d.speed ? `, ${d.speed} Mb/s` : '';
  const out = [`Bus ${num(d.busnum)} Device ${num(d.devnum)}: ${usbLabel(d, names)}  [${d.path}${speed}]`];
  for (const i of d.interfaces) {
    out.push(
      `\t${i.path} ${usbInterfaceClass(i, names)}` +
        (i.driver ? `, driver in use: ${i.driver}` : bindingUnknown ? ', binding unknown' : ', no driver bound'),
    );
  }
  return out;
}

function yesNo(value: boolean | null): string {
  return value === null ? 'unknown' : value ? 'yes' : 'no';
}

function formatSystem(p: HardwareProfile): string[] {
  const out: string[] = [];
  const c = p.cpu;
  const ident = [c.vendor, c.family !== null ? `family ${c.family}` : null, c.model !== null ? `model ${c.model}` : null]
    .concat(c.stepping !== null ? [`stepping ${c.stepping}`] : [])
    .filter(Boolean)
    .join(' ');
  const counts = [
    c.logicalCpus !== null ? `${c.logicalCpus} logical CPUs` : null,
    c.cores !== null ? `${c.cores} cores` : null,
    c.packages !== null ? `${c.packages} package${c.packages === 1 ? '' : 's'}` : null,
  ]
    .filter(Boolean)
    .join(', ');
  out.push(`CPU: ${cpuModelName(c.modelName) ?? 'unknown model'}${ident ? ` (${ident})` : ''}${counts ? `, ${counts}` : ''}`);
  // In a Xen Dom0 the counts are the machine's, not Dom0's vCPUs: where each came from (bare metal: cpuinfo, unsaid).
  if (c.countsFrom.evidence.length > 0) {
    const from = (source: string | null) =>
      source === 'xen' ? "Xen's PCPU list" : source === 'smbios' ? 'SMBIOS type 4' : source === 'cpuinfo' ? 'cpuinfo' : 'unknown';
    const f = c.countsFrom;
    out.push(
      `  The machine's counts: logical CPUs ${from(f.logicalCpus)}, cores ${from(f.cores)}, packages ${from(f.packages)}` +
        `  [${f.evidence.join('; ')}]`,
    );
  }
  const vt =
    c.vt.state === 'enabled'
      ? `yes (${c.vt.technology === 'svm' ? 'AMD-V svm' : c.vt.technology === 'vmx' ? 'Intel VT-x vmx' : 'VT-x or AMD-V'})`
      : c.vt.state === 'unverified'
        ? `present (${c.vt.technology === 'svm' ? 'AMD-V svm' : 'Intel VT-x vmx'}), firmware setting unverified`
        : c.vt.state === 'disabled-by-firmware'
        ? `disabled by firmware (${c.vt.technology ?? 'VT'} present; enable it in the BIOS setup)`
        : c.vt.state === 'absent'
          ? 'no (the CPU lacks it)'
          : 'unknown';
  out.push(`  Hardware virtualization: ${vt}${c.vt.evidence.length ? `  [${c.vt.evidence.join('; ')}]` : ''}`);
  // EPT/NPT: what HVM needs on a Xen without shadow paging (4.7 on, as distributions build it).
  const hap = c.hap.state === 'present' ? 'yes' : c.hap.state === 'absent' ? 'no' : 'unknown';
  const which = c.hap.feature === 'ept' ? 'Intel EPT' : c.hap.feature === 'npt' ? 'AMD NPT' : 'EPT/NPT';
  out.push(`  Hardware-assisted paging (${which}): ${hap}${c.hap.evidence.length ? `  [${c.hap.evidence.join('; ')}]` : ''}`);
  out.push(`  64-bit (long mode): ${yesNo(c.longMode)}, PAE: ${yesNo(c.pae)}, under a hypervisor: ${yesNo(c.hypervisorFlag)}`);
  if (!c.flagsKnown) {
    const known = [...c.flags.map((f) => `${f} yes`), ...c.flagsAbsent.map((f) => `${f} no`)];
    out.push(`  CPU flags: ${known.length ? `known only in part: ${known.join(', ')}` : 'not known'}`);
  }
  const installed = p.memory.installedKiB ?? null;
  out.push(
    `Memory: ${p.memory.totalKiB === null ? 'unknown' : `${(p.memory.totalKiB / 1048576).toFixed(1)} GiB (${p.memory.totalKiB} KiB)${p.hypervisor.role === 'dom0' ? ", this Xen Dom0's share" : ''}`}${
      installed === null ? '' : `; installed (SMBIOS): ${(installed / 1048576).toFixed(1)} GiB (${installed} KiB)`
    }`,
  );
  const g = p.graphicsMemory;
  const mib = (bytes: number) => `${+(bytes / 1048576).toFixed(1)} MiB`;
  const graphics = [
    g.stolen ? `Graphics Stolen Memory ${mib(g.stolen.bytes)} at ${g.stolen.start}-${g.stolen.end}` : null,
    ...g.vram.map((v) => `${v.slot.replace(/^0000:/, '')} VRAM ${mib(v.bytes)} (mem_info_vram_total)`),
  ].filter(Boolean);
  if (graphics.length) out.push(`  Graphics memory: ${graphics.join('; ')}`);
  const f = p.firmware;
  const iommu = [
    f.iommu.dmar ? 'DMAR (Intel VT-d)' : null,
    f.iommu.ivrs ? 'IVRS (AMD-Vi)' : null,
  ].filter(Boolean);
  const boot = f.efi === null ? 'EFI or BIOS unknown' : f.efi ? `EFI${f.efiBits ? ` ${f.efiBits}-bit` : ''}` : 'BIOS (no EFI)';
  const tablesKnown = f.iommu.dmar !== null && f.iommu.ivrs !== null;
  out.push(
    `Firmware: ${boot}; ACPI tables: ${f.acpiTables.length ? f.acpiTables.join(' ') : tablesKnown ? 'none seen' : 'unknown'}`,
  );
  const noTable = tablesKnown ? 'no ACPI DMAR/IVRS table' : 'ACPI DMAR/IVRS tables unknown';
  out.push(
    `  IOMMU: ${iommu.length ? iommu.join(', ') : noTable}; kernel units: ${
      f.iommu.units.length ? f.iommu.units.join(' ') : 'none'
    }; groups: ${f.iommu.groups}`,
  );
  const h = p.hypervisor;
  const role: Record<typeof h.role, string> = {
    dom0: 'Xen Dom0 (control domain)',
    'xen-pv': 'Xen PV guest',
    'xen-hvm': 'Xen HVM guest',
    'xen-pvh': 'Xen PVH guest',
    guest: `virtual machine${h.detected ? ` (${h.detected})` : ''}`,
    'bare-metal': 'bare metal',
    unknown: 'unknown',
  };
  const xen = h.xen.present || h.xen.version ? ` Xen ${h.xen.version ?? '?'}${h.xen.capabilities.length ? ` [${h.xen.capabilities.join(' ')}]` : ''}` : '';
  out.push(`Hypervisor: ${role[h.role]}${xen}${h.evidence.length ? `  [${h.evidence.join('; ')}]` : ''}`);
  const d = p.dmi;
  const system = [machineName(d), dmiString(d.productVersion, 'version')].filter(Boolean).join(' ');
  const bios = [d.biosVendor, d.biosVersion, d.biosDate].filter(Boolean).join(' ');
  out.push(`DMI: ${system || 'unknown'}${bios ? `; BIOS ${bios}` : ''}`);
  out.push(`Kernel: ${p.kernel.release ?? 'unknown'}; command line: ${p.cmdline.length ? p.cmdline.join(' ') : '(none)'}`);
  return out;
}

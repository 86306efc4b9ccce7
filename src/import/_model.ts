// Shared vocabulary of the log importer: what each format parser returns, and the small text helpers they share.
// Every field a parser fills is a fact the log states (or that the printing tool's source code implies, e.g. lspci
// prints "(rev XX)" only when the revision is non-zero); a field left undefined is unknown and produces no file.

/** An unparseable or suspicious line: recorded, skipped, the import goes on. `line` is 1-based; 0 = the whole file. */
export interface ImportIssue {
  file: string;
  line: number;
  message: string;
}

/** A snapshot tree; every path is relative to the snapshot root, without a leading slash. */
export interface Tree {
  files: Record<string, string>;
  /** link path -> relative target, exactly as the kernel's sysfs links look. */
  links: Record<string, string>;
  /** Directories that must exist even when empty (drivers, /sys/firmware/efi ...). */
  dirs: string[];
}

/** A tree writeTree() puts on disk: a Tree, or a snapshot's, whose files may be binary (raw SMBIOS structures). */
export interface WritableTree extends Omit<Tree, 'files'> {
  files: Record<string, string | Uint8Array>;
}

export interface ImportSource {
  /** Path relative to the log directory. */
  file: string;
  format: string;
  /** What this file supplied to the tree, e.g. "pci.ids", "pci.driver", "cpu.flags", "dmi". Empty when nothing. */
  used: string[];
}

export interface ImportManifest {
  format: 1;
  kind: 'import';
  created: string;
  tool: string;
  sources: ImportSource[];
  /** Facts the probes read that no log stated (see ABSENT_KEYS in import.ts). */
  absent: string[];
  notes: string[];
}

export interface PciRecord {
  /** sysfs name with domain, lower case: "0000:00:02.0". */
  slot: string;
  vendor?: string;
  device?: string;
  subvendor?: string;
  subdevice?: string;
  /** All 24 bits, 6 hex digits: base class, subclass, prog-if. */
  class?: string;
  /** Base class and subclass only (4 hex digits), when the source does not print the prog-if. */
  classPrefix?: string;
  revision?: string;
  /** The bound driver; null when the source says none is bound; undefined when it does not tell. */
  driver?: string | null;
  /** sysfs boot_vga: "1"/"0"; only for VGA-class devices. */
  bootVga?: string;
  /** The IOMMU group number (the name the iommu_group link points at), when the source lists it. */
  iommuGroup?: string;
  /**
   * Lines of the sysfs `resource` file by index (0-5 the BARs, 6 the expansion ROM), each in resource_show()'s
   * "0x%016llx 0x%016llx 0x%016llx" form without the newline; an unused one all zeros. A missing index is unknown.
   */
  resources?: Partial<Record<number, string>>;
  /** amdgpu's mem_info_vram_total: bytes in decimal, as the attribute prints them (without the newline). */
  vramTotal?: string;
  /** 1-based line of the record in its file. */
  line: number;
}

export interface UsbInterfaceRecord {
  number: number;
  alt?: number;
  class?: string;
  subclass?: string;
  protocol?: string;
  /** The bound driver; null when the source says none. */
  driver?: string | null;
  /** The modalias exactly as a source printed it from sysfs (hwinfo); otherwise composed from the fields. */
  modalias?: string;
}

export interface UsbDeviceRecord {
  bus: number;
  devnum?: number;
  /** The sysfs name when the source tells the port path: "usb1" (root hub), "1-1.2". */
  name?: string;
  vendor?: string;
  product?: string;
  bcdDevice?: string;
  class?: string;
  subclass?: string;
  protocol?: string;
  /** Mb/s as sysfs prints it: "1.5", "12", "480", "5000" ... */
  speed?: string;
  manufacturer?: string;
  productName?: string;
  /** The active bConfigurationValue, when known. */
  config?: number;
  interfaces: UsbInterfaceRecord[];
  line: number;
}

/** One fact with the 1-based line of the file that states it. */
export interface Stated<T> {
  value: T;
  line: number;
  /** The log text that states it, for the manifest's notes. */
  text: string;
}

/** CPU 0's identity and flags as a log states them; a field left undefined is unknown. */
export interface CpuFacts {
  /** The vendor_id CPUID gives ("GenuineIntel", "AuthenticAMD", "HygonGenuine"). */
  vendor?: Stated<string>;
  family?: Stated<number>;
  model?: Stated<number>;
  stepping?: Stated<number>;
  modelName?: Stated<string>;
  /** flag -> in the kernel's flags line (true) or known not in it (false); a flag not listed is unknown. */
  flags: Record<string, Stated<boolean>>;
}

/** What one parsed file contributes. */
export interface Parsed {
  /** Detected format, e.g. "lspci -vvnn", "lsusb -v", "dmesg". */
  format: string;
  pci: PciRecord[];
  /** True when the source lists drivers (lspci -k, hwinfo, /proc/bus/pci/devices): a device without one has none. */
  pciDriversStated?: boolean;
  usb: UsbDeviceRecord[];
  /** True when the source lists only some interfaces of a device (hwinfo folds a device's interfaces into one). */
  usbInterfacesPartial?: boolean;
  /** Whole snapshot files this source states, by snapshot path (proc/cpuinfo, sys/class/dmi/id/..., ...). */
  files: Record<string, string>;
  /**
   * Files this source implies only indirectly (the kernel release in a USB root hub's manufacturer string): taken
   * only when no source states the path in `files`.
   */
  weakFiles?: Record<string, string>;
  dirs: string[];
  /**
   * What a log tells about CPU 0 without printing a /proc/cpuinfo of its own (kernel log lines, inxi): merged over
   * all sources by cpu-facts.ts into the one /proc/cpuinfo of the tree.
   */
  cpu?: CpuFacts;
  /** Facts this source settles even though they produce no file (e.g. "firmware.efi" when a full dmesg shows BIOS). */
  known: string[];
  used: string[];
  notes: string[];
  issues: ImportIssue[];
}

export function emptyParsed(format: string): Parsed {
  return { format, pci: [], usb: [], files: {}, dirs: [], known: [], used: [], notes: [], issues: [] };
}

/** Lines without their terminators; CRLF and lone CR count as line ends (logs saved on Windows). */
export function toLines(text: string): string[] {
  const lines = text.split(/\r\n|\r|\n/);
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/** Text with LF line ends only, as the kernel writes it. */
export function toLf(text: string): string {
  return text.replace(/\r\n?/g, '\n');
}

const SLOT_RE = /^(?:([0-9a-fA-F]{4,8}):)?([0-9a-fA-F]{2}):([0-9a-fA-F]{2})\.([0-7])$/;

/** "00:02.0" or "0000:00:02.0" -> "0000:00:02.0" (sysfs form); null when not a PCI address. */
export function normalizeSlot(text: string): string | null {
  const m = SLOT_RE.exec(text);
  if (!m) return null;
  const domain = (m[1] ?? '0000').toLowerCase().padStart(4, '0');
  return `${domain}:${m[2]!.toLowerCase()}:${m[3]!.toLowerCase()}.${m[4]}`;
}

export function hex(value: number, width: number): string {
  return value.toString(16).padStart(width, '0');
}

/**
 * A driver name usable as the sysfs directory name it is: no slash or NUL, not "." or "..". Spaces are allowed:
 * old kernels registered drivers such as "HDA Intel".
 */
export function isDriverName(name: string): boolean {
  return /^[^/\0\s](?:[^/\0]*[^/\0\s])?$/.test(name) && name !== '.' && name !== '..';
}

/** Adds `item` to `list` unless present; keeps the insertion order. */
export function addOnce(list: string[], item: string): void {
  if (!list.includes(item)) list.push(item);
}

// The sysfs `resource` file of a PCI device (drivers/pci/pci-sysfs.c resource_show()): one line
// "0x%016llx 0x%016llx 0x%016llx" (start, end, flags) per resource. The importer writes the first 7 - BARs 0-5 and
// the expansion ROM -, the whole file of a device that is not a bridge on a kernel without CONFIG_PCI_IOV; an unused
// resource is all zeros. The flags are the ones drivers/pci/probe.c gives a BAR it read from the device:
// decode_bar() keeps the BAR's own low bits (I/O: bit 0; memory: the type in bits 1-2, prefetchable in bit 3) and
// adds IORESOURCE_IO or IORESOURCE_MEM, IORESOURCE_PREFETCH and IORESOURCE_MEM_64; __pci_read_base() adds
// IORESOURCE_SIZEALIGN. The ROM gets IORESOURCE_MEM | PREFETCH | READONLY | SIZEALIGN, and its enable bit as
// IORESOURCE_ROM_ENABLE. A region the kernel made up rather than read from the device (lspci's "[virtual]": a
// shadowed video ROM, a quirk) has flags that depend on the quirk; it gets only its address space and type.

export const RESOURCE_LINES = 7;
export const ROM_INDEX = 6;
export const UNUSED = `0x${'0'.repeat(16)} 0x${'0'.repeat(16)} 0x${'0'.repeat(16)}`;

// include/linux/ioport.h
const IORESOURCE_IO = 0x100n;
const IORESOURCE_MEM = 0x200n;
const IORESOURCE_PREFETCH = 0x2000n;
const IORESOURCE_READONLY = 0x4000n;
const IORESOURCE_SIZEALIGN = 0x40000n;
const IORESOURCE_MEM_64 = 0x100000n;
const IORESOURCE_ROM_ENABLE = 0x1n;
const IORESOURCE_PCI_FIXED = 0x10n;
/** include/uapi/linux/pci_regs.h: PCI_BASE_ADDRESS_MEM_TYPE_64, PCI_BASE_ADDRESS_MEM_PREFETCH. */
const MEM_TYPE_64 = 0x4n;
const MEM_PREFETCH = 0x8n;

/** What a log says about one BAR; `low` is the BAR's low bits (I/O: 1; memory: type and prefetchable bits). */
export interface Bar {
  space: 'io' | 'mem';
  low: bigint;
  start: bigint;
  size: bigint;
  /** Made up by the kernel, not read from the device: only the address space and type are known. */
  virtual?: boolean;
}

export function line(start: bigint, end: bigint, flags: bigint): string {
  const h = (v: bigint) => `0x${v.toString(16).padStart(16, '0')}`;
  return `${h(start)} ${h(end)} ${h(flags)}`;
}

export function barLine(bar: Bar): string {
  let flags = bar.low | (bar.space === 'io' ? IORESOURCE_IO : IORESOURCE_MEM);
  if (bar.space === 'mem' && (bar.low & MEM_PREFETCH) !== 0n) flags |= IORESOURCE_PREFETCH;
  if (bar.space === 'mem' && (bar.low & 0x6n) === MEM_TYPE_64) flags |= IORESOURCE_MEM_64;
  if (!bar.virtual) flags |= IORESOURCE_SIZEALIGN;
  return line(bar.start, bar.start + bar.size - 1n, flags);
}

export function romLine(start: bigint, size: bigint, enabled: boolean, virtual = false): string {
  const flags = virtual
    ? IORESOURCE_MEM
    : IORESOURCE_MEM | IORESOURCE_PREFETCH | IORESOURCE_READONLY | IORESOURCE_SIZEALIGN |
      (enabled ? IORESOURCE_ROM_ENABLE : 0n);
  return line(start, start + size - 1n, flags);
}

/**
 * pci_setup_device()'s legacy IDE quirk: an IDE controller in compatibility mode gets the fixed ISA ports as BARs
 * 0-3, flags LEGACY_IO_RESOURCE (IORESOURCE_IO | IORESOURCE_PCI_FIXED). Two of them are one byte long, which
 * /proc/bus/pci/devices and lspci show with no size (size = end - start + 1 only when start < end). lspci shows
 * the I/O address rounded down to 4 (0x3f4 for 0x3f6); old pciutils, seeing none of the low flag bits of an I/O
 * region, took them for "[virtual] Memory" rounded down to 16 (0x3f0).
 */
const LEGACY_IDE: Array<{ start: bigint; end: bigint; shown: bigint[] }> = [
  { start: 0x1f0n, end: 0x1f7n, shown: [0x1f0n] },
  { start: 0x3f6n, end: 0x3f6n, shown: [0x3f6n, 0x3f4n, 0x3f0n] },
  { start: 0x170n, end: 0x177n, shown: [0x170n] },
  { start: 0x376n, end: 0x376n, shown: [0x376n, 0x374n, 0x370n] },
];

/** The legacy IDE resource that `index` showing `base` and `size` (0 = none shown) is, or null. */
export function legacyIde(index: number, base: bigint, size: bigint): string | null {
  const legacy = LEGACY_IDE[index];
  if (legacy === undefined || !legacy.shown.includes(base)) return null;
  const length = legacy.end - legacy.start + 1n;
  if (length === 1n ? size !== 0n : size !== length) return null;
  return line(legacy.start, legacy.end, IORESOURCE_IO | IORESOURCE_PCI_FIXED);
}

/** The file: the known lines, all zeros where the index is unused or unknown. */
export function resourceFile(resources: Partial<Record<number, string>>): string {
  const lines: string[] = [];
  for (let i = 0; i < RESOURCE_LINES; i++) lines.push(resources[i] ?? UNUSED);
  return lines.join('\n') + '\n';
}

/** Whether any BAR is known: a file without one would only say that unknown BARs are unused. */
export function knowsBars(resources: Partial<Record<number, string>> | undefined): boolean {
  return resources !== undefined && Object.keys(resources).some((i) => Number(i) < ROM_INDEX);
}

/** Indices 0-6 not known. */
export function unknownResources(resources: Partial<Record<number, string>> | undefined): number[] {
  const out: number[] = [];
  for (let i = 0; i < RESOURCE_LINES; i++) if (resources?.[i] === undefined) out.push(i);
  return out;
}

/** "BAR 2" or "ROM" for notes. */
export function resourceName(index: number): string {
  return index === ROM_INDEX ? 'ROM' : `BAR ${index}`;
}

/** A hex address as text ("d0000000", "1800") or null for "<unassigned>" and the like. */
export function hexAddress(text: string): bigint | null {
  return /^[0-9a-f]{1,16}$/i.test(text) ? BigInt(`0x${text}`) : null;
}

export function isPowerOfTwo(v: bigint): boolean {
  return v > 0n && (v & (v - 1n)) === 0n;
}

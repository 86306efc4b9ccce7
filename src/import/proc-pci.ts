// /proc/bus/pci/devices (drivers/pci/proc.c show_device()): per device "%02x%02x\t%04x%04x\t%x" (bus, devfn,
// vendor, device, irq), 7 base addresses, 7 sizes, then "\t" and the bound driver's name (kernels since 2.6 print the
// column, empty when no driver is bound). No class, revision or subsystem: those files stay absent, and so does
// the modalias. The file has no domain column; a single-domain machine is domain 0000, and a bus:devfn seen twice
// means more than one domain, which this file cannot place.
// The base addresses are "start | (flags & PCI_REGION_FLAG_MASK)": the low 4 bits are the resource's flag bits
// (I/O: bit 0; memory: the BAR type in bits 1-2, prefetchable in bit 3; ROM: enabled in bit 0); the sizes are
// end - start + 1, or 0 when start is not below end. Together they give the resource file.
import { emptyParsed, hex, isDriverName, toLines } from './_model.ts';
import type { Parsed } from './_model.ts';
import { ROM_INDEX, UNUSED, barLine, legacyIde, resourceName, romLine } from './pci-resource.ts';

const LINE_RE = /^([0-9a-f]{4})\t([0-9a-f]{4})([0-9a-f]{4})\t[0-9a-f]+((?:\t *[0-9a-f]+){14})(?:\t(.*))?$/;

export function detectProcPci(lines: string[]): boolean {
  const sample = lines.filter((l) => l.trim() !== '').slice(0, 5);
  return sample.length > 0 && sample.every((l) => LINE_RE.test(l));
}

export function parseProcPci(text: string, file: string): Parsed {
  const parsed = emptyParsed('/proc/bus/pci/devices');
  const seen = new Map<string, number>();
  let driverColumn = false;
  toLines(text).forEach((line, index) => {
    const at = index + 1;
    if (line.trim() === '') return;
    const m = LINE_RE.exec(line);
    if (!m) {
      parsed.issues.push({ file, line: at, message: 'not a /proc/bus/pci/devices line; skipped' });
      return;
    }
    const busDevfn = parseInt(m[1]!, 16);
    const bus = busDevfn >> 8;
    const devfn = busDevfn & 0xff;
    const slot = `0000:${hex(bus, 2)}:${hex(devfn >> 3, 2)}.${devfn & 7}`;
    const first = seen.get(slot);
    if (first !== undefined) {
      const message = `${slot} listed again (line ${first}): a second PCI domain; skipped`;
      parsed.issues.push({ file, line: at, message });
      return;
    }
    seen.set(slot, at);
    const record = { slot, vendor: m[2]!, device: m[3]!, line: at } as Parsed['pci'][number];
    const values = m[4]!.trim().split(/\s+/).map((v) => BigInt(`0x${v}`));
    record.resources = {};
    for (let i = 0; i <= ROM_INDEX; i++) {
      const resource = procResource(i, values[i]!, values[i + 7]!);
      if (typeof resource === 'string') record.resources[i] = resource;
      else parsed.notes.push(`${file}:${at}: ${slot} ${resourceName(i)}: ${resource.why}; left unused`);
    }
    if (m[5] !== undefined) {
      driverColumn = true;
      const driver = m[5].trim();
      if (driver === '') record.driver = null;
      else if (isDriverName(driver)) record.driver = driver;
      else parsed.issues.push({ file, line: at, message: `${slot}: driver name ${JSON.stringify(driver)} not usable` });
    }
    parsed.pci.push(record);
  });
  parsed.pciDriversStated = driverColumn;
  if (parsed.pci.length > 0) {
    parsed.notes.push(`${file}: /proc/bus/pci/devices has no domain column; devices placed in domain 0000`);
  }
  return parsed;
}

/** One base address and size column pair as a resource line, or why it cannot be one. */
function procResource(index: number, base: bigint, size: bigint): string | { why: string } {
  const legacy = legacyIde(index, base, size);
  if (legacy !== null) return legacy;
  const shown = `base ${base.toString(16)} size ${size.toString(16)}`;
  const io = index !== ROM_INDEX && (base & 1n) === 1n;
  const start = base & (io ? ~0x3n : ~0xfn);
  // Nothing at address 0 with no size: unused (old kernels leave only the shadow flag on a boot VGA's ROM).
  if (start === 0n && size === 0n) return UNUSED;
  if (start === 0n) return { why: `${shown}: not assigned an address` };
  if (size === 0n) return { why: `${shown}: no size (a region of one byte, or unknown)` };
  if (index === ROM_INDEX) {
    const low = base & 0xfn;
    // Bit 0 is the enable bit of a ROM read from the device; other bits mark a ROM the kernel placed itself.
    return romLine(start, size, (low & 1n) === 1n, (low & ~1n) !== 0n);
  }
  // A memory BAR decodes at least 16 bytes: anything smaller is no BAR read from the device.
  if (!io && size < 16n) return { why: `${shown}: not a memory BAR as the device decodes one` };
  return barLine({ space: io ? 'io' : 'mem', low: base & (io ? 0x3n : 0xfn), start, size });
}

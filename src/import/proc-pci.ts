// /proc/bus/pci/devices (drivers/pci/proc.c show_device()): per device "%02x%02x\t%04x%04x\t%x" (bus, devfn,
// vendor, device, irq), 7 base addresses, 7 sizes, then "\t" and the bound driver's name (kernels since 2.6 print the
// column, empty when no driver is bound). No class, revision or subsystem: those files stay absent, and so does
// the modalias. The file has no domain column; a single-domain machine is domain 0000, and a bus:devfn seen twice
// means more than one domain, which this file cannot place.
import { emptyParsed, hex, isDriverName, toLines } from './_model.ts';
import type { Parsed } from './_model.ts';

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

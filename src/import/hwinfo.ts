// hwinfo (openSUSE libhd) text output, `hwinfo` or `hwinfo --all`. Its PCI and USB entries carry what it read
// from sysfs: "SysFS BusID" (the sysfs name: 0000:00:02.0, 1-4:1.1), "Module Alias" (the kernel's modalias string,
// which holds every id and the full class), "Revision: 0xXX" (printed only when non-zero, hd/hdp.c dump_normal())
// and "Driver:" (the bound driver, printed whenever one is bound). The --all debug part also copies /proc/cmdline
// and /proc/cpuinfo between "----- <path> -----" markers, each line indented by two spaces, and the kernel's log
// buffer as it stood ("----- kernel log -----"), of which the DMI, CPU 0 and KVM lines are read (kernel-cpu.ts).
import { emptyParsed, isDriverName, toLines } from './_model.ts';
import { kernelMessage, machineFacts } from './dmesg.ts';
import { kernelMachine } from './kernel-cpu.ts';
import type { Parsed, PciRecord, UsbDeviceRecord } from './_model.ts';

const ENTRY_RE = /^(\d+): (\S+) [0-9a-f.]+: ([0-9a-f]{4,5}) /;
const X2 = '([0-9A-F]{2})';
const X4 = '([0-9A-F]{4})';
// The kernel's modalias formats (pci-sysfs.c, usb/core/sysfs.c); old kernels printed the prog-if in lower case
// and no USB interface number.
const PCI_ALIAS_RE = new RegExp(`^pci:v0000${X4}d0000${X4}sv0000${X4}sd0000${X4}bc${X2}sc${X2}i([0-9A-Fa-f]{2})$`);
const USB_ALIAS_RE = new RegExp(`^usb:v${X4}p${X4}d${X4}dc${X2}dsc${X2}dp${X2}ic${X2}isc${X2}ip${X2}(?:in${X2})?$`);

export function detectHwinfo(lines: string[]): boolean {
  return lines.some((l) => ENTRY_RE.test(l)) && lines.some((l) => /^ {2}\[Created at [\w.]+\]$/.test(l));
}

export function parseHwinfo(text: string, file: string): Parsed {
  const parsed = emptyParsed('hwinfo');
  const lines = toLines(text);
  const section = (path: string) => {
    const begin = lines.indexOf(`----- ${path} -----`);
    const end = lines.indexOf(`----- ${path} end -----`, begin + 1);
    if (begin === -1 || end === -1) return null;
    return lines.slice(begin + 1, end).map((l) => l.replace(/^ {2}/, ''));
  };
  const cmdline = section('/proc/cmdline');
  if (cmdline !== null && cmdline.length === 1) {
    parsed.files['proc/cmdline'] = `${cmdline[0]}\n`;
    parsed.used.push('kernel.cmdline');
  }
  const cpuinfo = section('/proc/cpuinfo');
  if (cpuinfo !== null && cpuinfo.some((l) => /^processor\s*: \d+$/.test(l))) {
    while (cpuinfo.length > 0 && cpuinfo[cpuinfo.length - 1] === '') cpuinfo.pop();
    parsed.files['proc/cpuinfo'] = cpuinfo.join('\n') + '\n\n';
    parsed.used.push('cpu');
    if (cpuinfo.some((l) => /^flags\s*:/.test(l))) parsed.used.push('cpu.flags');
    if (cpuinfo.some((l) => /^physical id\s*:/.test(l))) parsed.used.push('cpu.topology');
  }

  const log = lines.indexOf('----- kernel log -----');
  const logEnd = lines.indexOf('----- kernel log end -----', log + 1);
  if (log !== -1 && logEnd !== -1) {
    const msgs = lines.slice(log + 1, logEnd).map((l, i) => ({ text: kernelMessage(l.replace(/^ {2}/, '')), line: log + 2 + i }));
    machineFacts(parsed, kernelMachine(msgs, file, undefined));
  }

  const usb = new Map<string, UsbDeviceRecord>();
  let entry: { line: number; bus: string; fields: Map<string, string> } | null = null;
  const finish = () => {
    if (entry === null) return;
    if (entry.bus === 'PCI') pciEntry(entry.fields, entry.line, file, parsed);
    else if (entry.bus === 'USB') usbEntry(entry.fields, entry.line, file, parsed, usb);
    entry = null;
  };
  lines.forEach((line, index) => {
    const m = ENTRY_RE.exec(line);
    if (m) {
      finish();
      entry = { line: index + 1, bus: m[2]!, fields: new Map() };
      return;
    }
    if (line.trim() === '') return finish();
    const f = /^ {2}([A-Z][A-Za-z ]*?): (.*)$/.exec(line);
    if (entry !== null && f && !entry.fields.has(f[1]!)) entry.fields.set(f[1]!, f[2]!);
  });
  finish();
  parsed.usb.push(...usb.values());
  if (parsed.pci.length > 0) {
    parsed.pciDriversStated = true;
    parsed.used.push('pci.ids', 'pci.class', 'pci.subsystem', 'pci.revision', 'pci.driver');
  }
  if (parsed.usb.length > 0) {
    parsed.used.push('usb');
    parsed.usbInterfacesPartial = true;
    parsed.notes.push(`${file}: hwinfo shows one entry per USB device function; other interfaces may be missing`);
  }
  return parsed;
}

function quoted(value: string | undefined): string | undefined {
  const m = value === undefined ? null : /^"(.*)"$/.exec(value);
  return m ? m[1] : undefined;
}

function driverOf(fields: Map<string, string>, file: string, line: number, parsed: Parsed): string | null | undefined {
  const driver = quoted(fields.get('Driver'));
  if (driver === undefined) return null;
  if (isDriverName(driver)) return driver;
  parsed.issues.push({ file, line, message: `driver name ${JSON.stringify(driver)} not usable` });
  return undefined;
}

function pciEntry(fields: Map<string, string>, line: number, file: string, parsed: Parsed): void {
  const slot = fields.get('SysFS BusID');
  // hwinfo files disks and other children of a PCI function under "PCI" too; only functions have a slot BusID.
  if (slot === undefined || !/^[0-9a-f]{4,8}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$/.test(slot)) return;
  const alias = PCI_ALIAS_RE.exec(quoted(fields.get('Module Alias')) ?? '');
  if (!alias) {
    parsed.issues.push({ file, line, message: `PCI ${slot} without a Module Alias; skipped` });
    return;
  }
  const low = (i: number) => alias[i]!.toLowerCase();
  const record: PciRecord = {
    slot,
    vendor: low(1),
    device: low(2),
    subvendor: low(3),
    subdevice: low(4),
    class: low(5) + low(6) + low(7),
    revision: /^0x([0-9a-f]{2})$/.exec(fields.get('Revision') ?? '')?.[1] ?? '00',
    line,
  };
  const driver = driverOf(fields, file, line, parsed);
  if (driver !== undefined) record.driver = driver;
  parsed.pci.push(record);
}

function usbEntry(
  fields: Map<string, string>,
  line: number,
  file: string,
  parsed: Parsed,
  usb: Map<string, UsbDeviceRecord>,
): void {
  const busId = /^(\d+)-([\d.]+):(\d+)\.(\d+)$/.exec(fields.get('SysFS BusID') ?? '');
  const aliasText = quoted(fields.get('Module Alias'));
  const alias = USB_ALIAS_RE.exec(aliasText ?? '');
  if (!busId || !alias) {
    parsed.issues.push({ file, line, message: 'USB entry without an interface SysFS BusID and Module Alias; skipped' });
    return;
  }
  const bus = Number(busId[1]);
  // A root hub's interfaces are named "B-0:C.I"; the hub device itself is usbB.
  const name = busId[2] === '0' ? `usb${bus}` : `${bus}-${busId[2]}`;
  const low = (i: number) => alias[i]!.toLowerCase();
  let device = usb.get(name);
  if (!device) {
    device = {
      bus,
      name,
      vendor: low(1),
      product: low(2),
      bcdDevice: low(3),
      class: low(4),
      subclass: low(5),
      protocol: low(6),
      config: Number(busId[3]),
      interfaces: [],
      line,
    };
    if (busId[2] === '0') device.devnum = 1;
    const speed = /^([\d.]+) Mbps$/.exec(fields.get('Speed') ?? '');
    if (speed) device.speed = speed[1]!;
    usb.set(name, device);
  }
  const number = Number(busId[4]);
  if (device.interfaces.some((i) => i.number === number)) return;
  const driver = driverOf(fields, file, line, parsed);
  device.interfaces.push({
    number,
    class: low(7),
    subclass: low(8),
    protocol: low(9),
    modalias: aliasText!,
    ...(driver === undefined ? {} : { driver }),
  });
}

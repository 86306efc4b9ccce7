// lsusb in its three published forms (usbutils lsusb.c, lsusb-t.c):
// - plain: "Bus %03u Device %03u: ID %04x:%04x name": bus, device number, ids;
// - -v: the same header, then the descriptors: device class triple, bcdDevice, strings, every configuration with
//   every interface altsetting;
// - -t: the tree "/:  Bus 01.Port 1: Dev 1, Class=root_hub, Driver=xhci_hcd/6p, 480M" with "|__ Port N: Dev D,
//   If I, Class=..., Driver=..., 480M" lines, 4 columns of indent per hub level: the port path (the sysfs name),
//   the interface numbers and their drivers. usbutils 016 widened the numbers to %03u; both are read.
// Records are keyed by bus and device number; only -t (or -tvv's /sys/bus/usb/devices lines) names them.
// A root hub's manufacturer string is made by the running kernel (drivers/usb/core/hcd.c rh_string(): "%s %s %s" of
// the utsname sysname, release and the host controller driver), so -v also tells the kernel release.
import { emptyParsed, hex, isDriverName, toLines } from './_model.ts';
import type { ImportIssue, Parsed, UsbDeviceRecord, UsbInterfaceRecord } from './_model.ts';

export type LsusbLayout = 'plain' | 'verbose' | 'tree';

const HEADER_RE = /^Bus (\d{3}) Device (\d{3}): ID ([0-9a-f]{4}):([0-9a-f]{4})(?: .*)?$/;
const ROOT_RE = /^\/: {2}Bus (\d+)\.Port (\d+): Dev (\d+), Class=(.*?), Driver=(.*?), ([\d.]+)M(\S*)$/;
const CHILD_RE = /^( *)\|__ Port (\d+): Dev (\d+), (?:If (\d+), Class=(.*?), Driver=(.*?), )?([\d.]+)M(\S*)$/;

export function detectLsusb(lines: string[]): LsusbLayout | null {
  let headers = 0;
  let verbose = false;
  for (const line of lines.slice(0, 2000)) {
    if (ROOT_RE.test(line)) return 'tree';
    if (HEADER_RE.test(line)) headers++;
    else if (line === 'Device Descriptor:') verbose = true;
  }
  if (headers === 0) return null;
  return verbose ? 'verbose' : 'plain';
}

export function parseLsusb(text: string, file: string): Parsed {
  const lines = toLines(text);
  const layout = detectLsusb(lines);
  if (layout === 'tree') return parseTree(lines, file);
  if (layout === 'verbose') return parseVerbose(lines, file);
  return parsePlain(lines, file);
}

function parsePlain(lines: string[], file: string): Parsed {
  const parsed = emptyParsed('lsusb');
  lines.forEach((line, index) => {
    if (line.trim() === '') return;
    const m = HEADER_RE.exec(line);
    if (!m) {
      parsed.issues.push({ file, line: index + 1, message: 'not an lsusb line; skipped' });
      return;
    }
    parsed.usb.push(header(m, index + 1));
  });
  return parsed;
}

function header(m: RegExpExecArray, line: number): UsbDeviceRecord {
  const bus = Number(m[1]);
  const devnum = Number(m[2]);
  const record: UsbDeviceRecord = { bus, devnum, vendor: m[3]!, product: m[4]!, interfaces: [], line };
  // usb_add_hcd() gives every root hub device number 1 and the kernel names it usbB.
  if (devnum === 1) record.name = `usb${bus}`;
  return record;
}

type Section = 'device' | 'config' | 'interface' | 'other';

interface VerboseConfig {
  value?: number;
  interfaces: Array<UsbInterfaceRecord & { alt: number }>;
}

function parseVerbose(lines: string[], file: string): Parsed {
  const parsed = emptyParsed('lsusb -v');
  let device: UsbDeviceRecord | null = null;
  let configs: VerboseConfig[] = [];
  let numConfigs: number | undefined;
  let stack: Array<{ indent: number; kind: Section }> = [];
  let iface: (UsbInterfaceRecord & { alt: number }) | null = null;
  const finish = () => {
    if (device === null) return;
    // One configuration: it is the active one. Several: lsusb -v does not say which is active, so the interfaces
    // (named after the active configuration) stay unknown.
    if (configs.length === 1 && (numConfigs === undefined || numConfigs === 1)) {
      const config = configs[0]!;
      if (config.value !== undefined) device.config = config.value;
      // The kernel starts every interface in altsetting 0 and builds its modalias from the current altsetting.
      device.interfaces = config.interfaces
        .filter((i) => i.alt === 0 && i.number >= 0)
        .map(({ number, class: cls, subclass, protocol, alt }) => ({ number, class: cls, subclass, protocol, alt }));
    } else if (configs.length > 1) {
      const which = `bus ${device.bus} device ${device.devnum}`;
      const n = configs.length;
      parsed.notes.push(`${file}:${device.line}: ${which} has ${n} configurations, active one unknown: no interfaces`);
    }
    parsed.usb.push(device);
  };
  lines.forEach((line, index) => {
    const at = index + 1;
    const m = HEADER_RE.exec(line);
    if (m) {
      finish();
      device = header(m, at);
      configs = [];
      numConfigs = undefined;
      stack = [];
      iface = null;
      return;
    }
    if (line.trim() === '') return;
    if (device === null) {
      parsed.issues.push({ file, line: at, message: 'not lsusb -v output; skipped' });
      return;
    }
    const indent = line.length - line.trimStart().length;
    const body = line.trim();
    const speed = /^Negotiated speed: .*\(([\d.]+)([MG])bps\)$/.exec(body);
    if (speed && indent === 0) {
      device.speed = speed[2] === 'G' ? String(Number(speed[1]) * 1000) : speed[1]!;
      return;
    }
    if (/^[A-Z][^:]*:$/.test(body)) {
      while (stack.length > 0 && stack[stack.length - 1]!.indent >= indent) stack.pop();
      const kind: Section =
        body === 'Device Descriptor:' && indent === 0
          ? 'device'
          : body === 'Configuration Descriptor:'
            ? 'config'
            : body === 'Interface Descriptor:'
              ? 'interface'
              : 'other';
      stack.push({ indent, kind });
      if (kind === 'config') configs.push({ interfaces: [] });
      if (kind === 'interface') {
        iface = { number: -1, alt: -1 };
        configs[configs.length - 1]?.interfaces.push(iface);
      }
      return;
    }
    const field = /^([a-zA-Z]\w*)\s+(\S+)(?:\s+(.*))?$/.exec(body);
    if (!field) return; // descriptor details (HID items, endpoint bits, status words): not needed
    while (stack.length > 0 && stack[stack.length - 1]!.indent >= indent) stack.pop();
    const owner = stack[stack.length - 1]?.kind;
    const [key, raw, rest] = [field[1]!, field[2]!, field[3]];
    if (owner === 'device') deviceField(device, key, raw, rest, (n) => (numConfigs = n));
    else if (owner === 'config' && key === 'bConfigurationValue') {
      const value = Number(raw);
      if (Number.isInteger(value)) configs[configs.length - 1]!.value = value;
    } else if (owner === 'interface' && iface !== null) interfaceField(iface, key, raw);
  });
  finish();
  rootHubRelease(parsed, file);
  return parsed;
}

/**
 * The kernel release from the root hubs' iManufacturer ("Linux 5.8.0-56-generic xhci-hcd"), when they all name the
 * same one. Only root hubs (device 1, vendor 1d6b): a gadget running Linux names its own kernel ("Linux 4.14.0 with
 * dwc3-gadget") in the same string.
 */
function rootHubRelease(parsed: Parsed, file: string): void {
  const releases = new Map<string, number[]>();
  for (const d of parsed.usb) {
    if (d.devnum !== 1 || d.vendor !== '1d6b' || d.manufacturer === undefined) continue;
    const m = /^Linux (\d+\.\d+[\w.+~-]*) \S/.exec(d.manufacturer);
    if (!m) continue;
    releases.set(m[1]!, [...(releases.get(m[1]!) ?? []), d.line]);
  }
  if (releases.size === 1) {
    const [release] = releases.keys();
    parsed.weakFiles = { 'proc/sys/kernel/osrelease': `${release}\n` };
  } else if (releases.size > 1) {
    const which = [...releases].map(([r, at]) => `${r} (line ${at.join(', ')})`).join(', ');
    parsed.notes.push(`${file}: the root hubs name different kernel releases: ${which}; none taken`);
  }
}

function byte(raw: string): string | undefined {
  const value = Number(raw);
  return Number.isInteger(value) && value >= 0 && value <= 255 ? hex(value, 2) : undefined;
}

function deviceField(
  device: UsbDeviceRecord,
  key: string,
  raw: string,
  rest: string | undefined,
  setConfigs: (n: number) => void,
): void {
  switch (key) {
    case 'bDeviceClass':
      device.class = byte(raw);
      break;
    case 'bDeviceSubClass':
      device.subclass = byte(raw);
      break;
    case 'bDeviceProtocol':
      device.protocol = byte(raw);
      break;
    case 'bcdDevice': {
      // Printed "%2x.%02x": the two BCD bytes.
      const m = /^([0-9a-f]{1,2})\.([0-9a-f]{2})$/.exec(raw);
      if (m) device.bcdDevice = m[1]!.padStart(2, '0') + m[2]!;
      break;
    }
    case 'iManufacturer':
    case 'iProduct':
      // Index 0: the device has no such string, and sysfs no such file. A string lsusb could not read is empty.
      if (raw !== '0' && rest !== undefined && rest !== '') {
        if (key === 'iManufacturer') device.manufacturer = rest;
        else device.productName = rest;
      }
      break;
    case 'bNumConfigurations':
      setConfigs(Number(raw));
      break;
  }
}

function interfaceField(iface: UsbInterfaceRecord & { alt: number }, key: string, raw: string): void {
  const value = Number(raw);
  if (!Number.isInteger(value)) return;
  switch (key) {
    case 'bInterfaceNumber':
      iface.number = value;
      break;
    case 'bAlternateSetting':
      iface.alt = value;
      break;
    case 'bInterfaceClass':
      iface.class = byte(raw);
      break;
    case 'bInterfaceSubClass':
      iface.subclass = byte(raw);
      break;
    case 'bInterfaceProtocol':
      iface.protocol = byte(raw);
      break;
  }
}

function parseTree(lines: string[], file: string): Parsed {
  const parsed = emptyParsed('lsusb -t');
  const issues: ImportIssue[] = parsed.issues;
  let bus: number | null = null;
  const ports: number[] = [];
  let last: UsbDeviceRecord | null = null;
  const byName = new Map<string, UsbDeviceRecord>();
  lines.forEach((line, index) => {
    const at = index + 1;
    if (line.trim() === '') return;
    let m = ROOT_RE.exec(line);
    if (m) {
      bus = Number(m[1]);
      ports.length = 0;
      const name = `usb${bus}`;
      const record: UsbDeviceRecord = { bus, devnum: Number(m[3]), name, speed: m[6]!, interfaces: [], line: at };
      // The root hub line's Driver= is the host controller's (the PCI device's) driver, not the hub's.
      parsed.usb.push(record);
      byName.set(name, record);
      last = record;
      return;
    }
    m = CHILD_RE.exec(line);
    if (m && bus !== null) {
      const depth = m[1]!.length / 4;
      if (!Number.isInteger(depth) || depth < 1 || depth > ports.length + 1) {
        issues.push({ file, line: at, message: 'tree indentation does not follow the hub levels; skipped' });
        return;
      }
      ports.length = depth - 1;
      ports.push(Number(m[2]));
      const name = `${bus}-${ports.join('.')}`;
      let record = byName.get(name);
      if (!record) {
        record = { bus, devnum: Number(m[3]), name, speed: m[7]!, interfaces: [], line: at };
        parsed.usb.push(record);
        byName.set(name, record);
      }
      last = record;
      if (m[4] !== undefined) {
        const number = Number(m[4]);
        // "hub/4p" is the hub driver and its port count; "[none]" means no driver is bound.
        const driverText = m[6]!.replace(/\/\d+p$/, '');
        const driver = driverText === '[none]' ? null : isDriverName(driverText) ? driverText : undefined;
        if (driver === undefined) {
          issues.push({ file, line: at, message: `driver name ${JSON.stringify(driverText)} not usable` });
        }
        if (!record.interfaces.some((i) => i.number === number)) record.interfaces.push({ number, driver });
      }
      return;
    }
    // -tv and -tvv add these lines under each device.
    const id = /^\s+ID ([0-9a-f]{4}):([0-9a-f]{4})(?: .*)?$/.exec(line);
    if (id && last) {
      [last.vendor, last.product] = [id[1]!, id[2]!];
      return;
    }
    if (/^\s+\/sys\/bus\/usb\/devices\/\S+\s+\/dev\/bus\/usb\/\d+\/\d+$/.test(line)) return;
    issues.push({ file, line: at, message: 'not lsusb -t output; skipped' });
  });
  return parsed;
}

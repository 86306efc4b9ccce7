// USB devices and their interfaces from /sys/bus/usb/devices, what `lsusb` shows, without libusb. Driver matching
// happens per interface (each has its own modalias), so interfaces are kept under their device. Values are checked
// against the formats of drivers/usb/core/sysfs.c; anything else becomes null and a diagnostic.
// `serial` and `descriptors` are never read: a serial number identifies the owner and matching does not need it.
import type { UsbDevice, UsbInterface } from '../types.ts';
import { compareNames } from './_reader.ts';
import type { Reader } from './_reader.ts';

const BUS = '/sys/bus/usb/devices';
// Device names (usb_alloc_dev()): "usbN" for a root hub, "B-P[.P...]" below it. Interface names
// (usb_set_configuration()): "<bus>-<devpath>:<config>.<interface>", where a root hub's devpath is "0".
const ROOT_HUB = /^usb([1-9][0-9]*)$/;
const DEVICE = /^[1-9][0-9]*-[1-9][0-9]*(?:\.[1-9][0-9]*)*$/;
const INTERFACE = /^([1-9][0-9]*)-([0-9]+(?:\.[1-9][0-9]*)*):[0-9]+\.[0-9]+$/;
// modalias_show() in drivers/usb/core/sysfs.c; older kernels had no trailing "in%02X".
const MODALIAS = new RegExp(
  '^usb:v[0-9A-F]{4}p[0-9A-F]{4}d[0-9A-F]{4}' +
    'dc[0-9A-F]{2}dsc[0-9A-F]{2}dp[0-9A-F]{2}ic[0-9A-F]{2}isc[0-9A-F]{2}ip[0-9A-F]{2}(?:in[0-9A-F]{2})?$',
);
// speed_show(): "1.5", "12", "480", "53.3-480" (wireless), "5000", "10000", "20000"; "unknown" tells nothing.
const SPEED = /^[0-9]+(?:\.[0-9]+)?(?:-[0-9]+)?$/;

export async function probeUsb(reader: Reader): Promise<UsbDevice[]> {
  const names = await reader.list(BUS);
  if (names === null) return []; // no USB bus at all
  const deviceNames: string[] = [];
  const interfaceNames = new Map<string, string[]>();
  for (const name of names) {
    const iface = INTERFACE.exec(name);
    if (iface !== null) {
      const parent = iface[2] === '0' ? `usb${iface[1]}` : name.slice(0, name.indexOf(':'));
      interfaceNames.set(parent, [...(interfaceNames.get(parent) ?? []), name]);
    } else if (ROOT_HUB.test(name) || DEVICE.test(name)) {
      deviceNames.push(name);
    } else {
      reader.diag('malformed', `${BUS}/${name}`, `${BUS}/${name}: not a USB device or interface name`);
    }
  }
  const devices: UsbDevice[] = [];
  for (const name of deviceNames.sort(compareNames)) {
    const dir = `${BUS}/${name}`;
    if (!(await isEntryDir(reader, dir))) continue;
    const device = await readDevice(reader, name, dir);
    for (const ifName of (interfaceNames.get(name) ?? []).sort(compareNames)) {
      const ifDir = `${BUS}/${ifName}`;
      if (await isEntryDir(reader, ifDir)) device.interfaces.push(await readInterface(reader, ifName, ifDir));
    }
    devices.push(device);
  }
  // An interface whose device is not listed at all: the tree is incomplete (a device dropped above already has
  // its own diagnostic).
  for (const parent of [...interfaceNames.keys()].sort(compareNames)) {
    const dir = `${BUS}/${parent}`;
    if (!deviceNames.includes(parent)) reader.diag('missing', dir, `${dir}: has interfaces but is not listed`);
  }
  return devices;
}

// One check per entry, so a link that leaves the root or loops gives one diagnostic, not one per attribute. A stat,
// not a listing: a snapshot then copies only the attributes read, not every entry of the device directory.
async function isEntryDir(reader: Reader, dir: string): Promise<boolean> {
  const before = reader.diagnostics.length;
  if (await reader.exists(dir)) return true;
  if (reader.diagnostics.length === before) reader.diag('missing', dir, `${dir}: listed but does not resolve`);
  return false;
}

async function readDevice(reader: Reader, path: string, dir: string): Promise<UsbDevice> {
  return {
    path,
    busnum: await decimal(reader, `${dir}/busnum`),
    devnum: await decimal(reader, `${dir}/devnum`),
    vendor: await hex(reader, `${dir}/idVendor`, 4, true),
    product: await hex(reader, `${dir}/idProduct`, 4, true),
    bcdDevice: await hex(reader, `${dir}/bcdDevice`, 4),
    class: await hex(reader, `${dir}/bDeviceClass`, 2),
    subclass: await hex(reader, `${dir}/bDeviceSubClass`, 2),
    protocol: await hex(reader, `${dir}/bDeviceProtocol`, 2),
    speed: await readSpeed(reader, `${dir}/speed`),
    // Strings from the device's descriptors, already UTF-8 from the kernel; kept byte for byte, trailing
    // spaces included, because they are shown, not matched.
    manufacturer: await reader.attr(`${dir}/manufacturer`),
    productName: await reader.attr(`${dir}/product`),
    interfaces: [],
  };
}

async function readInterface(reader: Reader, path: string, dir: string): Promise<UsbInterface> {
  const number = await hex(reader, `${dir}/bInterfaceNumber`, 2);
  const cls = await hex(reader, `${dir}/bInterfaceClass`, 2, true);
  const subclass = await hex(reader, `${dir}/bInterfaceSubClass`, 2);
  const protocol = await hex(reader, `${dir}/bInterfaceProtocol`, 2);
  const raw = await reader.attr(`${dir}/modalias`);
  const modalias =
    raw === null || MODALIAS.test(raw) ? raw : malformed(reader, `${dir}/modalias`, raw, 'a usb: modalias');
  // No `driver` link just means no driver is bound to this interface.
  const driver = await reader.linkName(`${dir}/driver`);
  return { path, number, class: cls, subclass, protocol, modalias, driver };
}

/** USB sysfs prints ids without 0x ("%04x", "%02x"): exactly `digits` hex digits. */
async function hex(reader: Reader, path: string, digits: number, required = false): Promise<string | null> {
  const raw = await reader.attr(path, { required });
  if (raw === null) return null;
  if (raw.length !== digits || !/^[0-9a-fA-F]+$/.test(raw)) return malformed(reader, path, raw, `${digits} hex digits`);
  return raw.toLowerCase();
}

async function decimal(reader: Reader, path: string): Promise<number | null> {
  const raw = await reader.attr(path);
  if (raw === null) return null;
  if (!/^(0|[1-9][0-9]{0,5})$/.test(raw)) return malformed(reader, path, raw, 'a decimal number');
  return Number(raw);
}

async function readSpeed(reader: Reader, path: string): Promise<string | null> {
  const raw = await reader.attr(path);
  if (raw === null || raw === 'unknown') return null;
  return SPEED.test(raw) ? raw : malformed(reader, path, raw, 'a speed in Mb/s');
}

function malformed(reader: Reader, path: string, raw: string, expected: string): null {
  const shown = raw.length > 40 ? `${JSON.stringify(raw.slice(0, 40))}...` : JSON.stringify(raw);
  reader.diag('malformed', path, `${path}: ${shown}, expected ${expected}`);
  return null;
}

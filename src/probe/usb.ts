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
  // Devices, interfaces and attributes are read concurrently (see pci.ts); the order of the result is fixed here.
  const read = await Promise.all(
    deviceNames.sort(compareNames).map(async (name) => {
      const dir = `${BUS}/${name}`;
      if (!(await reader.requireDir(dir))) return null;
      const [device, interfaces] = await Promise.all([
        readDevice(reader, name, dir),
        Promise.all(
          (interfaceNames.get(name) ?? []).sort(compareNames).map(async (ifName) => {
            const ifDir = `${BUS}/${ifName}`;
            return (await reader.requireDir(ifDir)) ? readInterface(reader, ifName, ifDir) : null;
          }),
        ),
      ]);
      device.interfaces = interfaces.filter((i): i is UsbInterface => i !== null);
      return device;
    }),
  );
  const devices = read.filter((d): d is UsbDevice => d !== null);
  // An interface whose device is not listed at all: the tree is incomplete (a device dropped above already has
  // its own diagnostic).
  for (const parent of [...interfaceNames.keys()].sort(compareNames)) {
    const dir = `${BUS}/${parent}`;
    if (!deviceNames.includes(parent)) reader.diag('missing', dir, `${dir}: has interfaces but is not listed`);
  }
  return devices;
}

async function readDevice(reader: Reader, path: string, dir: string): Promise<UsbDevice> {
  const [busnum, devnum, vendor, product, bcdDevice, cls, subclass, protocol, speed, manufacturer, productName] =
    await Promise.all([
      decimal(reader, `${dir}/busnum`),
      decimal(reader, `${dir}/devnum`),
      hex(reader, `${dir}/idVendor`, 4, true),
      hex(reader, `${dir}/idProduct`, 4, true),
      hex(reader, `${dir}/bcdDevice`, 4),
      hex(reader, `${dir}/bDeviceClass`, 2),
      hex(reader, `${dir}/bDeviceSubClass`, 2),
      hex(reader, `${dir}/bDeviceProtocol`, 2),
      readSpeed(reader, `${dir}/speed`),
      // Strings from the device's descriptors, already UTF-8 from the kernel; kept byte for byte, trailing
      // spaces included, because they are shown, not matched.
      reader.attr(`${dir}/manufacturer`),
      reader.attr(`${dir}/product`),
    ]);
  return {
    path,
    busnum,
    devnum,
    vendor,
    product,
    bcdDevice,
    class: cls,
    subclass,
    protocol,
    speed,
    manufacturer,
    productName,
    interfaces: [],
  };
}

async function readInterface(reader: Reader, path: string, dir: string): Promise<UsbInterface> {
  const [number, cls, subclass, protocol, raw, driver] = await Promise.all([
    hex(reader, `${dir}/bInterfaceNumber`, 2),
    hex(reader, `${dir}/bInterfaceClass`, 2, true),
    hex(reader, `${dir}/bInterfaceSubClass`, 2),
    hex(reader, `${dir}/bInterfaceProtocol`, 2),
    reader.attr(`${dir}/modalias`),
    // No `driver` link just means no driver is bound to this interface.
    reader.linkName(`${dir}/driver`),
  ]);
  const modalias =
    raw === null || MODALIAS.test(raw) ? raw : reader.malformed(`${dir}/modalias`, raw, 'a usb: modalias');
  return { path, number, class: cls, subclass, protocol, modalias, driver };
}

/** USB sysfs prints ids without 0x ("%04x", "%02x"): exactly `digits` hex digits. */
async function hex(reader: Reader, path: string, digits: number, required = false): Promise<string | null> {
  const raw = await reader.attr(path, { required });
  if (raw === null) return null;
  if (raw.length !== digits || !/^[0-9a-fA-F]+$/.test(raw)) return reader.malformed(path, raw, `${digits} hex digits`);
  return raw.toLowerCase();
}

async function decimal(reader: Reader, path: string): Promise<number | null> {
  const raw = await reader.attr(path);
  if (raw === null) return null;
  if (!/^(0|[1-9][0-9]{0,5})$/.test(raw)) return reader.malformed(path, raw, 'a decimal number');
  return Number(raw);
}

async function readSpeed(reader: Reader, path: string): Promise<string | null> {
  const raw = await reader.attr(path);
  if (raw === null || raw === 'unknown') return null;
  return SPEED.test(raw) ? raw : reader.malformed(path, raw, 'a speed in Mb/s');
}

// PCI devices from /sys/bus/pci/devices, what hwsetup got from libpci and `lspci -nnk` shows. Each value is
// checked against the exact format the kernel prints (drivers/pci/pci-sysfs.c): anything else becomes null and
// a diagnostic, so a damaged snapshot can never yield a wrong ID that would then match a wrong driver.
import type { PciBar, PciDevice } from '../types.ts';
import type { Reader } from './_reader.ts';

const BUS = '/sys/bus/pci/devices';
// domain:bus:device.function; VMD domains have 5 hex digits (10000:e1:00.0).
const SLOT = /^[0-9a-f]{4,8}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$/;
// modalias_show(): "pci:v%08Xd%08Xsv%08Xsd%08Xbc%02Xsc%02Xi%02X"; old kernels printed the prog-if in lower case.
const MODALIAS = /^pci:v[0-9A-F]{8}d[0-9A-F]{8}sv[0-9A-F]{8}sd[0-9A-F]{8}bc[0-9A-F]{2}sc[0-9A-F]{2}i[0-9A-Fa-f]{2}$/;
// resource_show(): "0x%016llx 0x%016llx 0x%016llx\n" (start end flags) per resource.
const RESOURCE_LINE = /^0x([0-9a-f]{16}) 0x([0-9a-f]{16}) 0x([0-9a-f]{16})$/;
const ROM_INDEX = 6;

// include/linux/ioport.h
const IORESOURCE_IO = 0x100n;
const IORESOURCE_MEM = 0x200n;
const IORESOURCE_PREFETCH = 0x2000n;
const IORESOURCE_MEM_64 = 0x100000n;

export async function probePci(reader: Reader): Promise<PciDevice[]> {
  const names = await reader.list(BUS);
  if (names === null) return [];
  // All devices and their attributes are read concurrently: each read is a thread-pool round trip, and in
  // series they dominated the whole probe. probe() sorts the diagnostics afterwards.
  const devices = await Promise.all(
    [...names].sort().map(async (slot) => {
      const dir = `${BUS}/${slot}`;
      if (!SLOT.test(slot)) {
        reader.diag('malformed', dir, `${dir}: not a PCI slot name`);
        return null;
      }
      // One check per entry (a link that leaves the root or loops gives one diagnostic, not one per attribute).
      // A stat, not a listing: a snapshot then copies only the attributes read, not the whole directory.
      if (!(await reader.requireDir(dir))) return null;
      return readDevice(reader, slot, dir);
    }),
  );
  // lspci order; the fixed-width hex names make plain string order the bus order.
  return devices.filter((d): d is PciDevice => d !== null);
}

async function readDevice(reader: Reader, slot: string, dir: string): Promise<PciDevice> {
  const [vendor, device, subvendor, subdevice, cls, revision, modalias, driver, bootVga, bars, iommuGroup] =
    await Promise.all([
      hexAttr(reader, `${dir}/vendor`, 4, true),
      hexAttr(reader, `${dir}/device`, 4, true),
      hexAttr(reader, `${dir}/subsystem_vendor`, 4),
      hexAttr(reader, `${dir}/subsystem_device`, 4),
      hexAttr(reader, `${dir}/class`, 6, true),
      hexAttr(reader, `${dir}/revision`, 2),
      checked(reader, `${dir}/modalias`, MODALIAS, 'a pci: modalias'),
      // No `driver` link just means no driver is bound.
      reader.linkName(`${dir}/driver`),
      readBootVga(reader, `${dir}/boot_vga`),
      readBars(reader, `${dir}/resource`),
      readIommuGroup(reader, `${dir}/iommu_group`),
    ]);
  return {
    slot,
    vendor,
    device,
    subvendor,
    subdevice,
    class: cls === null ? null : cls.slice(0, 2),
    subclass: cls === null ? null : cls.slice(2, 4),
    progIf: cls === null ? null : cls.slice(4, 6),
    revision,
    modalias,
    driver,
    bootVga,
    bars,
    iommuGroup,
  };
}

/** "0x8086" -> "8086": exactly `digits` hex digits after 0x, as the kernel's "0x%04x" prints them. */
async function hexAttr(reader: Reader, path: string, digits: number, required = false): Promise<string | null> {
  const raw = await reader.attr(path, { required });
  if (raw === null) return null;
  const match = /^0x([0-9a-fA-F]+)$/.exec(raw);
  if (match === null || match[1]!.length !== digits) return reader.malformed(path, raw, `0x and ${digits} hex digits`);
  return match[1]!.toLowerCase();
}

async function checked(reader: Reader, path: string, format: RegExp, what: string): Promise<string | null> {
  const raw = await reader.attr(path);
  if (raw === null) return null;
  return format.test(raw) ? raw : reader.malformed(path, raw, what);
}

// Present only on VGA-class devices; "1" marks the display the firmware initialised.
async function readBootVga(reader: Reader, path: string): Promise<boolean | null> {
  const raw = await reader.attr(path);
  if (raw === null) return null;
  if (raw === '1' || raw === '0') return raw === '1';
  return reader.malformed(path, raw, '0 or 1');
}

// The link points at /sys/kernel/iommu_groups/N; absent when no IOMMU is in use.
async function readIommuGroup(reader: Reader, path: string): Promise<number | null> {
  const name = await reader.linkName(path);
  if (name === null) return null;
  if (!/^(0|[1-9][0-9]{0,8})$/.test(name)) return reader.malformed(path, name, 'a link to an iommu group number');
  return Number(name);
}

async function readBars(reader: Reader, path: string): Promise<PciBar[]> {
  const text = await reader.text(path);
  if (text === null) return [];
  const bars = parseResource(text);
  if (typeof bars === 'string') {
    reader.diag('malformed', path, `${path}: ${bars}`);
    return [];
  }
  return bars;
}

// Lines 0-5 are the BARs, 6 the expansion ROM; later lines (SR-IOV BARs, bridge windows) are not the device's
// own decoders. All or nothing: a cut file must not pass for a device with fewer BARs.
function parseResource(text: string): PciBar[] | string {
  const lines = text.split('\n');
  if (lines.length <= ROM_INDEX + 1) return `${lines.length - 1} complete lines, ${ROM_INDEX + 1} expected`;
  const bars: PciBar[] = [];
  for (let index = 0; index <= ROM_INDEX; index++) {
    const match = RESOURCE_LINE.exec(lines[index]!);
    if (match === null) return `line ${index + 1} is not "0x<16 hex> 0x<16 hex> 0x<16 hex>"`;
    const start = BigInt('0x' + match[1]!);
    const end = BigInt('0x' + match[2]!);
    const flags = BigInt('0x' + match[3]!);
    if (end === 0n) continue; // unused
    if (end < start) return `line ${index + 1}: end below start`;
    let kind: PciBar['kind'];
    if (flags & IORESOURCE_IO) kind = 'io';
    else if (flags & IORESOURCE_MEM) kind = index === ROM_INDEX ? 'rom' : 'mem';
    else continue; // no address space: not a decoded region
    bars.push({
      index,
      size: Number(end - start + 1n),
      kind,
      prefetchable: (flags & IORESOURCE_PREFETCH) !== 0n,
      is64: (flags & IORESOURCE_MEM_64) !== 0n,
    });
  }
  return bars;
}

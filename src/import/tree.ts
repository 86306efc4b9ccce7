// Assembling the snapshot tree: merge what several logs say about the same PCI slot or USB device, then lay it
// out the way sysfs does, with the kernel's exact value formats (drivers/pci/pci-sysfs.c, drivers/usb/core/
// sysfs.c) and a modalias only when every field of it is known. writeTree() puts any Tree (an import or a
// snapshot) on disk, confined to its output directory.
import { posix } from 'node:path';
import { AutoconfigError, errnoCode } from '../errors.ts';
import type { WritableFsLike } from '../fs.ts';
import { addOnce, hex, isDriverName } from './_model.ts';
import type { Parsed, PciRecord, Tree, UsbDeviceRecord, UsbInterfaceRecord, WritableTree } from './_model.ts';
import { RESOURCE_LINES, knowsBars, resourceFile, resourceName } from './pci-resource.ts';

export type { Tree, WritableTree } from './_model.ts';

/** One parsed file and how far it is trusted when sources disagree (lower rank wins). */
export interface RankedSource {
  file: string;
  rank: number;
  parsed: Parsed;
}

const PCI_FIELDS = [
  ...['vendor', 'device', 'subvendor', 'subdevice', 'class', 'revision', 'driver', 'bootVga', 'iommuGroup'],
  'vramTotal',
] as const;

/**
 * All PCI records by slot; the first source (by rank) to state a field wins, disagreements become notes. A record
 * without ids (lspci without -n) only adds to a slot some other log identifies.
 */
export function mergePci(sources: RankedSource[], notes: string[]): PciRecord[] {
  const bySlot = new Map<string, PciRecord>();
  const origin = new Map<string, string>();
  const all = sources.flatMap((s) => s.parsed.pci);
  const identified = new Set(all.filter((r) => r.vendor !== undefined).map((r) => r.slot));
  const unplaced = new Map<string, number>();
  for (const { file, parsed } of [...sources].sort((a, b) => a.rank - b.rank)) {
    for (const r of parsed.pci) {
      if (!identified.has(r.slot)) {
        unplaced.set(file, (unplaced.get(file) ?? 0) + 1);
        continue;
      }
      const have = bySlot.get(r.slot);
      if (!have) {
        const copy = { ...r };
        if (r.resources !== undefined) copy.resources = { ...r.resources };
        bySlot.set(r.slot, copy);
        origin.set(r.slot, file);
        continue;
      }
      for (const key of PCI_FIELDS) {
        const value = r[key];
        if (value === undefined) continue;
        if (have[key] === undefined) (have as unknown as Record<string, unknown>)[key] = value;
        else if (have[key] !== value) {
          const first = `${origin.get(r.slot)} says ${have[key]}`;
          notes.push(`${r.slot} ${key}: ${first}, ${file}:${r.line} says ${value}; kept the first`);
        }
      }
      if (r.classPrefix !== undefined && have.class === undefined) have.classPrefix ??= r.classPrefix;
      // Resources by index: one source may know a BAR another left open.
      for (let i = 0; i < RESOURCE_LINES && r.resources !== undefined; i++) {
        const value = r.resources[i];
        if (value === undefined) continue;
        have.resources ??= {};
        const kept = have.resources[i];
        if (kept === undefined) have.resources[i] = value;
        else if (kept !== value) {
          const which = `${r.slot} resource ${resourceName(i)}`;
          notes.push(`${which}: ${origin.get(r.slot)} says ${kept}, ${file}:${r.line} says ${value}; kept the first`);
        }
      }
    }
  }
  for (const [file, n] of unplaced) notes.push(`${file}: ${n} PCI devices that no log gives ids for were not written`);
  for (const r of bySlot.values()) {
    if (r.class !== undefined) {
      if (r.classPrefix !== undefined && !r.class.startsWith(r.classPrefix)) {
        notes.push(`${r.slot} class: ${r.class} does not start with ${r.classPrefix} stated elsewhere; kept it`);
      }
      delete r.classPrefix;
    }
  }
  return [...bySlot.values()].sort((a, b) => (a.slot < b.slot ? -1 : a.slot > b.slot ? 1 : 0));
}

const USB_FIELDS = [
  ...['vendor', 'product', 'bcdDevice', 'class', 'subclass', 'protocol'],
  ...['speed', 'manufacturer', 'productName', 'config'],
] as const;

function mergeUsbInto(into: UsbDeviceRecord, from: UsbDeviceRecord, where: string, notes: string[]): void {
  for (const key of USB_FIELDS) {
    const value = from[key];
    if (value === undefined) continue;
    if (into[key] === undefined) (into as unknown as Record<string, unknown>)[key] = value;
    else if (into[key] !== value) {
      const which = into.name ?? `bus ${into.bus} device ${into.devnum}`;
      notes.push(`usb ${which} ${key}: ${into[key]} vs ${value} (${where}); kept the first`);
    }
  }
  if (into.devnum === undefined && from.devnum !== undefined) into.devnum = from.devnum;
  for (const i of from.interfaces) {
    const have = into.interfaces.find((x) => x.number === i.number);
    if (!have) {
      into.interfaces.push({ ...i });
      continue;
    }
    for (const key of ['alt', 'class', 'subclass', 'protocol', 'driver', 'modalias'] as const) {
      if (have[key] === undefined && i[key] !== undefined) (have as unknown as Record<string, unknown>)[key] = i[key];
    }
  }
}

/**
 * USB devices with their sysfs names. lsusb outputs (plain, -v, -t) describe one moment and are joined by bus and
 * device number; -t names them. A kernel log names devices by port path and numbers them; it is joined by bus,
 * number and ids, and stands alone only when there is no lsusb listing. hwinfo names devices; it is joined by name,
 * or by bus and ids when exactly one unnamed device fits. Devices that stay unnamed are not written: their sysfs
 * name is their port path, which nothing told.
 */
export function mergeUsb(sources: RankedSource[], notes: string[]): { devices: UsbDeviceRecord[]; unnamed: number } {
  const sorted = [...sources].sort((a, b) => a.rank - b.rank);
  const isListing = (p: Parsed) => p.format.startsWith('lsusb');
  const devices: UsbDeviceRecord[] = [];
  const key = (r: UsbDeviceRecord) => `${r.bus}/${r.devnum}`;
  const byKey = new Map<string, UsbDeviceRecord>();
  for (const { file, parsed } of sorted.filter((s) => isListing(s.parsed))) {
    for (const r of parsed.usb) {
      const have = r.devnum === undefined ? undefined : byKey.get(key(r));
      if (!have) {
        const copy = { ...r, interfaces: r.interfaces.map((i) => ({ ...i })) };
        devices.push(copy);
        if (r.devnum !== undefined) byKey.set(key(r), copy);
        continue;
      }
      if (have.name === undefined && r.name !== undefined) have.name = r.name;
      else if (r.name !== undefined && have.name !== r.name) {
        notes.push(`usb bus ${r.bus} device ${r.devnum}: named ${have.name} and ${r.name} (${file}); kept the first`);
      }
      mergeUsbInto(have, r, file, notes);
    }
  }
  const listed = devices.length > 0;
  for (const { file, parsed } of sorted.filter((s) => !isListing(s.parsed))) {
    for (const r of parsed.usb) {
      const byName = devices.find((d) => d.name !== undefined && d.name === r.name);
      let target = byName;
      if (!target && r.devnum !== undefined) {
        const same = byKey.get(key(r));
        const agree = same && (same.vendor === undefined || (same.vendor === r.vendor && same.product === r.product));
        if (agree) target = same;
      }
      if (!target && r.devnum === undefined) {
        const fits = devices.filter(
          (d) => d.name === undefined && d.bus === r.bus && d.vendor === r.vendor && d.product === r.product,
        );
        if (fits.length === 1) target = fits[0];
      }
      if (target) {
        if (target.name === undefined) target.name = r.name;
        else if (r.name !== undefined && target.name !== r.name) {
          notes.push(`usb ${target.name}: ${file} calls it ${r.name}; kept ${target.name}`);
        }
        mergeUsbInto(target, r, file, notes);
      } else if (!listed) {
        devices.push({ ...r, interfaces: r.interfaces.map((i) => ({ ...i })) });
      } else {
        const which = `usb ${r.name ?? `bus ${r.bus}`} (${r.vendor}:${r.product})`;
        notes.push(`${which} from ${file}:${r.line} is not in the lsusb listing; not added`);
      }
    }
  }
  const named: UsbDeviceRecord[] = [];
  for (const d of devices) {
    if (d.name !== undefined) named.push(d);
    else {
      const which = `usb bus ${d.bus} device ${d.devnum} (${d.vendor ?? '?'}:${d.product ?? '?'})`;
      notes.push(`${which}: no log gives its port path (its sysfs name); not written`);
    }
  }
  named.sort((a, b) => a.name!.localeCompare(b.name!, 'en', { numeric: true }));
  return { devices: named, unnamed: devices.length - named.length };
}

/** Lays out merged records and whole files as a sysfs/procfs tree. */
export function buildTree(
  pci: PciRecord[],
  usb: UsbDeviceRecord[],
  files: Record<string, string>,
  dirs: string[],
): Tree {
  const tree: Tree = { files: { ...files }, links: {}, dirs: [...dirs] };
  for (const r of pci) addPci(tree, r);
  for (const d of usb) addUsb(tree, d);
  tree.dirs = [...new Set(tree.dirs)].sort();
  return tree;
}

function addPci(tree: Tree, r: PciRecord): void {
  // The real parent is the bridge a device sits behind (pci0000:00/0000:00:1c.0/0000:02:00.0); logs rarely give
  // the topology, and every reader goes through the flat bus/pci/devices links, so all devices sit under the root.
  const root = `pci${r.slot.slice(0, r.slot.indexOf(':'))}:00`;
  const dir = `sys/devices/${root}/${r.slot}`;
  const put = (name: string, value: string | undefined) => {
    if (value !== undefined) tree.files[`${dir}/${name}`] = value;
  };
  const hex0x = (v: string | undefined) => (v === undefined ? undefined : `0x${v}\n`);
  put('vendor', hex0x(r.vendor));
  put('device', hex0x(r.device));
  put('subsystem_vendor', hex0x(r.subvendor));
  put('subsystem_device', hex0x(r.subdevice));
  put('class', hex0x(r.class));
  put('revision', hex0x(r.revision));
  put('boot_vga', r.bootVga === undefined ? undefined : `${r.bootVga}\n`);
  put('modalias', pciModalias(r));
  // amdgpu_vram_mgr.c: an attribute of the PCI device itself (what /sys/class/drm/card*/device/ shows).
  put('mem_info_vram_total', r.vramTotal === undefined ? undefined : `${r.vramTotal}\n`);
  // Not for a device whose BARs are all unknown (lspci -v): the file would say they are unused.
  if (knowsBars(r.resources)) put('resource', resourceFile(r.resources!));
  tree.links[`sys/bus/pci/devices/${r.slot}`] = `../../../devices/${root}/${r.slot}`;
  if (r.iommuGroup !== undefined) {
    // drivers/iommu/iommu.c: the device's iommu_group link and the group's devices/<name> link back.
    const group = `sys/kernel/iommu_groups/${r.iommuGroup}`;
    addOnce(tree.dirs, group);
    tree.links[`${dir}/iommu_group`] = `../../../kernel/iommu_groups/${r.iommuGroup}`;
    tree.links[`${group}/devices/${r.slot}`] = `../../../../devices/${root}/${r.slot}`;
  }
  if (typeof r.driver === 'string' && isDriverName(r.driver)) {
    tree.links[`${dir}/driver`] = `../../../bus/pci/drivers/${r.driver}`;
    addOnce(tree.dirs, `sys/bus/pci/drivers/${r.driver}`);
  }
}

/** drivers/pci/pci-sysfs.c modalias_show(): "pci:v%08Xd%08Xsv%08Xsd%08Xbc%02Xsc%02Xi%02X\n". */
export function pciModalias(r: PciRecord): string | undefined {
  const parts = [r.vendor, r.device, r.subvendor, r.subdevice, r.class];
  if (parts.some((p) => p === undefined)) return undefined;
  const [v, d, sv, sd, cls] = parts.map((p) => p!.toUpperCase()) as [string, string, string, string, string];
  return `pci:v0000${v}d0000${d}sv0000${sv}sd0000${sd}bc${cls.slice(0, 2)}sc${cls.slice(2, 4)}i${cls.slice(4, 6)}\n`;
}

function addUsb(tree: Tree, d: UsbDeviceRecord): void {
  const name = d.name!;
  const dir = `sys/devices/usb/${name}`;
  const put = (at: string, file: string, value: string | undefined) => {
    if (value !== undefined) tree.files[`${at}/${file}`] = `${value}\n`;
  };
  put(dir, 'idVendor', d.vendor);
  put(dir, 'idProduct', d.product);
  put(dir, 'bcdDevice', d.bcdDevice);
  put(dir, 'bDeviceClass', d.class);
  put(dir, 'bDeviceSubClass', d.subclass);
  put(dir, 'bDeviceProtocol', d.protocol);
  put(dir, 'busnum', String(d.bus));
  put(dir, 'devnum', d.devnum === undefined ? undefined : String(d.devnum));
  put(dir, 'speed', d.speed);
  put(dir, 'manufacturer', d.manufacturer);
  put(dir, 'product', d.productName);
  put(dir, 'bConfigurationValue', d.config === undefined ? undefined : String(d.config));
  tree.links[`sys/bus/usb/devices/${name}`] = `../../../devices/usb/${name}`;
  if (d.config === undefined) return; // interface names carry the active configuration number
  const base = name.startsWith('usb') ? `${d.bus}-0` : name;
  for (const i of d.interfaces) {
    const ifName = `${base}:${d.config}.${i.number}`;
    const ifDir = `${dir}/${ifName}`;
    put(ifDir, 'bInterfaceNumber', hex(i.number, 2));
    put(ifDir, 'bAlternateSetting', i.alt === undefined ? undefined : String(i.alt).padStart(2, ' '));
    put(ifDir, 'bInterfaceClass', i.class);
    put(ifDir, 'bInterfaceSubClass', i.subclass);
    put(ifDir, 'bInterfaceProtocol', i.protocol);
    put(ifDir, 'modalias', i.modalias ?? usbModalias(d, i));
    tree.links[`sys/bus/usb/devices/${ifName}`] = `../../../devices/usb/${name}/${ifName}`;
    if (typeof i.driver === 'string' && isDriverName(i.driver)) {
      tree.links[`${ifDir}/driver`] = `../../../../bus/usb/drivers/${i.driver}`;
      addOnce(tree.dirs, `sys/bus/usb/drivers/${i.driver}`);
    }
  }
}

/** drivers/usb/core/sysfs.c modalias_show() of an interface. */
export function usbModalias(d: UsbDeviceRecord, i: UsbInterfaceRecord): string | undefined {
  const parts = [d.vendor, d.product, d.bcdDevice, d.class, d.subclass, d.protocol, i.class, i.subclass, i.protocol];
  if (parts.some((p) => p === undefined)) return undefined;
  const [v, p, bcd, dc, dsc, dp, ic, isc, ip] = parts.map((x) => x!.toUpperCase());
  return `usb:v${v}p${p}d${bcd}dc${dc}dsc${dsc}dp${dp}ic${ic}isc${isc}ip${ip}in${hex(i.number, 2).toUpperCase()}`;
}

/** A relative path that stays below its root: no absolute path, no "." or ".." segment, nothing empty. */
function checkRelative(path: string, what: string): void {
  const parts = path.split('/');
  const plain = !path.startsWith('/') && !path.includes('\0') && !parts.some((p) => ['', '.', '..'].includes(p));
  if (!plain) {
    const message = `${what} ${JSON.stringify(path)} is not a plain relative path`;
    throw new AutoconfigError('E_OUTSIDE_ROOT', message, { path });
  }
}

/**
 * Creates the tree under outDir: directories, then files, then symlinks. Every path is checked before anything is
 * written: relative, no ".." anywhere, link targets resolving inside outDir, nothing written below a link, and no
 * pre-existing symlink on the way (which could lead outside outDir).
 */
export async function writeTree(tree: WritableTree, outDir: string, fs: WritableFsLike): Promise<void> {
  const entries = [
    ...tree.dirs.map((p) => ['directory', p] as const),
    ...Object.keys(tree.files).map((p) => ['file', p] as const),
    ...Object.keys(tree.links).map((p) => ['link', p] as const),
  ];
  for (const [what, path] of entries) checkRelative(path, what);
  const linkPaths = Object.keys(tree.links);
  for (const [link, target] of Object.entries(tree.links)) {
    if (target === '' || target.startsWith('/') || target.includes('\0')) {
      throw new AutoconfigError('E_OUTSIDE_ROOT', `link ${link} has target ${JSON.stringify(target)}`, { path: link });
    }
    const resolved = posix.normalize(posix.join(posix.dirname(link), target));
    if (resolved === '..' || resolved.startsWith('../')) {
      throw new AutoconfigError('E_OUTSIDE_ROOT', `link ${link} -> ${target} leads outside the tree`, { path: link });
    }
  }
  const linkSet = new Set(linkPaths);
  for (const [what, path] of entries) {
    const parts = path.split('/');
    for (let n = 1; n < parts.length; n++) {
      if (linkSet.has(parts.slice(0, n).join('/'))) {
        const link = parts.slice(0, n).join('/');
        const message = `${what} ${path} would be written through the link ${link}`;
        throw new AutoconfigError('E_OUTSIDE_ROOT', message, { path });
      }
    }
  }
  const checked = new Set<string>();
  const safeParent = async (rel: string) => {
    const parts = rel.split('/').slice(0, -1);
    for (let n = 1; n <= parts.length; n++) {
      const sub = parts.slice(0, n).join('/');
      if (checked.has(sub)) continue;
      try {
        if ((await fs.lstat(posix.join(outDir, sub))).isSymbolicLink()) {
          throw new AutoconfigError('E_OUTSIDE_ROOT', `${sub} already exists in ${outDir} as a symlink`, { path: sub });
        }
      } catch (error) {
        if (errnoCode(error) !== 'ENOENT') throw error;
      }
      checked.add(sub);
    }
  };
  const io = async (path: string, op: () => Promise<unknown>) => {
    try {
      await op();
    } catch (error) {
      if (error instanceof AutoconfigError) throw error;
      const reason = errnoCode(error) ?? String(error);
      throw new AutoconfigError('E_IO', `cannot write ${path}: ${reason}`, { cause: error, path });
    }
  };
  await io(outDir, () => fs.mkdir(outDir, { recursive: true }));
  for (const dir of [...tree.dirs].sort()) {
    await safeParent(`${dir}/x`);
    await io(dir, () => fs.mkdir(posix.join(outDir, dir), { recursive: true }));
  }
  for (const [path, content] of Object.entries(tree.files).sort(([a], [b]) => (a < b ? -1 : 1))) {
    await safeParent(path);
    await io(path, () => fs.mkdir(posix.join(outDir, posix.dirname(path)), { recursive: true }));
    await io(path, () => fs.writeFile(posix.join(outDir, path), content));
  }
  for (const [path, target] of Object.entries(tree.links).sort(([a], [b]) => (a < b ? -1 : 1))) {
    await safeParent(path);
    await io(path, () => fs.mkdir(posix.join(outDir, posix.dirname(path)), { recursive: true }));
    await io(path, () => fs.symlink(target, posix.join(outDir, path)));
  }
}

// dmidecode output -> /sys/class/dmi/id. The kernel (drivers/firmware/dmi_scan.c dmi_decode()) keeps the FIRST
// structure of types 0-3 and copies the same SMBIOS strings dmidecode prints after "\tKey: ", leading spaces
// included; chassis_type is the type byte & 0x7f in decimal, which dmidecode prints as a name (dmi_chassis_type()).
// dmidecode prints "Not Specified" for string number 0 (no string), where the kernel shows an empty attribute; it
// is read that way (a BIOS could hold that very text, which the manifest notes). Serials, UUIDs and asset tags are
// never taken.
//
// The installed memory, as the live probe reads it (src/probe/memory.ts): the Range Sizes of the Memory Array Mapped
// Addresses (type 19) of the system memory arrays (type 16 "Use: System Memory"; a range of a video or flash array
// does not count, one whose array is not listed does), summed; without type 19 structures, the sizes of the Memory
// Devices (type 17) of those arrays. The two can differ: an HP dc5800 maps 8128 MB of its 8192 MB of modules. No
// kernel file holds it (the kernel's own figure is MemTotal, a little lower: firmware and kernel reserves, UMA
// graphics), so it becomes the import-only line of /proc/meminfo the memory probe reads (INSTALLED_LINE); beside a
// /proc/meminfo log it is added to that file.
//
// Processor Information (type 4) is not taken. Only a Xen Dom0 reads it (its core counts, src/probe/machine-cpus.ts),
// from the raw structures, which an import would have to make up as binary files (an import tree is text); and an
// imported Dom0 has no Xen PCPU list either. Everywhere else cpuinfo's topology (or lscpu's) gives the cores.
import { INSTALLED_LINE } from '../probe/memory.ts';
import { emptyParsed, toLines } from './_model.ts';
import type { Parsed } from './_model.ts';

const HANDLE_RE = /^Handle 0x([0-9A-Fa-f]{4}), DMI type (\d+), \d+ bytes$/;
// dmi_print_memory_size() (3.x) and the "%u MB"/"%u kB" of 2.x: a size with its unit, powers of 1024.
const SIZE_RE = /^(\d+) (bytes|kB|MB|GB|TB)$/;
const UNIT_KIB: Record<string, number> = { bytes: 1 / 1024, kB: 1, MB: 1024, GB: 1024 ** 2, TB: 1024 ** 3 };

// dmidecode's dmi_chassis_type() names, index = SMBIOS value (1..0x24); the names have not changed since 2.x,
// newer versions only appended.
const CHASSIS_TYPES = [
  '',
  'Other',
  'Unknown',
  'Desktop',
  'Low Profile Desktop',
  'Pizza Box',
  'Mini Tower',
  'Tower',
  'Portable',
  'Laptop',
  'Notebook',
  'Hand Held',
  'Docking Station',
  'All In One',
  'Sub Notebook',
  'Space-saving',
  'Lunch Box',
  'Main Server Chassis',
  'Expansion Chassis',
  'Sub Chassis',
  'Bus Expansion Chassis',
  'Peripheral Chassis',
  'RAID Chassis',
  'Rack Mount Chassis',
  'Sealed-case PC',
  'Multi-system',
  'CompactPCI',
  'AdvancedTCA',
  'Blade',
  'Blade Enclosing',
  'Tablet',
  'Convertible',
  'Detachable',
  'IoT Gateway',
  'Embedded PC',
  'Mini PC',
  'Stick PC',
];

// SMBIOS type -> dmidecode key -> sysfs file.
const FIELDS: Record<number, Record<string, string>> = {
  0: { Vendor: 'bios_vendor', Version: 'bios_version', 'Release Date': 'bios_date' },
  1: {
    Manufacturer: 'sys_vendor',
    'Product Name': 'product_name',
    Version: 'product_version',
    Family: 'product_family',
  },
  2: { Manufacturer: 'board_vendor', 'Product Name': 'board_name', Version: 'board_version' },
  3: { Manufacturer: 'chassis_vendor', Type: 'chassis_type' },
};

export const DMI_FILES = Object.values(FIELDS).flatMap((f) => Object.values(f));

export function detectDmidecode(lines: string[]): boolean {
  // A run that could not read the table still starts with its version banner.
  return /^# dmidecode \d/.test(lines[0] ?? '') || lines.slice(0, 400).some((l) => HANDLE_RE.test(l));
}

export function parseDmidecode(text: string, file: string): Parsed {
  const parsed = emptyParsed('dmidecode');
  const seenTypes = new Set<number>();
  let fields: Record<string, string> | null = null;
  const notSpecified: string[] = [];
  const arrays = new Map<string, string>(); // type 16 handle -> Use
  const devices: { array?: string; size?: string; line: number }[] = []; // type 17
  const mapped: { array?: string; size?: string; line: number }[] = []; // type 19
  let current: { type: number; handle: string } | null = null;
  toLines(text).forEach((line, index) => {
    const handle = HANDLE_RE.exec(line);
    if (handle) {
      const type = Number(handle[2]);
      current = { type, handle: handle[1]!.toLowerCase() };
      if (type === 17) devices.push({ line: index + 1 });
      if (type === 19) mapped.push({ line: index + 1 });
      // Only the first structure of each type counts, as in the kernel.
      fields = FIELDS[type] !== undefined && !seenTypes.has(type) ? FIELDS[type]! : null;
      seenTypes.add(type);
      return;
    }
    const memory = /^\t(Use|Array Handle|Size|Physical Array Handle|Range Size): (.*)$/.exec(line);
    if (memory !== null && current !== null) {
      const { type, handle: own } = current as { type: number; handle: string };
      const [key, value] = [memory[1]!, memory[2]!];
      if (type === 16 && key === 'Use') arrays.set(own, value);
      const device = devices.at(-1);
      if (type === 17 && device !== undefined && key === 'Array Handle') device.array = value.toLowerCase();
      if (type === 17 && device !== undefined && key === 'Size') device.size = value;
      const range = mapped.at(-1);
      if (type === 19 && range !== undefined && key === 'Physical Array Handle') range.array = value.toLowerCase();
      if (type === 19 && range !== undefined && key === 'Range Size') range.size = value;
    }
    if (fields === null) return;
    const m = /^\t([^\t:][^:]*): (.*)$/.exec(line) ?? /^\t([^\t:][^:]*):()$/.exec(line);
    if (!m) return;
    const target = fields[m[1]!];
    if (target === undefined) return;
    const value = m[2]!;
    if (target === 'chassis_type') {
      const code = CHASSIS_TYPES.indexOf(value);
      if (code > 0) parsed.files[`sys/class/dmi/id/chassis_type`] = `${code}\n`;
      else {
        const message = `chassis type ${JSON.stringify(value)} has no SMBIOS number`;
        parsed.issues.push({ file, line: index + 1, message });
      }
      return;
    }
    if (value === '<BAD INDEX>' || value === '<OUT OF SPEC>') return;
    if (value === 'Not Specified') notSpecified.push(target);
    // The kernel treats a string of spaces only as empty, as it does string 0.
    const empty = value === 'Not Specified' || value.trim() === '';
    parsed.files[`sys/class/dmi/id/${target}`] = (empty ? '' : value) + '\n';
  });
  if (Object.keys(parsed.files).length > 0) parsed.used.push('dmi');
  else if (seenTypes.size === 0) parsed.notes.push(`${file}: dmidecode printed no DMI structures`);
  if (notSpecified.length > 0) {
    const which = notSpecified.join(', ');
    parsed.notes.push(`${file}: "Not Specified" read as the empty string 0 (not as that literal text): ${which}`);
  }
  const type19 = { one: 'Memory Array Mapped Address', many: 'memory array mapped ranges (type 19)' };
  if (!installedMemory(mapped, arrays, file, parsed, type19)) {
    installedMemory(devices, arrays, file, parsed, { one: 'Memory Device', many: 'memory devices (type 17)' });
  }
  return parsed;
}

/**
 * The installed memory (type 19 or type 17 sizes of the system memory arrays) as the import-only /proc/meminfo line.
 * False when these structures give none (then the caller tries type 17).
 */
function installedMemory(
  devices: { array?: string; size?: string; line: number }[],
  arrays: Map<string, string>,
  file: string,
  parsed: Parsed,
  what: { one: string; many: string },
): boolean {
  let kib = 0;
  let modules = 0;
  for (const device of devices) {
    const use = device.array === undefined ? undefined : arrays.get(device.array.replace(/^0x/, ''));
    if (use !== undefined && use !== 'System Memory') continue;
    if (device.size === undefined || device.size === 'No Module Installed') continue;
    const m = SIZE_RE.exec(device.size);
    if (m === null) {
      const why = `${what.one} size ${JSON.stringify(device.size)}: the installed memory is unknown`;
      parsed.notes.push(`${file}:${device.line}: ${why}`);
      return true;
    }
    // bhyve's table says "0 TB" for its one device (corpus vm-virtwhat-bhyve): no size, like no module.
    if (Number(m[1]) === 0) continue;
    kib += Number(m[1]) * UNIT_KIB[m[2]!]!;
    modules++;
  }
  if (modules === 0 || !Number.isInteger(kib)) return false;
  parsed.weakFiles = { ...parsed.weakFiles, 'proc/meminfo': `${INSTALLED_LINE}:${' '.repeat(4)}${kib} kB\n` };
  const mib = kib / 1024;
  parsed.notes.push(`${file}: installed memory ${mib} MiB in ${modules} ${what.many}, not MemTotal`);
  return true;
}

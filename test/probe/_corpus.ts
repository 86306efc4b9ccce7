// Test support for the probe tests: the real machine data in test/probe/data (see data/SOURCES.md) turned into
// memfs trees. Files are stored as the corpus stores them: a machine path with "/" written "__"
// (proc__cpuinfo = /proc/cpuinfo); dmidecode.txt becomes the /sys/class/dmi/id files the kernel would show.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FileHandleLike, FsLike } from '../../src/fs.ts';
import { Reader } from '../../src/probe/_reader.ts';
import { volume, type Tree } from '../_support/memfs.ts';

export const dataDir = join(dirname(fileURLToPath(import.meta.url)), 'data');

export function dataFile(machine: string, file: string): string {
  return readFileSync(join(dataDir, machine, file), 'utf8');
}

/** The machine's files as a Tree (paths relative to the root). */
export function machineTree(machine: string): Tree {
  const files: Record<string, string> = {};
  for (const name of readdirSync(join(dataDir, machine))) {
    const content = dataFile(machine, name);
    if (name === 'dmidecode.txt') Object.assign(files, dmiFiles(content));
    else if (!name.includes('.')) files[name.split('__').join('/')] = content;
  }
  return { files };
}

const BASE = '/machine';

export function readerFor(tree: Tree, options: { wrap?: (fs: FsLike) => FsLike; deviceTimeoutMs?: number } = {}) {
  const { fs } = volume(tree, BASE);
  return new Reader({
    fs: options.wrap ? options.wrap(fs) : fs,
    root: BASE,
    ...(options.deviceTimeoutMs === undefined ? {} : { deviceTimeoutMs: options.deviceTimeoutMs }),
  });
}

export function merge(...trees: Tree[]): Tree {
  return { files: Object.assign({}, ...trees.map((t) => t.files ?? {})) };
}

/** An fs whose open() fails with `code` for one machine path, as a permission problem would. */
export function failingOpen(machinePath: string, code: string) {
  return (fs: FsLike): FsLike => ({
    ...bind(fs),
    open: (path: string, flags: string) =>
      path === BASE + machinePath
        ? Promise.reject(Object.assign(new Error(`${code}: ${path}`), { code }))
        : fs.open(path, flags),
  });
}

/**
 * An fs where `machinePath` is a character device answering reads through `answer(position, length)`, the way
 * /dev/cpu/0/cpuid and msr answer (the register number is the file position); 'hang' never answers. memfs has
 * no device nodes.
 */
export function charDevice(
  machinePath: string,
  answer: (position: number, length: number) => Uint8Array | Error | 'hang',
) {
  return (fs: FsLike): FsLike => {
    const real = BASE + machinePath;
    const isDevice = (path: string) => path === real;
    const wrapStats = async (path: string, stat: (p: string) => ReturnType<FsLike['stat']>) => {
      const stats = await stat(path);
      if (!isDevice(path)) return stats;
      return {
        size: 0,
        isFile: () => false,
        isDirectory: () => false,
        isSymbolicLink: () => false,
        isCharacterDevice: () => true,
      };
    };
    return {
      ...bind(fs),
      stat: (path: string) => wrapStats(path, (p) => fs.stat(p)),
      open: async (path: string, flags: string): Promise<FileHandleLike> => {
        if (!isDevice(path)) return fs.open(path, flags);
        return {
          read: async (buffer, offset, length, position) => {
            const data = answer(position ?? 0, length);
            if (data === 'hang') return new Promise<never>(() => undefined);
            if (data instanceof Error) throw data;
            buffer.set(data.subarray(0, length), offset);
            return { bytesRead: Math.min(length, data.length) };
          },
          close: async () => undefined,
        };
      },
    };
  };
}

function bind(fs: FsLike): FsLike {
  return {
    open: (p, f) => fs.open(p, f),
    readdir: (p) => fs.readdir(p),
    readlink: (p) => fs.readlink(p),
    lstat: (p) => fs.lstat(p),
    stat: (p) => fs.stat(p),
  };
}

// dmidecode sections and keys -> the kernel's /sys/class/dmi/id attributes (drivers/firmware/dmi-id.c).
const DMI_KEYS: Record<string, Record<string, string>> = {
  'BIOS Information': { Vendor: 'bios_vendor', Version: 'bios_version', 'Release Date': 'bios_date' },
  'System Information': {
    Manufacturer: 'sys_vendor',
    'Product Name': 'product_name',
    Version: 'product_version',
    Family: 'product_family',
  },
  'Base Board Information': { Manufacturer: 'board_vendor', 'Product Name': 'board_name', Version: 'board_version' },
  'Chassis Information': { Manufacturer: 'chassis_vendor', Type: 'chassis_type' },
};
// The SMBIOS chassis types these captures use, as the number the kernel shows in chassis_type.
const CHASSIS_TYPES: Record<string, string> = {
  Other: '1',
  Unknown: '2',
  Desktop: '3',
  Portable: '8',
  Notebook: '10',
  'Rack Mount Chassis': '23',
};

/**
 * /sys/class/dmi/id files from dmidecode text: the first structure of each type, strings as stored. dmidecode
 * prints "Not Specified" for an unset string, which the kernel shows as an empty attribute.
 */
export function dmiFiles(dmidecode: string): Record<string, string> {
  const files: Record<string, string> = {};
  const seen = new Set<string>();
  let section: Record<string, string> | null = null;
  for (const line of dmidecode.split('\n')) {
    if (!line.startsWith('\t')) {
      const keys = DMI_KEYS[line.trim()];
      section = keys && !seen.has(line.trim()) ? keys : null;
      if (keys) seen.add(line.trim());
      continue;
    }
    const match = /^\t([^\t:]+): ?(.*)$/.exec(line);
    const attr = match && section ? section[match[1]!] : undefined;
    if (!match || attr === undefined) continue;
    let value = match[2] === 'Not Specified' ? '' : match[2]!;
    if (attr === 'chassis_type') {
      const number = CHASSIS_TYPES[value];
      if (number === undefined) throw new Error(`chassis type ${value} not in the test table`);
      value = number;
    }
    files[`sys/class/dmi/id/${attr}`] = `${value}\n`;
  }
  return files;
}

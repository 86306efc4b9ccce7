// Memory, two figures (profile.memory):
//
// - totalKiB: MemTotal of /proc/meminfo (kB, as the kernel always prints it): the RAM this kernel got. Under Xen
//   that is the domain's allocation, not the machine's: in a Dom0 it is Dom0's share (issue #9 §3: 1893 MiB of a
//   3072 MiB machine), and /sys/firmware/memmap and /proc/iomem there are Linux's clipped map too.
// - installedKiB: the installed memory as the firmware's SMBIOS tables state it, the same in a Dom0 and without Xen.
//   This is the one normaliser of that figure: on a live machine (or a snapshot) the Memory Array Mapped Address
//   structures (type 19) in /sys/firmware/dmi/entries/19-*/raw (root-only files; no strings, so no serial numbers),
//   their address ranges merged and summed; where there are none, the import-only line of /proc/meminfo
//   (INSTALLED_LINE) that `autoconfig import` writes from a dmidecode log (type 19's ranges, else the type 17 module
//   sizes). It is a little more than MemTotal would be (firmware and kernel reserves, UMA graphics).
//
// machineMemory() says which of the two is the machine's memory for the rules and the plan.
import type { HardwareProfile, Memory } from '../types.ts';
import { compareNames, type Reader } from './_reader.ts';

const MEMINFO = '/proc/meminfo';
const DMI_ENTRIES = '/sys/firmware/dmi/entries';
/** The key of the import-only /proc/meminfo line: "Installed (SMBIOS):    2097152 kB". */
export const INSTALLED_LINE = 'Installed (SMBIOS)';

export async function probeMemory(reader: Reader): Promise<Memory> {
  const [meminfo, smbios] = await Promise.all([readMeminfo(reader), smbiosMappedKiB(reader)]);
  return { totalKiB: meminfo.totalKiB, installedKiB: smbios ?? meminfo.installedKiB };
}

async function readMeminfo(reader: Reader): Promise<Memory> {
  const text = await reader.text(MEMINFO);
  if (text === null) return { totalKiB: null, installedKiB: null };
  const total = /^MemTotal:[ \t]+(\d+) kB$/m.exec(text);
  const installed = /^Installed \(SMBIOS\):[ \t]+(\d+) kB$/m.exec(text);
  if (!total && !installed) reader.diag('malformed', MEMINFO, `${MEMINFO}: no "MemTotal: N kB" line`);
  return { totalKiB: total ? Number(total[1]) : null, installedKiB: installed ? Number(installed[1]) : null };
}

/**
 * The SMBIOS type 19 ranges of /sys/firmware/dmi/entries, merged and summed, in KiB. null when there are none, and
 * when any of them cannot be used (unreadable: the raw files are root's only; missing; malformed): a partial sum
 * would be a wrong size, too small or, with a range counted wrongly, more than the machine has.
 */
async function smbiosMappedKiB(reader: Reader): Promise<number | null> {
  const names = ((await reader.list(DMI_ENTRIES)) ?? []).filter((n) => /^19-\d+$/.test(n)).sort(compareNames);
  const ranges: [bigint, bigint][] = [];
  let complete = true;
  for (const name of names) {
    const path = `${DMI_ENTRIES}/${name}/raw`;
    const raw = await reader.bytes(path, { required: true });
    const range = raw === null ? 'unusable' : parseType19(raw);
    if (typeof range === 'string') {
      if (raw !== null) reader.diag('malformed', path, `${path}: ${range}`);
      complete = false;
    } else if (range !== null && !inFlashWindow(range)) ranges.push(range);
  }
  return complete && ranges.length > 0 ? sumRanges(ranges) : null;
}

/**
 * One raw type 19 structure (SMBIOS 3.x, 7.20): [start, end] in bytes, end inclusive; null for an empty range
 * (start and end 0: a placeholder some firmware lists); a message when it is not a usable type 19 structure.
 * Starting and ending address are KiB at offsets 04h and 08h (DWORD); FFFFFFFFh there means the 64-bit byte
 * addresses at 0Fh and 17h (SMBIOS 2.7+, structure length 1Fh) hold them.
 */
export function parseType19(raw: Uint8Array): [bigint, bigint] | null | string {
  if (raw.length < 0x0f || raw[0] !== 19 || raw[1]! < 0x0f || raw[1]! > raw.length) {
    return `not an SMBIOS type 19 structure (${raw.length} bytes, type ${raw[0] ?? '?'}, length ${raw[1] ?? '?'})`;
  }
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const start = view.getUint32(4, true);
  const end = view.getUint32(8, true);
  let from: bigint;
  let to: bigint;
  if (start === 0xffffffff) {
    if (raw[1]! < 0x1f) return 'starting address FFFFFFFFh without the extended addresses of SMBIOS 2.7';
    from = view.getBigUint64(0x0f, true);
    to = view.getBigUint64(0x17, true);
  } else {
    if (start === 0 && end === 0) return null;
    from = BigInt(start) * 1024n;
    to = BigInt(end) * 1024n + 1023n;
  }
  if (to < from) return `ending address below the starting address`;
  if (from === 0n && to === 0n) return null;
  return [from, to];
}

// The top 16 MiB below 4 GiB hold the x86 firmware flash (and the APICs), never RAM. Some firmware lists the flash
// array's mapping as type 19 too (an HP dc5800: 0xffe00000-0xffffffff of its "Flash Memory" array). Which array a
// range belongs to is in type 16, which is not read (snapshots copy type 19 only), so a range that lies wholly in this
// window is taken for the flash's: 2 MiB of flash counted as RAM would lift an 8 GiB machine above an 8G bound.
const FLASH_WINDOW: [bigint, bigint] = [0xff000000n, 0xffffffffn];

function inFlashWindow([from, to]: [bigint, bigint]): boolean {
  return from >= FLASH_WINDOW[0] && to <= FLASH_WINDOW[1];
}

/** Overlapping or adjacent ranges counted once; KiB, rounded down. */
function sumRanges(ranges: [bigint, bigint][]): number {
  const sorted = [...ranges].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  let total = 0n;
  let [from, to] = sorted[0]!;
  for (const [a, b] of sorted.slice(1)) {
    if (a <= to + 1n) {
      if (b > to) to = b;
      continue;
    }
    total += to - from + 1n;
    [from, to] = [a, b];
  }
  total += to - from + 1n;
  return Number(total / 1024n);
}

export interface MachineMemory {
  kib: number;
  /** smbios: installedKiB, the firmware's figure; memtotal: MemTotal, the kernel's. */
  source: 'smbios' | 'memtotal';
}

/**
 * The machine's memory as the rules and the plan size things from: the SMBIOS figure whenever it is known (bare metal
 * and a Dom0 alike, so that both give the same plan); else MemTotal, except in a Xen Dom0, where MemTotal is Dom0's
 * own share and never the machine's: there it is unknown (null), and the plan says so (40-memory.yaml).
 */
export function machineMemory(profile: Pick<HardwareProfile, 'memory' | 'hypervisor'>): MachineMemory | null {
  const { totalKiB, installedKiB } = profile.memory;
  if (installedKiB !== null && installedKiB !== undefined) return { kib: installedKiB, source: 'smbios' };
  if (totalKiB === null || profile.hypervisor.role === 'dom0') return null;
  return { kib: totalKiB, source: 'memtotal' };
}

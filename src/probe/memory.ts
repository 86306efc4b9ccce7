// Installed memory as the kernel sees it: MemTotal of /proc/meminfo (kB, as the kernel always prints it). Under
// Xen this is dom0's allocation, not the machine's RAM; that difference is the hypervisor's to report.
//
// An imported tree whose logs give no /proc/meminfo but the memory modules (dmidecode's type 17 Memory Devices) holds
// their summed size instead, on a line no kernel prints (INSTALLED_LINE): installedKiB. It is not MemTotal, which is
// a little lower (firmware and kernel reserves, UMA graphics), and it is read only when MemTotal is not there.
import type { Memory } from '../types.ts';
import type { Reader } from './_reader.ts';

const MEMINFO = '/proc/meminfo';
/** The key of the import-only /proc/meminfo line: "Installed (SMBIOS):    2097152 kB". */
export const INSTALLED_LINE = 'Installed (SMBIOS)';

export async function probeMemory(reader: Reader): Promise<Memory> {
  const text = await reader.text(MEMINFO);
  if (text === null) return { totalKiB: null, installedKiB: null };
  const match = /^MemTotal:[ \t]+(\d+) kB$/m.exec(text);
  if (match) return { totalKiB: Number(match[1]), installedKiB: null };
  const installed = /^Installed \(SMBIOS\):[ \t]+(\d+) kB$/m.exec(text);
  if (installed) return { totalKiB: null, installedKiB: Number(installed[1]) };
  reader.diag('malformed', MEMINFO, `${MEMINFO}: no "MemTotal: N kB" line`);
  return { totalKiB: null, installedKiB: null };
}

// Installed memory as the kernel sees it: MemTotal of /proc/meminfo (kB, as the kernel always prints it). Under
// Xen this is dom0's allocation, not the machine's RAM; that difference is the hypervisor's to report.
import type { Memory } from '../types.ts';
import type { Reader } from './_reader.ts';

const MEMINFO = '/proc/meminfo';

export async function probeMemory(reader: Reader): Promise<Memory> {
  const text = await reader.text(MEMINFO);
  if (text === null) return { totalKiB: null };
  const match = /^MemTotal:[ \t]+(\d+) kB$/m.exec(text);
  if (!match) {
    reader.diag('malformed', MEMINFO, `${MEMINFO}: no "MemTotal: N kB" line`);
    return { totalKiB: null };
  }
  return { totalKiB: Number(match[1]) };
}

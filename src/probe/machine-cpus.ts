// The machine's CPU counts inside a Xen Dom0 (profile.cpu.logicalCpus, cores, packages; probe.ts applies them once
// the hypervisor probe has said dom0, so the CPU probe itself needs no role). A Dom0's /proc/cpuinfo lists its own
// vCPUs: as many as Xen gave it (fewer than the machine's under dom0_max_vcpus), with the topology Xen shows a PV
// guest. Issue #9, QEMU q35 `-smp 2` (1 socket, 2 cores) under Xen 4.17.7: both vCPUs of the Dom0 say "core id 0",
// "apicid 0", so cpuinfo gives 1 core where the same machine without Xen gives 2, and a plan made from it would
// differ from the bare-metal one and drift with Dom0's vCPUs from boot to boot. The machine's own figures instead:
//
// - logical CPUs: one /sys/devices/system/xen_cpu/xen_cpuN per physical CPU Xen reports to its Dom0 (Linux's
//   drivers/xen/pcpu.c, from XENPF_get_cpuinfo; online or not, each with an `online` file): the CPUs a bare-metal
//   cpuinfo lists. Not there on bare metal, nor under a Dom0 kernel older than that driver (2012; a 2.6.18
//   XenLinux has none): unknown there.
// - cores and packages: the SMBIOS Processor Information structures (type 4, /sys/firmware/dmi/entries/4-N/raw,
//   root only), the firmware's table, the same inside the Dom0 and without Xen: over the sockets that are populated
//   and whose CPU is not disabled, Core Enabled (else Core Count; their 16-bit "2" fields of SMBIOS 3.0 where the byte
//   says FFh), summed. Unknown when any of them cannot be read or used, or gives no core count (before SMBIOS 2.5): a
//   partial sum would be a wrong count. Only the formatted area is read; the strings (socket designation,
//   manufacturer, version, serial number, asset tag, part number) never are, and snapshots do not keep them.
//
// Never Dom0's own cpuinfo topology: what Xen's and the firmware's tables do not tell is null, and the plan says what
// it does then (plan.ts).
import type { Cpu } from '../types.ts';
import { compareNames, type Reader } from './_reader.ts';
import { DMI_ENTRIES } from './_smbios.ts';

export const XEN_CPU = '/sys/devices/system/xen_cpu';

export type CpuCounts = Pick<Cpu, 'logicalCpus' | 'cores' | 'packages' | 'countsFrom'>;

/** The machine's counts in a Xen Dom0, each with where it came from; `cpu` is what Dom0's own cpuinfo said. */
export async function dom0CpuCounts(reader: Reader, cpu: Pick<Cpu, 'logicalCpus' | 'cores'>): Promise<CpuCounts> {
  const [pcpus, sockets] = await Promise.all([xenPcpus(reader), smbiosCores(reader)]);
  const own =
    `this Dom0's /proc/cpuinfo (${plural(cpu.logicalCpus, 'vCPU')}, ${plural(cpu.cores, 'core')}) describes its own ` +
    'vCPUs, not the machine: not used';
  return {
    logicalCpus: pcpus.count,
    cores: sockets.cores,
    packages: sockets.packages,
    countsFrom: countsFrom(
      { logicalCpus: pcpus.count, cores: sockets.cores, packages: sockets.packages },
      { logicalCpus: 'xen', cores: 'smbios', packages: 'smbios' },
      [pcpus.evidence, sockets.evidence, own],
    ),
  };
}

type Counts = Pick<Cpu, 'logicalCpus' | 'cores' | 'packages'>;
type Sources = { [K in keyof Counts]: NonNullable<Cpu['countsFrom'][K]> };

/** Where each count came from: its source where the count is known, null where it is not. */
export function countsFrom(counts: Counts, sources: Sources, evidence: string[]): Cpu['countsFrom'] {
  const from = <K extends keyof Counts>(key: K) => (counts[key] === null ? null : sources[key]);
  return { logicalCpus: from('logicalCpus'), cores: from('cores'), packages: from('packages'), evidence };
}

function plural(n: number | null, what: string): string {
  return n === null ? `${what}s unknown` : `${n} ${what}${n === 1 ? '' : 's'}`;
}

/** The physical CPUs Xen lists to its Dom0: the xen_cpuN directories, and how many of them are online. */
async function xenPcpus(reader: Reader): Promise<{ count: number | null; evidence: string }> {
  const names = await reader.list(XEN_CPU);
  const cpus = (names ?? []).filter((n) => /^xen_cpu\d+$/.test(n)).sort(compareNames);
  if (cpus.length === 0) {
    const why = names === null ? `no ${XEN_CPU}` : `${XEN_CPU} lists no xen_cpuN`;
    return {
      count: null,
      evidence:
        `${why} (Linux's Xen pcpu driver, drivers/xen/pcpu.c, lists the physical CPUs there; older Dom0 kernels have ` +
        "none): the machine's logical CPUs are unknown",
    };
  }
  const online = await Promise.all(
    cpus.map(async (name) => {
      const path = `${XEN_CPU}/${name}/online`;
      const value = await reader.attr(path);
      return value === null || value === '0' || value === '1' ? value : reader.malformed(path, value, '0 or 1');
    }),
  );
  const shown = cpus.length <= 4 ? cpus.join(' ') : `${cpus[0]} ... ${cpus.at(-1)}`;
  const up = online.every((v) => v !== null) ? `, ${online.filter((v) => v === '1').length} online` : '';
  return { count: cpus.length, evidence: `Xen lists ${cpus.length} physical CPUs to its Dom0 (${XEN_CPU}: ${shown}${up})` };
}

/** One SMBIOS Processor Information structure (type 4), the fields used from its formatted area. */
export interface Processor {
  /** Processor Type (05h): 3 central processor; 4 math, 5 DSP, 6 video processor; 1 other, 2 unknown. */
  type: number;
  /** Status (18h) bit 6: the socket is populated. */
  populated: boolean;
  /**
   * Status bits 2:0: 0 unknown, 1 enabled, 2 disabled by the user (setup), 3 disabled by the BIOS (POST error),
   * 4 idle (waiting to be enabled), 7 other.
   */
  cpuStatus: number;
  /** Cores per socket (23h, SMBIOS 2.5; Core Count 2 at 2Ah, SMBIOS 3.0, where 23h is FFh); null when unknown. */
  coreCount: number | null;
  /** Cores the firmware enabled (24h; Core Enabled 2 at 2Ch); null when unknown. */
  coreEnabled: number | null;
  /** Threads per socket (25h; Thread Count 2 at 2Eh): what the socket supports, not what is enabled. Not used. */
  threadCount: number | null;
}

/**
 * One raw type 4 structure (SMBIOS 3.x, 7.5), as the kernel gives it or as a snapshot keeps it (the formatted area
 * and two NULs): the fields of Processor, or a message when it is not a usable type 4 structure. The fixed part up
 * to Status and Upgrade is 1Ah bytes (SMBIOS 2.0); a field beyond the structure's length is unknown.
 */
export function parseType4(raw: Uint8Array): Processor | string {
  if (raw.length < 0x1a || raw[0] !== 4 || raw[1]! < 0x1a || raw[1]! > raw.length) {
    return `not an SMBIOS type 4 structure (${raw.length} bytes, type ${raw[0] ?? '?'}, length ${raw[1] ?? '?'})`;
  }
  const length = raw[1]!;
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  // A BYTE count: 0 is unknown; FFh means the WORD field (SMBIOS 3.0) holds it, where 0 is unknown, FFFFh reserved.
  const count = (at: number, wordAt: number): number | null => {
    if (length <= at) return null;
    const byte = raw[at]!;
    if (byte === 0) return null;
    if (byte !== 0xff) return byte;
    if (length < wordAt + 2) return null;
    const word = view.getUint16(wordAt, true);
    return word === 0 || word === 0xffff ? null : word;
  };
  const status = raw[0x18]!;
  return {
    type: raw[5]!,
    populated: (status & 0x40) !== 0,
    cpuStatus: status & 0x07,
    coreCount: count(0x23, 0x2a),
    coreEnabled: count(0x24, 0x2c),
    threadCount: count(0x25, 0x2e),
  };
}

const NOT_CENTRAL: Record<number, string> = { 4: 'a math processor', 5: 'a DSP', 6: 'a video processor' };
const DISABLED: Record<number, string> = { 2: 'CPU disabled by the user', 3: 'CPU disabled by the firmware (POST error)' };

/** The cores (and sockets) of the SMBIOS type 4 structures, or null and why. */
async function smbiosCores(reader: Reader): Promise<{ cores: number | null; packages: number | null; evidence: string }> {
  const names = ((await reader.list(DMI_ENTRIES)) ?? []).filter((n) => /^4-\d+$/.test(n)).sort(compareNames);
  const unknown = (why: string) => ({ cores: null, packages: null, evidence: `${why}: the machine's cores are unknown` });
  if (names.length === 0) return unknown(`no SMBIOS processor structures (type 4) in ${DMI_ENTRIES}`);
  const counted: string[] = [];
  const skipped: string[] = [];
  const problems: string[] = [];
  let cores = 0;
  for (const name of names) {
    const path = `${DMI_ENTRIES}/${name}/raw`;
    // Every structure is read, also after a problem: the diagnostics name each, and a snapshot copies each.
    const raw = await reader.bytes(path, { required: true });
    if (raw === null) {
      problems.push(`${name} cannot be read (root only)`);
      continue;
    }
    const p = parseType4(raw);
    if (typeof p === 'string') {
      reader.diag('malformed', path, `${path}: ${p}`);
      problems.push(`${name} is malformed`);
      continue;
    }
    const skip = !p.populated ? 'socket unpopulated' : (DISABLED[p.cpuStatus] ?? NOT_CENTRAL[p.type]);
    if (skip !== undefined) {
      skipped.push(`${name}: ${skip}, not counted`);
      continue;
    }
    const n = p.coreEnabled ?? p.coreCount;
    if (n === null) {
      problems.push(`${name} gives no core count${raw[1]! < 0x24 ? ' (an SMBIOS structure before 2.5)' : ''}`);
      continue;
    }
    cores += n;
    const fields = [
      p.coreEnabled !== null ? `Core Enabled ${p.coreEnabled}` : null,
      p.coreCount !== null ? `Core Count ${p.coreCount}` : null,
      p.threadCount !== null ? `Thread Count ${p.threadCount}` : null,
    ];
    counted.push(`${name}: ${fields.filter(Boolean).join(', ')}`);
  }
  const also = skipped.length > 0 ? `; ${skipped.join('; ')}` : '';
  if (problems.length > 0) return unknown(`SMBIOS processor structures (type 4): ${problems.join('; ')}${also}`);
  if (counted.length === 0) return unknown(`SMBIOS processor structures (type 4): no populated socket with its CPU enabled${also}`);
  const sockets = counted.length;
  return {
    cores,
    packages: sockets,
    evidence:
      `SMBIOS processor structures (type 4): ${cores} cores in ${sockets} socket${sockets === 1 ? '' : 's'} ` +
      `(${counted.join('; ')})${also}`,
  };
}

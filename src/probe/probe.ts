// probe(): the whole hardware profile of the machine under `root`, read through an injected fs.
import { posix } from 'node:path';
import { AutoconfigError, errnoCode } from '../errors.ts';
import { nodeFsPromises, type FsLike } from '../fs.ts';
import { readUnknownBindings } from '../import/binding.ts';
import type { HardwareProfile } from '../types.ts';
import { Reader } from './_reader.ts';
import { dom0Hap, dom0Vt, probeCpu } from './cpu.ts';
import { probeDmi } from './dmi.ts';
import { probeFirmware } from './firmware.ts';
import { probeGraphicsMemory } from './graphics-memory.ts';
import { probeHypervisor } from './hypervisor.ts';
import { probeKernel } from './kernel.ts';
import { dom0CpuCounts } from './machine-cpus.ts';
import { probeMemory } from './memory.ts';
import { probePci } from './pci.ts';
import { probeUsb } from './usb.ts';

export interface ProbeOptions {
  /** Filesystem to read through; node:fs/promises by default. */
  fs?: FsLike;
  /** The machine's root: "/" for the live system, a snapshot directory, a mounted target. */
  root?: string;
  /** Time limit for each device-node read (/dev/cpu/0/cpuid, msr), ms. Default 2000. */
  deviceTimeoutMs?: number;
  /** Cap for one sysfs attribute, bytes. Default 64 KiB. */
  attrCap?: number;
  /** Throw E_ROOT when the root holds no machine (none of MACHINE_SOURCES): for a plan, nothing is an error. */
  requireMachine?: boolean;
}

/**
 * probe() throws only for the root itself (AutoconfigError E_ROOT, naming it): relative, missing, not a directory,
 * or, with requireMachine, holding no machine. Everything under an existing root is data: diagnostics.
 */
export async function probe(options: ProbeOptions = {}): Promise<HardwareProfile> {
  await checkRoot(options.fs ?? nodeFsPromises, options.root ?? '/');
  const reader = createReader(options);
  if (options.requireMachine) await requireMachine(reader);
  return probeWith(reader);
}

/** The root must be an absolute path to a directory (symlinks followed, as for any directory argument). */
export async function checkRoot(fs: FsLike, root: string): Promise<void> {
  if (!root.startsWith('/')) {
    throw new AutoconfigError('E_ROOT', `${JSON.stringify(root)}: a relative root; give an absolute path`, { path: root });
  }
  let isDirectory: boolean;
  try {
    isDirectory = (await (fs.sync ? fs.sync.statSync(root) : fs.stat(root))).isDirectory();
  } catch (error) {
    const code = errnoCode(error);
    const why = code === 'ENOENT' || code === 'ENOTDIR' ? 'no such directory' : `cannot be read (${code ?? String(error)})`;
    throw new AutoconfigError('E_ROOT', `${root}: ${why}`, { path: root, cause: error });
  }
  if (!isDirectory) throw new AutoconfigError('E_ROOT', `${root}: not a directory`, { path: root });
}

/**
 * What makes a root hold a machine: at least one of the sources the profile is made of. A live system, a snapshot and
 * an import have some (an imported EC2 guest only its meminfo and DMI); an empty directory, a home directory or an
 * offline system's root (/proc and /sys empty mount points) has none, and a plan made from it would be empty.
 */
export const MACHINE_SOURCES = [
  '/proc/cpuinfo',
  '/proc/meminfo',
  '/sys/bus/pci/devices',
  '/sys/bus/usb/devices',
  '/sys/class/dmi/id',
  '/sys/hypervisor/type',
  '/proc/xen/capabilities',
] as const;

/** checkRoot(), then the same E_ROOT when the root holds no machine (for callers that read it their own way). */
export async function assertMachine(fs: FsLike, root: string): Promise<void> {
  await checkRoot(fs, root);
  await requireMachine(new Reader({ fs, root }));
}

async function requireMachine(reader: Reader): Promise<void> {
  for (const source of MACHINE_SOURCES) if (await reader.exists(source)) return;
  const root = reader.root;
  const message =
    `${root} holds no machine: none of ${MACHINE_SOURCES.join(', ')} is there ` +
    '(give the root of a running system, a snapshot or an import; an offline system is probed from its running one)';
  throw new AutoconfigError('E_ROOT', message, { path: root });
}

export function createReader(options: ProbeOptions = {}): Reader {
  return new Reader({
    fs: options.fs ?? nodeFsPromises,
    root: options.root ?? '/',
    ...(options.deviceTimeoutMs === undefined ? {} : { deviceTimeoutMs: options.deviceTimeoutMs }),
    ...(options.attrCap === undefined ? {} : { attrCap: options.attrCap }),
  });
}

/** The same, with a caller-made Reader (the snapshot command records what it reads). */
export async function probeWith(reader: Reader): Promise<HardwareProfile> {
  // Independent sources are read concurrently; the CPU needs the kernel release (old kernels never hide vmx),
  // the hypervisor verdict needs the CPU's CPUID signature and the DMI strings, graphics memory the display functions.
  const [kernel, pci, usb, memory, dmi, firmware, bindingUnknown] = await Promise.all([
    probeKernel(reader),
    probePci(reader),
    probeUsb(reader),
    probeMemory(reader),
    probeDmi(reader),
    probeFirmware(reader),
    // An imported tree's manifest says on which buses its logs named no drivers (src/import/binding.ts).
    readUnknownBindings(reader),
  ]);
  const [cpu, graphicsMemory] = await Promise.all([
    probeCpu(reader, { kernelRelease: kernel.kernel.release }),
    probeGraphicsMemory(reader, pci),
  ]);
  const hypervisor = await probeHypervisor(reader, { cpu, dmi, pci });
  if (hypervisor.role === 'dom0') {
    // In a Xen Dom0 the CPU flags hide VMX/SVM: Xen's capabilities (hvm-*) tell instead (cpu.ts dom0Vt). And its
    // cpuinfo lists its own vCPUs: the machine's counts come from Xen's PCPU list and SMBIOS (machine-cpus.ts).
    cpu.vt = dom0Vt(cpu, hypervisor.xen.capabilities);
    cpu.hap = dom0Hap(cpu, hypervisor.dmiVendor !== null);
    Object.assign(cpu, await dom0CpuCounts(reader, cpu));
  }
  return {
    version: 1,
    pci,
    usb,
    ...(bindingUnknown.length > 0 ? { bindingUnknown } : {}),
    cpu,
    memory,
    graphicsMemory,
    dmi,
    firmware,
    hypervisor,
    cmdline: kernel.cmdline,
    kernel: kernel.kernel,
    // Concurrent reads record diagnostics in arrival order: sort so that the profile is deterministic.
    diagnostics: [...reader.diagnostics].sort(
      (a, b) => cmp(a.path, b.path) || cmp(a.code, b.code) || cmp(a.message, b.message),
    ),
  };
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

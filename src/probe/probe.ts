// probe(): the whole hardware profile of the machine under `root`, read through an injected fs.
import { nodeFsPromises, type FsLike } from '../fs.ts';
import type { HardwareProfile } from '../types.ts';
import { Reader } from './_reader.ts';
import { dom0Vt, probeCpu } from './cpu.ts';
import { probeDmi } from './dmi.ts';
import { probeFirmware } from './firmware.ts';
import { probeGraphicsMemory } from './graphics-memory.ts';
import { probeHypervisor } from './hypervisor.ts';
import { probeKernel } from './kernel.ts';
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
}

export async function probe(options: ProbeOptions = {}): Promise<HardwareProfile> {
  const reader = createReader(options);
  return probeWith(reader);
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
  const [kernel, pci, usb, memory, dmi, firmware] = await Promise.all([
    probeKernel(reader),
    probePci(reader),
    probeUsb(reader),
    probeMemory(reader),
    probeDmi(reader),
    probeFirmware(reader),
  ]);
  const [cpu, graphicsMemory] = await Promise.all([
    probeCpu(reader, { kernelRelease: kernel.kernel.release }),
    probeGraphicsMemory(reader, pci),
  ]);
  const hypervisor = await probeHypervisor(reader, { cpu, dmi, pci });
  // In a Xen Dom0 the CPU flags hide VMX/SVM: Xen's capabilities (hvm-*) tell instead (cpu.ts dom0Vt).
  if (hypervisor.role === 'dom0') cpu.vt = dom0Vt(cpu, hypervisor.xen.capabilities);
  return {
    version: 1,
    pci,
    usb,
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

// The whole `autoconfig drivers` job as one call: pick and load the kernel data, read the target's
// modprobe.d, resolve every device of the profile. The CLI prints the result with formatDriversReport().
import type { FsLike } from '../fs.ts';
import type { HardwareProfile } from '../types.ts';
import type { ModaliasIssue } from './alias-file.ts';
import { loadKernelData, type KernelData, type KernelSource, type LoadKernelOptions } from './kernel-data.ts';
import { loadModprobeConfig, type ModprobeConfig } from './modprobe-d.ts';
import {
  devicesFromProfile,
  kernelDeniedModules,
  resolveDrivers,
  type DriverContext,
  type DriverDevice,
  type DriverMatch,
} from './resolve.ts';

export interface DriversReport {
  kernel: { source: KernelSource; dir: string; release: string };
  /** modprobe.d files read, in kmod's order. */
  configFiles: string[];
  devices: DriverMatch[];
  /** Kernel data and modprobe.d problems (file, line, message). */
  issues: ModaliasIssue[];
}

export interface DriverContextOptions {
  fs?: FsLike;
  root?: string;
  release?: string | null;
  kernelDir?: string | null;
  /** The shipped reference to fall back on, or how to choose it (loadKernelData); the newest when absent. */
  referenceRelease?: LoadKernelOptions['referenceRelease'];
  cmdline?: readonly string[];
}

export async function loadDriverContext(options: DriverContextOptions = {}): Promise<DriverContext> {
  const kernel: KernelData = await loadKernelData(options);
  const config: ModprobeConfig = await loadModprobeConfig({
    ...(options.fs ? { fs: options.fs } : {}),
    root: options.root ?? '/',
    kernelSoftdep: kernel.softdep,
    cmdline: options.cmdline ?? [],
  });
  return { kernel, config, kernelDenied: kernelDeniedModules(options.cmdline ?? []) };
}

/** Resolves the profile's devices (plus any `extra` modalias-carrying devices) against the chosen kernel. */
export async function driversReport(
  profile: Pick<HardwareProfile, 'pci' | 'usb' | 'kernel' | 'cmdline'>,
  options: Omit<DriverContextOptions, 'release' | 'cmdline'> & { extra?: readonly DriverDevice[] } = {},
): Promise<DriversReport> {
  const ctx = await loadDriverContext({ ...options, release: profile.kernel.release, cmdline: profile.cmdline });
  const devices = resolveDrivers(ctx, [...devicesFromProfile(profile), ...(options.extra ?? [])]);
  const { source, dir, release } = ctx.kernel;
  return {
    kernel: { source, dir, release },
    configFiles: ctx.config.files,
    devices,
    issues: [...ctx.kernel.issues, ...ctx.config.issues],
  };
}

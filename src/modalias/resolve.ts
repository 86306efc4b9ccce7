// Per device: which modules the kernel's loader would consider for its modalias (kmod_module_new_from_lookup,
// step by step), which of them are built in or blacklisted, and the one that would load first.
import type { HardwareProfile } from '../types.ts';
import { fnmatch, moduleName, normalizeAlias, toByteString } from './glob.ts';
import type { KernelData } from './kernel-data.ts';
import type { ConfigAlias, ConfigOrigin, ModprobeConfig } from './modprobe-d.ts';

/** Where a lookup found its modules: the first step of kmod's chain that yields anything wins. */
export type LookupSource =
  | 'modprobe.d alias'
  | 'module name' // modules.dep
  | 'install command'
  | 'remove command'
  | 'modules.alias'
  | 'built-in module' // modules.builtin
  | 'built-in alias'; // modules.builtin.modinfo

export interface Lookup {
  /** In kmod's order, each once. */
  modules: string[];
  source: LookupSource | null;
  /** Found through an alias (a blacklist applies only then, as with modprobe's default flags). */
  viaAlias: boolean;
  /** The first modprobe.d alias line that matched, when the source is one. */
  configAlias?: ConfigAlias;
}

export interface DriverContext {
  kernel: KernelData;
  config: ModprobeConfig;
  /** Names the kernel itself refuses (module_blacklist= on the command line): loading them fails with EPERM. */
  kernelDenied?: ReadonlySet<string>;
}

/**
 * kmod 30's lookup chain: modprobe.d aliases, a module name from modules.dep, install/remove commands,
 * modules.alias, modules.builtin, built-in aliases. modules.symbols (`symbol:NAME`) is not part of the shipped
 * data and is skipped; no device modalias starts with `symbol:`.
 */
export function lookupModules(ctx: DriverContext, query: string): Lookup {
  const alias = normalizeAlias(toByteString(query));
  if (alias === null) return { modules: [], source: null, viaAlias: false };
  const { kernel, config } = ctx;
  // Config aliases are plain fnmatch() over the whole pattern: no trie, so a backslash escapes from the start.
  const lines = config.aliases.filter((a) => fnmatch(a.pattern, alias));
  if (lines.length > 0) {
    const modules = unique(lines.map((a) => a.module));
    return { modules, source: 'modprobe.d alias', viaAlias: true, configAlias: lines[0]! };
  }
  if (kernel.isModule(alias)) return { modules: [alias], source: 'module name', viaAlias: false };
  if (config.install.some((c) => c.module === alias)) return { modules: [alias], source: 'install command', viaAlias: false };
  if (config.remove.some((c) => c.module === alias)) return { modules: [alias], source: 'remove command', viaAlias: false };
  const fromAlias = kernel.lookupAlias(alias);
  if (fromAlias.length > 0) return { modules: fromAlias, source: 'modules.alias', viaAlias: true };
  if (kernel.isBuiltin(alias)) return { modules: [alias], source: 'built-in module', viaAlias: false };
  const fromBuiltin = kernel.lookupBuiltinAlias(alias);
  if (fromBuiltin.length > 0) return { modules: fromBuiltin, source: 'built-in alias', viaAlias: true };
  return { modules: [], source: null, viaAlias: false };
}

/** A device as the matcher needs it. */
export interface DriverDevice {
  bus: string;
  /** PCI slot ("0000:00:02.0"), USB interface path ("1-1.2:1.0"), or another stable name. */
  id: string;
  modalias: string;
  /** The driver bound now (sysfs `driver` link), null if none. */
  bound: string | null;
}

export interface DriverMatch {
  bus: string;
  id: string;
  modalias: string;
  /** Every module the loader would consider, in kmod's order, each once. */
  candidates: string[];
  /** The candidates that are built into the kernel. */
  builtin: string[];
  bound: string | null;
  /** The module that would load (or is built in) first; null when none can. */
  chosen: string | null;
  /** Candidates hidden by a blacklist. */
  blacklisted: string[];
  reason: string;
  /**
   * Where each loadable candidate and the bound driver are in the module tree (modules.dep paths such as
   * "kernel/drivers/net/wireless/ath/ath5k/ath5k.ko"): the kernel's own grouping of drivers, e.g. wireless ones.
   */
  paths: Record<string, string>;
}

/**
 * Each PCI function and each USB interface of a profile that has a modalias, in profile order; a PCI function
 * without one (a log that lacks the ids, /proc/bus/pci/devices) when a driver is bound to it: its modalias is ''.
 */
export function devicesFromProfile(profile: Pick<HardwareProfile, 'pci' | 'usb'>): DriverDevice[] {
  const devices: DriverDevice[] = [];
  for (const d of profile.pci) {
    if (d.modalias || d.driver) devices.push({ bus: 'pci', id: d.slot, modalias: d.modalias ?? '', bound: d.driver });
  }
  for (const u of profile.usb) {
    for (const i of u.interfaces) {
      if (i.modalias) devices.push({ bus: 'usb', id: i.path, modalias: i.modalias, bound: i.driver });
    }
  }
  return devices;
}

/** `module_blacklist=a,b` tokens of a kernel command line: modules the kernel refuses to load. */
export function kernelDeniedModules(cmdline: readonly string[]): Set<string> {
  const denied = new Set<string>();
  for (const token of cmdline) {
    if (!token.startsWith('module_blacklist=')) continue;
    for (const name of token.slice('module_blacklist='.length).split(',')) if (name !== '') denied.add(name);
  }
  return denied;
}

export function resolveDevice(ctx: DriverContext, device: DriverDevice): DriverMatch {
  const { kernel, config } = ctx;
  if (device.modalias === '') return boundOnly(ctx, device);
  const found = lookupModules(ctx, device.modalias);
  const candidates = found.modules;
  const builtin = candidates.filter((m) => kernel.isBuiltin(m));
  const why = new Map<string, string>();
  for (const m of candidates) {
    const origin: ConfigOrigin | undefined = found.viaAlias ? config.blacklist.get(m) : undefined;
    if (origin) why.set(m, `blacklist ${where(origin)}`);
    else if (ctx.kernelDenied?.has(m) && !kernel.isBuiltin(m)) why.set(m, 'module_blacklist= on the kernel command line');
  }
  const blacklisted = candidates.filter((m) => why.has(m));
  const loadable = (m: string) => kernel.isBuiltin(m) || kernel.isModule(m);
  const chosen = candidates.find((m) => !why.has(m) && loadable(m)) ?? null;

  const notes: string[] = [];
  if (candidates.length === 0) notes.push('no module alias matches');
  else {
    if (found.configAlias) notes.push(`modprobe.d alias (${where(found.configAlias)})`);
    for (const m of blacklisted) notes.push(`${m}: ${why.get(m)}`);
    const missing = candidates.filter((m) => !loadable(m));
    if (missing.length > 0) notes.push(`not in this kernel: ${missing.join(', ')}`);
    if (chosen === null) notes.push('no candidate can load');
    else if (kernel.isBuiltin(chosen)) notes.push(`${chosen} is built into the kernel`);
    else if (candidates.length === 1) notes.push('the only candidate');
    else notes.push(`first loadable of ${candidates.length} candidates in modules.order`);
  }
  return {
    bus: device.bus,
    id: device.id,
    modalias: device.modalias,
    candidates,
    builtin,
    bound: device.bound,
    chosen,
    blacklisted,
    reason: notes.join('; '),
    paths: modulePaths(kernel, device.bound === null ? candidates : [...candidates, moduleName(device.bound)]),
  };
}

/**
 * A device known only by the driver bound to it (no modalias to look up): that driver, when this kernel has it as
 * a module or built in, is what would load; nothing otherwise (an out-of-tree module, a core driver like pcieport).
 */
function boundOnly(ctx: DriverContext, device: DriverDevice): DriverMatch {
  const { kernel } = ctx;
  const name = moduleName(device.bound ?? '');
  const builtin = kernel.isBuiltin(name);
  const usable = name !== '' && (builtin || kernel.isModule(name));
  return {
    bus: device.bus,
    id: device.id,
    modalias: '',
    candidates: usable ? [name] : [],
    builtin: builtin ? [name] : [],
    bound: device.bound,
    chosen: usable ? name : null,
    blacklisted: [],
    reason: usable
      ? `no modalias; the driver bound to it, ${name}${builtin ? ', is built into the kernel' : ''}`
      : `no modalias; the bound driver ${device.bound} is no module of this kernel`,
    paths: modulePaths(kernel, usable ? [name] : []),
  };
}

function modulePaths(kernel: DriverContext['kernel'], names: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of names) {
    const path = kernel.modulePath(name);
    if (path !== null) Object.defineProperty(out, name, { value: path, enumerable: true, writable: true, configurable: true });
  }
  return out;
}

export function resolveDrivers(ctx: DriverContext, devices: readonly DriverDevice[]): DriverMatch[] {
  return devices.map((d) => resolveDevice(ctx, d));
}

function where(origin: ConfigOrigin): string {
  return `${origin.file}:${origin.line}`;
}

function unique(names: string[]): string[] {
  return [...new Set(names)];
}

// Evaluates one `when:` against the machine: the profile, kmod's driver matches, the target, the facts set so far
// and the boot line. A match carries evidence (what about the machine made it true, for `autoconfig explain`) and
// the devices it found (the PCI slots and USB interfaces module actions apply to).
import { fnmatch } from '../modalias/glob.ts';
import { machineMemory } from '../probe/memory.ts';
import type { DriverMatch } from '../modalias/resolve.ts';
import type { HardwareProfile, PciDevice, UsbDevice, UsbInterface } from '../types.ts';
import { truthy } from './facts.ts';
import type {
  Cheatcode,
  Condition,
  CpuCondition,
  DmiCondition,
  FactValue,
  FirmwareCondition,
  HypervisorCondition,
  IdList,
  NumRange,
  OneOrMore,
  PciCondition,
  Target,
  TargetCondition,
  UsbCondition,
} from './types.ts';
import { versionSatisfies } from './version.ts';
import { moduleKey } from '../modalias/module-name.ts';

export interface ConditionContext {
  profile: HardwareProfile;
  /** kmod's matches by `${bus} ${id}` ("pci 0000:00:02.0", "usb 1-1:1.0"). */
  drivers: ReadonlyMap<string, DriverMatch>;
  target: Target;
  /** Facts set by the rules evaluated so far. */
  facts: ReadonlyMap<string, FactValue>;
  cheatcodes: readonly Cheatcode[];
  lists: ReadonlyMap<string, IdList>;
}

export interface ConditionResult {
  match: boolean;
  /** Only filled when the condition matches. */
  evidence: string[];
  /** PCI slots and USB interface paths, in profile order, each once. */
  devices: string[];
}

export interface ContextInput {
  profile: HardwareProfile;
  drivers?: readonly DriverMatch[];
  target: Target;
  facts?: ReadonlyMap<string, FactValue>;
  cheatcodes?: readonly Cheatcode[];
  lists?: readonly IdList[];
}

export function conditionContext(input: ContextInput): ConditionContext {
  const lists = new Map<string, IdList>();
  // The first declaration of a name wins, as lint keeps it (a later one is a duplicate_list error).
  for (const l of input.lists ?? []) if (!lists.has(l.name)) lists.set(l.name, l);
  return {
    profile: input.profile,
    drivers: new Map((input.drivers ?? []).map((d) => [`${d.bus} ${d.id}`, d])),
    target: input.target,
    facts: input.facts ?? new Map(),
    cheatcodes: input.cheatcodes ?? [],
    lists,
  };
}

const UNITS: Record<string, number> = { K: 2 ** 10, M: 2 ** 20, G: 2 ** 30, T: 2 ** 40 };

/** "512M" -> bytes (binary units, as Xen and Linux read sizes); null when not digits plus K, M, G or T. */
export function parseSize(text: string): number | null {
  const m = /^([0-9]+)([KMGT])$/.exec(text);
  return m ? Number(m[1]) * UNITS[m[2]!]! : null;
}

const NO: ConditionResult = { match: false, evidence: [], devices: [] };

export function evaluateCondition(c: Condition, ctx: ConditionContext): ConditionResult {
  const evidence: string[] = [];
  const devices: string[] = [];
  const take = (r: ConditionResult | string[] | null): boolean => {
    if (r === null) return false;
    if (Array.isArray(r)) return evidence.push(...r), true;
    if (!r.match) return false;
    evidence.push(...r.evidence);
    addAll(devices, r.devices);
    return true;
  };
  // A fixed order (not the object's): the same rule gives the same evidence however it was stored.
  if (c.all !== undefined && !take(all(c.all, ctx))) return NO;
  if (c.any !== undefined && !take(any(c.any, ctx))) return NO;
  if (c.not !== undefined && !take(evaluateCondition(c.not, ctx).match ? null : [`not ${JSON.stringify(c.not)}`])) return NO;
  if (c.pci !== undefined && !take(pci(c.pci, ctx))) return NO;
  if (c.usb !== undefined && !take(usb(c.usb, ctx))) return NO;
  if (c.cpu !== undefined && !take(cpu(c.cpu, ctx.profile))) return NO;
  if (c.memory !== undefined && !take(memory(c.memory, ctx.profile))) return NO;
  if (c.dmi !== undefined && !take(dmi(c.dmi, ctx.profile))) return NO;
  if (c.firmware !== undefined && !take(firmware(c.firmware, ctx.profile))) return NO;
  if (c.hypervisor !== undefined && !take(hypervisor(c.hypervisor, ctx.profile))) return NO;
  if (c.target !== undefined && !take(target(c.target, ctx))) return NO;
  if (c.cheatcode !== undefined && !take(cheatcode(c.cheatcode, ctx.cheatcodes))) return NO;
  if (c.fact !== undefined && !take(fact(c.fact, ctx.facts))) return NO;
  return { match: true, evidence, devices };
}

function all(conditions: readonly Condition[], ctx: ConditionContext): ConditionResult {
  const evidence: string[] = [];
  const devices: string[] = [];
  for (const c of conditions) {
    const r = evaluateCondition(c, ctx);
    if (!r.match) return NO;
    evidence.push(...r.evidence);
    addAll(devices, r.devices);
  }
  return { match: true, evidence, devices };
}

// Every alternative is tried (not just up to the first match) so that all matching devices count.
function any(conditions: readonly Condition[], ctx: ConditionContext): ConditionResult {
  const evidence: string[] = [];
  const devices: string[] = [];
  let match = false;
  for (const c of conditions) {
    const r = evaluateCondition(c, ctx);
    if (!r.match) continue;
    match = true;
    evidence.push(...r.evidence);
    addAll(devices, r.devices);
  }
  return match ? { match, evidence, devices } : NO;
}

function addAll(to: string[], items: readonly string[]): void {
  for (const item of items) if (!to.includes(item)) to.push(item);
}

function list<T>(v: OneOrMore<T>): readonly T[] {
  return Array.isArray(v) ? v : [v];
}

function inList(ctx: ConditionContext, names: OneOrMore<string>, bus: 'pci' | 'usb', vendor: string | null, id: string | null): string | null {
  if (vendor === null || id === null) return null;
  for (const name of list(names)) {
    const ids = ctx.lists.get(name)?.[bus] ?? [];
    if (ids.includes(`${vendor}:${id}`) || ids.includes(`${vendor}:*`)) return name;
  }
  return null;
}

function candidate(ctx: ConditionContext, key: string, names: OneOrMore<string>): string | null {
  const offered = (ctx.drivers.get(key)?.candidates ?? []).map(moduleKey);
  return list(names).find((n) => offered.includes(moduleKey(n))) ?? null;
}

/**
 * The driver bound to a device against `driver:` (`none` for unbound). Where the profile does not know which driver
 * is bound (HardwareProfile.bindingUnknown: an import from logs that name none), neither a driver nor `none` holds.
 */
function boundDriver(actual: string | null, wanted: OneOrMore<string>, unknown: boolean): boolean {
  if (unknown) return false;
  return list(wanted).some((w) => (w === 'none' ? actual === null : actual !== null && moduleKey(w) === moduleKey(actual)));
}

function hexIs(actual: string | null, wanted: OneOrMore<string>): boolean {
  return actual !== null && list(wanted).some((w) => w === actual.toLowerCase());
}

function globIs(actual: string | null, wanted: OneOrMore<string>): boolean {
  return actual !== null && list(wanted).some((w) => fnmatch(w, actual));
}

const PCI_HEX = ['vendor', 'device', 'subvendor', 'subdevice', 'class', 'subclass', 'progIf', 'revision'] as const;

function pci(c: PciCondition, ctx: ConditionContext): ConditionResult {
  const evidence: string[] = [];
  const devices: string[] = [];
  for (const d of ctx.profile.pci) {
    const why = pciDevice(c, d, ctx);
    if (why === null) continue;
    devices.push(d.slot);
    evidence.push(`pci ${d.slot} [${d.vendor ?? '?'}:${d.device ?? '?'}]${why.length ? ` ${why.join(', ')}` : ''}`);
  }
  return devices.length ? { match: true, evidence, devices } : NO;
}

function pciDevice(c: PciCondition, d: PciDevice, ctx: ConditionContext): string[] | null {
  const why: string[] = [];
  for (const f of PCI_HEX) {
    const want = c[f];
    if (want === undefined) continue;
    if (!hexIs(d[f], want)) return null;
    if (f !== 'vendor' && f !== 'device') why.push(`${f} ${d[f]}`);
  }
  if (c.modalias !== undefined) {
    if (!globIs(d.modalias, c.modalias)) return null;
    why.push(`modalias ${d.modalias}`);
  }
  if (c.driver !== undefined) {
    if (!boundDriver(d.driver, c.driver, ctx.profile.bindingUnknown?.includes('pci') === true)) return null;
    why.push(`driver ${d.driver ?? 'none'}`);
  }
  if (c.slot !== undefined) {
    const slot = d.slot.toLowerCase();
    if (!list(c.slot).some((s) => (s.length === 7 ? `0000:${s}` : s) === slot)) return null;
    why.push(`at ${d.slot}`);
  }
  if (c.list !== undefined) {
    const name = inList(ctx, c.list, 'pci', d.vendor, d.device);
    if (name === null) return null;
    why.push(`in list ${name}`);
  }
  if (c.candidate !== undefined) {
    const m = candidate(ctx, `pci ${d.slot}`, c.candidate);
    if (m === null) return null;
    why.push(`kmod candidate ${m}`);
  }
  return why;
}

function usb(c: UsbCondition, ctx: ConditionContext): ConditionResult {
  const evidence: string[] = [];
  const devices: string[] = [];
  for (const u of ctx.profile.usb) {
    for (const i of u.interfaces) {
      const why = usbInterface(c, u, i, ctx);
      if (why === null) continue;
      devices.push(i.path);
      evidence.push(`usb ${i.path} [${u.vendor ?? '?'}:${u.product ?? '?'}]${why.length ? ` ${why.join(', ')}` : ''}`);
    }
  }
  return devices.length ? { match: true, evidence, devices } : NO;
}

function usbInterface(c: UsbCondition, u: UsbDevice, i: UsbInterface, ctx: ConditionContext): string[] | null {
  const why: string[] = [];
  if (c.vendor !== undefined && !hexIs(u.vendor, c.vendor)) return null;
  if (c.product !== undefined && !hexIs(u.product, c.product)) return null;
  for (const f of ['class', 'subclass', 'protocol'] as const) {
    const want = c[f];
    if (want === undefined) continue;
    if (!hexIs(i[f], want)) return null;
    why.push(`interface ${f} ${i[f]}`);
  }
  if (c.modalias !== undefined) {
    if (!globIs(i.modalias, c.modalias)) return null;
    why.push(`modalias ${i.modalias}`);
  }
  if (c.driver !== undefined) {
    if (!boundDriver(i.driver, c.driver, ctx.profile.bindingUnknown?.includes('usb') === true)) return null;
    why.push(`driver ${i.driver ?? 'none'}`);
  }
  if (c.list !== undefined) {
    const name = inList(ctx, c.list, 'usb', u.vendor, u.product);
    if (name === null) return null;
    why.push(`in list ${name}`);
  }
  if (c.candidate !== undefined) {
    const m = candidate(ctx, `usb ${i.path}`, c.candidate);
    if (m === null) return null;
    why.push(`kmod candidate ${m}`);
  }
  return why;
}

function numIn(actual: number | null, want: NumRange): boolean {
  if (actual === null) return false;
  if (typeof want === 'number') return actual === want;
  return (want.min === undefined || actual >= want.min) && (want.max === undefined || actual <= want.max);
}

function cpu(c: CpuCondition, profile: HardwareProfile): string[] | null {
  const p = profile.cpu;
  const why: string[] = [];
  if (c.vendor !== undefined) {
    if (p.vendor === null || !list(c.vendor).includes(p.vendor)) return null;
    why.push(`cpu vendor ${p.vendor}`);
  }
  if (c.family !== undefined) {
    if (!numIn(p.family, c.family)) return null;
    why.push(`cpu family ${p.family}`);
  }
  if (c.model !== undefined) {
    if (!numIn(p.model, c.model)) return null;
    why.push(`cpu model ${p.model}`);
  }
  // Newer kernels list VMX features (ept, vpid ...) on their own line; older ones among the flags.
  const has = (f: string) => p.flags.includes(f) || p.vmxFlags.includes(f);
  if (c.flags !== undefined) {
    if (!c.flags.every(has)) return null;
    if (c.flags.length) why.push(`cpu flags ${c.flags.join(' ')}`);
  }
  if (c.lacks !== undefined) {
    // Without a flags line every flag looks absent; that must not read as "lacks". A partial statement (an imported
    // lscpu's op-mode and Virtualization lines) tells some flags missing: those, and only those, count.
    const lacks = (f: string) => (p.flagsKnown ? !has(f) : p.flagsAbsent.includes(f));
    if (!c.lacks.every(lacks)) return null;
    if (c.lacks.length) why.push(`cpu lacks ${c.lacks.join(' ')}`);
  }
  if (c.vt !== undefined) {
    if (!list(c.vt).includes(p.vt.state)) return null;
    why.push(`cpu vt ${p.vt.state}${p.vt.technology ? ` (${p.vt.technology})` : ''}`);
  }
  if (c.hap !== undefined) {
    if (!list(c.hap).includes(p.hap.state)) return null;
    why.push(`cpu hap ${p.hap.state}${p.hap.feature ? ` (${p.hap.feature})` : ''}${p.hap.evidence.length ? `: ${p.hap.evidence.join('; ')}` : ''}`);
  }
  if (c.longMode !== undefined) {
    if (p.longMode !== c.longMode) return null;
    why.push(`cpu long mode ${p.longMode === null ? 'unknown' : p.longMode ? 'yes' : 'no'}`);
  }
  if (c.modelName !== undefined) {
    if (!globIs(p.modelName, c.modelName)) return null;
    why.push(`cpu model name "${p.modelName}"`);
  }
  return why;
}

/**
 * The machine's memory (probe/memory.ts machineMemory): the installed memory the SMBIOS tables state whenever known,
 * else MemTotal, but never a Xen Dom0's MemTotal (its own share). MemTotal is always below the installed size
 * (firmware and kernel reserves, UMA graphics), so for the SMBIOS figure a size equal to a bound counts as below it:
 * 2 GiB installed satisfy `max: 2G`, not `min: 2G`, as the MemTotal of such a machine would.
 */
function memory(c: { min?: string; max?: string }, profile: HardwareProfile): string[] | null {
  const machine = machineMemory(profile);
  if (machine === null) return null;
  const smbios = machine.source === 'smbios';
  const bytes = machine.kib * 1024;
  const min = c.min === undefined ? null : parseSize(c.min);
  const max = c.max === undefined ? null : parseSize(c.max);
  const belowMin = min !== null && (smbios ? bytes <= min : bytes < min);
  if (belowMin || (max !== null && bytes > max)) return null;
  const bounds = [c.min !== undefined ? `>= ${c.min}` : '', c.max !== undefined ? `<= ${c.max}` : ''].filter(Boolean).join(' ');
  const what = smbios ? 'memory installed (SMBIOS; MemTotal is a little lower)' : 'memory';
  return [`${what} ${Math.floor(machine.kib / 1024)} MiB${bounds ? ` (${bounds})` : ''}`];
}

function dmi(c: DmiCondition, profile: HardwareProfile): string[] | null {
  const why: string[] = [];
  for (const [field, want] of Object.entries(c) as [keyof DmiCondition, OneOrMore<string>][]) {
    const actual = profile.dmi[field] ?? null;
    if (!globIs(actual, want)) return null;
    why.push(`dmi ${field} "${actual}"`);
  }
  return why;
}

/**
 * An unknown firmware fact (efi or the IOMMU tables null: an imported log that does not tell) matches neither
 * `efi: true` nor `efi: false`, neither `iommu: true` nor `iommu: false` (docs/rules.md).
 */
function firmware(c: FirmwareCondition, profile: HardwareProfile): string[] | null {
  const f = profile.firmware;
  const why: string[] = [];
  if (c.efi !== undefined) {
    if (f.efi === null || f.efi !== c.efi) return null;
    why.push(f.efi ? 'booted by EFI' : 'booted by BIOS');
  }
  if (c.efiBits !== undefined) {
    if (f.efiBits !== c.efiBits) return null;
    why.push(`EFI ${f.efiBits}-bit`);
  }
  if (c.iommu !== undefined) {
    const tables = [f.iommu.dmar ? 'DMAR' : '', f.iommu.ivrs ? 'IVRS' : ''].filter(Boolean);
    // IOMMU groups or units mean the kernel drove an IOMMU, so the firmware described one, even where the ACPI
    // table listing is unknown (imported logs). Without them, an unknown listing leaves the answer unknown.
    const driven = f.iommu.groups > 0 || f.iommu.units.length > 0;
    const known = f.iommu.dmar !== null && f.iommu.ivrs !== null;
    if (!known && !driven && tables.length === 0) return null;
    if ((tables.length > 0 || driven) !== c.iommu) return null;
    if (tables.length) why.push(`IOMMU described by ACPI ${tables.join(' and ')}`);
    else if (driven) why.push(`the kernel drives an IOMMU (${f.iommu.groups} IOMMU groups${f.iommu.units.length ? `, ${f.iommu.units.join(' ')}` : ''})`);
    else why.push('no IOMMU table (DMAR/IVRS) and no IOMMU groups');
  }
  if (c.acpi !== undefined) {
    if (!c.acpi.every((t) => f.acpiTables.includes(t))) return null;
    if (c.acpi.length) why.push(`ACPI tables ${c.acpi.join(' ')}`);
  }
  return why;
}

function hypervisor(c: HypervisorCondition, profile: HardwareProfile): string[] | null {
  const h = profile.hypervisor;
  const why: string[] = [];
  if (c.role !== undefined) {
    if (!list(c.role).includes(h.role)) return null;
    why.push(`hypervisor role ${h.role}`);
  }
  if (c.detected !== undefined) {
    const d = h.detected?.toLowerCase() ?? null;
    if (d === null || !list(c.detected).some((w) => w.toLowerCase() === d)) return null;
    why.push(`hypervisor ${h.detected}`);
  }
  if (c.nested !== undefined) {
    const nested = !['dom0', 'bare-metal', 'unknown'].includes(h.role);
    if (nested !== c.nested) return null;
    why.push(nested ? `inside a virtual machine (${h.role})` : `not inside a virtual machine (${h.role})`);
  }
  if (c.xenHvm !== undefined) {
    // No capabilities list (no /sys/hypervisor/properties/capabilities) is unknown: neither true nor false holds.
    if (h.xen.capabilities.length === 0) return null;
    const hvm = h.xen.capabilities.filter((cap) => cap.startsWith('hvm-'));
    if (hvm.length > 0 !== c.xenHvm) return null;
    why.push(hvm.length ? `Xen offers ${hvm.join(' ')}` : 'Xen offers no hvm-* capability');
  }
  return why;
}

function target(c: TargetCondition, ctx: ConditionContext): string[] | null {
  const why: string[] = [];
  if (c.xen !== undefined) {
    if (!versionSatisfies(ctx.target.xen, c.xen)) return null;
    why.push(`target Xen ${ctx.target.xen} (${c.xen})`);
  }
  if (c.arch !== undefined) {
    // A forced architecture counts; otherwise the one the rules chose so far.
    const fact = ctx.facts.get('arch.xen');
    const arch = ctx.target.arch ?? (typeof fact === 'string' ? fact : null);
    if (arch === null || !list(c.arch).includes(arch as 'x86_64')) return null;
    why.push(`target arch ${arch}${ctx.target.arch ? ' (forced)' : ' (fact arch.xen)'}`);
  }
  if (c.kernel !== undefined) {
    const release = ctx.profile.kernel.release;
    if (!versionSatisfies(release, c.kernel)) return null;
    why.push(`Dom0 kernel ${release} (${c.kernel})`);
  }
  return why;
}

function cheatcode(want: OneOrMore<string | Record<string, string>>, codes: readonly Cheatcode[]): string[] | null {
  // Alternatives: the first that holds gives the evidence. A mapping holds when all its names do.
  for (const w of list(want)) {
    if (typeof w === 'string') {
      const hit = codes.find((c) => c.name === w);
      if (hit) return [`boot line ${hit.token}`];
      continue;
    }
    const hits = Object.entries(w).map(([name, glob]) => codes.find((c) => c.name === name && c.value !== null && fnmatch(glob, c.value)));
    if (hits.every((h) => h !== undefined)) return hits.map((h) => `boot line ${h.token}`);
  }
  return null;
}

function fact(want: OneOrMore<string | Record<string, FactValue>>, facts: ReadonlyMap<string, FactValue>): string[] | null {
  // Alternatives: the first that holds gives the evidence.
  for (const w of list(want)) {
    if (typeof w === 'string') {
      const v = facts.get(w);
      if (truthy(v)) return [`fact ${w} = ${JSON.stringify(v)}`];
      continue;
    }
    const entries = Object.entries(w);
    // An unset fact reads as null: `{ x: null }` holds until some rule sets x.
    if (entries.every(([name, value]) => (facts.get(name) ?? null) === value)) {
      return entries.map(([name, value]) => `fact ${name} = ${JSON.stringify(value)}`);
    }
  }
  return null;
}

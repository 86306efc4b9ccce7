// Dom0's modules: the rules' loads (the backends first), then each device's chosen driver, less what the rules
// blacklist and what the skip.<class> cheatcodes leave out; passthrough='s PCI backend options and softdeps.
import type { DriverMatch, DriversReport } from '../modalias/index.ts';
import { moduleKey } from '../modalias/module-name.ts';
import type { Decision, ModuleOptional, RuleOutcome } from '../rules/types.ts';
import type { HardwareProfile } from '../types.ts';
import type { Facts } from './outcome.ts';
import type { Plan, TargetInfo } from './types.ts';

// PCI classes/subclasses a `skip.<class>` fact (cheatcodes noaudio, noscsi, nousb, ...) leaves out of the module
// list, as kudzu's pciToKudzu grouped them (docs/cheatcodes.md).
const SKIP_CLASSES: Record<string, string[]> = {
  'skip.audio': ['0401', '0403'],
  'skip.scsi': ['0100', '0c04', '0e00', '0400', '0480'],
  'skip.usb': ['0c03'],
  'skip.firewire': ['0c00'],
  'skip.pcmcia': ['0607'],
};

/** The PCI class+subclass codes ("0401") the set skip.<class> facts leave out. */
export function skippedClasses(facts: Facts): Set<string> {
  return new Set(
    Object.entries(SKIP_CLASSES)
      .filter(([name]) => facts[name] === true)
      .flatMap(([, classes]) => classes),
  );
}

/** A `module: { prefer }` for the device replaces kmod's first candidate, when the preferred one is a candidate. */
export function preferredDriver(match: DriverMatch, prefer: RuleOutcome['modules']['prefer']): DriverMatch {
  const wanted = [...prefer].reverse().find((p) => p.devices.includes(match.id));
  if (!wanted) return match;
  const candidate = match.candidates.find((c) => moduleKey(c) === moduleKey(wanted.name));
  if (candidate === undefined || candidate === match.chosen) return match;
  return { ...match, chosen: candidate, reason: `preferred by rule ${wanted.rule} over ${match.chosen ?? 'none'}` };
}

/**
 * A Dom0 before Xen 4.0 runs a 2.6.16/2.6.18 XenLinux kernel. Device modules matched against the shipped 6.1
 * reference would name modules that kernel does not have (xhci_pci, e1000e, amdgpu): the plan lists none, and says
 * why (foreignKernelWarning).
 */
export function foreignKernel(target: Pick<TargetInfo, 'generation'>, kernel: Pick<DriversReport['kernel'], 'source'> | undefined): boolean {
  return target.generation !== '4.x' && kernel?.source === 'reference';
}

export function foreignKernelWarning(target: Pick<TargetInfo, 'version'>, kernel: Pick<DriversReport['kernel'], 'release'>): string {
  return (
    `No device modules listed: drivers were matched against autoconfig's reference kernel ${kernel.release}, ` +
    `but a Xen ${target.version} Dom0 runs a 2.6.16/2.6.18 XenLinux kernel with other modules; give --kernel DIR ` +
    '(its /lib/modules/<release>) or a target root that has it.'
  );
}

/** The modules to load, in order: the rules' loads, then each device's chosen driver (not built in, not skipped). */
export function dom0Modules(
  profile: HardwareProfile,
  drivers: readonly DriverMatch[],
  outcome: Pick<RuleOutcome, 'modules'>,
  skipped: ReadonlySet<string>,
): Plan['dom0']['modules'] {
  const blacklisted = new Set(outcome.modules.blacklist.map((b) => moduleKey(b.name)));
  const out: Plan['dom0']['modules'] = [];
  const seen = new Set<string>();
  const add = (name: string, options: string | null, reason: string, optional: ModuleOptional | null = null) => {
    if (seen.has(moduleKey(name)) || blacklisted.has(moduleKey(name))) return;
    seen.add(moduleKey(name));
    out.push({ name, options, reason, optional });
  };
  // Rule-ordered loads first: the backends and other alias-less modules the Dom0 needs.
  for (const load of outcome.modules.load) add(load.name, load.options, `rule ${load.rule}`, load.optional);
  const classOf = new Map(profile.pci.map((d) => [d.slot, `${d.class ?? ''}${d.subclass ?? ''}`]));
  for (const match of drivers) {
    if (match.chosen === null || match.builtin.includes(match.chosen)) continue;
    if (match.bus === 'pci' && skipped.has(classOf.get(match.id) ?? '')) continue;
    add(match.chosen, null, `${match.bus} ${match.id}: ${match.reason}`);
  }
  return out;
}

/** The devices passthrough= hides from Dom0 (its live decisions' devices) and the rules that hid them ("" if none). */
export function hiddenDevices(decisions: readonly Decision[]): { slots: string[]; rule: string | null } {
  const hiddenBy = decisions.filter((d) => d.rule.startsWith('cheatcode:passthrough') && !d.overriddenBy);
  const rule = [...new Set(hiddenBy.map((d) => d.rule))].join(', ');
  return { slots: [...new Set(hiddenBy.flatMap((d) => d.devices ?? []))], rule: rule === '' ? null : rule };
}

/**
 * passthrough= (cheatcodes.ts): the PCI backend's own `hide=` option, for a backend loaded as a module by a modprobe
 * that does not read the boot line (module-init-tools of 2006), and on Xen 4.x (kmod) a softdep per module that
 * could drive a hidden device, so that loading that driver (udev's coldplug does, early) loads xen-pciback first and
 * the backend claims the device before its driver can. Nothing where no backend is loaded (Xen does not run).
 * Sets the backend's entry of `modules` (options, reason) in place.
 */
export function passthroughModules(
  modules: Plan['dom0']['modules'],
  hidden: readonly string[],
  rule: string | null,
  target: Pick<TargetInfo, 'generation'>,
  matchOf: ReadonlyMap<string, DriverMatch>,
  profile: HardwareProfile,
): Plan['dom0']['softdeps'] {
  const backend = modules.find((m) => moduleKey(m.name) === 'xen_pciback' || moduleKey(m.name) === 'pciback');
  if (hidden.length === 0 || rule === null || backend === undefined) return [];
  const hide = `hide=${hidden.map((s) => `(${s})`).join('')}`;
  backend.options = backend.options === null || backend.options.trim() === '' ? hide : `${backend.options} ${hide}`;
  backend.reason = `${backend.reason}; ${hide}: ${rule}`;
  // softdep is kmod's (and late module-init-tools'); a XenLinux Dom0 of Xen 3.x has neither.
  if (target.generation !== '4.x') return [];
  const out: Plan['dom0']['softdeps'] = [];
  for (const slot of hidden) {
    const match = matchOf.get(slot);
    // A bound driver's name is a module's where it is one (e1000e); a name kmod could not hold is no module.
    const driver = profile.pci.find((d) => d.slot === slot)?.driver ?? null;
    const bound = driver !== null && /^[A-Za-z0-9_-]+$/.test(driver) ? driver : null;
    // Every module kmod would load for the device's alias (udev loads them all), and the driver bound now.
    const names = [...(match?.candidates ?? []), ...(bound === null ? [] : [bound])].filter(
      (n) => !(match?.builtin ?? []).includes(n) && moduleKey(n) !== moduleKey(backend.name),
    );
    for (const name of names) {
      if (out.some((s) => moduleKey(s.module) === moduleKey(name))) continue;
      out.push({ module: name, pre: [backend.name], reason: `${rule}: PCI ${slot} goes to ${backend.name} before ${name}` });
    }
  }
  return out;
}

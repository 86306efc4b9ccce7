// plan(): the one plan for the machine, from the profile, the driver matches, the target Xen and the rules'
// outcome. Pure: no I/O. Everything version-dependent about syntax is settled here, so the emitters only render.
// Each part of the plan is one named decider with its inputs explicit (src/plan/*.ts); plan() composes them.
import type { DriverMatch, DriversReport } from '../modalias/index.ts';
import type { FactValue, RuleOutcome } from '../rules/types.ts';
import type { HardwareProfile } from '../types.ts';
import { versionAtLeast } from '../rules/version.ts';
import { decideDom0Options, decideXenOptions, renderOptions } from './boot-options.ts';
import { bootLineConsole, CONSOLE_FACT, consoleRule, serialConsolePlan } from './console.ts';
import { sysconfigDevices } from './devices.ts';
import { decideGrub } from './grub.ts';
import { decideMemory, decideUma } from './memory.ts';
import { dom0Modules, foreignKernel, foreignKernelWarning, hiddenDevices, passthroughModules, preferredDriver, skippedClasses } from './modules.ts';
import { nativeOptions } from './native.ts';
import { factString } from './outcome.ts';
import type { TargetXen } from './target.ts';
import type { Plan, TargetInfo } from './types.ts';
import { decideVcpus } from './vcpus.ts';
import { decideArch, decideHvm, decideIommu } from './verdicts.ts';

export { renderOptions } from './boot-options.ts';
export { dom0MemOption, sizeMiB, umaStolenMiB } from './memory.ts';

export interface PlanInput {
  profile: HardwareProfile;
  drivers: readonly DriverMatch[];
  target: TargetXen;
  outcome: RuleOutcome;
  /** Device names for the sysconfig files (printed only); ids when absent. */
  name?: (vendor: string, device: string) => string | null;
  /** The kernel the drivers were matched against (DriversReport.kernel); absent: not known. */
  kernel?: Pick<DriversReport['kernel'], 'source' | 'release'>;
}

export function targetInfo(target: TargetXen): TargetInfo {
  const at = (v: string) => versionAtLeast(target.version, v);
  return {
    ...target,
    generation: generation(target.version),
    // xl replaced xm/xend in 4.1 (xend was removed in 4.5).
    toolstack: at('4.1') ? 'xl' : 'xend',
    dom0MemSyntax: at('3.0.4') ? 'minmax' : 'plain',
    // Xen has a multiboot2 header since 4.9; GRUB's 20_linux_xen then uses multiboot2/module2.
    multiboot: at('4.9') ? 'multiboot2' : 'multiboot',
  };
}

function generation(version: string): TargetInfo['generation'] {
  if (!versionAtLeast(version, '3.1')) return '3.0';
  return versionAtLeast(version, '4.0') ? '4.x' : '3.x';
}

export function plan(input: PlanInput): Plan {
  const { profile, outcome } = input;
  const facts = outcome.facts;
  const target = targetInfo(input.target);
  const xenDisabled = facts['xen.disabled'] === true;
  const arch = decideArch(profile.cpu.longMode, facts);
  const uma = decideUma(profile, facts);
  const memory = decideMemory(profile, outcome, target, uma.stolenMiB);
  const cpus = decideVcpus(profile, outcome, target);
  const xenOptions = decideXenOptions(outcome.xen, [memory.option, cpus.option]);
  const serial = serialConsolePlan(factString(facts, CONSOLE_FACT), consoleRule(outcome.decisions), target);
  const dom0Options = decideDom0Options(outcome.dom0, serial);

  const drivers = input.drivers.map((d) => preferredDriver(d, outcome.modules.prefer));
  const foreign = foreignKernel(target, input.kernel);
  const modules = dom0Modules(profile, foreign ? [] : drivers, outcome, skippedClasses(facts));
  const hidden = hiddenDevices(outcome.decisions);
  const softdeps = passthroughModules(modules, hidden.slots, hidden.rule, target, new Map(drivers.map((m) => [m.id, m])), profile);
  const devices = sysconfigDevices({
    profile,
    drivers,
    foreignKernel: foreign,
    name: input.name,
    target,
    xenDisabled,
    dhcp: facts['skip.dhcp'] !== true,
    xserver: outcome.sysconfig['xserver'] ?? {},
  });
  const grub = decideGrub({
    facts,
    efi: profile.firmware.efi,
    target,
    xenArch: arch.xen,
    longMode: profile.cpu.longMode,
    xenDisabled,
    xenOptions,
    dom0Options,
    nativeOptions: nativeOptions(outcome.decisions),
  });
  const planWarnings = [
    // A target newer than the newest Xen this autoconfig knows (rules/version.ts XEN_KNOWN).
    ...(target.warning === undefined ? [] : [target.warning]),
    ...(foreign ? [foreignKernelWarning(target, input.kernel!)] : []),
  ];

  return {
    target,
    xenDisabled,
    safe: facts['safe'] === true,
    hvm: decideHvm(facts, xenDisabled),
    longMode: profile.cpu.longMode,
    arch,
    uma,
    memory: memory.memory,
    vcpus: cpus.vcpus,
    iommu: decideIommu(facts, hidden.slots),
    xen: { options: xenOptions, cmdline: renderOptions(xenOptions) },
    dom0: {
      options: dom0Options,
      cmdline: renderOptions(dom0Options),
      modules,
      blacklist: outcome.modules.blacklist.map((b) => ({ name: b.name, reason: `rule ${b.rule}` })),
      softdeps,
    },
    drivers,
    ...devices,
    console: { serial },
    grub: grub.grub,
    guest: { ...outcome.guest, ...(cpus.vcpus.guests !== null ? { vcpus: cpus.vcpus.guests } : {}) },
    sysconfig: outcome.sysconfig,
    notes: [...outcome.notes.map((n) => n.text), ...memory.notes, ...cpus.notes, ...grub.notes],
    warnings: [...outcome.warnings.map((w) => w.text), ...planWarnings, ...grub.warnings, ...memory.warnings],
    decisions: outcome.decisions,
  };
}

/**
 * The plan when deciding failed (a broken rule file, an unreadable kernel directory, a bug): no rule's options, no
 * driver policy, failsafe. Xen still boots by default when the CPU can run the target at all (64-bit, or a
 * 32-bit PAE Xen before 4.3), else the plain kernel does.
 */
export function safePlan(profile: HardwareProfile, target: TargetXen): Plan {
  const lm = profile.cpu.longMode;
  const no32bitXen = versionAtLeast(target.version, '4.3');
  const facts: Record<string, FactValue> = {
    safe: true,
    'xen.disabled': lm === false && no32bitXen,
    'hvm.available': false,
    'hvm.reason': 'not decided: autoconfig fell back to the safe plan',
  };
  // The boot line's serial console (console=ttyS0,...) is kept: without it a serial-only machine shows nothing.
  const console = bootLineConsole(profile, target.version);
  const outcome: RuleOutcome = {
    target: { xen: target.version, arch: null },
    facts: { ...console?.facts, ...facts },
    xen: console?.xen ?? [],
    dom0: console?.dom0 ?? [],
    modules: { load: [], blacklist: [], prefer: [] },
    sysconfig: {},
    dom0Memory: null,
    dom0Vcpus: null,
    guest: {},
    notes: [],
    warnings: [
      { text: 'autoconfig fell back to the safe plan: conservative options only', rule: 'safe-plan' },
      ...(console?.warnings ?? []),
    ],
    decisions: console?.decisions ?? [],
  };
  return plan({ profile, drivers: [], target, outcome });
}

// plan(): the one plan for the machine, from the profile, the driver matches, the target Xen and the rules'
// outcome. Pure: no I/O. Everything version-dependent about syntax is settled here, so the emitters only render.
import type { DriverMatch, DriversReport } from '../modalias/index.ts';
import type { BootOption, Decision, FactValue, ModuleOptional, RuleOutcome } from '../rules/types.ts';
import type { HardwareProfile, PciDevice } from '../types.ts';
import { versionAtLeast } from '../rules/version.ts';
import { dom0MemProblem } from '../rules/cheatcodes.ts';
import { machineMemory } from '../probe/memory.ts';
import { bootLineConsole, CONSOLE_FACT, consoleRule, serialConsolePlan } from './console.ts';
import type { TargetXen } from './target.ts';
import type { GrubEntry, Plan, PlanDevice, TargetInfo, XenArch } from './types.ts';
import { moduleKey } from '../modalias/module-name.ts';

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

// PCI classes/subclasses a `skip.<class>` fact (cheatcodes noaudio, noscsi, nousb, ...) leaves out of the module
// list, as kudzu's pciToKudzu grouped them (docs/cheatcodes.md).
const SKIP_CLASSES: Record<string, string[]> = {
  'skip.audio': ['0401', '0403'],
  'skip.scsi': ['0100', '0c04', '0e00', '0400', '0480'],
  'skip.usb': ['0c03'],
  'skip.firewire': ['0c00'],
  'skip.pcmcia': ['0607'],
};

export function targetInfo(target: TargetXen): TargetInfo {
  const at = (v: string) => versionAtLeast(target.version, v);
  return {
    ...target,
    generation: !at('3.1') ? '3.0' : !at('4.0') ? '3.x' : '4.x',
    // xl replaced xm/xend in 4.1 (xend was removed in 4.5).
    toolstack: at('4.1') ? 'xl' : 'xend',
    dom0MemSyntax: at('3.0.4') ? 'minmax' : 'plain',
    // Xen has a multiboot2 header since 4.9; GRUB's 20_linux_xen then uses multiboot2/module2.
    multiboot: at('4.9') ? 'multiboot2' : 'multiboot',
  };
}

export function plan(input: PlanInput): Plan {
  const { profile, outcome } = input;
  const facts = outcome.facts;
  const target = targetInfo(input.target);
  const fact = (name: string): FactValue => facts[name] ?? null;
  const str = (name: string): string | null => (typeof facts[name] === 'string' ? (facts[name] as string) : null);

  const longMode = profile.cpu.longMode;
  const xenArch: XenArch = (str('arch.xen') as XenArch | null) ?? (longMode === false ? 'x86_32' : 'x86_64');
  const dom0Arch: XenArch = (str('arch.dom0') as XenArch | null) ?? xenArch;

  // The machine's memory (probe/memory.ts machineMemory, as the rules' memory conditions read it): the installed
  // memory the SMBIOS tables state whenever known, the same inside a Xen Dom0 and without Xen; else MemTotal, but
  // never a Dom0's MemTotal (its own share). Only the figure the sizes come from is in the plan.
  const machine = machineMemory(profile);
  const totalMiB = machine?.source === 'memtotal' ? Math.floor(machine.kib / 1024) : null;
  const installedMiB = machine?.source === 'smbios' ? Math.floor(machine.kib / 1024) : null;
  // A rule's size absurd for this machine (a local rule's 99999G; the cheatcode is checked where it is read) is
  // dropped with a warning: Xen's default then sizes Dom0.
  const memProblem = outcome.dom0Memory === null ? null : dom0MemProblem(outcome.dom0Memory, machine?.kib ?? null);
  const dom0Mem = memProblem === null ? outcome.dom0Memory : null;
  const memWarnings = memProblem === null ? [] : [`dom0_mem ${outcome.dom0Memory}: ${memProblem}; Dom0 memory is left to Xen's default`];
  const dom0MiB = dom0Mem === null ? null : sizeMiB(dom0Mem.split(',')[0]!.replace(/^(min|max):/, ''));
  const memoryNotes =
    installedMiB === null || dom0MiB === null
      ? []
      : profile.memory.totalKiB === null
        ? [
            `MemTotal is unknown: the memory sizes are estimated from the ${installedMiB} MiB of installed memory ` +
              'modules (SMBIOS), a little more than the OS will get.',
          ]
        : [
            `The memory sizes are from the ${installedMiB} MiB of installed memory the firmware's SMBIOS tables state ` +
              '(the same inside a Xen Dom0 and without Xen), a little more than the OS will get.',
          ];
  // Xen schedules every logical CPU (a hyperthread is a PCPU, and dom0_max_vcpus defaults to their number:
  // xen.md §1.2); a guest's "host-cores" is the core count, so that its vCPUs do not share cores. The profile's
  // counts are the machine's: in a Xen Dom0 Xen's PCPU list and the SMBIOS cores, never Dom0's own vCPUs
  // (probe/machine-cpus.ts), so that a plan made there is the one made without Xen. Without the cores, the logical
  // CPUs; but not in a Dom0, where the same machine's bare-metal plan would still know its cores from cpuinfo (2 cores
  // of 4 threads would give 4 here and 2 there): there the template sets no vcpus, the toolstack's default (1), and a
  // note says why.
  const inDom0 = profile.hypervisor.role === 'dom0';
  const hostCpus = profile.cpu.logicalCpus;
  const guestVcpus = outcome.guest['vcpus'];
  const hostCores = profile.cpu.cores ?? (inDom0 ? null : profile.cpu.logicalCpus);
  const wanted = guestVcpus === 'host-cores' ? hostCores : typeof guestVcpus === 'number' ? guestVcpus : null;
  // The guest's firmware may start fewer (vcpus_max, 50-xen-versions.yaml: 3.0.x's DSDT declares 4 processors).
  const vcpusMax = outcome.guest['vcpus_max'];
  const guests = wanted !== null && typeof vcpusMax === 'number' && vcpusMax >= 1 ? Math.min(wanted, vcpusMax) : wanted;
  const cpuNotes = inDom0 ? dom0CpuNotes(hostCpus, guestVcpus === 'host-cores' && hostCores === null) : [];

  // Xen options: the rules' own, then what the plan owns (Dom0 sizing), in the target's syntax.
  const xenOptions = outcome.xen.filter((o) => o.name !== 'dom0_mem' && o.name !== 'dom0_max_vcpus');
  const sizing = decisionRule(outcome.decisions, 'dom0Memory');
  if (dom0Mem !== null) {
    xenOptions.push({ name: 'dom0_mem', value: dom0MemOption(dom0Mem, target), rule: sizing ?? 'plan' });
  }
  // dom0.vcpus_max (50-xen-versions.yaml): where the rules gave Dom0 all vCPUs and the machine has more logical CPUs
  // than that, Dom0 gets 1 to N of them (dom0_max_vcpus=1-N, the range form from 4.3; N before). A dom0_vcpus= boot
  // option is the user's choice and stays; an unknown CPU count is not capped (Xen's default, all).
  const vcpusCap = fact('dom0.vcpus_max');
  const vcpusRule = decisionRule(outcome.decisions, 'dom0Vcpus');
  const capRule = outcome.decisions.find((d) => 'fact' in d.action && 'dom0.vcpus_max' in d.action.fact && !d.overriddenBy)?.rule;
  const dom0Capped =
    typeof vcpusCap === 'number' &&
    vcpusCap >= 1 &&
    outcome.dom0Vcpus === 'all' &&
    !vcpusRule?.startsWith('cheatcode:') &&
    hostCpus !== null &&
    hostCpus > vcpusCap;
  const dom0Vcpus = dom0Capped ? (vcpusCap as number) : outcome.dom0Vcpus;
  if (typeof dom0Vcpus === 'number') {
    xenOptions.push({
      name: 'dom0_max_vcpus',
      value: dom0Capped && versionAtLeast(target.version, '4.3') ? `1-${dom0Vcpus}` : String(dom0Vcpus),
      rule: (dom0Capped ? capRule : vcpusRule) ?? 'plan',
    });
  }
  const vcpuNotes = dom0Capped
    ? [
        `Dom0 gets at most ${dom0Vcpus} of the machine's ${hostCpus} logical CPUs (dom0_max_vcpus, as Debian's Xen ` +
          'suggests): the rest are for guests. dom0_vcpus=all on the boot line gives Dom0 all of them.',
      ]
    : [];

  const drivers = input.drivers.map((d) => preferred(d, outcome));
  const blacklisted = new Set(outcome.modules.blacklist.map((b) => moduleKey(b.name)));
  const skipped = new Set(
    Object.entries(SKIP_CLASSES)
      .filter(([name]) => facts[name] === true)
      .flatMap(([, classes]) => classes),
  );
  // A Dom0 before Xen 4.0 runs a 2.6.16/2.6.18 XenLinux kernel. Device modules matched against the shipped 6.1
  // reference would name modules that kernel does not have (xhci_pci, e1000e, amdgpu): list none, and say why.
  const foreignKernel = target.generation !== '4.x' && input.kernel?.source === 'reference';
  const modules = dom0Modules(profile, foreignKernel ? [] : drivers, outcome, blacklisted, skipped);
  const planWarnings = [
    // A target newer than the newest Xen this autoconfig knows (rules/version.ts XEN_KNOWN).
    ...(target.warning === undefined ? [] : [target.warning]),
    ...(foreignKernel
      ? [
          `No device modules listed: drivers were matched against autoconfig's reference kernel ${input.kernel!.release}, ` +
            `but a Xen ${target.version} Dom0 runs a 2.6.16/2.6.18 XenLinux kernel with other modules; give --kernel DIR ` +
            '(its /lib/modules/<release>) or a target root that has it.',
        ]
      : []),
  ];

  const pciName = (d: PciDevice): PlanDevice => ({
    id: d.slot,
    vendor: d.vendor,
    device: d.device,
    name: d.vendor && d.device ? (input.name?.(d.vendor, d.device) ?? null) : null,
  });
  const matchOf = new Map(drivers.map((m) => [m.id, m] as const));
  // Matched against a kernel the Dom0 will not run (foreignKernel), a chosen module names nothing real there: only
  // a bound driver (what the machine itself used) names the card's driver then.
  const chosenFor = (slot: string) => (foreignKernel ? null : (matchOf.get(slot)?.chosen ?? null));
  const boundOr = (d: PciDevice) => d.driver ?? chosenFor(d.slot);
  const isWireless = (d: PciDevice) => {
    const driver = boundOr(d);
    const path = driver === null ? undefined : matchOf.get(d.slot)?.paths[moduleKey(driver)];
    return path?.includes('/drivers/net/wireless/') === true;
  };
  const display = profile.pci.filter((d) => d.class === '03');
  const primary = display.find((d) => d.bootVga) ?? display[0] ?? null;
  const xserverVars = outcome.sysconfig['xserver'] ?? {};

  const xenDisabled = fact('xen.disabled') === true;
  const hvmAvailable = fact('hvm.available') === true && !xenDisabled;
  const safe = fact('safe') === true;
  const grubFact = str('grub.variant');
  // The firmware decides when no rule did; unknown firmware (an imported log that does not tell) gets the BIOS
  // GRUB, which an EFI machine boots in its legacy (CSM) mode, and the plan says it assumed so.
  const variantAssumed = grubFact !== 'efi' && grubFact !== 'bios' && profile.firmware.efi === null;
  const variant = grubFact === 'efi' || grubFact === 'bios' ? grubFact : profile.firmware.efi === true ? 'efi' : 'bios';
  const firmwareNotes = variantAssumed
    ? ['EFI or BIOS is unknown: the BIOS GRUB is written; on an EFI machine, boot it in legacy (CSM) mode.']
    : [];
  const flavor = target.generation === '4.x' ? 'grub2' : 'legacy';
  // GRUB on UEFI starts Xen only by multiboot2, whose header Xen has from 4.9 (src/emit/grub2.ts grubBootsXen).
  const efiWarnings =
    flavor === 'grub2' && variant === 'efi' && target.multiboot === 'multiboot' && !xenDisabled
      ? [
          `Xen ${target.version} has no multiboot2 header (Xen 4.9 and later have one), so GRUB on UEFI cannot start it: ` +
            'grub.cfg has no Xen entry and boots Linux without Xen. Boot the machine in its legacy (CSM) mode, or ' +
            'choose Xen 4.9 or later.',
        ]
      : [];

  const umaPresent = fact('uma.present') === true;
  const umaDevice = str('uma.device');
  const stolenMiB = umaPresent ? umaStolenMiB(profile, umaDevice) : null;

  // console=ttyS<N>: the cheatcode put Xen's options and its token on the lines; a Dom0 under Xen also writes to
  // Xen's console device, last (src/plan/console.ts). The entries without Xen keep the token alone.
  const serial = serialConsolePlan(str(CONSOLE_FACT), consoleRule(outcome.decisions), target);
  const dom0Options: BootOption[] = serial?.dom0Console
    ? [...outcome.dom0, { name: 'console', value: serial.dom0Console, rule: serial.rule }]
    : outcome.dom0;

  const hiddenBy = outcome.decisions.filter((d) => d.rule.startsWith('cheatcode:passthrough') && !d.overriddenBy);
  const hidden = [...new Set(hiddenBy.flatMap((d) => d.devices ?? []))];
  const hiddenRules = [...new Set(hiddenBy.map((d) => d.rule))].join(', ');
  const softdeps = passthroughModules(modules, hidden, hiddenRules === '' ? null : hiddenRules, target, matchOf, profile);

  const nics = ranked(profile.pci.filter((d) => d.class === '02'), (d) => (isWireless(d) ? 1 : 0));
  // The bridge's port: an Ethernet controller (0200) no wireless driver drives. A wireless station cannot bridge
  // (802.11 sends only its own MAC address), and "Network controller" (0280) is where most WLAN chips sit.
  const wired = nics.find((d) => d.subclass === '00' && !isWireless(d)) ?? null;

  return {
    target,
    xenDisabled,
    safe,
    // HVM guests need Xen booted: where it will not be (xen.disabled), none, whatever the CPU offers. The
    // technology only with HVM: a PV guest's cpuinfo may still show vmx, which it cannot use.
    hvm: {
      available: hvmAvailable,
      technology: !hvmAvailable ? null : str('hvm.technology') === 'vmx' ? 'vmx' : str('hvm.technology') === 'svm' ? 'svm' : null,
      reason:
        fact('hvm.available') === true && xenDisabled
          ? 'Xen does not run on this machine (see the warnings), so neither do HVM guests'
          : (str('hvm.reason') ?? 'no rule decided about HVM'),
      unreliable: fact('hvm.unreliable') === true,
    },
    longMode,
    arch: { xen: xenArch, dom0: dom0Arch, guests64: fact('guests.64bit') === true },
    uma: { present: umaPresent, device: umaDevice, stolenMiB },
    memory: {
      totalMiB,
      installedMiB,
      dom0: dom0Mem,
      dom0MiB,
      // totalMiB is MemTotal (probe/memory.ts): at most the RAM the e820 map calls usable. UMA memory is never in it:
      // the firmware leaves the graphics carve-out out of the usable map (the corpus's Jetway Palm board: usable RAM
      // ends at 0xa7efffff, and 0xa8000000-0xbfffffff, the 384M of its radeon "VRAM: 384M", is not in the map at
      // all), and for Intel the x86 early quirk also reserves the stolen range in e820 itself (xen.md §5.1), so
      // subtracting stolenMiB would count it twice. The installed memory (installedMiB, taken whenever SMBIOS tells)
      // do hold the carve-out: there it is subtracted, where the profile tells it.
      guestsMiB:
        dom0MiB === null
          ? null
          : installedMiB !== null
            ? Math.max(0, installedMiB - dom0MiB - (stolenMiB ?? 0))
            : totalMiB !== null
              ? Math.max(0, totalMiB - dom0MiB)
              : null,
    },
    vcpus: { host: hostCpus, dom0: dom0Vcpus, guests },
    // null when no rule decided: the firmware's IOMMU tables are unknown (an imported log that does not list them).
    iommu: {
      available: fact('iommu.available') === true ? true : fact('iommu.available') === false ? false : null,
      hidden,
    },
    xen: { options: xenOptions, cmdline: renderOptions(xenOptions) },
    dom0: {
      options: dom0Options,
      cmdline: renderOptions(dom0Options),
      modules,
      blacklist: outcome.modules.blacklist.map((b) => ({ name: b.name, reason: `rule ${b.rule}` })),
      softdeps,
    },
    drivers,
    xserver: {
      server: xserverVars['XSERVER'] ?? null,
      module: xserverVars['XMODULE'] ?? null,
      description: xserverVars['XDESC'] ?? (primary ? (pciName(primary).name ?? null) : null),
      device: primary ? pciName(primary) : null,
    },
    // The first of each is what the sysconfig files name (hwsetup let the last device of a class win, whatever it
    // was): a wired card before a wireless one (network-bridge needs a wired one; many WLAN chips call themselves
    // Ethernet, class 0200, so the kernel's own grouping tells: a driver under drivers/net/wireless), and a sound
    // card before the HDMI/DisplayPort audio function of a graphics card (the function after the display one).
    netcards: nics.map((d) => ({ device: pciName(d), driver: boundOr(d) })),
    network: networkPlan(
      target,
      xenDisabled,
      wired === null ? null : { device: pciName(wired), driver: boundOr(wired) },
      fact('skip.dhcp') !== true,
    ),
    sound: ranked(
      profile.pci.filter((d) => d.class === '04' && (d.subclass === '01' || d.subclass === '03')),
      (d) => (display.some((v) => nextFunction(v.slot, d.slot)) ? 1 : 0),
    ).map((d) => ({ device: pciName(d), driver: boundOr(d) })),
    mouse: usbMouse(profile),
    console: { serial },
    grub: {
      variant,
      variantAssumed,
      flavor,
      entries: grubEntries(target, xenArch, longMode, xenDisabled, xenOptions, dom0Options, outcome.dom0),
    },
    guest: { ...outcome.guest, ...(guests !== null ? { vcpus: guests } : {}) },
    sysconfig: outcome.sysconfig,
    notes: [...outcome.notes.map((n) => n.text), ...memoryNotes, ...cpuNotes, ...vcpuNotes, ...firmwareNotes],
    warnings: [...outcome.warnings.map((w) => w.text), ...planWarnings, ...efiWarnings, ...memWarnings],
    decisions: outcome.decisions,
  };
}

/** The bridge HVM guests' vifs name (Plan['network']): xend's on 3.x, our ifupdown one on 4.x, none without a wired NIC. */
function networkPlan(
  target: TargetInfo,
  xenDisabled: boolean,
  port: Plan['network']['port'],
  dhcp: boolean,
): Plan['network'] {
  if (target.toolstack === 'xend') {
    return {
      bridge: 'xenbr0',
      by: 'xend',
      port,
      dhcp,
      reason: "xend's network-bridge script makes xenbr0 on the default route's interface when xend starts",
    };
  }
  if (xenDisabled) return { bridge: null, by: null, port: null, dhcp, reason: 'Xen does not run here: no guests to bridge' };
  if (port === null) {
    return {
      bridge: null,
      by: null,
      port: null,
      dhcp,
      reason:
        'no wired Ethernet card: a bridge needs one (a wireless station sends only its own MAC address), and ' +
        `Xen ${target.version} ships no network-bridge script that would make one`,
    };
  }
  return {
    bridge: 'xenbr0',
    by: 'ifupdown',
    port,
    dhcp,
    reason: `Xen ${target.version} makes no bridge itself (Debian ships vif-bridge only): autoconfig's ifupdown file does`,
  };
}

/**
 * passthrough= (cheatcodes.ts): the PCI backend's own `hide=` option, for a backend loaded as a module by a modprobe
 * that does not read the boot line (module-init-tools of 2006), and on Xen 4.x (kmod) a softdep per module that
 * could drive a hidden device, so that loading that driver (udev's coldplug does, early) loads xen-pciback first and
 * the backend claims the device before its driver can. Nothing where no backend is loaded (Xen does not run).
 */
function passthroughModules(
  modules: Plan['dom0']['modules'],
  hidden: readonly string[],
  rule: string | null,
  target: TargetInfo,
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

/**
 * What a plan made inside a Xen Dom0 cannot know of the machine's CPUs, and what it does instead: the host's logical
 * CPUs (sysconfig HOST_CPUS stays empty) and, where the rules asked for one guest vCPU per core, the cores.
 */
function dom0CpuNotes(hostCpus: number | null, guestsUnknown: boolean): string[] {
  const notes: string[] = [];
  if (hostCpus === null) {
    notes.push(
      "Inside this Xen Dom0 the machine's logical CPUs are unknown: Dom0's /proc/cpuinfo lists only its own vCPUs, and " +
        'this Dom0 kernel has no /sys/devices/system/xen_cpu listing the physical CPUs (Linux\'s Xen pcpu driver, ' +
        'since 2012). HOST_CPUS is left empty.',
    );
  }
  if (guestsUnknown) {
    notes.push(
      "Inside this Xen Dom0 the machine's CPU cores are unknown: Dom0's /proc/cpuinfo shows its vCPUs' topology, not " +
        "the machine's, and the firmware's SMBIOS processor structures (/sys/firmware/dmi/entries/4-*, root only; " +
        'core counts from SMBIOS 2.5 on) give none. The HVM guest template sets no vcpus: the toolstack\'s default, 1 ' +
        'vCPU. Run autoconfig as root, or plan from outside Xen, for one vCPU per core.',
    );
  }
  return notes;
}

/**
 * The memory the UMA device takes, in whole MiB rounded up, where the profile tells: amdgpu's carve-out of that
 * slot, or, for an Intel device, the Graphics Stolen Memory region (only Intel IGDs have one: the early quirk and
 * i915 are Intel's). Rounded up because i915's request can be a little short of what the firmware took (its
 * off-by-one retry, the GTT cut out on gen4). null when the profile does not tell.
 */
export function umaStolenMiB(profile: HardwareProfile, slot: string | null): number | null {
  if (slot === null) return null;
  const { vram, stolen } = profile.graphicsMemory;
  const intel = profile.pci.find((d) => d.slot === slot)?.vendor === '8086';
  const bytes = vram.find((v) => v.slot === slot)?.bytes ?? (intel ? stolen?.bytes : undefined);
  return bytes === undefined ? null : Math.ceil(bytes / 1048576);
}

function decisionRule(decisions: readonly Decision[], key: string): string | null {
  const last = [...decisions].reverse().find((d) => key in d.action && !d.overriddenBy);
  return last?.rule ?? null;
}

/** A `module: { prefer }` for the device replaces kmod's first candidate, when the preferred one is a candidate. */
function preferred(match: DriverMatch, outcome: RuleOutcome): DriverMatch {
  const prefer = [...outcome.modules.prefer].reverse().find((p) => p.devices.includes(match.id));
  if (!prefer) return match;
  const wanted = match.candidates.find((c) => moduleKey(c) === moduleKey(prefer.name));
  if (wanted === undefined || wanted === match.chosen) return match;
  return { ...match, chosen: wanted, reason: `preferred by rule ${prefer.rule} over ${match.chosen ?? 'none'}` };
}

function dom0Modules(
  profile: HardwareProfile,
  drivers: readonly DriverMatch[],
  outcome: RuleOutcome,
  blacklisted: Set<string>,
  skippedClasses: Set<string>,
): Plan['dom0']['modules'] {
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
    if (match.bus === 'pci' && skippedClasses.has(classOf.get(match.id) ?? '')) continue;
    add(match.chosen, null, `${match.bus} ${match.id}: ${match.reason}`);
  }
  return out;
}

/** `items` by rank, lowest first; equal ranks keep their order. */
function ranked<T>(items: readonly T[], rank: (item: T) => number): T[] {
  return items.map((item, i) => ({ item, i, r: rank(item) })).sort((a, b) => a.r - b.r || a.i - b.i).map((x) => x.item);
}

/**
 * `b` is the function after `a` on the same device ("0000:05:00.0" then "0000:05:00.1"): where a graphics card puts
 * its HDMI/DisplayPort audio (NVIDIA and AMD cards, AMD APUs, whose analog HD-Audio is a later function, .6).
 */
function nextFunction(a: string, b: string): boolean {
  const dot = a.lastIndexOf('.');
  return dot > 0 && b.slice(0, b.lastIndexOf('.')) === a.slice(0, dot) && Number.parseInt(b.slice(dot + 1), 16) === Number.parseInt(a.slice(dot + 1), 16) + 1;
}

/** "1024M,max:1024M" in the target's syntax: before 3.0.4 one plain size, in KiB without a suffix. */
export function dom0MemOption(value: string, target: Pick<TargetInfo, 'dom0MemSyntax'>): string {
  if (target.dom0MemSyntax === 'minmax') return value;
  const parts = value.split(',');
  const first = parts.find((part) => !/^(min|max):/.test(part)) ?? parts[0]!.replace(/^(min|max):/, '');
  const mib = sizeMiB(first);
  return mib === null ? first : String(mib * 1024);
}

/** "512M" -> 512; "2G" -> 2048; "524288K" and plain KiB -> 512. */
export function sizeMiB(size: string): number | null {
  const m = /^([0-9]+)([KMGT]?)$/i.exec(size.trim());
  if (!m) return null;
  const n = Number(m[1]);
  switch (m[2]!.toUpperCase()) {
    case 'T':
      return n * 1024 * 1024;
    case 'G':
      return n * 1024;
    case 'M':
      return n;
    default:
      return Math.floor(n / 1024);
  }
}

/** The plain form for the report; src/emit/cmdline.ts renders (and checks) what goes into boot files. */
export function renderOptions(options: readonly BootOption[]): string {
  return options.map((o) => (o.value === null ? o.name : `${o.name}=${o.value}`)).join(' ');
}

// A USB HID boot mouse interface (class 03, subclass 01, protocol 02); PS/2 pointers are not on PCI or USB, so
// without one the mouse stays undetected (null), as hwsetup left it.
function usbMouse(profile: HardwareProfile): Plan['mouse'] {
  const mouse = profile.usb.find((d) =>
    d.interfaces.some((i) => i.class === '03' && i.subclass === '01' && i.protocol === '02'),
  );
  // hwsetup's mapping for a USB mouse: MOUSETYPE=imps2, XMOUSETYPE=IMPS/2 (knoppix.md §4.5).
  return mouse ? { device: '/dev/input/mice', type: 'imps2', xtype: 'IMPS/2' } : null;
}

// The live medium's layout: /boot/<arch>/{xen.gz,vmlinuz,initrd.gz}. x86 and x86_64 entries, each with and without
// Xen; no x86_64 entries on a CPU without long mode, no x86_32 Xen on Xen 4.3 and later. The default is the Xen
// entry of the chosen architecture, or the plain kernel when Xen cannot run here. Before Xen 4.0 the Dom0 kernel is
// a XenLinux build (2.6.16/2.6.18), which cannot boot without the hypervisor, so the Xen entries load their own
// /boot/<arch>/{vmlinuz-xen,initrd-xen.gz} (the Xenoppix CD had a 2.6.16 Xen kernel beside KNOPPIX's 2.6.19,
// knoppix.md §7.1); from 4.0 one pvops kernel boots both ways.
function grubEntries(
  target: TargetInfo,
  xenArch: XenArch,
  longMode: boolean | null,
  xenDisabled: boolean,
  xenOptions: readonly BootOption[],
  dom0Options: readonly BootOption[],
  nativeOptions: readonly BootOption[],
): GrubEntry[] {
  const arches: XenArch[] = longMode === false ? ['x86_32'] : ['x86_64', 'x86_32'];
  // The 32-bit hypervisor was removed after Xen 4.2: no x86_32 Xen entry for a newer target.
  const xen32 = !versionAtLeast(target.version, '4.3');
  const xenLinux = target.generation !== '4.x';
  const entries: GrubEntry[] = [];
  for (const arch of arches) {
    for (const xen of arch === 'x86_32' && !xen32 ? [false] : [true, false]) {
      entries.push({
        title: xen ? `Xenoppix (Xen ${target.version}, ${arch})` : `Xenoppix (${arch}, without Xen)`,
        xen,
        arch,
        hypervisor: xen ? `/boot/${arch}/xen.gz` : null,
        kernel: xen && xenLinux ? `/boot/${arch}/vmlinuz-xen` : `/boot/${arch}/vmlinuz`,
        initrd: xen && xenLinux ? `/boot/${arch}/initrd-xen.gz` : `/boot/${arch}/initrd.gz`,
        xenOptions: xen ? renderOptions(xenOptions) : '',
        kernelOptions: renderOptions(xen ? dom0Options : nativeOptions),
        default: arch === (xenDisabled ? arches[0] : xenArch) && xen === !xenDisabled,
      });
    }
  }
  return entries;
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

// /etc/sysconfig/* for the KNOPPIX-style init scripts, which read them with `[ -f F ] && . F`.
//
// The hardware files carry hwsetup's variables with hwsetup's names (knoppix.md §4.5): xserver (XSERVER XMODULE
// XOPTIONS XDESC), netcard and sound (FULLNAME DRIVER), mouse (MOUSETYPE XMOUSETYPE DEVICE), and the same values in
// /etc/sysconfig/knoppix as XSERVER..., NETCARD_FULLNAME NETCARD_DRIVER, SOUND_FULLNAME SOUND_DRIVER, MOUSE_DEVICE.
// As hwsetup did, a variable is written only when its value is known. hwsetup rewrote a class's file per device
// (the last device probed won); here the first device of the plan's list is the one written.
//
// /etc/sysconfig/xen holds our verdicts (xenVerdicts below). Then every variable the rules and boot options set
// (plan.sysconfig, a file name -> variables) is applied over them: it replaces a variable of the same name in
// place or is added after them, so each name appears once, and other files it names (i18n, keyboard, desktop ...)
// are written too. Values are single-quoted by formatShellVars: a device name with quotes, `$(...)` or backticks
// reads back as itself and runs nothing.
import { AutoconfigError } from '../errors.ts';
import type { Plan, PlanDevice } from '../plan/types.ts';
import { sysconfigVariableProblem } from '../rules/values.ts';
import { headerText } from './header.ts';
import { formatShellVars } from './shell.ts';

export const SYSCONFIG_DIR = '/etc/sysconfig';

// A file name under /etc/sysconfig (validate.ts's PATTERNS.sysconfigFile): no '/', no leading dot.
const FILE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

type Vars = Record<string, string>;

const yesNo = (value: boolean): string => (value ? 'yes' : 'no');
/** yes/no, or '' for unknown. */
const yesNoUnknown = (value: boolean | null): string => (value === null ? '' : yesNo(value));
/** Unknown is the empty string: `[ -n "$X" ]` tells known from unknown. */
const known = (value: string | number | null): string => (value === null ? '' : String(value));

/** What a device is called in FULLNAME/XDESC: its pci.ids name, else its IDs (hwsetup wrote kudzu's description). */
export function deviceName(device: PlanDevice): string {
  if (device.name !== null && device.name !== '') return device.name;
  if (device.vendor !== null && device.device !== null) return `${device.vendor}:${device.device} at ${device.id}`;
  return device.id;
}

/**
 * The verdicts, one variable each. Booleans are yes/no; what is unknown is ''. Sizes are MiB, counts plain numbers.
 * XEN_ENABLED=no: no Xen entry is the default boot (noxen, or a CPU Xen cannot run on).
 */
export function xenVerdicts(plan: Plan): Vars {
  return {
    XEN_ENABLED: yesNo(!plan.xenDisabled),
    XEN_VERSION: plan.target.version,
    XEN_GENERATION: plan.target.generation,
    TOOLSTACK: plan.target.toolstack,
    SAFE: yesNo(plan.safe),
    // No Xen build runs here when Xen is disabled; the kernel's architecture stays in DOM0_ARCH.
    XEN_ARCH: plan.xenDisabled ? '' : plan.arch.xen,
    DOM0_ARCH: plan.arch.dom0,
    GUESTS_64BIT: yesNo(plan.arch.guests64),
    LONG_MODE: plan.longMode === null ? '' : yesNo(plan.longMode),
    HVM: yesNo(plan.hvm.available),
    HVM_TECHNOLOGY: plan.hvm.technology ?? '',
    HVM_REASON: plan.hvm.reason,
    HVM_UNRELIABLE: yesNo(plan.hvm.unreliable),
    UMA: yesNo(plan.uma.present),
    UMA_DEVICE: plan.uma.device ?? '',
    UMA_STOLEN_MIB: known(plan.uma.stolenMiB),
    // One of the two, the machine's memory the sizes below come from: the installed memory SMBIOS states (the same in
    // a Xen Dom0 and without Xen), else MemTotal (never a Dom0's: its own share); both '' when unknown.
    MEM_TOTAL_MIB: known(plan.memory.totalMiB),
    MEM_INSTALLED_MIB: known(plan.memory.installedMiB),
    DOM0_MEM: plan.memory.dom0 ?? '',
    DOM0_MEM_MIB: known(plan.memory.dom0MiB),
    GUESTS_MEM_MIB: known(plan.memory.guestsMiB),
    HOST_CPUS: known(plan.vcpus.host),
    DOM0_VCPUS: known(plan.vcpus.dom0),
    GUEST_VCPUS: known(plan.vcpus.guests),
    IOMMU: yesNoUnknown(plan.iommu.available),
    IOMMU_HIDDEN: plan.iommu.hidden.join(' '),
    XEN_CMDLINE: plan.xen.cmdline,
    DOM0_CMDLINE: plan.dom0.cmdline,
    // '' when EFI or BIOS is unknown and no rule chose: the BIOS GRUB written then is an assumption, not a fact.
    BOOT_FIRMWARE: plan.grub.variantAssumed ? '' : plan.grub.variant,
    GRUB_FLAVOR: plan.grub.flavor,
  };
}

/** hwsetup's per-class files from the plan's devices, before the rules' sysconfig variables are applied. */
function hardwareFiles(plan: Plan): Record<string, Vars> {
  const xserver: Vars = {};
  const knoppix: Vars = {};
  const { server, module, description, device } = plan.xserver;
  if (server !== null) xserver.XSERVER = server;
  if (module !== null) xserver.XMODULE = module;
  const xdesc = description ?? (device === null ? null : deviceName(device));
  if (xdesc !== null) xserver.XDESC = xdesc;
  Object.assign(knoppix, xserver);

  const netcard: Vars = {};
  const card = plan.netcards[0];
  if (card !== undefined) {
    netcard.FULLNAME = knoppix.NETCARD_FULLNAME = deviceName(card.device);
    if (card.driver !== null) netcard.DRIVER = knoppix.NETCARD_DRIVER = card.driver;
  }

  const sound: Vars = {};
  const snd = plan.sound[0];
  if (snd !== undefined) {
    sound.FULLNAME = knoppix.SOUND_FULLNAME = deviceName(snd.device);
    if (snd.driver !== null) sound.DRIVER = knoppix.SOUND_DRIVER = snd.driver;
  }

  const mouse: Vars = {};
  if (plan.mouse !== null) {
    if (plan.mouse.type !== null) mouse.MOUSETYPE = plan.mouse.type;
    if (plan.mouse.xtype !== null) mouse.XMOUSETYPE = plan.mouse.xtype;
    if (plan.mouse.device !== null) {
      // hwsetup wrote DEVICE="/dev/%s" with kudzu's device name ("psaux"); a path is kept as it is.
      const path = plan.mouse.device.startsWith('/') ? plan.mouse.device : `/dev/${plan.mouse.device}`;
      mouse.DEVICE = knoppix.MOUSE_DEVICE = path;
    }
  }
  return { knoppix, xserver, netcard, sound, mouse };
}

/** Every sysconfig file's variables, in file-name order: hwsetup's, ours (xen), then the rules' over them. */
export function sysconfigVars(plan: Plan): Record<string, Vars> {
  // Maps, not objects: a name like "constructor" or "__proto__" from a rule file stays plain data.
  const files = new Map<string, Map<string, string>>();
  for (const [file, vars] of Object.entries({ ...hardwareFiles(plan), xen: xenVerdicts(plan) })) {
    files.set(file, new Map(Object.entries(vars)));
  }
  for (const [file, vars] of Object.entries(plan.sysconfig)) {
    if (!FILE_NAME.test(file)) {
      throw new AutoconfigError('E_PARSE', `sysconfig file name ${JSON.stringify(file)} is not a plain file name`, {
        path: file,
      });
    }
    const into = files.get(file) ?? new Map<string, string>();
    // Setting keeps an existing name where it was and appends a new one. Only the variables `rules lint` allows
    // (the same check, src/rules/values.ts): a rule never sets IFS, PATH or one of our verdicts.
    for (const [name, value] of Object.entries(vars)) {
      const problem = sysconfigVariableProblem(name);
      if (problem !== null) throw new AutoconfigError('E_PARSE', `/etc/sysconfig/${file}: ${problem}`, { path: name });
      into.set(name, value);
    }
    files.set(file, into);
  }
  const out: [string, Vars][] = [];
  for (const file of [...files.keys()].sort()) {
    const vars = files.get(file)!;
    // knoppix and xen always exist (the init scripts source them unconditionally); a class file only with content.
    if (file === 'knoppix' || file === 'xen' || vars.size > 0) out.push([file, Object.fromEntries(vars)]);
  }
  return Object.fromEntries(out);
}

const PURPOSE = new Map<string, string>(Object.entries({
  knoppix: 'KNOPPIX settings; the hardware lines are those hwsetup appended.',
  xserver: 'The X server and driver, as hwsetup wrote them (read by mkxf86config).',
  netcard: 'The network card, as hwsetup wrote it.',
  sound: 'The sound card, as hwsetup wrote it.',
  mouse: 'The mouse, as hwsetup wrote it.',
  xen: 'The Xen verdicts for this machine: yes/no, sizes in MiB, \'\' where unknown.',
}));

/** The files: name under /etc/sysconfig and content. */
export function renderSysconfig(plan: Plan): { name: string; content: string }[] {
  return Object.entries(sysconfigVars(plan)).map(([name, vars]) => {
    const purpose = PURPOSE.get(name);
    const sourced = 'Sourced by the init scripts.';
    const header = purpose === undefined ? headerText(sourced) : headerText(purpose, sourced);
    return { name, content: formatShellVars(vars, header) };
  });
}

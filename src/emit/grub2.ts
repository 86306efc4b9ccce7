// GRUB 2: /boot/grub/grub.cfg for the boot medium, its Xen entries in the shape GRUB's own 20_linux_xen writes
// (xen.md §2.2), and the settings 20_linux_xen reads when an installed system runs update-grub, in two files around
// Debian's own grub.d/xen.cfg (a dpkg conffile of xen-hypervisor-common, left alone). grub-mkconfig sources
// /etc/default/grub.d/*.cfg in name order, and xen.cfg acts the moment it is sourced: with XEN_OVERRIDE_GRUB_DEFAULT
// unset it warns "GRUB_DEFAULT changed to boot into Xen by default!" and makes Xen the default, so a setting after
// it comes too late. 00-xenoppix-autoconfig.cfg, before it, sets XEN_OVERRIDE_GRUB_DEFAULT=0 (xen.cfg then stays
// silent and leaves GRUB_DEFAULT alone); xenoppix-autoconfig.cfg, after it, sets the options and GRUB_DEFAULT, so
// that they win over an edited xen.cfg too.
//
// grub.cfg is GRUB script, which expands `$`, splits at `;` and treats quotes, so each word of a command line is
// quoted where it needs it (Xen's own documentation says `cpufreq=hwp;xen` must be quoted for GRUB). 20_linux_xen
// pastes GRUB_CMDLINE_* into grub.cfg unquoted, so the values in xen.cfg are quoted for GRUB first and then for sh.
import { AutoconfigError } from '../errors.ts';
import { grubSerialCommand } from '../plan/console.ts';
import type { GrubEntry, Plan } from '../plan/types.ts';
import { splitCmdline } from '../cmdline.ts';
import { defaultEntryIndex, MENU_TIMEOUT_SECONDS } from './grub-legacy.ts';
import { commentHeader } from './header.ts';
import { shellQuote } from './shell.ts';

// 20_linux_xen's CLASS for Xen entries, 10_linux's for plain Linux ones.
const XEN_CLASSES = '--class gnu-linux --class gnu --class os --class xen';
const LINUX_CLASSES = '--class gnu-linux --class gnu --class os';

/** `text` in single quotes, as grub-mkconfig_lib's grub_quote writes titles: GRUB takes it literally; ' is '\''. */
export function grubQuote(text: string): string {
  if (/[\x00-\x1f\x7f]/.test(text)) {
    throw new AutoconfigError('E_PARSE', `GRUB script: ${JSON.stringify(text)} has a control character`);
  }
  return `'${text.replaceAll("'", `'\\''`)}'`;
}

/** A word GRUB script reads back unchanged: as is when it has no special character, else grubQuote()d. */
export function grubWord(word: string): string {
  return /^[A-Za-z0-9_.,:=/+@%^~-]+$/.test(word) ? word : grubQuote(word);
}

/** A command line as GRUB words: each token of `cmdline` (split as the kernel splits it) quoted for GRUB. */
export function grubArgs(cmdline: string): string {
  // A boot line is one line (cmdline.ts refuses control characters): one here is a broken plan, not a separator.
  if (/[\x00-\x1f\x7f]/.test(cmdline)) {
    const line = JSON.stringify(cmdline);
    throw new AutoconfigError('E_PARSE', `GRUB script: command line ${line} has a control character`);
  }
  return splitCmdline(cmdline).map(grubWord).join(' ');
}

/** "/boot/xen-4.17.3.gz" -> "4.17.3", as 20_linux_xen names the hypervisor (`s,.gz$,,g;s,^xen-,,g` on the basename). */
export function xenVersionOfPath(path: string): string {
  return basename(path).replace(/.gz$/, '').replace(/^xen-/, '');
}

/** "/boot/vmlinuz-6.1.0-13-amd64" -> "6.1.0-13-amd64", as 20_linux_xen and 10_linux name the kernel. */
export function linuxVersionOfPath(path: string): string {
  return basename(path).replace(/^[^0-9]*-/, '');
}

// 20_linux_xen names the version from the file name; the live medium's /boot/<arch>/xen.gz and vmlinuz carry none,
// so the Xen message falls back to the target's version and the Linux one leaves the version out.
function xenMessageVersion(path: string, plan: Plan): string {
  const named = xenVersionOfPath(path);
  return /\d/.test(named) ? named : plan.target.version;
}

function linuxMessage(path: string): string {
  const named = linuxVersionOfPath(path);
  return /\d/.test(named) ? `Loading Linux ${named} ...` : 'Loading Linux ...';
}

function basename(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

/**
 * Whether GRUB can start the target's Xen on the plan's firmware: a Xen before 4.9 has no multiboot2 header
 * (RELEASE-4.8.0's head.S has none), and GRUB on UEFI starts Xen only through multiboot2 (xen-review.md, "Versions
 * and support"). A `chainloader` entry for xen.efi is not written instead: xen.efi reads its xen.cfg, kernel and
 * initrd through the firmware's own file system driver (FAT), which cannot read the ISO 9660 boot medium, and a
 * Xen 4.0 or 4.1 has no xen.efi at all. plan.ts warns with the same condition.
 */
export function grubBootsXen(plan: Plan): boolean {
  return !(plan.grub.variant === 'efi' && plan.target.multiboot === 'multiboot');
}

/** Why grub.cfg has no Xen entry and update-grub's Xen entries are not the default, when grubBootsXen() is false. */
export function efiNoXenReason(plan: Plan): string {
  return (
    `Xen ${plan.target.version} has no multiboot2 header (Xen 4.9 and later have one), so GRUB on UEFI cannot ` +
    'start it. Boot the machine in its legacy (CSM) mode, or choose Xen 4.9 or later.'
  );
}

export function renderGrubCfg(plan: Plan): string {
  if (plan.grub.entries.length === 0) throw new AutoconfigError('E_PARSE', 'grub.cfg: the plan has no boot entries');
  const bootsXen = grubBootsXen(plan);
  const entries = bootsXen ? plan.grub.entries : withoutXen(plan.grub.entries);
  const lines = [...serialTerminal(plan), `set default=${defaultEntryIndex(entries)}`, `set timeout=${MENU_TIMEOUT_SECONDS}`];
  for (const entry of entries) lines.push('', ...(entry.xen ? xenEntry(entry, plan) : linuxEntry(entry)));
  const header = commentHeader(
    'GRUB 2 menu; the Xen entries have the shape of GRUB\'s 20_linux_xen (xen_rm_opts: no real mode on EFI).',
    ...(bootsXen ? [] : [wrap(`No Xen entry: ${efiNoXenReason(plan)}`)]),
  );
  return `${header}\n${lines.join('\n')}\n`;
}

/**
 * The entries without Xen, for a GRUB that cannot start the target's Xen; where a Xen entry was the default, the
 * entry of the same architecture without Xen is (the plan makes one for every architecture).
 */
function withoutXen(entries: readonly GrubEntry[]): GrubEntry[] {
  const chosen = entries[defaultEntryIndex(entries)]!;
  return entries
    .filter((e) => !e.xen)
    .map((e) => ({ ...e, default: chosen.xen ? e.arch === chosen.arch : e === chosen }));
}

/**
 * The serial console (console=ttyS<N> on the boot line): the port, then the menu on it and on the screen, as
 * grub-mkconfig's 00_header writes GRUB_SERIAL_COMMAND and `terminal_input`/`terminal_output` GRUB_TERMINAL.
 */
function serialTerminal(plan: Plan): string[] {
  const serial = plan.console.serial;
  if (serial === null) return [];
  return [grubSerialCommand(serial), 'terminal_input serial console', 'terminal_output serial console'];
}

function xenEntry(entry: GrubEntry, plan: Plan): string[] {
  if (entry.hypervisor === null) {
    const title = JSON.stringify(entry.title);
    throw new AutoconfigError('E_PARSE', `grub.cfg entry ${title}: Xen entry without a hypervisor`);
  }
  // plan.target.multiboot: multiboot2/module2 for a Xen that has the multiboot2 header, else multiboot/module.
  const loader = plan.target.multiboot;
  const module = loader === 'multiboot2' ? 'module2' : 'module';
  const xenArgs = grubArgs(entry.xenOptions);
  const kernelArgs = grubArgs(entry.kernelOptions);
  // `placeholder` is the word a loader other than GRUB 2 would have put first (the image name): old Xen drops the
  // first word of each command line, Xen 4.x ignores `placeholder` (xen.md §1.1).
  const out = [
    `menuentry ${grubQuote(entry.title)} ${XEN_CLASSES} {`,
    '\tinsmod gzio',
    `\tinsmod ${loader}`,
    `\techo\t${grubQuote(`Loading Xen ${xenMessageVersion(entry.hypervisor, plan)} ...`)}`,
    '        if [ "$grub_platform" = "pc" -o "$grub_platform" = "" ]; then',
    '            xen_rm_opts=',
    '        else',
    '            xen_rm_opts="no-real-mode edd=off"',
    '        fi',
    `\t${loader}\t${bootPath(entry.hypervisor, entry)} placeholder ${join(xenArgs, '${xen_rm_opts}')}`,
    `\techo\t${grubQuote(linuxMessage(entry.kernel))}`,
    `\t${module}\t${join(`${bootPath(entry.kernel, entry)} placeholder`, kernelArgs)}`,
  ];
  if (entry.initrd !== '') {
    out.push(
      `\techo\t${grubQuote('Loading initial ramdisk ...')}`,
      `\t${module}\t--nounzip   ${bootPath(entry.initrd, entry)}`,
    );
  }
  out.push('}');
  return out;
}

function linuxEntry(entry: GrubEntry): string[] {
  const out = [
    `menuentry ${grubQuote(entry.title)} ${LINUX_CLASSES} {`,
    '\tinsmod gzio',
    `\techo\t${grubQuote(linuxMessage(entry.kernel))}`,
    `\tlinux\t${join(bootPath(entry.kernel, entry), grubArgs(entry.kernelOptions))}`,
  ];
  if (entry.initrd !== '') {
    out.push(`\techo\t${grubQuote('Loading initial ramdisk ...')}`, `\tinitrd\t${bootPath(entry.initrd, entry)}`);
  }
  out.push('}');
  return out;
}

const join = (...parts: string[]) => parts.filter((p) => p !== '').join(' ');

function bootPath(path: string, entry: GrubEntry): string {
  if (!path.startsWith('/')) {
    const title = JSON.stringify(entry.title);
    throw new AutoconfigError('E_PARSE', `grub.cfg entry ${title}: ${JSON.stringify(path)} is not absolute`, { path });
  }
  return grubWord(path);
}

/** The variable 00-xenoppix-autoconfig.cfg keeps GRUB_DEFAULT in, as it was before Debian's xen.cfg ran. */
const SAVED_DEFAULT = 'XENOPPIX_AUTOCONFIG_GRUB_DEFAULT';

/**
 * /etc/default/grub.d/00-xenoppix-autoconfig.cfg, sourced before Debian's grub.d/xen.cfg: XEN_OVERRIDE_GRUB_DEFAULT=0
 * keeps xen.cfg from warning and from changing GRUB_DEFAULT (xenoppix-autoconfig.cfg sets it), and the default as
 * the user's /etc/default/grub left it is kept for xenoppix-autoconfig.cfg, which puts it back where Xen cannot boot.
 */
export function renderGrubDefaultsFirst(): string {
  const header = commentHeader(
    "Sourced by grub-mkconfig (update-grub) before Debian's grub.d/xen.cfg, which reads XEN_OVERRIDE_GRUB_DEFAULT",
    'the moment it is sourced: 0 tells it not to touch GRUB_DEFAULT (and not to warn); xenoppix-autoconfig.cfg,',
    'sourced after it, sets GRUB_DEFAULT and the Xen options.',
  );
  return `${header}XEN_OVERRIDE_GRUB_DEFAULT=0\n${SAVED_DEFAULT}="\${GRUB_DEFAULT}"\n`;
}

/**
 * /etc/default/grub.d/xenoppix-autoconfig.cfg: grub-mkconfig sources it after /etc/default/grub, after
 * 00-xenoppix-autoconfig.cfg and after Debian's grub.d/xen.cfg (name order). GRUB_CMDLINE_XEN_DEFAULT carries
 * Xen's options; Dom0's are added to the user's GRUB_CMDLINE_LINUX_DEFAULT for Xen entries only (a non-empty
 * GRUB_CMDLINE_LINUX_XEN_REPLACE_DEFAULT replaces it there). GRUB_DEFAULT names 20_linux_xen's top entry by its id
 * when Xen boots here, else it is the user's own again (whatever an edited xen.cfg made of it).
 */
export function renderGrubDefaults(plan: Plan): string {
  const lines: string[] = [
    '# Xen\'s options for the normal entries of 20_linux_xen (recovery entries take GRUB_CMDLINE_XEN only).',
    `GRUB_CMDLINE_XEN_DEFAULT=${shellQuote(grubArgs(plan.xen.cmdline))}`,
  ];
  const dom0 = grubArgs(plan.dom0.cmdline);
  if (dom0 !== '') {
    lines.push(
      '# Dom0\'s options after the user\'s GRUB_CMDLINE_LINUX_DEFAULT, in Xen entries only.',
      `GRUB_CMDLINE_LINUX_XEN_REPLACE_DEFAULT="\${GRUB_CMDLINE_LINUX_DEFAULT}"${shellQuote(` ${dom0}`)}`,
    );
  }
  const serial = plan.console.serial;
  if (serial !== null) {
    lines.push(
      `# The serial console of the boot line (${serial.rule}): 00_header writes the command and the terminals.`,
      `GRUB_TERMINAL=${shellQuote('serial console')}`,
      `GRUB_SERIAL_COMMAND=${shellQuote(grubSerialCommand(serial))}`,
    );
  }
  if (plan.xenDisabled || !grubBootsXen(plan)) {
    const why = plan.xenDisabled ? 'Xen does not boot on this machine (see the plan\'s warnings)' : efiNoXenReason(plan);
    lines.push(
      ...commentLines(`Not Xen by default: ${why}`),
      '# GRUB_DEFAULT is the user\'s own again, as 00-xenoppix-autoconfig.cfg found it before grub.d/xen.cfg ran.',
      `if [ -n "\${${SAVED_DEFAULT}+set}" ]; then`,
      `  GRUB_DEFAULT="\${${SAVED_DEFAULT}}"`,
      'fi',
    );
  } else {
    lines.push(
      '# Boot Xen by default: 20_linux_xen\'s top entry, by the id it gives it ("xen-gnulinux-simple-" and the root',
      '# device\'s id, from grub-mkconfig_lib\'s grub_get_device_id as 20_linux_xen computes it): unlike its title, the',
      '# id does not change with the language grub-mkconfig runs in. Without that function (GRUB before 2.00), the',
      '# untranslated title, "<OS>, with Xen hypervisor" with OS made from GRUB_DISTRIBUTOR as 20_linux_xen makes it.',
      'if command -v grub_get_device_id >/dev/null 2>&1; then',
      '  GRUB_DEFAULT="xen-gnulinux-simple-$(grub_get_device_id "${GRUB_DEVICE}")"',
      'elif [ -z "${GRUB_DISTRIBUTOR}" ]; then',
      "  GRUB_DEFAULT='GNU/Linux, with Xen hypervisor'",
      'else',
      '  GRUB_DEFAULT="${GRUB_DISTRIBUTOR} GNU/Linux, with Xen hypervisor"',
      'fi',
    );
  }
  const header = commentHeader(
    "Settings for GRUB's 20_linux_xen, sourced by grub-mkconfig (update-grub) as sh, after Debian's grub.d/xen.cfg.",
  );
  return `${header}${lines.join('\n')}\n`;
}

/** `text` broken at spaces into lines of at most ~114 characters (a single longer word stays whole). */
function wrap(text: string): string {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line !== '' && line.length + 1 + word.length > 114) {
      lines.push(line);
      line = word;
    } else line = line === '' ? word : `${line} ${word}`;
  }
  return [...lines, line].join('\n');
}

/** `text` as `# ` comment lines. */
function commentLines(text: string): string[] {
  return wrap(text).split('\n').map((l) => `# ${l}`);
}

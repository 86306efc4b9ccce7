// GRUB 2: /boot/grub/grub.cfg for the boot medium, its Xen entries in the shape GRUB's own 20_linux_xen writes
// (xen.md §2.2), and /etc/default/grub.d/xenoppix-autoconfig.cfg, the settings 20_linux_xen reads when an installed
// system runs update-grub (named so that it is sourced after Debian's own grub.d/xen.cfg and wins over it).
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

export function renderGrubCfg(plan: Plan): string {
  const { entries } = plan.grub;
  if (entries.length === 0) throw new AutoconfigError('E_PARSE', 'grub.cfg: the plan has no boot entries');
  const lines = [...serialTerminal(plan), `set default=${defaultEntryIndex(entries)}`, `set timeout=${MENU_TIMEOUT_SECONDS}`];
  for (const entry of entries) lines.push('', ...(entry.xen ? xenEntry(entry, plan) : linuxEntry(entry)));
  const header = commentHeader(
    'GRUB 2 menu; the Xen entries have the shape of GRUB\'s 20_linux_xen (xen_rm_opts: no real mode on EFI).',
  );
  return `${header}\n${lines.join('\n')}\n`;
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

/**
 * /etc/default/grub.d/xenoppix-autoconfig.cfg: grub-mkconfig sources it after /etc/default/grub and after
 * Debian's grub.d/xen.cfg (name order). GRUB_CMDLINE_XEN_DEFAULT carries
 * Xen's options; Dom0's are added to the user's GRUB_CMDLINE_LINUX_DEFAULT for Xen entries only (a non-empty
 * GRUB_CMDLINE_LINUX_XEN_REPLACE_DEFAULT replaces it there); GRUB_DEFAULT names 20_linux_xen's top entry unless the
 * plan boots without Xen by default.
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
  lines.push(
    "# Debian's 20_linux_xen: 1 makes the Xen entries the default, 0 leaves GRUB_DEFAULT alone; set either way so that",
    '# it does not warn (its grub.d/xen.cfg: "set to 0 or 1 to avoid warning").',
    `XEN_OVERRIDE_GRUB_DEFAULT=${plan.xenDisabled ? 0 : 1}`,
  );
  if (plan.xenDisabled) {
    lines.push('# GRUB_DEFAULT is left alone: this machine boots without Xen by default.');
  } else {
    lines.push(
      '# Boot Xen by default: the title of 20_linux_xen\'s top entry, "<OS>, with Xen hypervisor", with OS made from',
      '# GRUB_DISTRIBUTOR as 20_linux_xen makes it (an untranslated title; GRUB boots entry 0 if none matches).',
      'if [ -z "${GRUB_DISTRIBUTOR}" ]; then',
      "  GRUB_DEFAULT='GNU/Linux, with Xen hypervisor'",
      'else',
      '  GRUB_DEFAULT="${GRUB_DISTRIBUTOR} GNU/Linux, with Xen hypervisor"',
      'fi',
    );
  }
  const header = commentHeader('Settings for GRUB\'s 20_linux_xen, sourced by grub-mkconfig (update-grub) as sh.');
  return `${header}${lines.join('\n')}\n`;
}

// /boot/grub/menu.lst for GRUB legacy (0.9x), the loader of the 2006 live CDs and of Xen 3.0.x, in the shape of
// Xen 3.0.3's user manual (xen.md §2.3): `kernel` loads the hypervisor with Xen's options, the first `module` is
// the Dom0 kernel with its command line, the second its initrd (Xen takes the first module after the kernel as the
// initrd). GRUB legacy passes the rest of a `kernel`/`module` line verbatim, the file name first (Xen drops that
// word from each command line), so nothing on these lines is quoted; a line break would end the line, and is
// refused. The commands of an entry start their lines, unindented: GRUB legacy takes them either way, but GRUB 2's
// reader of menu.lst (grub-menulst2cfg, and `legacy_configfile` when GRUB 2 boots such a medium) drops an indented
// `kernel`/`module`/`initrd` line as "Unsupported legacy command", leaving an entry with nothing to boot.
import { AutoconfigError } from '../errors.ts';
import { grubSerialCommand } from '../plan/console.ts';
import type { GrubEntry, Plan } from '../plan/types.ts';
import { commentHeader } from './header.ts';

/** Seconds the menu waits before booting the default entry: ours (the Plan has no knob for it). */
export const MENU_TIMEOUT_SECONDS = 10;

/** The entry booted when nobody chooses: the first marked default, else the first. */
export function defaultEntryIndex(entries: readonly GrubEntry[]): number {
  return Math.max(0, entries.findIndex((e) => e.default));
}

export function renderMenuLst(plan: Plan): string {
  const { entries } = plan.grub;
  if (entries.length === 0) throw new AutoconfigError('E_PARSE', 'menu.lst: the plan has no boot entries');
  const lines = [...serialTerminal(plan), `default ${defaultEntryIndex(entries)}`, `timeout ${MENU_TIMEOUT_SECONDS}`];
  for (const entry of entries) {
    lines.push('', ...entryLines(entry));
  }
  return `${commentHeader('GRUB legacy menu (GRUB 0.9x): entries count from 0 for `default`.')}\n${lines.join('\n')}\n`;
}

/**
 * The serial console (console=ttyS<N> on the boot line), in the form of Xen 3.0.3's user manual (xen.md §2.3):
 * `serial` sets up the port; `terminal --timeout=10 serial console` shows the menu on both and keeps the one where
 * a key is pressed first (the first listed, serial, when none is within the 10 seconds).
 */
function serialTerminal(plan: Plan): string[] {
  const serial = plan.console.serial;
  if (serial === null) return [];
  return [grubSerialCommand(serial), `terminal --timeout=${MENU_TIMEOUT_SECONDS} serial console`];
}

function entryLines(entry: GrubEntry): string[] {
  const title = oneLine(entry.title, entry, 'title');
  const withArgs = (command: string, file: string, args: string) => {
    const path = filePath(file, entry);
    const rest = oneLine(args, entry, `${command} options`).trim();
    return rest === '' ? `${command} ${path}` : `${command} ${path} ${rest}`;
  };
  const out = [`title ${title}`];
  if (entry.xen) {
    if (entry.hypervisor === null) {
      const title = JSON.stringify(entry.title);
      throw new AutoconfigError('E_PARSE', `menu.lst entry ${title}: Xen entry without a hypervisor`);
    }
    out.push(withArgs('kernel', entry.hypervisor, entry.xenOptions));
    out.push(withArgs('module', entry.kernel, entry.kernelOptions));
    if (entry.initrd !== '') out.push(`module ${filePath(entry.initrd, entry)}`);
  } else {
    out.push(withArgs('kernel', entry.kernel, entry.kernelOptions));
    if (entry.initrd !== '') out.push(`initrd ${filePath(entry.initrd, entry)}`);
  }
  return out;
}

function oneLine(text: string, entry: GrubEntry, what: string): string {
  if (/[\x00-\x1f\x7f]/.test(text)) {
    throw new AutoconfigError(
      'E_PARSE',
      `menu.lst entry ${JSON.stringify(entry.title)}: ${what} ${JSON.stringify(text)} has a control character`,
    );
  }
  return text;
}

// GRUB legacy ends a file name at the first space; an absolute path on the boot medium is what it loads.
function filePath(path: string, entry: GrubEntry): string {
  if (!/^\/[\x21-\x7e]*$/.test(path)) {
    throw new AutoconfigError(
      'E_PARSE',
      `menu.lst entry ${JSON.stringify(entry.title)}: ${JSON.stringify(path)} is not an absolute path without spaces`,
      { path },
    );
  }
  return path;
}

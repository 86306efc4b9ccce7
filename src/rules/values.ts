// What a rule (or a boot option) may write into the files autoconfig emits, checked once: `rules lint` reports it
// as a coded issue at the rule's line, and the emitters refuse the same values with the same words (issue #11: a
// rule that passed lint and failed at render time forced the safe plan). Allowlists, not blocklists: a sourced
// /etc/sysconfig file that sets IFS, PATH or LD_PRELOAD changes every script that reads it, and a guest setting
// such as kernel or device_model_override names a program Dom0 runs.

/**
 * The variables of /etc/sysconfig that rules and boot options may set: hwsetup's (knoppix.md §4.5), knoppix-autoconfig's
 * (§3.3, §3.4), mkxf86config's (§6). autoconfig's own verdicts in /etc/sysconfig/xen come from the plan, not from
 * rules: a rule says them through facts.
 */
export const SYSCONFIG_VARIABLES: ReadonlySet<string> = new Set([
  // hwsetup: the per-class files and their copies in /etc/sysconfig/knoppix
  ...['XSERVER', 'XMODULE', 'XOPTIONS', 'XDESC', 'FULLNAME', 'DRIVER', 'DEVICE', 'MOUSETYPE', 'XMOUSETYPE'],
  ...['NETCARD_FULLNAME', 'NETCARD_DRIVER', 'SOUND_FULLNAME', 'SOUND_DRIVER', 'MOUSE_FULLNAME', 'MOUSE_DEVICE'],
  ...['FLOPPY_DEVICE', 'FLOPPY_DRIVER', 'FLOPPY_FULLNAME'],
  // knoppix-autoconfig: i18n, keyboard, desktop and knoppix
  ...['LANG', 'COUNTRY', 'LANGUAGE', 'CHARSET', 'XMODIFIERS', 'KEYTABLE', 'XKEYBOARD', 'KDEKEYBOARD', 'KDEKEYBOARDS'],
  ...['DESKTOP', 'TZ', 'CUSTOM_DPI', 'BACKGROUND', 'CONSOLEFONT', 'IOCHARSET', 'IOCODEPAGE', 'SYSFONTACM'],
  // mkxf86config
  ...['XSCREEN', 'XDEPTH', 'XHREFRESH', 'XVREFRESH', 'KNOPPIXSIG'],
]);

/**
 * The HVM guest template's settings rules may set: the virtual hardware (xl.cfg(5), xm's xmexample.hvm) and
 * autoconfig's own keys the template reads (50-xen-versions.yaml). Never what names a program to run (kernel,
 * device_model, device_model_override, bootloader), the guest's identity or kind (name, type, builder), or what
 * the plan sizes and wires itself (memory, disk, vif).
 */
export const GUEST_KEYS: ReadonlySet<string> = new Set([
  // autoconfig's keys (src/emit/guest.ts): vcpus may be "host-cores"; extra goes into a comment
  ...['vcpus', 'vcpus_max', 'pv_drivers', 'vif_type', 'extra', 'ne2000'],
  // virtual hardware
  ...['acpi', 'apic', 'pae', 'hpet', 'viridian', 'xen_platform_pci', 'localtime', 'stdvga', 'videoram', 'nestedhvm'],
  ...['usb', 'usbdevice', 'soundhw', 'shadow_memory', 'timer_mode', 'boot', 'vnc', 'sdl', 'serial', 'keymap'],
]);

/** C0 controls and DEL: a line break ends a modprobe.d command or a config line, the others hide text. */
const CONTROL = /[\x00-\x1f\x7f]/;

/** Why `name` cannot be set in /etc/sysconfig by a rule, or null. */
export function sysconfigVariableProblem(name: string): string | null {
  return SYSCONFIG_VARIABLES.has(name)
    ? null
    : `${name} is not a variable rules may set in /etc/sysconfig (hwsetup's, knoppix-autoconfig's and mkxf86config's are; docs/rules.md)`;
}

/** Why a sysconfig value cannot be written, or null (single-quoted, anything but NUL reads back as itself). */
export function sysconfigValueProblem(value: string): string | null {
  return value.includes('\0') ? 'a shell variable cannot hold a NUL byte' : null;
}

/** Why `key` cannot be set in the HVM guest template by a rule, or null. */
export function guestKeyProblem(key: string): string | null {
  return GUEST_KEYS.has(key) ? null : `${key} is not a guest setting rules may set (docs/rules.md lists them)`;
}

/**
 * Why a guest value cannot be written into both template syntaxes (xm's Python literals, xl.cfg, whose strings and
 * list items have no escapes), or null.
 */
export function guestValueProblem(value: string | number | boolean): string | null {
  if (typeof value === 'number') return Number.isFinite(value) ? null : `${value} is not a number`;
  if (typeof value === 'boolean') return null;
  if (CONTROL.test(value)) return `${JSON.stringify(value)} has a control character`;
  if (/["'\\]/.test(value)) return `${JSON.stringify(value)} has a quote or a backslash, which an xl.cfg value cannot hold`;
  return null;
}

/** Why module options cannot be written on one modprobe.d line, or null. */
export function moduleOptionsProblem(options: string): string | null {
  return CONTROL.test(options) ? `${JSON.stringify(options)} has a control character` : null;
}

// /etc/xen/autoconfig-hvm.cfg: an HVM guest that boots the live CD (/dev/cdrom), as Xenoppix's knoppixHVM ran
// KNOPPIX itself under HVM; sized from what the plan leaves for guests. xm syntax for xend (Xen 3.x, 4.0; a Python
// file, after xen.git's xmexample.hvm) and xl syntax for xl (4.1 on; xl.cfg(5)). Keys the rules set (plan.guest,
// e.g. acpi, apic, ne2000, xen_platform_pci) are written after ours and replace ours of the same name; a null
// unsets one. The plan's internal guest keys (vcpus, pv_drivers, vif_type) shape the lines instead, and `extra`
// (options the guest's kernel needs) is said in a comment: xm and xl hand `extra` only to a kernel they boot
// themselves, and this guest boots the CD through its own emulated BIOS, so only its boot prompt can take them.
import { AutoconfigError } from '../errors.ts';
import { guestKeyProblem } from '../rules/values.ts';
import type { Plan } from '../plan/types.ts';
import type { FactValue } from '../rules/types.ts';
import { versionAtLeast } from '../rules/version.ts';
import { commentHeader } from './header.ts';

export const GUEST_NAME = 'autoconfig-hvm';
/** The live medium as KNOPPIX links it (hwsetup's /dev/cdrom), and as udev names the first optical drive. */
export const GUEST_CDROM = '/dev/cdrom';
/** Video RAM of the emulated Cirrus card, xl.cfg's default for it (xen.md §3.1). */
export const VIDEO_RAM_MIB = 8;
/**
 * The guest's memory: what a current live CD's desktop needs. KNOPPIX (Wikipedia's Knoppix article, minimum
 * requirements) runs LXDE in 512 MB and its browser and office software in 1 GB, and recommends 2 GB: a live system
 * has no swap and keeps every write in RAM. Never all that is left for guests: with xl's autoballoon="off" `xl create`
 * needs the guest's whole memory free, and a second guest should still fit.
 */
export const LIVE_CD_GUEST_MIB = 2048;
/** The guest's memory when the host's is unknown: what a live CD guest needs (KNOPPIX 5 boots X in it). */
export const UNKNOWN_HOST_GUEST_MIB = 512;
/** xmexample.hvm: "Allocating less than 32MBs is not recommended". */
export const MIN_GUEST_MIB = 32;

// Keys the plan uses to shape lines; they are not xm/xl keys themselves.
const INTERNAL = new Set(['vcpus', 'vcpus_max', 'pv_drivers', 'vif_type']);
const KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;
// What the rules' keys do, said above them.
const RULE_KEY_COMMENTS = new Map<string, string>([
  ['acpi', 'ACPI in the guest (xm of 3.0.x defaults it off; SMP guests need it).'],
  ['apic', 'The local APIC in the guest (xm of 3.0.x defaults it off; SMP guests need it).'],
  ['ne2000', 'ne2000=0: the emulated NIC is a pcnet, not an NE2000 (xm of 3.0.2).'],
  ['xen_platform_pci', 'The Xen platform PCI device, which PV drivers in the guest need.'],
]);

/**
 * The guest's memory out of `availableMiB`: what is left after Xen's shadow page tables for it (xl.cfg's default,
 * 1 MiB per vCPU and 8 KiB per MiB of guest RAM) and the emulated graphics card's video RAM. Null below 32 MiB.
 */
export function guestMemoryMiB(availableMiB: number, vcpus: number): number | null {
  const overhead = (mem: number) => vcpus + Math.ceil(mem / 128) + VIDEO_RAM_MIB;
  let mem = Math.floor(((availableMiB - vcpus - VIDEO_RAM_MIB) * 128) / 129);
  while (mem > 0 && mem + overhead(mem) > availableMiB) mem--;
  return mem >= MIN_GUEST_MIB ? mem : null;
}

interface Syntax {
  str(value: string, key: string): string;
  list(items: string[], key: string): string;
}

// xm configs are Python: a single-quoted literal with \ and ' escaped reads back as the string.
const PYTHON: Syntax = {
  str: (value, key) => `'${printable(value, key).replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`,
  list: (items, key) => `[ ${items.map((i) => PYTHON.str(i, key)).join(', ')} ]`,
};

// xl.cfg strings have no escapes we rely on: a value with a quote or a backslash is refused.
const XL: Syntax = {
  str: (value, key) => {
    if (/["\\]/.test(printable(value, key))) {
      throw new AutoconfigError('E_PARSE', `guest key ${key}: ${JSON.stringify(value)} cannot be an xl.cfg string`, {
        path: key,
      });
    }
    return `"${value}"`;
  },
  list: (items, key) => `[ ${items.map((i) => `'${xlItem(i, key)}'`).join(', ')} ]`,
};

function xlItem(value: string, key: string): string {
  if (/['\\]/.test(printable(value, key))) {
    throw new AutoconfigError('E_PARSE', `guest key ${key}: ${JSON.stringify(value)} cannot be an xl.cfg list item`, {
      path: key,
    });
  }
  return value;
}

function printable(value: string, key: string): string {
  if (/[\x00-\x1f\x7f]/.test(value)) {
    throw new AutoconfigError('E_PARSE', `guest key ${key}: ${JSON.stringify(value)} has a control character`, {
      path: key,
    });
  }
  return value;
}

function scalar(value: Exclude<FactValue, null>, key: string, syntax: Syntax): string {
  if (typeof value === 'boolean') return value ? '1' : '0';
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new AutoconfigError('E_PARSE', `guest key ${key}: ${value} is not a number`);
    return String(value);
  }
  return syntax.str(value, key);
}

export function renderGuestConfig(plan: Plan): string {
  if (!plan.hvm.available) {
    throw new AutoconfigError('E_PARSE', `no HVM guest template: HVM is not available (${plan.hvm.reason})`);
  }
  const xm = plan.target.toolstack === 'xend';
  const syntax = xm ? PYTHON : XL;
  const version = plan.target.version;
  const before = (v: string) => !versionAtLeast(version, v);
  const vcpus = plan.vcpus.guests;
  const pvDrivers = plan.guest['pv_drivers'];
  const vifType = plan.guest['vif_type'];

  // Each key: its value as written, and the comment lines above it.
  const keys = new Map<string, { value: string; comment: string[] }>();
  const set = (key: string, value: string, ...comment: string[]) => keys.set(key, { value, comment });

  if (xm) {
    const hvmloader = PYTHON.str('/usr/lib/xen/boot/hvmloader', 'kernel');
    set('kernel', hvmloader, 'The HVM firmware loader and the builder for HVM.');
    set('builder', PYTHON.str('hvm', 'builder'));
  } else if (before('4.10')) {
    set('builder', XL.str('hvm', 'builder'), 'An HVM guest (xl knows type= from 4.10 on).');
  } else {
    set('type', XL.str('hvm', 'type'), 'An HVM guest: emulated BIOS, disk and network.');
  }
  set('name', syntax.str(GUEST_NAME, 'name'));

  const available = plan.memory.guestsMiB;
  const fits = available === null ? null : guestMemoryMiB(available, vcpus ?? 1);
  const memory = fits === null ? null : Math.min(fits, LIVE_CD_GUEST_MIB);
  if (memory !== null && memory === LIVE_CD_GUEST_MIB) {
    set('memory', String(memory), `MiB: what a live CD's desktop needs (KNOPPIX recommends 2 GB), of the ${available} left for guests.`);
  } else if (memory !== null) {
    const why = `MiB: the ${available} left for guests, less shadow page tables and ${VIDEO_RAM_MIB} MiB of video RAM.`;
    set('memory', String(memory), why);
  } else if (available === null) {
    // The toolstacks' own defaults cannot boot the CD: xl gives 32 MiB (libxl_create.c, max_memkb default).
    set(
      'memory',
      String(UNKNOWN_HOST_GUEST_MIB),
      `MiB: how much memory is left for guests is unknown; ${UNKNOWN_HOST_GUEST_MIB} MiB boots the live CD (xl's own default, 32, does not).`,
    );
  }
  if (vcpus !== null) set('vcpus', String(vcpus));
  // A 64-bit guest needs PAE; xm of 3.x turns it off unless asked (xmexample.hvm: "default=0").
  if (xm && plan.arch.guests64) set('pae', '1', 'PAE on: 64-bit guests need it.');

  if (xm) {
    // Where qemu-dm is depends on the Dom0 that runs xm, and the medium boots a 32- or a 64-bit one: computed when
    // xm reads the file, as xmexample.hvm does (`re.search('64', os.uname()[4])`), not fixed from this CPU.
    set('device_model', "'/usr/' + arch_libdir + '/xen/bin/qemu-dm'", 'QEMU, which emulates the devices.');
  }

  // The bridge the plan knows of (plan.network): xend's network-bridge makes xenbr0 on 3.x, autoconfig's ifupdown
  // file on 4.x. Without one no vif: vif-bridge would fail on a missing bridge, and with it `xl create`.
  const bridge = plan.network.bridge;
  const made = plan.network.by === 'ifupdown' ? ' (/etc/network/interfaces.d/xenbr0)' : '';
  const vifComment = [
    pvDrivers === false
      ? `An emulated NIC on the bridge ${bridge}${made}: Xen ${version} has no PV drivers for HVM guests.`
      : `An emulated NIC on the bridge ${bridge}${made}.`,
  ];
  // xl offers an ioemu vif to the guest as PV too (it may unplug the emulated one); xend of 3.x makes no netfront
  // for type=ioemu (netif.py: `if typ == 'ioemu': front = {}`): PV drivers there need a vif of their own.
  if (pvDrivers === true && !xm) vifComment.push('A guest with PV drivers may use the paravirtual NIC and disk instead.');
  if (pvDrivers === true && xm) {
    vifComment.push(`A guest with PV drivers gets a paravirtual NIC only from a vif without type=ioemu: add 'bridge=${bridge}'.`);
  }
  if (bridge === null) {
    // Said after the keys (below).
  } else if (xm) {
    const type = typeof vifType === 'string' ? vifType : 'ioemu';
    set('vif', PYTHON.list([`type=${type}, bridge=${bridge}`], 'vif'), ...vifComment);
  } else {
    // type=ioemu is xl's default: emulated, and offered as PV to a guest that unplugs the emulated one.
    const type = typeof vifType === 'string' && vifType !== 'ioemu' ? `type=${vifType}, ` : '';
    set('vif', XL.list([`${type}bridge=${bridge}`], 'vif'), ...vifComment);
  }

  const cdComment = `The live medium (${GUEST_CDROM}) as the guest's CD drive; change it to boot an image instead.`;
  if (xm && before('3.0.3')) {
    // 3.0.2 took the HVM CD drive as its own key (xmexample.hvm of 3.0.2: cdrom=).
    set('cdrom', PYTHON.str(GUEST_CDROM, 'cdrom'), cdComment);
  } else if (xm) {
    set('disk', PYTHON.list([`phy:${GUEST_CDROM},hdc:cdrom,r`], 'disk'), cdComment);
  } else {
    set('disk', XL.list([`format=raw, vdev=hdc, access=ro, devtype=cdrom, target=${GUEST_CDROM}`], 'disk'), cdComment);
  }
  set('boot', syntax.str('d', 'boot'), 'Boot from the CD drive.');
  set('vnc', '1', 'The screen over VNC; the serial port on a pty (xl console / xm console).');
  set('serial', syntax.str('pty', 'serial'));

  let bootOptions: string | null = null;
  for (const key of Object.keys(plan.guest).sort()) {
    if (INTERNAL.has(key)) continue;
    if (key === 'extra') {
      const value = plan.guest[key];
      bootOptions = value === null || value === undefined ? null : printable(String(value), key);
      continue;
    }
    if (!KEY.test(key)) {
      throw new AutoconfigError('E_PARSE', `guest key ${JSON.stringify(key)} is not an xm/xl key name`, { path: key });
    }
    // Only the settings `rules lint` allows (the same check, src/rules/values.ts): never kernel, device_model_override.
    const notAllowed = guestKeyProblem(key);
    if (notAllowed !== null) throw new AutoconfigError('E_PARSE', `guest key ${notAllowed}`, { path: key });
    const value = plan.guest[key]!;
    if (value === null) {
      keys.delete(key);
      continue;
    }
    const known = RULE_KEY_COMMENTS.get(key);
    const comment = known !== undefined ? [known] : (keys.get(key)?.comment ?? []);
    keys.set(key, { value: scalar(value, key, syntax), comment });
  }

  const lines: string[] = [];
  if (xm) {
    lines.push(
      "# xmexample.hvm's own test: qemu-dm is under lib64 on a 64-bit Dom0, under lib on a 32-bit one.",
      'import os, re',
      'arch = os.uname()[4]',
      "if re.search('64', arch):",
      "    arch_libdir = 'lib64'",
      'else:',
      "    arch_libdir = 'lib'",
    );
  }
  for (const [key, { value, comment }] of keys) {
    for (const c of comment) lines.push(`# ${c}`);
    lines.push(`${key} = ${value}`);
  }
  if (bootOptions !== null) {
    lines.push(
      `# The guest's kernel needs the options: ${bootOptions}`,
      '# Type them at the CD\'s boot: prompt (KNOPPIX: "knoppix <options>"); no key here can pass them, as the guest',
      '# boots from its own emulated BIOS, not from a kernel the toolstack loads (xm/xl "extra" is for those).',
    );
  }
  if (bridge === null && !keys.has('vif')) {
    lines.push(
      `# No vif: the guest has no network (${plan.network.reason}).`,
      "# With a bridge of your own, add: vif = [ 'bridge=BRIDGE' ]",
    );
  }
  if (memory === null && available !== null) {
    lines.push(`# memory is not set: ${available} MiB left for guests is too little; the toolstack's default applies.`);
  }
  const what = xm ? `xm create (xend, Xen ${version}): Python syntax` : `xl create (Xen ${version}): xl.cfg(5) syntax`;
  return `${commentHeader(`HVM guest template for ${what}.`)}${lines.join('\n')}\n`;
}

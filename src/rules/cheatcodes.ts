// Boot-line cheatcodes: KNOPPIX's (linuxrc, knoppix-autoconfig, hwsetup, mkxf86config) and Xenoppix's Xen ones,
// turned into Actions that the engine applies after every rule (so they beat the rules). docs/cheatcodes.md has
// the table with the source of each code.
//
// KNOPPIX matched substrings (` nousb` also fired on ` nousb2`, `getbootparam keyboard` read `xkeyboard=`); we
// match whole tokens only, split the way the kernel's next_arg() does, and stop at a bare `--` (the kernel hands
// everything after it to init). A value that does not parse is a `warn` action, never an exception: a typo on
// the boot line must not stop the boot.
import type { HardwareProfile } from '../types.ts';
import { machineMemory } from '../probe/memory.ts';
import type { Action, Cheatcode, CheatcodeAction, FactValue } from './types.ts';
import { PATTERNS } from './shared.ts';
import { checkXenVersion } from './version.ts';

/** Split each token as the kernel's next_arg() does (kernel/params.c): name up to the first '=', quotes removed. */
export function parseCheatcodes(cmdline: readonly string[]): Cheatcode[] {
  const out: Cheatcode[] = [];
  for (const [index, token] of cmdline.entries()) {
    const { name, value } = splitToken(token);
    // parse_args(): `if (!val && strcmp(param, "--") == 0)` ends the kernel's parameters; the rest is init's.
    if (value === null && name === '--') break;
    out.push({ name, value, token, index });
  }
  return out;
}

function splitToken(token: string): { name: string; value: string | null } {
  let text = token;
  // A token that starts with a quote loses it, and then its closing quote at the very end.
  const quoted = text.startsWith('"');
  if (quoted) text = text.slice(1);
  const stripEnd = (s: string): string => (s.endsWith('"') ? s.slice(0, -1) : s);
  // next_arg() keeps `equals == 0` for "not found", so a '=' in the first position does not split either.
  const eq = text.indexOf('=');
  if (eq <= 0) return { name: quoted ? stripEnd(text) : text, value: null };
  const name = text.slice(0, eq);
  let value = text.slice(eq + 1);
  if (value.startsWith('"')) value = stripEnd(value.slice(1));
  else if (quoted) value = stripEnd(value);
  return { name, value };
}

/** A sysconfig file of the target and the variables to set in it. */
const sysconfig = (file: string, set: Record<string, string>): Action => ({ sysconfig: { file, set } });
const fact = (facts: Record<string, FactValue>): Action => ({ fact: facts });

interface Context {
  profile: HardwareProfile;
  /** xkeyboard= anywhere on the line: keyboard= then leaves XKEYBOARD/KDEKEYBOARD alone (knoppix-autoconfig). */
  hasXkeyboard: boolean;
  /** Index of the last well-formed console=ttyS<N> token: that one decides, the earlier ones do nothing. */
  serialConsole: number | null;
}

interface Handler {
  /** A flag takes no value; a value code needs one. */
  kind: 'flag' | 'value';
  run(value: string, cc: Cheatcode, ctx: Context): Result[];
}

/** An action and, for device-scoped ones, the PCI slots it is about. */
type Result = { action: Action; devices?: string[] };

const act = (action: Action, devices?: string[]): Result => (devices ? { action, devices } : { action });
const warn = (cc: Cheatcode, text: string): Result => act({ warn: `${cc.token}: ${text}` });

/** Slots of the PCI functions of a class (and subclass), e.g. CardBus bridges 06/07. */
function slotsOfClass(profile: HardwareProfile, cls: string, subclass?: string): string[] {
  return profile.pci
    .filter((d) => d.class === cls && (subclass === undefined || d.subclass === subclass))
    .map((d) => d.slot);
}

// -- value checks ----------------------------------------------------------------------------------------------

// dom0_mem as the engine's dom0Memory action takes it (PATTERNS.dom0Memory, the contract with the plan): `<size>`
// then optional `,min:<size>`/`,max:<size>`, sizes with T/G/M/K or none (KiB, as Xen reads it). Xen also knows
// `-<size>` and `<frac>%` (xen.md §1.2), but the plan writes dom0_mem= per target and only understands this form.
// Xen accepts lower-case suffixes; they are upper-cased here.

export function dom0MemValue(value: string): string | null {
  const upper = value.replace(/(\d)([kmgt])/g, (_m, d: string, u: string) => d + u.toUpperCase());
  if (!PATTERNS.dom0Memory.test(upper)) return null;
  // Every amount must be non-zero: dom0_mem=0 would leave Dom0 nothing.
  return upper.split(',').every((item) => /[1-9]/.test(item)) ? upper : null;
}

/** Below this no Linux Dom0 boots (a 6.x kernel and its initramfs alone take more); dom0_mem=1K is a typo. */
export const DOM0_MEM_MIN_MIB = 64;
/** x86-64 physical addresses have at most 52 bits: no machine has more than 4 PiB, in MiB. */
const PHYSICAL_LIMIT_MIB = 2 ** 32;
const UNIT_MIB: Record<string, number> = { T: 1024 * 1024, G: 1024, M: 1, K: 1 / 1024, '': 1 / 1024 };

/**
 * Why a dom0Memory value (dom0MemValue's form) cannot be right for this machine, or null: an amount below
 * DOM0_MEM_MIN_MIB, above the machine's memory (when known; else above any machine's), or a min: above the max:.
 * Bounded by the number of digits before any arithmetic, so `99999999999G` never becomes a float.
 */
export function dom0MemProblem(value: string, machineKiB: number | null): string | null {
  const limitMiB = machineKiB === null ? PHYSICAL_LIMIT_MIB : Math.floor(machineKiB / 1024);
  const amounts = new Map<string, number>();
  for (const item of value.split(',')) {
    const m = /^(?:(min|max):)?([0-9]+)([KMGT]?)$/.exec(item);
    if (!m) return `"${item}" is not a size`;
    const digits = m[2]!.replace(/^0+(?=\d)/, '');
    const mib = digits.length > 16 ? Infinity : Number(digits) * UNIT_MIB[m[3]!]!;
    if (mib < DOM0_MEM_MIN_MIB) return `${item} is less than the ${DOM0_MEM_MIN_MIB} MiB any Linux Dom0 needs`;
    if (mib > limitMiB) {
      return machineKiB === null
        ? `${item} is more than any machine has`
        : `${item} is more than this machine's ${limitMiB} MiB of memory`;
    }
    amounts.set(m[1] ?? 'size', Math.floor(mib));
  }
  const min = amounts.get('min');
  const max = amounts.get('max');
  return min !== undefined && max !== undefined && min > max ? `min:${min}M is more than max:${max}M` : null;
}


/** BB:DD.F or DDDD:BB:DD.F (hex), the forms xen-pciback's `hide=` takes; returned with the domain, lower case. */
export function normalizeSlot(text: string): string | null {
  const m = /^(?:([0-9a-f]{4}):)?([0-9a-f]{2}):([0-1][0-9a-f])\.([0-7])$/i.exec(text);
  if (!m) return null;
  return `${(m[1] ?? '0000').toLowerCase()}:${m[2]!.toLowerCase()}:${m[3]!.toLowerCase()}.${m[4]}`;
}

// console=ttyS<N>[,<baud>[<parity>[<bits>[<flow>]]]], read as Linux reads a serial console's options
// (uart_parse_options: the baud in digits, then one character each for parity, data bits and flow control; the
// defaults are 9600, none, 8). Only the first four ports: Xen names two of them (com1, com2), GRUB and GRUB legacy
// four (--unit=0-3). The speeds are the 16550's own, 115200 divided by a whole number, which GRUB, GRUB legacy
// and Xen all program the same way.

/** A serial console the boot line asked for: the port, its line settings and the Linux token as given. */
export interface SerialConsoleSpec {
  /** ttyS<unit>: GRUB's --unit; Xen's com<unit+1> for 0 and 1. */
  unit: number;
  baud: number;
  parity: 'n' | 'o' | 'e';
  bits: 7 | 8;
  /** RTS/CTS flow control (`r`): kept in the Linux token; neither Xen's comN= nor GRUB's serial sets it. */
  rtscts: boolean;
  /** The Linux token as written (quotes removed): console=ttyS0,115200n8. */
  linuxToken: string;
}

export const SERIAL_SPEEDS: readonly number[] = [300, 600, 1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200];

/**
 * The value of a `console=` token as a serial console: null when it names another console (tty0, hvc0, vga,
 * ttyUSB0, ttySAC0, uart8250,...), which this code leaves alone; an error text when it is a ttyS console written
 * wrong or one we do not set up.
 */
export function parseSerialConsole(value: string): SerialConsoleSpec | { error: string } | null {
  // ttyS followed by letters is another driver's device (ttySAC, ttySC, ttySTM): not a PC serial port.
  if (!/^ttyS(?![A-Za-z])/.test(value)) return null;
  const m = /^ttyS(0|[1-9]\d*)(?:,(\d+)(?:([noe])([78])?(r)?)?)?$/.exec(value);
  if (!m) return { error: 'expected console=ttyS<N>[,<baud>[<parity>[<bits>[r]]]], e.g. console=ttyS0,115200n8' };
  const unit = Number(m[1]);
  if (unit > 3) return { error: 'only ttyS0 to ttyS3 can be set up for GRUB and Xen' };
  const baud = m[2] === undefined ? 9600 : Number(m[2]);
  if (!SERIAL_SPEEDS.includes(baud)) return { error: `expected a speed of ${SERIAL_SPEEDS.join(', ')}` };
  return {
    unit,
    baud,
    parity: (m[3] ?? 'n') as SerialConsoleSpec['parity'],
    bits: m[4] === '7' ? 7 : 8,
    rtscts: m[5] === 'r',
    linuxToken: `console=${value}`,
  };
}

/** Xen's name for the port (com1 for ttyS0, com2 for ttyS1); null for ttyS2 and ttyS3, which Xen has no name for. */
export function xenSerialPort(spec: Pick<SerialConsoleSpec, 'unit'>): 'com1' | 'com2' | null {
  return spec.unit === 0 ? 'com1' : spec.unit === 1 ? 'com2' : null;
}

/**
 * Xen's options for the port: `console=comN,vga` (Xen's own default list is com1,vga: the screen keeps Xen's
 * messages) and `comN=<baud>,<bits><parity><stop>` (1 stop bit, as Linux). The same in 3.0.x and 4.x (xen.md §1.2).
 */
export function xenSerialOptions(spec: SerialConsoleSpec): string[] {
  const port = xenSerialPort(spec);
  return port === null ? [] : [`console=${port},vga`, `${port}=${spec.baud},${spec.bits}${spec.parity}1`];
}

/**
 * What a serial console= does: the fact the plan reads (GRUB's serial terminal, Dom0's hvc0), Xen's options for
 * the port, and the token itself on the Dom0 line. ttyS2/ttyS3: a warning, and no Xen option.
 */
function serialConsoleActions(spec: SerialConsoleSpec, value: string, cc: Cheatcode): Result[] {
  const out: Result[] = [act(fact({ 'console.serial': value }))];
  const xen = xenSerialOptions(spec);
  if (xen.length === 0) {
    out.push(
      warn(
        cc,
        `Xen has serial ports com1 and com2 only (ttyS0, ttyS1): Xen's own messages stay on the screen; ` +
          `GRUB and the kernel use ttyS${spec.unit}`,
      ),
    );
  }
  for (const option of xen) out.push(act({ xen: { add: option } }));
  out.push(act({ dom0: { add: spec.linuxToken } }));
  return out;
}

// knoppix-autoconfig's desktop= whitelist; anything else falls back to kde (knoppix.md §3.2 step 7).
const DESKTOPS = new Set([
  'gnome',
  'enlightenment',
  'kde',
  'larswm',
  'xfce',
  'xfce4',
  'windowmaker',
  'wmaker',
  'icewm',
  'fluxbox',
  'twm',
  'nx',
  'rdp',
  'kiosk',
]);

// The two lang= bundles the research quotes verbatim (knoppix.md §3.4, knoppix-autoconfig S2). Other codes only
// set LANGUAGE: their bundles live in the target's knoppix-autoconfig table, which we do not have.
const LANG_BUNDLES: Record<string, Record<string, string>> = {
  de: {
    LANGUAGE: 'de',
    COUNTRY: 'de',
    LANG: 'de_DE@euro',
    KEYTABLE: 'de-latin1-nodeadkeys',
    XKEYBOARD: 'de',
    KDEKEYBOARD: 'de',
    CHARSET: 'iso8859-15',
    KDEKEYBOARDS: 'us,fr',
    TZ: 'Europe/Berlin',
  },
  ja: {
    LANGUAGE: 'ja',
    COUNTRY: 'jp',
    LANG: 'ja_JP',
    KEYTABLE: 'us',
    XKEYBOARD: 'us',
    KDEKEYBOARD: 'us',
    CHARSET: 'iso8859-15',
    KDEKEYBOARDS: 'fr,us,de',
    TZ: 'Asia/Tokyo',
  },
};

// Which file each variable lives in (knoppix.md §3.3); /etc/sysconfig/knoppix gets all of them.
const I18N_VARS = ['LANG', 'COUNTRY', 'LANGUAGE', 'CHARSET', 'XMODIFIERS'];
const KEYBOARD_VARS = ['KEYTABLE', 'XKEYBOARD', 'KDEKEYBOARD', 'KDEKEYBOARDS'];

function pick(vars: Record<string, string>, names: readonly string[]): Record<string, string> {
  return Object.fromEntries(Object.entries(vars).filter(([k]) => names.includes(k)));
}

/** Variables for /etc/sysconfig/knoppix and the per-topic files, as knoppix-autoconfig writes them. */
function localeActions(vars: Record<string, string>): Result[] {
  const out: Result[] = [];
  const i18n = pick(vars, I18N_VARS);
  const keyboard = pick(vars, KEYBOARD_VARS);
  if (Object.keys(i18n).length > 0) out.push(act(sysconfig('i18n', i18n)));
  if (Object.keys(keyboard).length > 0) out.push(act(sysconfig('keyboard', keyboard)));
  out.push(act(sysconfig('knoppix', vars)));
  return out;
}

/** hwsetup and mkxf86config write the X variables to both files (knoppix.md §4.5, §6.1). */
const xserverActions = (vars: Record<string, string>): Result[] => [
  act(sysconfig('xserver', vars)),
  act(sysconfig('knoppix', vars)),
];

const KEYMAP = /^[A-Za-z0-9_.+-]+$/;
const XNAME = /^[A-Za-z0-9_.-]+$/;

// -- the codes ---------------------------------------------------------------------------------------------------

/** A code that only sets facts (and maybe more actions): a "skip this hardware class" code. */
const flag = (run: (cc: Cheatcode, ctx: Context) => Result[]): Handler => ({
  kind: 'flag',
  run: (_v, cc, ctx) => run(cc, ctx),
});
const value = (run: (value: string, cc: Cheatcode, ctx: Context) => Result[]): Handler => ({ kind: 'value', run });

const HANDLERS = new Map<string, Handler>([
  // Linux switches, put where they act. Xen propagates its own noapic/acpi= to Dom0 itself (xen-command-line:
  // "automatically propagated to the domain 0 command line"); we still write both lines, for a non-Xen boot.
  ['noacpi', flag(() => [act(fact({ 'skip.acpi': true })), act({ dom0: { add: 'acpi=off' } })])],
  ['noapm', flag(() => [act(fact({ 'skip.apm': true })), act({ dom0: { add: 'apm=off' } })])],
  ['noapic', flag(() => [act({ xen: { add: 'noapic' } }), act({ dom0: { add: 'noapic' } })])],
  // Xen owns the local APICs and brings up the CPUs, so these only help on the hypervisor's line as well.
  ['nolapic', flag(() => [act({ xen: { add: 'nolapic' } }), act({ dom0: { add: 'nolapic' } })])],
  ['nosmp', flag(() => [act({ xen: { add: 'nosmp' } }), act({ dom0: { add: 'nosmp' } })])],
  // Hardware classes hwsetup or knoppix-autoconfig skipped: a fact the plan applies to the class's kmod
  // candidates; plus a kernel switch or blacklist where one exists for exactly that class.
  [
    'nopcmcia',
    flag((_cc, { profile }) => {
      // knoppix-autoconfig loaded the socket driver itself (yenta_socket || i82365 || tcic); udev loads the PCI
      // ones by alias, so skipping them today means blacklisting the CardBus/PCI socket drivers.
      const bridges = slotsOfClass(profile, '06', '07');
      return [
        act(fact({ 'skip.pcmcia': true })),
        act({ module: { blacklist: 'yenta_socket' } }, bridges),
        act({ module: { blacklist: 'i82092' } }, bridges),
      ];
    }),
  ],
  ['nousb', flag(() => [act(fact({ 'skip.usb': true })), act({ dom0: { add: 'usbcore.nousb' } })])],
  ['noscsi', flag(() => [act(fact({ 'skip.scsi': true }))])],
  ['noaudio', flag(() => [act(fact({ 'skip.audio': true }))])],
  ['nosound', flag(() => [act(fact({ 'skip.audio': true }))])],
  ['noagp', flag(() => [act(fact({ 'skip.agp': true })), act({ dom0: { add: 'agp=off' } })])],
  ['nofirewire', flag(() => [act(fact({ 'skip.firewire': true }))])],
  ['nodhcp', flag(() => [act(fact({ 'skip.dhcp': true }))])],
  ['nohwsetup', flag(() => [act(fact({ safe: true }))])],
  ['failsafe', flag(() => [act(fact({ safe: true }))])],

  // X (mkxf86config, knoppix.md §6.1).
  ['xmodule', value((v, cc) => (XNAME.test(v) ? xserverActions({ XMODULE: v }) : [warn(cc, 'not an X driver name')]))],
  ['xserver', value((v, cc) => (XNAME.test(v) ? xserverActions({ XSERVER: v }) : [warn(cc, 'not an X server name')]))],
  ...(['screen', 'xscreen'] as const).map((n): [string, Handler] => [
    n,
    value((v, cc) =>
      /^\d+x\d+$/.test(v) ? xserverActions({ XSCREEN: v }) : [warn(cc, 'expected WIDTHxHEIGHT, e.g. 1024x768')],
    ),
  ]),
  ...(['depth', 'xdepth'] as const).map((n): [string, Handler] => [
    n,
    value((v, cc) =>
      /^(?:8|15|16|24|30|32)$/.test(v)
        ? xserverActions({ XDEPTH: v })
        : [warn(cc, 'expected a colour depth: 8, 15, 16, 24, 30 or 32')],
    ),
  ]),

  // Locale (knoppix-autoconfig, knoppix.md §3.2-3.4).
  [
    'lang',
    value((v, cc) => {
      if (!/^[a-z]{2}(?:-utf8)?$/.test(v)) return [warn(cc, 'expected a language code such as de, ja or us-utf8')];
      const bundle = LANG_BUNDLES[v];
      if (bundle) return localeActions(bundle);
      return [
        ...localeActions({ LANGUAGE: v }),
        act({
          note: `${cc.token}: LANGUAGE set; the rest of the "${v}" locale comes from the target's knoppix-autoconfig`,
        }),
      ];
    }),
  ],
  [
    'keyboard',
    value((v, cc, ctx) => {
      if (!KEYMAP.test(v)) return [warn(cc, 'not a keymap name')];
      // keyboard= sets the X keymap too, unless xkeyboard= says otherwise.
      return localeActions(ctx.hasXkeyboard ? { KEYTABLE: v } : { KEYTABLE: v, XKEYBOARD: v, KDEKEYBOARD: v });
    }),
  ],
  [
    'xkeyboard',
    value((v, cc) =>
      KEYMAP.test(v) ? localeActions({ XKEYBOARD: v, KDEKEYBOARD: v }) : [warn(cc, 'not a keymap name')],
    ),
  ],
  [
    'tz',
    value((v, cc) =>
      /^[A-Za-z0-9_+-]+(?:\/[A-Za-z0-9_+-]+)*$/.test(v)
        ? [act(sysconfig('knoppix', { TZ: v }))]
        : [warn(cc, 'expected a zone such as Europe/Berlin')],
    ),
  ],
  [
    'desktop',
    value((v, cc) => {
      if (DESKTOPS.has(v))
        return [act(sysconfig('desktop', { DESKTOP: v })), act(sysconfig('knoppix', { DESKTOP: v }))];
      // knoppix-autoconfig: anything off its list becomes kde.
      return [
        warn(cc, `"${v}" is not one of ${[...DESKTOPS].join(', ')}; using kde as KNOPPIX did`),
        act(sysconfig('desktop', { DESKTOP: 'kde' })),
        act(sysconfig('knoppix', { DESKTOP: 'kde' })),
      ];
    }),
  ],

  // Xen (Xenoppix).
  [
    'xen',
    value((v, cc) => {
      const check = checkXenVersion(v);
      return check.ok ? [act(fact({ 'target.xen': v }))] : [warn(cc, `expected a Xen version such as 3.0.3 or 4.17: ${check.reason}`)];
    }),
  ],
  ['noxen', flag(() => [act(fact({ 'xen.disabled': true }))])],
  ['nohvm', flag(() => [act(fact({ 'hvm.available': false, 'hvm.reason': 'nohvm on the boot line' }))])],
  [
    'dom0_mem',
    value((v, cc, ctx) => {
      const mem = dom0MemValue(v);
      if (!mem) return [warn(cc, 'expected a Dom0 size such as 1024M or 1024M,max:1024M')];
      // Absurd for this machine: the rules' sizing stays, and the warning says why.
      const problem = dom0MemProblem(mem, machineMemory(ctx.profile)?.kib ?? null);
      return problem ? [warn(cc, `${problem}: ignored, the Dom0 size is the rules'`)] : [act({ dom0Memory: mem })];
    }),
  ],
  [
    'dom0_vcpus',
    value((v, cc) => {
      if (v === 'all') return [act({ dom0Vcpus: 'all' })];
      if (/^[1-9]\d{0,3}$/.test(v)) return [act({ dom0Vcpus: Number(v) })];
      return [warn(cc, 'expected a number of vCPUs (1 or more) or "all"')];
    }),
  ],
  ['passthrough', value((v, cc, ctx) => passthrough(v, cc, ctx.profile))],

  // Linux's own serial console (console=ttyS0,115200n8): GRUB, Xen and Dom0 follow it. The last well-formed
  // console=ttyS token decides (Linux makes the last console= /dev/console); other consoles are not ours.
  [
    'console',
    value((v, cc, ctx) => {
      const spec = parseSerialConsole(v);
      if (spec === null) return [];
      if ('error' in spec) return [warn(cc, `${spec.error}; no serial console set up`)];
      return cc.index === ctx.serialConsole ? serialConsoleActions(spec, v, cc) : [];
    }),
  ],
]);

/**
 * Hide PCI functions from Dom0 so that guests can have them: xen-pciback's `hide=(DDDD:BB:DD.F)(...)` (pvops
 * kernels, drivers/xen/xen-pciback/pci_stub.c) and the same list as `pciback.hide=` for the XenLinux kernels of
 * Xen 3.0.x (user.tex 3.0.3); each kernel ignores the other's dotted module option. The devices go out as the
 * actions' devices: the plan, which knows the target and the drivers, also gives the loaded backend its own `hide=`
 * option and the devices' drivers a softdep on it in modprobe.d (plan.ts passthroughModules).
 */
function passthrough(v: string, cc: Cheatcode, profile: HardwareProfile): Result[] {
  const out: Result[] = [];
  const slots: string[] = [];
  for (const part of v.split(',')) {
    const slot = normalizeSlot(part.trim());
    if (slot === null) {
      out.push(warn(cc, `"${part}" is not a PCI slot (BB:DD.F or DDDD:BB:DD.F)`));
      continue;
    }
    const dev = profile.pci.find((d) => d.slot === slot);
    if (!dev) {
      out.push(warn(cc, `no PCI device ${slot} on this machine; not hidden`));
      continue;
    }
    if (slots.includes(slot)) continue;
    slots.push(slot);
    out.push(
      act({ note: `PCI ${slot} [${dev.vendor ?? '????'}:${dev.device ?? '????'}] hidden from Dom0 for passthrough` }, [
        slot,
      ]),
    );
  }
  if (slots.length > 0) {
    const list = slots.map((s) => `(${s})`).join('');
    out.push(act({ dom0: { add: `xen-pciback.hide=${list}` } }, slots));
    out.push(act({ dom0: { add: `pciback.hide=${list}` } }, slots));
  }
  return out;
}

/** The console=ttyS<N> token that decides the serial console (the last well-formed one), with its settings. */
export function lastSerialConsole(cheatcodes: readonly Cheatcode[]): { index: number; spec: SerialConsoleSpec } | null {
  for (const cc of [...cheatcodes].reverse()) {
    if (cc.name !== 'console' || cc.value === null) continue;
    const spec = parseSerialConsole(cc.value);
    if (spec !== null && !('error' in spec)) return { index: cc.index, spec };
  }
  return null;
}

/** The codes this module knows, for documentation and tests. */
export const SUPPORTED_CHEATCODES: readonly string[] = [...HANDLERS.keys()];

/**
 * What the cheatcodes do, in the order the engine applies them (later wins for the same key): lang= first, as
 * knoppix-autoconfig reads it before keyboard=, then every other code in boot-line order.
 */
export function cheatcodeActions(cheatcodes: Cheatcode[], profile: HardwareProfile): CheatcodeAction[] {
  const ctx: Context = {
    profile,
    hasXkeyboard: cheatcodes.some((c) => c.name === 'xkeyboard' && c.value !== null),
    serialConsole: lastSerialConsole(cheatcodes)?.index ?? null,
  };
  const ordered = [...cheatcodes.filter((c) => c.name === 'lang'), ...cheatcodes.filter((c) => c.name !== 'lang')];
  const out: CheatcodeAction[] = [];
  for (const cc of ordered) {
    const handler = HANDLERS.get(cc.name);
    if (!handler) continue; // not ours (root=, quiet, BOOT_IMAGE=...): nothing to do
    let results: Result[];
    if (handler.kind === 'flag' && cc.value !== null) results = [warn(cc, `${cc.name} takes no value; ignored`)];
    else if (handler.kind === 'value' && (cc.value === null || cc.value === ''))
      results = [warn(cc, `${cc.name}= needs a value; ignored`)];
    else results = handler.run(cc.value ?? '', cc, ctx);
    for (const r of results)
      out.push(
        r.devices ? { token: cc.token, action: r.action, devices: r.devices } : { token: cc.token, action: r.action },
      );
  }
  return out;
}

// The serial console of the plan, from the console=ttyS<N> cheatcode (src/rules/cheatcodes.ts; docs/cheatcodes.md).
// The cheatcode itself puts Xen's options for the port and its own token on the Dom0 line (decisions like every
// other code's); what only the plan can say is settled here: the console device a Dom0 under Xen writes to, and
// the serial terminal of GRUB (src/emit/grub2.ts, src/emit/grub-legacy.ts).
import { cheatcodeActions, parseCheatcodes, parseSerialConsole, xenSerialPort } from '../rules/cheatcodes.ts';
import { evaluateRules } from '../rules/evaluate.ts';
import type { Decision, RuleOutcome } from '../rules/types.ts';
import type { HardwareProfile } from '../types.ts';
import type { SerialConsole, TargetInfo } from './types.ts';

/** The fact the console= cheatcode sets: its value, "ttyS0,115200n8". */
export const CONSOLE_FACT = 'console.serial';

/**
 * The serial console for `value` (the fact), or null when there is none or the value is not a ttyS console we set up
 * (the cheatcode only sets well-formed ones). `rule` names the decision that set the fact.
 *
 * The Dom0 under Xen writes its console to Xen, which owns the port (and keeps Dom0 off its I/O ports):
 * - a pvops Dom0 (Xen 4.x) through hvc0, written after the ttyS token, since Linux makes the last console=
 *   /dev/console. The ttyS token stays before it, so that the plan made inside Dom0 from its /proc/cmdline is the
 *   plan made on the bare machine (the last console=ttyS decides; hvc0 is not a serial setting).
 * - a XenLinux Dom0 (2.6.16/2.6.18, Xen 3.x) through its own Xen console, which a Dom0 registers as ttyS by
 *   default (linux-2.6-xen-sparse drivers/xen/console/console.c: "[XC_DEFAULT]: DOM0 -> XC_SERIAL", named "ttyS"):
 *   the ttyS token already names it, and there is no hvc0.
 * On ttyS2/ttyS3, which Xen has no name for, Dom0 drives the port itself: no hvc0.
 */
export function serialConsolePlan(value: string | null, rule: string, target: Pick<TargetInfo, 'generation'>): SerialConsole | null {
  if (value === null) return null;
  const spec = parseSerialConsole(value);
  if (spec === null || 'error' in spec) return null;
  const xenPort = xenSerialPort(spec);
  return {
    ...spec,
    xenPort,
    dom0Console: xenPort !== null && target.generation === '4.x' ? 'hvc0' : null,
    rule,
  };
}

/** The rule of the live decision that set the console fact: "cheatcode:console=ttyS0,115200n8". */
export function consoleRule(decisions: readonly Decision[]): string {
  const last = [...decisions].reverse().find((d) => 'fact' in d.action && CONSOLE_FACT in d.action.fact && !d.overriddenBy);
  return last?.rule ?? 'plan';
}

const PARITY = { n: 'no', o: 'odd', e: 'even' } as const;

/**
 * GRUB's `serial` command for the port, in the syntax GRUB 2 and GRUB legacy share: `--unit` and `--speed`, and
 * `--word`/`--parity` only when the line is not 8n1 (both default to 8 bits, no parity, 1 stop bit).
 */
export function grubSerialCommand(serial: SerialConsole): string {
  const words = [`serial --unit=${serial.unit} --speed=${serial.baud}`];
  if (serial.bits !== 8) words.push(`--word=${serial.bits}`);
  if (serial.parity !== 'n') words.push(`--parity=${PARITY[serial.parity]}`);
  return words.join(' ');
}

/** One line for the report: "ttyS0 at 115200 8n1: Xen com1 (and the screen), Dom0 hvc0, GRUB serial unit 0 (rule)". */
export function describeSerialConsole(serial: SerialConsole): string {
  const xen = serial.xenPort === null ? 'Xen on the screen only (no com port for it)' : `Xen ${serial.xenPort} and the screen`;
  const dom0 = serial.dom0Console === null ? `Dom0 ttyS${serial.unit}` : `Dom0 ${serial.dom0Console}`;
  const flow = serial.rtscts ? ' RTS/CTS (Linux only)' : '';
  return (
    `ttyS${serial.unit} at ${serial.baud} ${serial.bits}${serial.parity}1${flow}: ${xen}, ${dom0}, ` +
    `GRUB serial unit ${serial.unit} (${serial.rule})`
  );
}

/**
 * The boot line's console= alone, as the safe plan keeps it (no rule, no other cheatcode): a machine that is only
 * reachable over its serial line must stay reachable when autoconfig falls back. Evaluated by the same engine
 * with no rule files; null when there is no serial console= or that fails too.
 */
export function bootLineConsole(
  profile: HardwareProfile,
  xen: string,
): Pick<RuleOutcome, 'facts' | 'xen' | 'dom0' | 'warnings' | 'decisions'> | null {
  try {
    const codes = parseCheatcodes(profile.cmdline).filter((c) => c.name === 'console');
    const cheatcodes = cheatcodeActions(codes, profile);
    if (cheatcodes.length === 0) return null;
    const outcome = evaluateRules({ files: [], profile, drivers: [], target: { xen, arch: null }, cheatcodes });
    const { facts, xen: xenOptions, dom0, warnings, decisions } = outcome;
    return { facts, xen: xenOptions, dom0, warnings, decisions };
  } catch {
    return null;
  }
}

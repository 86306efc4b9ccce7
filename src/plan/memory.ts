// Dom0's memory and what is left for guests, from the machine's memory (probe/memory.ts machineMemory, as the rules'
// memory conditions read it) and the rules' dom0Memory; the UMA graphics carve-out the guests cannot have.
import { machineMemory } from '../probe/memory.ts';
import { dom0MemProblem } from '../rules/cheatcodes.ts';
import type { BootOption, RuleOutcome } from '../rules/types.ts';
import type { HardwareProfile } from '../types.ts';
import { decisionRule, factString, type Facts } from './outcome.ts';
import type { Plan, TargetInfo } from './types.ts';

export interface MemoryDecision {
  memory: Plan['memory'];
  /** dom0_mem= in the target's syntax, for Xen's line; null: Xen's default sizes Dom0. */
  option: BootOption | null;
  notes: string[];
  warnings: string[];
}

/**
 * The machine's memory: the installed memory the SMBIOS tables state whenever known, the same inside a Xen Dom0 and
 * without Xen; else MemTotal, but never a Dom0's MemTotal (its own share). Only the figure the sizes come from is in
 * the plan. A rule's size absurd for this machine (a local rule's 99999G; the cheatcode is checked where it is read)
 * is dropped with a warning: Xen's default then sizes Dom0.
 */
export function decideMemory(
  profile: HardwareProfile,
  outcome: Pick<RuleOutcome, 'dom0Memory' | 'decisions'>,
  target: Pick<TargetInfo, 'dom0MemSyntax'>,
  stolenMiB: number | null,
): MemoryDecision {
  const machine = machineMemory(profile);
  const totalMiB = machine?.source === 'memtotal' ? Math.floor(machine.kib / 1024) : null;
  const installedMiB = machine?.source === 'smbios' ? Math.floor(machine.kib / 1024) : null;
  const problem = outcome.dom0Memory === null ? null : dom0MemProblem(outcome.dom0Memory, machine?.kib ?? null);
  const dom0 = problem === null ? outcome.dom0Memory : null;
  const dom0MiB = dom0 === null ? null : sizeMiB(dom0.split(',')[0]!.replace(/^(min|max):/, ''));
  return {
    memory: { totalMiB, installedMiB, dom0, dom0MiB, guestsMiB: guestsMiB(totalMiB, installedMiB, dom0MiB, stolenMiB) },
    option:
      dom0 === null
        ? null
        : { name: 'dom0_mem', value: dom0MemOption(dom0, target), rule: decisionRule(outcome.decisions, 'dom0Memory') ?? 'plan' },
    notes: installedMiB === null || dom0MiB === null ? [] : [estimateNote(installedMiB, profile.memory.totalKiB === null)],
    warnings: problem === null ? [] : [`dom0_mem ${outcome.dom0Memory}: ${problem}; Dom0 memory is left to Xen's default`],
  };
}

/**
 * totalMiB is MemTotal (probe/memory.ts): at most the RAM the e820 map calls usable. UMA memory is never in it: the
 * firmware leaves the graphics carve-out out of the usable map (the corpus's Jetway Palm board: usable RAM ends at
 * 0xa7efffff, and 0xa8000000-0xbfffffff, the 384M of its radeon "VRAM: 384M", is not in the map at all), and for
 * Intel the x86 early quirk also reserves the stolen range in e820 itself (xen.md §5.1), so subtracting stolenMiB
 * would count it twice. The installed memory (installedMiB, taken whenever SMBIOS tells) does hold the carve-out:
 * there it is subtracted, where the profile tells it.
 */
function guestsMiB(totalMiB: number | null, installedMiB: number | null, dom0MiB: number | null, stolenMiB: number | null): number | null {
  if (dom0MiB === null) return null;
  if (installedMiB !== null) return Math.max(0, installedMiB - dom0MiB - (stolenMiB ?? 0));
  if (totalMiB !== null) return Math.max(0, totalMiB - dom0MiB);
  return null;
}

function estimateNote(installedMiB: number, memTotalUnknown: boolean): string {
  return memTotalUnknown
    ? `MemTotal is unknown: the memory sizes are estimated from the ${installedMiB} MiB of installed memory ` +
        'modules (SMBIOS), a little more than the OS will get.'
    : `The memory sizes are from the ${installedMiB} MiB of installed memory the firmware's SMBIOS tables state ` +
        '(the same inside a Xen Dom0 and without Xen), a little more than the OS will get.';
}

/** The UMA graphics the rules found (uma.present, uma.device) and what it takes from main memory. */
export function decideUma(profile: HardwareProfile, facts: Facts): Plan['uma'] {
  const present = facts['uma.present'] === true;
  const device = factString(facts, 'uma.device');
  return { present, device, stolenMiB: present ? umaStolenMiB(profile, device) : null };
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

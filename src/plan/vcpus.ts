// The CPUs: the host's logical CPUs, Dom0's vCPUs (and Xen's dom0_max_vcpus= for them) and the HVM template's.
import { versionAtLeast } from '../rules/version.ts';
import type { BootOption, RuleOutcome } from '../rules/types.ts';
import type { HardwareProfile } from '../types.ts';
import { decisionRule } from './outcome.ts';
import type { Plan, TargetInfo } from './types.ts';

export interface VcpusDecision {
  vcpus: Plan['vcpus'];
  /** dom0_max_vcpus= for Xen's line; null: Xen's default (all). */
  option: BootOption | null;
  notes: string[];
}

/**
 * Xen schedules every logical CPU (a hyperthread is a PCPU, and dom0_max_vcpus defaults to their number: xen.md
 * §1.2); a guest's "host-cores" is the core count, so that its vCPUs do not share cores. The profile's counts are the
 * machine's: in a Xen Dom0 Xen's PCPU list and the SMBIOS cores, never Dom0's own vCPUs (probe/machine-cpus.ts), so
 * that a plan made there is the one made without Xen. Without the cores, the logical CPUs; but not in a Dom0, where
 * the same machine's bare-metal plan would still know its cores from cpuinfo (2 cores of 4 threads would give 4 here
 * and 2 there): there the template sets no vcpus, the toolstack's default (1), and a note says why.
 */
export function decideVcpus(
  profile: HardwareProfile,
  outcome: Pick<RuleOutcome, 'facts' | 'decisions' | 'dom0Vcpus' | 'guest'>,
  target: Pick<TargetInfo, 'version'>,
): VcpusDecision {
  const inDom0 = profile.hypervisor.role === 'dom0';
  const host = profile.cpu.logicalCpus;
  const hostCores = profile.cpu.cores ?? (inDom0 ? null : host);
  const dom0 = dom0Vcpus(host, outcome, target);
  return {
    vcpus: { host, dom0: dom0.vcpus, guests: guestVcpus(outcome.guest, hostCores) },
    option: dom0.option,
    notes: [...(inDom0 ? dom0CpuNotes(host, outcome.guest['vcpus'] === 'host-cores' && hostCores === null) : []), ...dom0.notes],
  };
}

/** The template's vCPUs: the rules' number, or one per core; the guest's firmware may start fewer (vcpus_max). */
function guestVcpus(guest: RuleOutcome['guest'], hostCores: number | null): number | null {
  const asked = guest['vcpus'];
  const wanted = asked === 'host-cores' ? hostCores : typeof asked === 'number' ? asked : null;
  // vcpus_max (50-xen-versions.yaml): 3.0.x's DSDT declares 4 processors.
  const max = guest['vcpus_max'];
  return wanted !== null && typeof max === 'number' && max >= 1 ? Math.min(wanted, max) : wanted;
}

/**
 * dom0.vcpus_max (50-xen-versions.yaml): where the rules gave Dom0 all vCPUs and the machine has more logical CPUs
 * than that, Dom0 gets 1 to N of them (dom0_max_vcpus=1-N, the range form from 4.3; N before). A dom0_vcpus= boot
 * option is the user's choice and stays; an unknown CPU count is not capped (Xen's default, all).
 */
function dom0Vcpus(
  host: number | null,
  outcome: Pick<RuleOutcome, 'facts' | 'decisions' | 'dom0Vcpus'>,
  target: Pick<TargetInfo, 'version'>,
): { vcpus: Plan['vcpus']['dom0']; option: BootOption | null; notes: string[] } {
  const cap = outcome.facts['dom0.vcpus_max'];
  const vcpusRule = decisionRule(outcome.decisions, 'dom0Vcpus');
  const capped =
    typeof cap === 'number' &&
    cap >= 1 &&
    outcome.dom0Vcpus === 'all' &&
    !vcpusRule?.startsWith('cheatcode:') &&
    host !== null &&
    host > cap;
  if (!capped) {
    const n = outcome.dom0Vcpus;
    const option = typeof n === 'number' ? { name: 'dom0_max_vcpus', value: String(n), rule: vcpusRule ?? 'plan' } : null;
    return { vcpus: n, option, notes: [] };
  }
  const capRule = outcome.decisions.find((d) => 'fact' in d.action && 'dom0.vcpus_max' in d.action.fact && !d.overriddenBy)?.rule;
  return {
    vcpus: cap,
    option: { name: 'dom0_max_vcpus', value: versionAtLeast(target.version, '4.3') ? `1-${cap}` : String(cap), rule: capRule ?? 'plan' },
    notes: [
      `Dom0 gets at most ${cap} of the machine's ${host} logical CPUs (dom0_max_vcpus, as Debian's Xen ` +
        'suggests): the rest are for guests. dom0_vcpus=all on the boot line gives Dom0 all of them.',
    ],
  };
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

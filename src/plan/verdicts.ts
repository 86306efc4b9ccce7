// The verdicts the shipped rules reach as facts (HVM guests, the architectures, the IOMMU), read into the plan with
// what only the plan knows: whether Xen boots at all.
import type { HardwareProfile } from '../types.ts';
import { factString, type Facts } from './outcome.ts';
import type { Plan, XenArch } from './types.ts';

/** arch.xen and arch.dom0 as the rules set them; without a rule, 32-bit only where the CPU has no long mode. */
export function decideArch(longMode: HardwareProfile['cpu']['longMode'], facts: Facts): Plan['arch'] {
  const xen = (factString(facts, 'arch.xen') as XenArch | null) ?? (longMode === false ? 'x86_32' : 'x86_64');
  const dom0 = (factString(facts, 'arch.dom0') as XenArch | null) ?? xen;
  return { xen, dom0, guests64: facts['guests.64bit'] === true };
}

/**
 * HVM guests need Xen booted: where it will not be (xen.disabled), none, whatever the CPU offers. The technology only
 * with HVM: a PV guest's cpuinfo may still show vmx, which it cannot use.
 */
export function decideHvm(facts: Facts, xenDisabled: boolean): Plan['hvm'] {
  const offered = facts['hvm.available'] === true;
  const available = offered && !xenDisabled;
  const technology = factString(facts, 'hvm.technology');
  return {
    available,
    technology: available && (technology === 'vmx' || technology === 'svm') ? technology : null,
    reason:
      offered && xenDisabled
        ? 'Xen does not run on this machine (see the warnings), so neither do HVM guests'
        : (factString(facts, 'hvm.reason') ?? 'no rule decided about HVM'),
    unreliable: facts['hvm.unreliable'] === true,
  };
}

/**
 * null when no rule decided: the firmware's IOMMU tables are unknown (an imported log that does not list them).
 * `hidden`: the devices passthrough= hides from Dom0 (src/plan/modules.ts hiddenDevices).
 */
export function decideIommu(facts: Facts, hidden: readonly string[]): Plan['iommu'] {
  const available = facts['iommu.available'];
  return { available: typeof available === 'boolean' ? available : null, hidden: [...hidden] };
}

// The Dom0 toolstack's own settings: /etc/xen/xend-config.sxp for xend (Xen 3.x, 4.0) and /etc/xen/xl.conf for xl
// (4.1 on). Both say how Dom0's memory behaves when guests start: xend balloons Dom0 down to dom0-min-mem, xl's
// autoballoon does the same unless it is "off". With a fixed dom0_mem= Dom0 must not balloon (xen.md §6.16).
//
// xend reads its file as s-expressions, `(key value)`, and takes its built-in default for every key the file
// leaves out, so only the keys we decide are written. The values are numbers and plain words, never quoted.
import type { Decision, FactValue } from '../rules/types.ts';
import type { Plan } from '../plan/types.ts';
import { versionAtLeast } from '../rules/version.ts';
import { commentHeader } from './header.ts';

/** xend's shipped dom0-min-mem (tools/examples/xend-config.sxp, 3.0.2 to 3.4): the floor Dom0 balloons down to. */
export const XEND_DOM0_MIN_MEM_DEFAULT = 196;

/** The value of a fact a rule set last and no later rule replaced (plan.decisions keeps one decision per fact). */
export function decidedFact(decisions: readonly Decision[], name: string): FactValue | undefined {
  for (let i = decisions.length - 1; i >= 0; i--) {
    const d = decisions[i]!;
    if (d.overriddenBy !== undefined || !('fact' in d.action)) continue;
    if (Object.hasOwn(d.action.fact, name)) return d.action.fact[name];
  }
  return undefined;
}

/**
 * dom0-min-mem in MiB: the rules' `xend.dom0_min_mem` fact (3.0.2 keeps Dom0 at 512 MB), else the fixed Dom0 size
 * (it must not shrink below what dom0_mem= gave it), else xend's shipped 196.
 */
export function xendDom0MinMem(plan: Plan): number {
  const fact = decidedFact(plan.decisions, 'xend.dom0_min_mem');
  if (typeof fact === 'number' && Number.isInteger(fact) && fact >= 0) return fact;
  return plan.memory.dom0MiB ?? XEND_DOM0_MIN_MEM_DEFAULT;
}

/** xl.conf autoballoon: the rules' `xl.autoballoon` fact, else "off" with a fixed dom0_mem=, else "auto". */
export function xlAutoballoon(plan: Plan): 'off' | 'on' | 'auto' {
  const fact = decidedFact(plan.decisions, 'xl.autoballoon');
  if (fact === 'off' || fact === 'on' || fact === 'auto') return fact;
  return plan.memory.dom0 !== null ? 'off' : 'auto';
}

/** xend's dom0-cpus: how many CPUs Dom0 uses, 0 meaning all of them. */
function xendDom0Cpus(plan: Plan): number {
  const { dom0 } = plan.vcpus;
  return typeof dom0 === 'number' && Number.isInteger(dom0) && dom0 > 0 ? dom0 : 0;
}

export function renderXendConfig(plan: Plan): string {
  const fixed = plan.memory.dom0 !== null;
  const lines = [
    '# Bridged networking: network-bridge makes xenbr0, the bridge the guest template\'s vif joins.',
    '(network-script network-bridge)',
    '(vif-script vif-bridge)',
    fixed
      ? `# Dom0 has a fixed size (dom0_mem=${plan.memory.dom0}): xend may not take memory below it.`
      : '# Dom0 starts with all memory; xend balloons it down to this floor (MiB) when guests need memory.',
    `(dom0-min-mem ${xendDom0MinMem(plan)})`,
  ];
  // enable-dom0-ballooning is first in 3.3.0's example xend-config.sxp (xen-review.md, "Options"); before it,
  // dom0-min-mem alone sets the floor. "no" with a fixed Dom0: xend then never takes memory from Dom0 for a guest.
  if (versionAtLeast(plan.target.version, '3.3')) {
    lines.push(`(enable-dom0-ballooning ${fixed ? 'no' : 'yes'})`);
  }
  lines.push('# CPUs Dom0 uses; 0 = all of them.', `(dom0-cpus ${xendDom0Cpus(plan)})`);
  const version = plan.target.version;
  const header = commentHeader(`xend settings for Xen ${version}; xend's defaults apply to every key not here.`);
  return `${header}${lines.join('\n')}\n`;
}

const fixedSize = (plan: Plan): string => (plan.memory.dom0 === null ? '' : ` (dom0_mem=${plan.memory.dom0})`);

export function renderXlConf(plan: Plan): string {
  const autoballoon = xlAutoballoon(plan);
  const why =
    autoballoon === 'off'
      ? `Dom0 has a fixed size${fixedSize(plan)}: xl must not balloon it.`
      : autoballoon === 'auto'
        ? 'Dom0 has no fixed size: xl balloons it down when guests need memory (auto: unless dom0_mem= is given).'
        : 'xl balloons Dom0 down when guests need memory.';
  const version = plan.target.version;
  const header = commentHeader(`xl settings for Xen ${version}; xl's defaults apply to every key not here.`);
  return `${header}# ${why}\nautoballoon="${autoballoon}"\n`;
}

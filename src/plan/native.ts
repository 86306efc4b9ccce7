// The kernel line of the GRUB entries without Xen (docs/boot.md). The rules' `dom0:` line is also Linux's when it
// boots alone, except for what is about Xen: the options of rules scoped to Xen, and options only Xen's code reads.
import { moduleKey } from '../modalias/module-name.ts';
import { splitOption } from '../rules/evaluate.ts';
import type { BootOption, Decision, OneOrMore } from '../rules/types.ts';

/**
 * Modules of the Dom0's Xen drivers before Xen 4.0 (XenLinux, linux-2.6-xen-sparse: xen.md §3.3), whose parameters
 * (pciback.hide=) no other kernel reads; pvops names all start with xen- (xen-pciback.hide=).
 */
const XENLINUX_MODULES = new Set(['pciback', 'netbk', 'blkbk', 'blktap', 'netloop', 'usbbk', 'tpmback']);

/**
 * Why `option` means something only under Xen, or null: xencons= (XenLinux's console), a parameter of a Xen driver
 * (`xen-pciback.hide=`, `pciback.hide=`: passthrough=) or a Linux parameter for running on Xen (`xen_nopv`,
 * `xen_emul_unplug=`), and earlyprintk=xen.
 */
export function xenOnlyOption(option: Pick<BootOption, 'name' | 'value'>): string | null {
  const head = moduleKey(option.name.split('.')[0]!);
  if (head === 'xencons') return "XenLinux's console";
  if (head.startsWith('xen_')) return option.name.includes('.') ? "a Xen driver's parameter" : 'a parameter for Linux on Xen';
  if (option.name.includes('.') && XENLINUX_MODULES.has(head)) return "a XenLinux Xen driver's parameter";
  if (option.name === 'earlyprintk' && option.value === 'xen') return "Xen's early console";
  return null;
}

/**
 * The Dom0 line as the rules decide it where Xen does not boot: every `dom0:` decision in evaluation order (later
 * wins by name, a remove drops the option, an add after it comes last: as evaluate.ts keeps the line) except those of
 * rules scoped to Xen (Decision.xenScoped), whose conditions do not hold without Xen; then the options that mean
 * something only under Xen (xenOnlyOption) are left out. Replayed rather than filtered from the outcome's line, so
 * that a Xen-scoped rule's remove or new value leaves the other kernel's option as it was.
 */
export function nativeOptions(decisions: readonly Decision[]): BootOption[] {
  const line = new Map<string, BootOption>();
  for (const d of decisions) {
    if (!('dom0' in d.action) || d.xenScoped) continue;
    for (const opt of list(d.action.dom0.remove)) line.delete(splitOption(opt).name);
    for (const opt of list(d.action.dom0.add)) {
      const { name, value } = splitOption(opt);
      const existing = line.get(name);
      // A new value keeps the option's place; Map.set on a present key does too.
      line.set(name, existing ? { ...existing, value, rule: d.rule } : { name, value, rule: d.rule });
    }
  }
  return [...line.values()].filter((o) => xenOnlyOption(o) === null);
}

function list(v: OneOrMore<string> | undefined): string[] {
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}

// The command lines: Xen's (the rules' options, then what the plan sizes) and Dom0's (the rules' options, then the
// console a Dom0 under Xen writes to). src/emit/cmdline.ts renders and checks what goes into boot files.
import type { BootOption } from '../rules/types.ts';
import type { SerialConsole } from './types.ts';

/**
 * Xen's options: the rules' own, then what the plan owns, in the target's syntax (dom0_mem= from src/plan/memory.ts,
 * dom0_max_vcpus= from src/plan/vcpus.ts), which replace any a rule wrote.
 */
export function decideXenOptions(rules: readonly BootOption[], sizing: readonly (BootOption | null)[]): BootOption[] {
  const owned = new Set(['dom0_mem', 'dom0_max_vcpus']);
  return [...rules.filter((o) => !owned.has(o.name)), ...sizing.filter((o): o is BootOption => o !== null)];
}

/**
 * console=ttyS<N>: the cheatcode put Xen's options and its token on the lines; a Dom0 under Xen also writes to Xen's
 * console device, last (src/plan/console.ts). The entries without Xen keep the token alone.
 */
export function decideDom0Options(rules: readonly BootOption[], serial: SerialConsole | null): BootOption[] {
  return serial?.dom0Console ? [...rules, { name: 'console', value: serial.dom0Console, rule: serial.rule }] : [...rules];
}

/** The plain form for the report; src/emit/cmdline.ts renders (and checks) what goes into boot files. */
export function renderOptions(options: readonly BootOption[]): string {
  return options.map((o) => (o.value === null ? o.name : `${o.name}=${o.value}`)).join(' ');
}

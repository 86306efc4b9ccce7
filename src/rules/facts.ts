// The built-in facts: set by the shipped rules and read by the plan (docs/rules.md, "Built-in facts"). Their types
// are fixed here so that lint catches `hvm.available: "yes"` before the plan reads it.
import type { FactValue } from './types.ts';

export type FactType = 'boolean' | 'string' | 'number';

export interface BuiltinFact {
  name: string;
  type: FactType;
  /** The only values a string fact may take, when the plan understands a fixed set. */
  values?: readonly string[];
  description: string;
}

export const BUILTIN_FACTS: readonly BuiltinFact[] = [
  { name: 'hvm.available', type: 'boolean', description: 'HVM guests can run (VT-x/AMD-V usable)' },
  { name: 'hvm.technology', type: 'string', values: ['vmx', 'svm'], description: 'Intel VT-x (vmx) or AMD-V (svm)' },
  { name: 'hvm.reason', type: 'string', description: 'Why HVM is or is not available, for the report' },
  { name: 'hvm.unreliable', type: 'boolean', description: 'HVM is there but known to misbehave on this machine' },
  { name: 'arch.xen', type: 'string', values: ['x86_64', 'x86_32'], description: 'Architecture of the Xen to boot' },
  { name: 'arch.dom0', type: 'string', values: ['x86_64', 'x86_32'], description: 'Architecture of the Dom0 kernel' },
  { name: 'guests.64bit', type: 'boolean', description: '64-bit guests can run' },
  { name: 'uma.present', type: 'boolean', description: 'Integrated graphics sharing system memory (UMA)' },
  { name: 'uma.device', type: 'string', description: 'PCI slot of the UMA graphics device' },
  { name: 'iommu.available', type: 'boolean', description: 'An IOMMU (VT-d/AMD-Vi) Xen can use' },
  { name: 'grub.variant', type: 'string', values: ['efi', 'bios'], description: 'Boot loader flavour to write' },
  { name: 'xen.disabled', type: 'boolean', description: 'Boot without Xen (plain Linux)' },
  { name: 'safe', type: 'boolean', description: 'Failsafe boot (failsafe / nohwsetup cheatcodes)' },
];

const BY_NAME: ReadonlyMap<string, BuiltinFact> = new Map(BUILTIN_FACTS.map((f) => [f.name, f]));

export function builtinFact(name: string): BuiltinFact | undefined {
  return BY_NAME.get(name);
}

/** Dotted words: "hvm.available", "guests.64bit", "quirks.igfx". */
export const FACT_NAME = /^[A-Za-z0-9_][A-Za-z0-9_-]*(\.[A-Za-z0-9_][A-Za-z0-9_-]*)*$/;

/** Why `value` does not fit the fact's type, or null when it does. null always fits: it means "not known". */
export function factValueProblem(type: FactType, values: readonly string[] | undefined, value: FactValue): string | null {
  if (value === null) return null;
  if (typeof value !== type) return `a ${type} is expected, not ${typeof value} ${JSON.stringify(value)}`;
  if (values && !values.includes(value as string)) return `one of ${values.join(', ')} is expected, not "${value}"`;
  return null;
}

/** A fact condition `fact: name` holds when the fact is set to something other than null, false, 0 or "". */
export function truthy(value: FactValue | undefined): boolean {
  return value !== undefined && value !== null && value !== false && value !== 0 && value !== '';
}

// Placeholders in string fact values: `{slot}` is the PCI slot of the device the rule matched, so that a rule can
// say *which* device a fact is about (uma.device: "{slot}"). Any `{word}` in a fact value is a placeholder; lint
// rejects names other than these (bad_placeholder) and `{slot}` in a rule without a pci condition.
export const FACT_PLACEHOLDERS = ['slot'] as const;
export type FactPlaceholder = (typeof FACT_PLACEHOLDERS)[number];

const PLACEHOLDER = /\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/** The placeholder names in a fact value, in order, each once ("{slot}" -> ["slot"]). */
export function placeholdersIn(value: FactValue): string[] {
  if (typeof value !== 'string') return [];
  return [...new Set([...value.matchAll(PLACEHOLDER)].map((m) => m[1]!))];
}

/** The value with every placeholder replaced from `values` (names lint accepted only). */
export function fillPlaceholders(value: string, values: Readonly<Record<FactPlaceholder, string>>): string {
  return value.replace(PLACEHOLDER, (whole, name: string) => (Object.hasOwn(values, name) ? values[name as FactPlaceholder] : whole));
}

// What the boot path (evaluate.ts, cheatcodes.ts) shares with the linter (validate.ts): kept here so that
// evaluating the shipped rules never loads the 900-line linter. No imports beyond facts.ts and types.
import { FACT_NAME } from './facts.ts';
import type { RuleIssue } from './types.ts';

/** The formats of strings; data/rules.schema.json's `pattern`s are generated from these (src/rules/schema.ts). */
export const PATTERNS = {
  hex4: /^[0-9A-Fa-f]{4}$/,
  hex2: /^[0-9A-Fa-f]{2}$/,
  idListEntry: /^[0-9A-Fa-f]{4}:([0-9A-Fa-f]{4}|\*)$/,
  slot: /^([0-9A-Fa-f]{4}:)?[0-9A-Fa-f]{2}:[0-9A-Fa-f]{2}\.[0-7]$/,
  ruleId: /^[A-Za-z0-9][A-Za-z0-9._-]*$/,
  listName: /^[A-Za-z0-9][A-Za-z0-9._-]*$/,
  factName: FACT_NAME,
  moduleName: /^[A-Za-z0-9_-]+$/,
  bootOption: /^[A-Za-z0-9_][A-Za-z0-9_.-]*(=\S*)?$/,
  cheatcodeName: /^[^\s=]+$/,
  memorySize: /^[0-9]+[KMGT]$/,
  dom0Memory: /^[0-9]+[KMGT]?(,(min|max):[0-9]+[KMGT]?)*$/,
  sysconfigFile: /^[A-Za-z0-9][A-Za-z0-9._-]*$/,
  sysconfigVar: /^[A-Za-z_][A-Za-z0-9_]*$/,
  guestKey: /^[A-Za-z_][A-Za-z0-9_]*$/,
} as const;

/** Sets an own property even for names like "__proto__" (rule files choose fact and variable names). */
export function setOwn<T>(obj: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

/** The lint line: `file:line:column: code: path: message` (a warning or info says so). */
export function formatRuleIssue(issue: RuleIssue): string {
  const level = issue.severity === 'error' ? '' : `${issue.severity}: `;
  return `${issue.file}:${issue.line}:${issue.column}: ${level}${issue.code}: ${issue.path || '(document)'}: ${issue.message}`;
}

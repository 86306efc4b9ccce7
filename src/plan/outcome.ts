// Reading the rules' outcome as every decider does: the built-in facts the plan reads (docs/rules.md "Built-in
// facts") and the rule behind the live decision for a key, which the plan's own options name.
import type { Decision, RuleOutcome } from '../rules/types.ts';

export type Facts = Readonly<RuleOutcome['facts']>;

/** A fact's value when it is a string; null when unset or of another type. */
export function factString(facts: Facts, name: string): string | null {
  const value = facts[name];
  return typeof value === 'string' ? value : null;
}

/** The rule of the last decision that set `key` (an action key: dom0Memory, dom0Vcpus) and was not replaced. */
export function decisionRule(decisions: readonly Decision[], key: string): string | null {
  const last = [...decisions].reverse().find((d) => key in d.action && !d.overriddenBy);
  return last?.rule ?? null;
}

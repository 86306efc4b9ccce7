// explainRule over real machines: its verdict agrees with evaluateRules for every fixture x every shipped rule x two
// targets, a rule that did not fire names the part of `when:` that failed with what the machine shows, and the
// nested all/any/not say which branch.
import { describe, expect, it } from 'vitest';
import { decide, type Decided } from '../../src/plan/decide.ts';
import { conditionContext, evaluateCondition } from '../../src/rules/conditions.ts';
import { parseCheatcodes } from '../../src/rules/cheatcodes.ts';
import { evaluateRules, type EvaluateInput } from '../../src/rules/evaluate.ts';
import type { Condition } from '../../src/rules/types.ts';
import { explainRule, factsBefore, ruleIds, UnknownRuleError, type FailedCondition } from '../../src/rules/why.ts';
import { fixtureNames, loadFixture } from '../_support/memfs.ts';
import { load, yaml } from './_support.ts';

const decided = new Map<string, Promise<Decided>>();
function decideFixture(name: string, xen: string): Promise<Decided> {
  const key = `${name} ${xen}`;
  if (!decided.has(key)) {
    const { fs, root } = loadFixture(name);
    decided.set(key, decide({ fs, root, xen }));
  }
  return decided.get(key)!;
}

/** Every leaf of a failure tree (the parts that carry what the machine shows). */
function leaves(failed: readonly FailedCondition[]): FailedCondition[] {
  return failed.flatMap((f) => (f.branches ? leaves(f.branches) : [f]));
}

/** The context the rule at `index` was evaluated in, rebuilt from the public pieces. */
function contextFor(input: EvaluateInput, index: number, outcome = evaluateRules(input)) {
  return conditionContext({
    profile: input.profile,
    drivers: input.drivers,
    target: input.target,
    facts: factsBefore(index, input, outcome),
    cheatcodes: parseCheatcodes(input.profile.cmdline),
    lists: input.files.flatMap((f) => f.lists),
  });
}

describe('explainRule agrees with evaluateRules', () => {
  it.each(fixtureNames().flatMap((name) => ['3.0.3', '4.20'].map((xen) => [name, xen] as const)))('%s on Xen %s: every shipped rule', async (name, xen) => {
    const d = await decideFixture(name, xen);
    const rules = d.evaluated.files.flatMap((f) => f.rules);
    expect(rules.length).toBeGreaterThan(100);
    rules.forEach((rule, index) => {
      const trace = explainRule(rule.id, d.evaluated, d.outcome);
      const decided = d.outcome.decisions.some((x) => x.rule === rule.id);
      expect({ rule: rule.id, fired: trace.fired, matched: trace.matched }).toEqual({ rule: rule.id, fired: decided, matched: decided });
      expect(trace.matched || trace.failed.length > 0, rule.id).toBe(true);
      if (trace.matched) return expect(trace.failed).toEqual([]);
      // Every failed leaf fails on its own in the rule's context, and says what the machine shows.
      const ctx = contextFor(d.evaluated, index, d.outcome);
      for (const leaf of leaves(trace.failed)) {
        expect(evaluateCondition(leaf.condition, ctx).match, `${rule.id} ${leaf.path}`).toBe(false);
        expect(leaf.path.startsWith('when'), leaf.path).toBe(true);
        expect(leaf.text.length).toBeGreaterThan(0);
      }
    });
  });
});

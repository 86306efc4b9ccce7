// factString and decisionRule (src/plan/outcome.ts) over real outcomes.
import { describe, expect, it } from 'vitest';
import { decisionRule, factString } from '../../src/plan/outcome.ts';
import { decided } from './_decided.ts';

describe('decisionRule', () => {
  it("the R730 at 4.17: the rule that sized Dom0; a boot line's dom0_vcpus= over the rule it replaced", async () => {
    const plain = await decided('server-iommu-bmc', '4.17');
    const sized = plain.outcome.decisions.filter((d) => 'dom0Memory' in d.action);
    expect(sized.length).toBeGreaterThan(0);
    expect(decisionRule(plain.outcome.decisions, 'dom0Memory')).toBe(sized.filter((d) => !d.overriddenBy).at(-1)!.rule);
    const six = await decided('server-iommu-bmc', '4.17', 'dom0_vcpus=6');
    const replaced = six.outcome.decisions.filter((d) => 'dom0Vcpus' in d.action && d.overriddenBy);
    expect(replaced.length).toBeGreaterThan(0);
    expect(decisionRule(six.outcome.decisions, 'dom0Vcpus')).toBe('cheatcode:dom0_vcpus=6');
    expect(decisionRule(plain.outcome.decisions, 'no-such-key')).toBeNull();
  });
});

describe('factString', () => {
  it('the ProBook at 4.17: a string fact, and null for a boolean or unset one', async () => {
    const { outcome } = await decided('amd-apu-laptop', '4.17');
    expect(factString(outcome.facts, 'arch.xen')).toBe('x86_64');
    expect(factString(outcome.facts, 'hvm.available')).toBeNull();
    expect(factString(outcome.facts, 'no.such.fact')).toBeNull();
  });
});

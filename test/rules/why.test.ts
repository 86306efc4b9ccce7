// explainRule over real machines: its verdict agrees with evaluateRules for every fixture x every shipped rule x two
// targets, a rule that did not fire names the part of `when:` that failed with what the machine shows, and the
// nested all/any/not say which branch.
import { describe, expect, it } from 'vitest';
import { decide, type Decided } from '../../src/plan/decide.ts';
import { evaluateCondition } from '../../src/rules/conditions.ts';
import { cheatcodeActions, parseCheatcodes } from '../../src/rules/cheatcodes.ts';
import { loadShippedRules } from '../../src/rules/compile.ts';
import { evaluateRules, type EvaluateInput } from '../../src/rules/evaluate.ts';
import type { HardwareProfile } from '../../src/types.ts';
import { CONDITION_KEYS, contextAt, explainRule, ruleIds, UnknownRuleError, type FailedCondition } from '../../src/rules/why.ts';
import { RULE_KEYS } from '../../src/rules/schema.ts';
import { fixtureNames, loadFixture } from '../_support/memfs.ts';
import { fixtureDrivers, fixtureProfile, load, yaml } from './_support.ts';

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

it('the tracer walks every key a condition may have (the rule schema\'s, in its order)', () => {
  expect(CONDITION_KEYS).toEqual(RULE_KEYS.condition);
});

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
      const ctx = contextAt(index, d.evaluated, d.outcome);
      for (const leaf of leaves(trace.failed)) {
        expect(evaluateCondition(leaf.condition, ctx).match, `${rule.id} ${leaf.path}`).toBe(false);
        expect(leaf.path.startsWith('when'), leaf.path).toBe(true);
        expect(leaf.text.length).toBeGreaterThan(0);
      }
    });
  });
});

/** The shipped rules evaluated for a fixture's profile as decide() evaluates them (no target rules.d). */
async function shippedInput(profile: HardwareProfile, xen: string): Promise<EvaluateInput> {
  const { files } = await loadShippedRules();
  const cheatcodes = cheatcodeActions(parseCheatcodes(profile.cmdline), profile);
  return { files, profile, drivers: await fixtureDrivers(profile), target: { xen, arch: null }, cheatcodes };
}

describe('explainRule sees the facts the rule saw', () => {
  // The boot line's facts come before every rule (noxen: xen.disabled; nohvm: hvm.available), and rules test them:
  // real profiles with the boot line changed, every shipped rule.
  it.each([
    ['thinkpad-t60', 'noxen'],
    ['amd-apu-laptop', 'nohvm'],
    ['server-iommu-bmc', 'failsafe'],
    ['intel-nvidia-laptop', 'noxen nohvm'],
  ])('%s booted with %s', async (name, line) => {
    const profile = { ...fixtureProfile(name), cmdline: line.split(' ') };
    for (const xen of ['3.0.3', '4.20']) {
      const input = await shippedInput(profile, xen);
      const outcome = evaluateRules(input);
      for (const id of ruleIds(input.files)) {
        const trace = explainRule(id, input, outcome);
        expect({ id, matched: trace.matched }).toEqual({ id, matched: outcome.decisions.some((d) => d.rule === id) });
      }
    }
  });

  it('a rule before the one that sets a fact sees it unset; a rule after sees it set', async () => {
    const { files } = await load({
      'order.yaml': yaml`
        facts:
          site.checked: { type: boolean }
        rules:
          - id: reads-before
            source: test
            when: { fact: { site.checked: true } }
            then: [{ note: before }]
          - id: sets
            source: test
            then: [{ fact: { site.checked: true } }]
          - id: reads-after
            source: test
            when: { fact: { site.checked: true } }
            then: [{ note: after }]
      `,
    });
    const profile = fixtureProfile('thinkpad-t60');
    const input: EvaluateInput = { files, profile, drivers: await fixtureDrivers(profile), target: { xen: '4.20', arch: null }, cheatcodes: [] };
    const before = explainRule('reads-before', input);
    expect(before.fired).toBe(false);
    expect(before.failed).toEqual([
      { path: 'when.fact', line: 6, condition: { fact: { 'site.checked': true } }, seen: 'site.checked = unset', text: 'fact site.checked is unset (needs true)' },
    ]);
    expect(explainRule('reads-after', input)).toMatchObject({ fired: true, evidence: ['fact site.checked = true'], failed: [] });
  });
});

describe('explainRule says which part failed', () => {
  const nested = yaml`
    rules:
      - id: nested
        source: test
        when:
          all:
            - cpu: { vendor: GenuineIntel }
            - any:
                - cpu: { hap: present }
                - all:
                    - hypervisor: { role: dom0 }
                    - target: { xen: ">=4.7" }
          not: { cpu: { flags: [vmx] } }
        then: [{ note: nested }]
      - id: graphics
        source: test
        when:
          pci: { class: "03", vendor: "1002" }
          memory: { min: "64G" }
        then: [{ note: graphics }]
      - id: later
        source: test
        when: { fact: { hvm.available: false } }
        then: [{ fact: { hvm.available: true } }]
      - id: unbound-hub
        source: test
        when: { usb: { class: "09", driver: none } }
        then: [{ note: unbound }]
  `;

  async function traced(name: string, id: string) {
    const shipped = (await loadShippedRules()).files;
    // After every shipped rule, as a --rules directory loads.
    const files = [...shipped, ...(await load({ 'test.yaml': nested }, shipped)).files];
    const profile = fixtureProfile(name);
    const input: EvaluateInput = { files, profile, drivers: await fixtureDrivers(profile), target: { xen: '4.20', arch: null }, cheatcodes: [] };
    return explainRule(id, input);
  }

  // The ThinkPad T60's Core Duo: GenuineIntel, VT-x (vmx), no EPT; bare metal.
  it('nested all/any/not on the ThinkPad T60: the failed branch of each, with its line', async () => {
    const t = await traced('thinkpad-t60', 'nested');
    expect(t).toMatchObject({ matched: false, fired: false, file: 'test.yaml', line: 2 });
    expect(t.failed).toEqual([
      {
        path: 'when.all',
        line: 6,
        condition: { all: expect.any(Array) },
        seen: '',
        text: '1 of the 2 conditions of all: failed',
        branches: [
          {
            path: 'when.all.1.any',
            line: 8,
            condition: { any: expect.any(Array) },
            seen: '',
            text: 'none of the 2 alternatives of any: held',
            branches: [
              { path: 'when.all.1.any.0.cpu.hap', line: 8, condition: { cpu: { hap: 'present' } }, seen: 'absent', text: 'cpu.hap is absent (needs present)' },
              {
                path: 'when.all.1.any.1.all',
                line: 10,
                condition: { all: expect.any(Array) },
                seen: '',
                text: '1 of the 2 conditions of all: failed',
                branches: [
                  {
                    path: 'when.all.1.any.1.all.0.hypervisor.role',
                    line: 10,
                    condition: { hypervisor: { role: 'dom0' } },
                    seen: 'bare-metal',
                    text: 'hypervisor.role is bare-metal (needs dom0)',
                  },
                ],
              },
            ],
          },
        ],
      },
      { path: 'when.not', line: 12, condition: { not: { cpu: { flags: ['vmx'] } } }, seen: 'cpu flags vmx', text: 'what not: excludes holds: cpu flags vmx' },
    ]);
  });

  it('a PCI condition names the nearest functions and the fields they fail; every failed field is listed', async () => {
    const t = await traced('thinkpad-t60', 'graphics');
    expect(t.failed.map((f) => f.path)).toEqual(['when.pci', 'when.memory.min']);
    // The 945GM's two display functions (00:02.0 VGA, 00:02.1 its second head): only their vendor differs.
    const seen = '0000:00:02.0 [8086:27a2] (vendor: 8086); 0000:00:02.1 [8086:27a6] (vendor: 8086)';
    expect(t.failed[0]!.seen).toBe(seen);
    expect(t.failed[0]!.text).toBe(`no PCI function has class 03, vendor 1002; nearest: ${seen}`);
    expect(t.failed[1]!.text).toMatch(/^memory\.min is \d+ MiB \((installed, SMBIOS|MemTotal)\) \(needs >= 64G\)$/);
  });

  it('a driver condition on a bus whose binding the imported logs do not tell: seen as unknown, not as none', async () => {
    // The T60's lsusb log names no drivers (bindingUnknown: usb): its root hubs are not "unbound", they are unknown.
    const t = await traced('thinkpad-t60', 'unbound-hub');
    expect(t.fired).toBe(false);
    expect(t.failed[0]!.seen).toMatch(/^1-0:1\.0 \[1d6b:0002\] \(driver: unknown, the logs do not say\)/);
  });

  it('a rule that fired and was overridden says by which', async () => {
    // On Xen 4.20 the T60 (no long mode) boots without Xen: hvm-no-xen replaces what hvm-no-hap said.
    const t = await traced('thinkpad-t60', 'hvm-no-hap');
    expect(t).toMatchObject({ matched: true, fired: true, overriddenBy: ['hvm-no-xen'], allOverridden: true, failed: [] });
    expect(t.evidence).toContain('target Xen 4.20 (>=4.7)');
    // A rule of the test file, after every shipped one, replaces hvm.available; its own decision stands.
    const later = await traced('thinkpad-t60', 'later');
    expect(later).toMatchObject({ fired: true, overriddenBy: [], allOverridden: false });
    expect((await traced('thinkpad-t60', 'hvm-no-xen')).overriddenBy).toEqual(['later']);
  });

  it('an id no loaded rule has is an UnknownRuleError carrying the known ids', async () => {
    const err = await traced('thinkpad-t60', 'hvm-no-happ').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnknownRuleError);
    expect((err as UnknownRuleError).known).toContain('hvm-no-hap');
    expect(err).toMatchObject({ code: 'E_USAGE', path: 'hvm-no-happ', message: 'no rule "hvm-no-happ" in the loaded rules' });
  });
});

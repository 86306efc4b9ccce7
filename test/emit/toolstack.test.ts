import { describe, expect, it } from 'vitest';
import {
  decidedFact,
  renderXendConfig,
  renderXlConf,
  XEND_DOM0_MIN_MEM_DEFAULT,
  xendDom0MinMem,
  xlAutoballoon,
} from '../../src/emit/toolstack.ts';
import type { Plan } from '../../src/plan/types.ts';
import type { Decision, FactValue } from '../../src/rules/types.ts';
import { planFor, retarget, t60Plan } from './_plans.ts';

const factDecision = (rule: string, name: string, value: FactValue, overriddenBy?: string): Decision => ({
  rule,
  file: 'data/rules/40-memory.yaml',
  line: 1,
  evidence: [],
  action: { fact: { [name]: value } },
  ...(overriddenBy === undefined ? {} : { overriddenBy }),
});

/** xend's s-expressions as [key, value] pairs; every line that is not a comment must be one `(key value)`. */
function sxp(text: string): [string, string][] {
  const out: [string, string][] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^\(([a-z0-9-]+) ([A-Za-z0-9_.-]+)\)$/.exec(line);
    expect(m, `an s-expression: ${line}`).not.toBeNull();
    out.push([m![1]!, m![2]!]);
  }
  return out;
}

/** Dom0 without a fixed size (xend balloons it), as the rules leave Xen 3.0.3 to 3.4. */
function ballooning(p: Plan): Plan {
  return { ...p, memory: { ...p.memory, dom0: null, dom0MiB: null, guestsMiB: null } };
}

describe('decidedFact', () => {
  it('the last decision for the fact that no later rule replaced', () => {
    const decisions = [
      factDecision('a', 'xl.autoballoon', 'on', 'b'),
      factDecision('b', 'xl.autoballoon', 'off'),
      factDecision('c', 'other', 1),
    ];
    expect(decidedFact(decisions, 'xl.autoballoon')).toBe('off');
    expect(decidedFact(decisions, 'missing')).toBeUndefined();
    expect(decidedFact([factDecision('a', 'x', 1, 'b')], 'x')).toBeUndefined();
    expect(decidedFact(decisions, 'constructor')).toBeUndefined();
  });
});

describe('renderXendConfig', () => {
  it('Xen 3.0.2, Dom0 fixed at 512 MB: a 512 MiB floor, no enable-dom0-ballooning (3.0.x has no such key)', () => {
    const text = renderXendConfig(t60Plan());
    expect(sxp(text)).toEqual([
      ['network-script', 'network-bridge'],
      ['vif-script', 'vif-bridge'],
      ['dom0-min-mem', '512'],
      ['dom0-cpus', '0'],
    ]);
    expect(text).toContain('# Dom0 has a fixed size (dom0_mem=512M)');
  });

  it("the rules' xend.dom0_min_mem fact decides the floor", () => {
    const p = t60Plan();
    p.decisions = [factDecision('dom0-mem-3.0.2-hvm', 'xend.dom0_min_mem', 384)];
    expect(xendDom0MinMem(p)).toBe(384);
    expect(sxp(renderXendConfig(p))).toContainEqual(['dom0-min-mem', '384']);
  });

  it("Xen 3.0.3 with ballooning: xend's shipped floor of 196 MiB", () => {
    const p = ballooning(retarget(t60Plan(), '3.0.3'));
    expect(xendDom0MinMem(p)).toBe(XEND_DOM0_MIN_MEM_DEFAULT);
    expect(sxp(renderXendConfig(p))).toContainEqual(['dom0-min-mem', '196']);
    expect(renderXendConfig(p)).toContain('balloons it down to this floor');
  });

  it('Xen 3.1 to 4.0 write enable-dom0-ballooning: no with a fixed Dom0, yes without', () => {
    const fixed = retarget(t60Plan(), '3.4.3');
    expect(sxp(renderXendConfig(fixed))).toContainEqual(['enable-dom0-ballooning', 'no']);
    expect(sxp(renderXendConfig(ballooning(fixed)))).toContainEqual(['enable-dom0-ballooning', 'yes']);
  });

  it('dom0-cpus: a number of vCPUs as it is, "all" and unknown as 0', () => {
    const p = t60Plan();
    expect(sxp(renderXendConfig({ ...p, vcpus: { ...p.vcpus, dom0: 2 } }))).toContainEqual(['dom0-cpus', '2']);
    expect(sxp(renderXendConfig({ ...p, vcpus: { ...p.vcpus, dom0: null } }))).toContainEqual(['dom0-cpus', '0']);
  });

  it('the T60 on Xen 3.0.2 (real plan): the 512 MiB floor the rules set', async () => {
    expect(sxp(renderXendConfig(await planFor('thinkpad-t60', '3.0.2')))).toContainEqual(['dom0-min-mem', '512']);
  });
});

describe('renderXlConf', () => {
  it('autoballoon off with a fixed Dom0, auto without', () => {
    const p = retarget(t60Plan(), '4.17');
    const fixed = /\n# Dom0 has a fixed size \(dom0_mem=512M\): xl must not balloon it\.\nautoballoon="off"\n$/;
    expect(renderXlConf(p)).toMatch(fixed);
    expect(xlAutoballoon(ballooning(p))).toBe('auto');
    expect(renderXlConf(ballooning(p))).toMatch(/\nautoballoon="auto"\n$/);
  });

  it("the rules' xl.autoballoon fact decides; a value xl does not know is ignored", () => {
    const p = ballooning(retarget(t60Plan(), '4.17'));
    expect(xlAutoballoon({ ...p, decisions: [factDecision('dom0-mem-medium', 'xl.autoballoon', 'off')] })).toBe('off');
    expect(xlAutoballoon({ ...p, decisions: [factDecision('r', 'xl.autoballoon', 'maybe')] })).toBe('auto');
    const on = { ...p, decisions: [factDecision('r', 'xl.autoballoon', 'on')] };
    expect(renderXlConf(on)).toMatch(/autoballoon="on"\n$/);
  });

  it('every line is a comment or key="value" (xl.conf(5))', async () => {
    for (const fixture of ['desktop-amd-gpu', 'server-iommu-bmc', 'xen-dom0']) {
      for (const line of renderXlConf(await planFor(fixture, '4.17')).split('\n')) {
        if (line !== '') expect(line).toMatch(/^(#.*|[a-z_.]+="[^"\\]*")$/);
      }
    }
  });
});

// The report's verdicts never contradict its notes and warnings (issue #10 "Verdicts"): over every fixture, as
// captured and with its cpuinfo flags line lost (what an imported log without CPU flags gives), at every target the
// issue names, the plan and its report lines are checked against each other. Each check is one sentence of the
// issue; `violations` lists every broken one with the text that breaks it, so a failure says what disagrees.
import { describe, expect, it } from 'vitest';
import { formatProfile } from '../../src/cli/format-profile.ts';
import { decide, planDecided } from '../../src/plan/decide.ts';
import type { Plan } from '../../src/plan/types.ts';
import type { HardwareProfile } from '../../src/types.ts';
import { fixtureNames, fixturesDir, readTree, volume, type Tree } from '../_support/memfs.ts';
import { join } from 'node:path';
import { violations } from './_consistency.ts';

const TARGETS = ['3.0.2', '3.0.3', '4.17', '4.20'];

/** The fixture's tree, or the same with every `flags` and `vmx flags` line of its /proc/cpuinfo removed. */
function tree(fixture: string, flagsLost: boolean): Tree {
  const t = readTree(join(fixturesDir, fixture, 'root'));
  const cpuinfo = t.files?.['proc/cpuinfo'];
  if (flagsLost && cpuinfo instanceof Uint8Array) {
    t.files!['proc/cpuinfo'] = Buffer.from(cpuinfo).toString('utf8').replace(/^(flags|vmx flags|flags \(partial\))\s*:.*\n/gm, '');
  }
  return t;
}

/** Fixtures with a cpuinfo flags line to lose (the others are checked as captured only). */
function hasFlagsLine(fixture: string): boolean {
  const cpuinfo = readTree(join(fixturesDir, fixture, 'root')).files?.['proc/cpuinfo'];
  return cpuinfo instanceof Uint8Array && /^flags\s*:/m.test(Buffer.from(cpuinfo).toString('utf8'));
}

async function planOf(fixture: string, flagsLost: boolean, xen: string): Promise<{ p: Plan; profile: HardwareProfile }> {
  const { fs } = volume(tree(fixture, flagsLost), '/machine');
  const d = await decide({ fs, root: '/machine', xen });
  const p = planDecided(d);
  return { p, profile: d.profile };
}

describe('the report agrees with itself: every fixture x target', () => {
  const cases = fixtureNames().flatMap((fixture) =>
    [false, ...(hasFlagsLine(fixture) ? [true] : [])].flatMap((flagsLost) =>
      TARGETS.map((xen) => [fixture, flagsLost ? 'flags line lost' : 'as captured', xen, flagsLost] as const),
    ),
  );

  it('covers every fixture, each with its flags line lost where it has one', () => {
    expect(new Set(cases.map(([f]) => f)).size).toBe(fixtureNames().length);
    expect(cases.length).toBeGreaterThanOrEqual(fixtureNames().length * TARGETS.length);
  });

  it.each(cases)('%s (%s), Xen %s', async (fixture, _variant, xen, flagsLost) => {
    const { p, profile } = await planOf(fixture, flagsLost, xen);
    expect(violations(p, profile)).toEqual([]);
  });
});

describe('the probe listing of a Xen Dom0', () => {
  it("shows VT on where Xen's capabilities prove it, never 'unverified'", async () => {
    const { fs } = volume(tree('xen-dom0', false), '/machine');
    const { profile } = await decide({ fs, root: '/machine', xen: '3.0.3' });
    expect(profile.hypervisor.xen.capabilities.some((c) => c.startsWith('hvm-'))).toBe(true);
    const line = formatProfile(profile).split('\n').find((l) => l.includes('Hardware virtualization'));
    expect(line).toMatch(/^ {2}Hardware virtualization: yes \(Intel VT-x vmx\)/);
    expect(line).not.toMatch(/unverified/);
  });
});

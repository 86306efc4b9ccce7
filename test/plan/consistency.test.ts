// The report's verdicts never contradict its notes and warnings (issue #10 "Verdicts"): over every fixture, as
// captured and with its cpuinfo flags line lost (what an imported log without CPU flags gives), at every target the
// issue names, the plan and its report lines are checked against each other. Each check is one sentence of the
// issue; `violations` lists every broken one with the text that breaks it, so a failure says what disagrees.
import { describe, expect, it } from 'vitest';
import { formatVerdicts } from '../../src/cli/format-decisions.ts';
import { formatProfile } from '../../src/cli/format-profile.ts';
import { decide } from '../../src/plan/decide.ts';
import { plan } from '../../src/plan/plan.ts';
import type { Plan } from '../../src/plan/types.ts';
import { versionAtLeast } from '../../src/rules/version.ts';
import type { HardwareProfile } from '../../src/types.ts';
import { fixtureNames, fixturesDir, readTree, volume, type Tree } from '../_support/memfs.ts';
import { join } from 'node:path';

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
  const p = plan({ profile: d.profile, drivers: d.drivers.devices, target: d.target, outcome: d.outcome, kernel: d.drivers.kernel });
  return { p, profile: d.profile };
}

/** Every disagreement between the plan's verdicts, its boot entries and its notes and warnings. */
export function violations(p: Plan, profile: HardwareProfile): string[] {
  const out: string[] = [];
  const [hvmLine, bitsLine] = formatVerdicts(p) as [string, string];
  const texts = [...p.warnings.map((w) => `WARNING: ${w}`), ...p.notes.map((n) => `note: ${n}`)];
  const saying = (re: RegExp, among = texts) => among.filter((t) => re.test(t));
  const entry = p.grub.entries.find((e) => e.default);
  const cpu = profile.cpu;

  // HVM: "no" beside a note that plans or describes HVM guests, "yes" beside one that says there are none.
  if (!p.hvm.available) {
    for (const t of saying(/HVM guests (planned|would run|can use|boot with)|so that HVM guests/)) out.push(`HVM no, but ${t}`);
  } else {
    for (const t of saying(/No HVM guests|HVM guests not planned/)) out.push(`HVM yes, but ${t}`);
  }
  // 64-bit: unknown is neither "impossible" nor "no long mode"; no is never "possible"; yes is never "no long mode".
  if (p.longMode === null) {
    if (/impossible/.test(bitsLine)) out.push(`long mode unknown, but ${bitsLine}`);
    for (const t of saying(/has no long mode/)) out.push(`long mode unknown, but ${t}`);
  }
  if (p.longMode === false && /64-bit guests possible/.test(bitsLine)) out.push(`no long mode, but ${bitsLine}`);
  if (p.longMode === true) for (const t of saying(/no long mode|Long mode could not be read/)) out.push(`long mode, but ${t}`);
  // Xen: where it will not boot, no line names the arch of a Xen, the default entry is Linux alone, and no note
  // speaks of what Xen would run; where it boots, the default entry is that Xen's.
  if (p.xenDisabled) {
    if (/x86_(32|64) Xen/.test(bitsLine)) out.push(`no Xen, but ${bitsLine}`);
    if (entry?.xen !== false) out.push(`no Xen, but the default boot entry is ${entry?.title}`);
    const xenOnly = /paravirtuali[sz]ed guests (still )?run|Xen and Dom0 (can )?boot|Xen 3\.0 on x86_64 runs|HVM guests planned/;
    for (const t of saying(xenOnly)) out.push(`no Xen, but ${t}`);
  } else {
    if (entry?.xen !== true || entry.arch !== p.arch.xen) out.push(`Xen ${p.arch.xen} planned, but the default boot entry is ${entry?.title}`);
    for (const t of saying(/boots without Xen|cannot boot Xen/)) out.push(`Xen boots, but ${t}`);
  }
  // PAE: the only 32-bit Xen planned is the PAE build; a CPU without PAE must not default to it, nor be told it boots.
  if (cpu.pae === false) {
    if (entry?.xen) out.push(`no PAE, but the default boot entry loads ${entry.hypervisor}`);
    for (const t of saying(/PAE Xen and Dom0 (can )?boot/)) out.push(`no PAE, but ${t}`);
  }
  // Unknown is unknown: flags that were never read say nothing about VT.
  const vtFlagsKnown = cpu.flagsKnown || (cpu.flagsAbsent.includes('vmx') && cpu.flagsAbsent.includes('svm'));
  if (!vtFlagsKnown && cpu.vt.state === 'unknown') {
    const claims = /neither vmx nor svm|shows neither|lacks VT|does not pass VT|offers no VT/;
    for (const t of saying(claims, [hvmLine, ...texts])) out.push(`the CPU flags are unknown, but ${t}`);
  }
  // HAP: a Xen without shadow paging (4.7 on) runs HVM guests only with EPT/NPT; planned only where it is present.
  if (versionAtLeast(p.target.version, '4.7') && p.hvm.available && cpu.hap.state !== 'present') {
    out.push(`HVM planned on Xen ${p.target.version}, but EPT/NPT is ${cpu.hap.state}: ${hvmLine}`);
  }
  return out;
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

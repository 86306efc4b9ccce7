// The report's verdicts against its notes and warnings (issue #10 "Verdicts"), shared by the fixture test
// (consistency.test.ts) and the corpus run over ../shared/corpus (test/corpus/run.test.ts, issue #13).
import { formatVerdicts } from '../../src/cli/format-decisions.ts';
import type { Plan } from '../../src/plan/types.ts';
import { versionAtLeast } from '../../src/rules/version.ts';
import type { HardwareProfile } from '../../src/types.ts';

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

// Issue #10 over the whole shared corpus (read in place): every machine whose logs hold a line that tells the CPU's
// identity, its VT or the BIOS must come out of import and probe with that fact known, never "unknown model",
// unknown vendor or VT unknown where the line told it.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { importLogs } from '../../src/import/import.ts';
import { NOW, corpusDir, probeImport } from './_support.ts';

// The lines as the logs print them (see src/import/kernel-cpu.ts and inxi.ts for where they come from).
const LINES = {
  cpu0: /smpboot: CPU0: .* \((?:family|fam): /,
  dmi: /\] DMI: .*, BIOS .* \d\d\/\d\d\/\d{2,4}$/m,
  npt: /(?:kvm|SVM|kvm_amd): Nested Paging enabled$/m,
  vmxOff: /x86\/cpu: VMX \(outside TXT\) disabled by BIOS/,
  inxiVt: /^\s+Flags: .*\b(?:svm|vmx)\b|^\s+flags: .*\b(?:svm|vmx)\b/m,
};
type Kind = keyof typeof LINES;

const machines = existsSync(corpusDir)
  ? readdirSync(corpusDir).filter((m) => !m.startsWith('_') && statSync(join(corpusDir, m)).isDirectory())
  : [];
/** machine -> the kinds of line its logs hold. */
const told = new Map<string, Set<Kind>>();
for (const machine of machines) {
  for (const file of readdirSync(join(corpusDir, machine))) {
    const path = join(corpusDir, machine, file);
    if (!statSync(path).isFile() || file === 'SOURCE.tsv') continue;
    const text = readFileSync(path, 'utf8');
    for (const kind of Object.keys(LINES) as Kind[]) {
      if (LINES[kind].test(text)) told.set(machine, (told.get(machine) ?? new Set()).add(kind));
    }
  }
}

describe.skipIf(!existsSync(corpusDir))('the shared corpus: what the lines tell is no longer unknown', () => {
  it('finds machines with such lines', () => {
    // 13 with a CPU0 line, 12 with a DMI line (2026-12 corpus); more is fine, none would be a broken test.
    expect([...told.values()].filter((k) => k.has('cpu0')).length).toBeGreaterThanOrEqual(13);
    expect([...told.values()].filter((k) => k.has('dmi')).length).toBeGreaterThanOrEqual(12);
  });

  it.each([...told.keys()].sort())('%s', async (machine) => {
    const kinds = told.get(machine)!;
    const profile = await probeImport(await importLogs(join(corpusDir, machine), { now: NOW }));
    const { cpu, dmi } = profile;
    if (kinds.has('cpu0')) {
      expect(cpu.modelName, 'unknown model').not.toBeNull();
      expect(cpu.vendor, 'unknown vendor').not.toBeNull();
      expect([cpu.family, cpu.model, cpu.stepping]).not.toContain(null);
    }
    if (kinds.has('dmi')) expect([dmi.biosVersion, dmi.biosDate]).not.toContain(null);
    if (kinds.has('npt')) {
      expect(cpu.vt.technology).toBe('svm');
      expect(cpu.vt.state).not.toBe('unknown');
      expect(cpu.flags).toContain('npt');
    }
    // feat_ctl.c cleared vmx: the flags line is known not to have it.
    if (kinds.has('vmxOff')) expect(cpu.flagsKnown ? !cpu.flags.includes('vmx') : cpu.flagsAbsent.includes('vmx')).toBe(true);
    if (kinds.has('inxiVt')) expect(cpu.vt.technology).not.toBeNull();
    expect(profile.diagnostics.filter((d) => d.code !== 'missing')).toEqual([]);
  });
});

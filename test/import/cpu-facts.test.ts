// How CPU facts of logs without a cpuinfo of their own (kernel log, inxi) meet a /proc/cpuinfo from one that prints it.
// Logs of two machines are put together on purpose (real files, mismatched): the disagreements must be noted, and the
// log that copies the kernel's own file must win.
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { corpusDir, corpusFile, dataFile, fixtureSource, importFiles, probeImport } from './_support.ts';

const LEGION = 'notebook-lenovo-legion_y520-15ikbn-gh-sergeyklay';
const T60 = 'notebook-lenovo-thinkpad_t60-F815AEE35E';

describe('CPU facts beside a /proc/cpuinfo', () => {
  it("lscpu's identity wins over dmesg's CPU0 line; every difference is noted (T60 lscpu, Legion Y520 dmesg)", async () => {
    const result = await importFiles({ 'lscpu.txt': dataFile(T60, 'lscpu.txt'), dmesg: dataFile(LEGION, 'dmesg') });
    const { cpu } = await probeImport(result);
    expect(cpu).toMatchObject({ modelName: 'Genuine Intel(R) CPU           T2400  @ 1.83GHz', model: 14, stepping: 8, logicalCpus: 2 });
    expect(result.manifest.notes).toEqual(
      expect.arrayContaining([
        '/proc/cpuinfo: model taken from lscpu.txt; dmesg:260 says 158',
        '/proc/cpuinfo: model name taken from lscpu.txt; dmesg:260 says "Intel(R) Core(TM) i7-7700HQ CPU @ 2.80GHz"',
        '/proc/cpuinfo: stepping taken from lscpu.txt; dmesg:260 says 9',
      ]),
    );
    expect(result.manifest.sources.find((s) => s.file === 'dmesg')!.used).not.toContain('cpu.identity');
  });

  it("completes an lscpu's partial flags line; where they disagree the lscpu wins (Aspire one lscpu, X670E dmesg lines)", async () => {
    // The Aspire one's old lscpu says -lm -vmx -svm; the X670E Taichi's KVM line says +svm +npt.
    const dmesg = [
      '[    0.351818] smpboot: CPU0: AMD Ryzen 9 7950X 16-Core Processor (family: 0x19, model: 0x61, stepping: 0x2)',
      '[    6.628197] SVM: kvm: Nested Paging enabled',
    ];
    // Enough of the real log around them for the file to read as a kernel log.
    const legion = dataFile(LEGION, 'dmesg').split('\n').slice(0, 20);
    const result = await importFiles({
      'lscpu.txt': fixtureSource('atom-netbook', 'lscpu.txt'),
      dmesg: [...legion, ...dmesg].join('\n') + '\n',
    });
    const cpuinfo = result.tree.files['proc/cpuinfo']!;
    expect(cpuinfo.split('\n\n')[0]).toContain('flags (partial)\t: -lm -vmx -svm +npt');
    expect(result.manifest.notes).toContain('dmesg:22: svm in the flags, but lscpu.txt says otherwise and wins');
    const { cpu } = await probeImport(result);
    expect(cpu).toMatchObject({ vendor: 'GenuineIntel', flags: ['npt'], flagsAbsent: ['lm', 'vmx', 'svm'] });
  });

  it.skipIf(!existsSync(corpusDir))("a full flags line wins over a log's statement (T60 lscpu with vmx, L490 dmesg: VMX off)", async () => {
    const result = await importFiles({
      'lscpu.txt': dataFile(T60, 'lscpu.txt'),
      'dmesg.log': corpusFile('notebook-lenovo-thinkpad_l490-gh-alexberry', 'dmesg.log'),
    });
    expect(result.manifest.notes).toContain('dmesg.log:245: vmx not in the flags, but the flags line of lscpu.txt wins');
    expect(result.tree.files['proc/cpuinfo']).not.toContain('flags (partial)');
    expect((await probeImport(result)).cpu.flags).toContain('vmx');
  });
});

describe.skipIf(!existsSync(corpusDir))('CPU facts of two logs without a cpuinfo (shared corpus, read in place)', () => {
  it('the better-ranked log wins each field, the other is noted (Jetway dmesg, X670E Taichi inxi)', async () => {
    const result = await importFiles({
      'dmesg.log': corpusFile('embedded-jetway-amd-fam14h-autoport-gh-alterapraxis', 'dmesg.log'),
      'inxi.txt': corpusFile('desktop-asrock-x670e_taichi-gh-lattrommi', 'inxi28Jul2023.txt'),
    });
    expect(result.manifest.notes).toEqual(
      expect.arrayContaining([
        'inxi.txt:13: cpu family 25 differs from dmesg.log:219 (20); not used',
        'inxi.txt:14: model 97 differs from dmesg.log:219 (2); not used',
        'inxi.txt:14: stepping 2 differs from dmesg.log:219 (0); not used',
      ]),
    );
    expect((await probeImport(result)).cpu).toMatchObject({ family: 20, model: 2, stepping: 0, modelName: 'AMD G-T56N Processor' });
  });

  it('a flag two logs disagree on: the better-ranked statement (L490 dmesg -vmx; the HP inxi line with svm made vmx)', async () => {
    const inxi = corpusFile('notebook-hp-pavilion_15-ec0012nl-gh-maxximo88', 'inxi-Fx.txt').replace('ssse3 svm', 'ssse3 vmx');
    const result = await importFiles({
      'dmesg.log': corpusFile('notebook-lenovo-thinkpad_l490-gh-alexberry', 'dmesg.log'),
      'inxi.txt': inxi,
    });
    expect(result.manifest.notes).toContain(
      'inxi.txt:11: vmx in the flags, but dmesg.log:245 says not in the flags; the latter taken',
    );
    expect((await probeImport(result)).cpu.flagsAbsent).toEqual(['vmx']);
  });
});

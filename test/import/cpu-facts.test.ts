// How CPU facts of logs without a cpuinfo of their own (kernel log, inxi) meet a /proc/cpuinfo from one that prints it.
// Logs of two machines are put together on purpose (real files, mismatched): the disagreements must be noted, and the
// log that copies the kernel's own file must win.
import { describe, expect, it } from 'vitest';
import { dataFile, fixtureSource, importFiles, probeImport } from './_support.ts';

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
});

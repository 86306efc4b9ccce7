import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { detectInxi, parseInxi } from '../../src/import/inxi.ts';
import { corpusDir, corpusFile, dataFile, importFiles, probeImport } from './_support.ts';

const HP = 'notebook-hp-pavilion_15-ec0012nl-gh-maxximo88';
const TAICHI = 'desktop-asrock-x670e_taichi-gh-lattrommi';

// The CPU sections of the two inxi logs of the shared corpus, copied verbatim (trailing spaces included).
const HP_CPU = [
  'CPU:       Topology: Quad Core model: AMD Ryzen 7 3750H with Radeon Vega Mobile Gfx bits: 64 ',
  '           type: MT MCP arch: Zen rev: 1 L2 cache: 2048 KiB ',
  '           flags: lm nx pae sse sse2 sse3 sse4_1 sse4_2 sse4a ssse3 svm bogomips: 36731 ',
  '           Speed: 1224 MHz min/max: 1400/2300 MHz Core speeds (MHz): 1: 1225 2: 1259 3: 1224 ',
  '           4: 1261 5: 1227 6: 1228 7: 1233 8: 1288 ',
].join('\n');
const TAICHI_CPU = [
  'CPU:',
  '  Info: model: AMD Ryzen 9 7950X bits: 64 type: MT MCP arch: Zen 4 gen: 5',
  '    level: v4 note: check built: 2022+ process: TSMC n5 (5nm) family: 0x19 (25)',
  '    model-id: 0x61 (97) stepping: 2 microcode: 0xA601203',
  '  Topology: cpus: 1x cores: 16 tpc: 2 threads: 32 smt: enabled cache:',
  '    L1: 1024 KiB desc: d-16x32 KiB; i-16x32 KiB L2: 16 MiB desc: 16x1024 KiB',
  '    L3: 64 MiB desc: 2x32 MiB',
  '  Flags: avx avx2 ht lm nx pae sse sse2 sse3 sse4_1 sse4_2 sse4a ssse3 svm',
  '  Vulnerabilities:',
  '  Type: itlb_multihit status: Not affected',
].join('\n');
const values = (text: string) => {
  const cpu = parseInxi(text, 'inxi.txt').cpu!;
  const flags = Object.entries(cpu.flags).map(([f, s]) => `${s.value ? '+' : '-'}${f}`);
  const numbers = Object.fromEntries(Object.entries(cpu).filter(([k]) => k !== 'flags').map(([k, v]) => [k, v.value]));
  return { flags, ...numbers };
};

describe('inxi: the CPU section', () => {
  it.each([
    [`${HP} (inxi 3.0, inline "flags:")`, HP_CPU, { flags: ['+lm', '+nx', '+pae', '+sse', '+sse2', '+pni', '+sse4_1', '+sse4_2', '+sse4a', '+ssse3', '+svm'] }],
    [
      `${TAICHI} (inxi 3.3, -xx numbers)`,
      TAICHI_CPU,
      {
        flags: ['+avx', '+avx2', '+ht', '+lm', '+nx', '+pae', '+sse', '+sse2', '+pni', '+sse4_1', '+sse4_2', '+sse4a', '+ssse3', '+svm'],
        family: 25,
        model: 97,
        stepping: 2,
      },
    ],
  ])('%s: each listed flag is in the flags line (sse3 is inxi\'s name for pni); none is known absent', (_m, text, expected) => {
    expect(values(text)).toEqual(expected);
  });

  it.each([
    ['-F, 3.0', HP_CPU.replace(/^/, 'System:    Host: maxximo88-PC Kernel: 5.3.0-3-amd64 x86_64 bits: 64 compiler: gcc v: 8.3.0 \n')],
    ['-C, 3.3 (the CPU section alone)', TAICHI_CPU],
  ])('recognizes inxi %s by its content', (_case, text) => {
    expect(detectInxi(text.split('\n'))).toBe(true);
  });

  it('notes the model, which inxi rewords, without taking it', () => {
    const parsed = parseInxi(TAICHI_CPU, 'inxi.txt');
    expect(parsed.cpu?.modelName).toBeUndefined();
    expect(parsed.notes).toEqual(['inxi.txt:2: inxi\'s CPU model "AMD Ryzen 9 7950X" (reworded by inxi) not taken as the model name']);
  });

  it.each([
    ['a family whose hex and decimal disagree', TAICHI_CPU.replace('0x19 (25)', '0x19 (24)'), 'inxi family "0x19 (24)" is not "0xN (N)"; skipped', 3],
    ['a flag with a character no flag name has', HP_CPU.replace('sse4a', 'sse4a,'), 'inxi flag "sse4a," is not a flag name; skipped', 3],
  ])('bad input (the real section with %s): an issue naming the line, the rest taken', (_case, text, message, line) => {
    const parsed = parseInxi(text, 'inxi.txt');
    expect(parsed.issues).toEqual([{ file: 'inxi.txt', line, message }]);
    expect(parsed.cpu?.flags.svm?.value).toBe(true);
  });
});

describe.skipIf(!existsSync(corpusDir))('inxi logs of the shared corpus (read in place)', () => {
  it.each([
    [HP, 'inxi-Fx.txt', ['cpu.flags.partial']],
    [TAICHI, 'inxi28Jul2023.txt', ['cpu.identity', 'cpu.flags.partial']],
  ])('%s: recognized by content; alone, the probe reads AMD-V, long mode and PAE from it', async (machine, file, used) => {
    expect(detectInxi(corpusFile(machine, file).split('\n'))).toBe(true);
    const result = await importFiles({ 'log.txt': corpusFile(machine, file) });
    expect(result.manifest.sources).toEqual([{ file: 'log.txt', format: 'inxi', used }]);
    const { cpu } = await probeImport(result);
    expect(cpu).toMatchObject({ flagsKnown: false, longMode: true, pae: true, vt: { technology: 'svm', state: 'unverified' } });
  });

  it('the HP Pavilion 15: lscpu\'s full Flags line wins, inxi adds no partial statement', async () => {
    const result = await importFiles({ 'lscpu.txt': dataFile(HP, 'lscpu.txt'), 'inxi-Fx.txt': corpusFile(HP, 'inxi-Fx.txt') });
    expect(result.tree.files['proc/cpuinfo']).not.toContain('flags (partial)');
    expect(result.manifest.sources.find((s) => s.file === 'inxi-Fx.txt')!.used).toEqual([]);
    expect((await probeImport(result)).cpu.flagsKnown).toBe(true);
  });

  it('the X670E Taichi: dmesg\'s CPU 0 and KVM lines and inxi\'s flags make one /proc/cpuinfo', async () => {
    const result = await importFiles({
      'dmesg28Jul2023.txt': corpusFile(TAICHI, 'dmesg28Jul2023.txt'),
      'inxi28Jul2023.txt': corpusFile(TAICHI, 'inxi28Jul2023.txt'),
    });
    expect(result.tree.files['proc/cpuinfo']).toBe(
      'vendor_id\t: AuthenticAMD\ncpu family\t: 25\nmodel\t\t: 97\nmodel name\t: AMD Ryzen 9 7950X 16-Core Processor\n' +
        'stepping\t: 2\nflags (partial)\t: +svm +npt +avx +avx2 +ht +lm +nx +pae +sse +sse2 +pni +sse4_1 +sse4_2 +sse4a +ssse3\n\n',
    );
    const { cpu } = await probeImport(result);
    expect(cpu).toMatchObject({ vendor: 'AuthenticAMD', modelName: 'AMD Ryzen 9 7950X 16-Core Processor', vt: { technology: 'svm' } });
    expect(cpu.flags).toContain('npt');
  });

  it('no other corpus log is read as inxi', async () => {
    const { readdirSync, readFileSync, statSync } = await import('node:fs');
    const { join } = await import('node:path');
    const found: string[] = [];
    for (const machine of readdirSync(corpusDir).filter((m) => !m.startsWith('_') && statSync(join(corpusDir, m)).isDirectory())) {
      for (const file of readdirSync(join(corpusDir, machine))) {
        const path = join(corpusDir, machine, file);
        if (statSync(path).isFile() && detectInxi(readFileSync(path, 'utf8').split('\n'))) found.push(`${machine}/${file}`);
      }
    }
    expect(found.sort()).toEqual([`${TAICHI}/inxi28Jul2023.txt`, `${HP}/inxi-Fx.txt`]);
  });
});

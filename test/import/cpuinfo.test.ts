import { describe, expect, it } from 'vitest';
import { parseCpuinfo, parseLscpu } from '../../src/import/cpuinfo.ts';
import { parseHwinfo } from '../../src/import/hwinfo.ts';
import { dataFile, fixtureSource, importFiles, importFixture, importMachine, probeImport } from './_support.ts';

const HERE = 'this-machine-firecracker-kvm';
const PAVILION = 'notebook-hp-pavilion_15-ec0012nl-gh-maxximo88';
const T60 = 'notebook-lenovo-thinkpad_t60-F815AEE35E';
const FIELDS =
  /^(processor|vendor_id|cpu family|model|model name|stepping|physical id|siblings|core id|cpu cores|flags)\s*:/;
const TOPOLOGY = /^(processor|physical id|siblings|core id|cpu cores)\s*:/;
const only = (text: string, keep: RegExp) => text.split('\n').filter((l) => keep.test(l));

describe('/proc/cpuinfo from lscpu', () => {
  it('repeats, for every online CPU, the very lines of the real /proc/cpuinfo that lscpu reports', () => {
    const parsed = parseLscpu(dataFile(HERE, 'logs/lscpu.txt'), 'lscpu.txt');
    const real = dataFile(HERE, 'proc-cpuinfo.truth')
      .split('\n\n')
      .filter((block) => block.trim() !== '')
      .map(
        (block) =>
          block
            .split('\n')
            .filter((l) => FIELDS.test(l))
            .join('\n') + '\n\n',
      )
      .join('');
    expect(parsed.files['proc/cpuinfo']).toBe(real);
    expect(parsed.issues).toEqual([]);
  });

  it('carries the machine name lscpu took from uname(2) to /proc/sys/kernel/arch', () => {
    const parsed = parseLscpu(dataFile(HERE, 'logs/lscpu.txt'), 'lscpu.txt');
    const arch = dataFile(HERE, 'proc-sys-kernel.txt').split('\n')[1];
    expect(parsed.files['proc/sys/kernel/arch']).toBe(`${arch}\n`);
  });

  it('synthesizes the ThinkPad T60 Core Duo: two CPUs, vmx, no lm, and says so in the manifest', async () => {
    const result = await importMachine(T60);
    const cpuinfo = result.tree.files['proc/cpuinfo']!;
    const blocks = cpuinfo.split('\n\n').filter((b) => b !== '');
    expect(blocks).toHaveLength(2);
    expect(blocks[1]!.split('\n').slice(0, 10)).toEqual([
      'processor\t: 1',
      'vendor_id\t: GenuineIntel',
      'cpu family\t: 6',
      'model\t\t: 14',
      'model name\t: Genuine Intel(R) CPU           T2400  @ 1.83GHz',
      'stepping\t: 8',
      'physical id\t: 0',
      'siblings\t: 2',
      'core id\t\t: 1',
      'cpu cores\t: 2',
    ]);
    const flags = /^flags\t\t: (.*)$/m.exec(cpuinfo)![1]!.split(' ');
    expect(flags).toContain('vmx');
    expect(flags).not.toContain('lm');
    expect(result.tree.files['proc/sys/kernel/arch']).toBe('i686\n');
    expect(result.manifest.notes).toContain(
      'lscpu.txt: /proc/cpuinfo synthesized from lscpu (2 CPUs = 1 sockets x 2 cores x 1 threads; which CPU is ' +
        'which core of which package is synthesized, only the counts come from the log)',
    );
    expect(result.manifest.sources.find((s) => s.file === 'lscpu.txt')!.used).toEqual([
      'cpu.arch',
      'cpu',
      'cpu.flags',
      'cpu.topology',
    ]);
    expect(result.manifest.absent).toEqual(expect.arrayContaining(['cpu.cpuid', 'cpu.msr']));
    expect(result.manifest.absent).not.toContain('cpu.flags');
    expect(result.manifest.absent).not.toContain('cpu.topology');
  });

  it.each([
    // lscpu of: Socket(s) x Core(s) per socket x Thread(s) per core = CPU(s) -> cores, packages
    ['server-iommu-bmc (Xeon E5-2650 v3 x 2)', fixtureSource('server-iommu-bmc', 'lscpu.txt'), 40, 20, 2],
    ['thinkpad-t60 (Core Duo T2400)', fixtureSource('thinkpad-t60', 'lscpu.txt'), 2, 2, 1],
    ['amd-apu-laptop', fixtureSource('amd-apu-laptop', 'lscpu.txt'), 8, 8, 1],
    ['atom-netbook (one core, two threads)', fixtureSource('atom-netbook', 'lscpu.txt'), 2, 1, 1],
    ['HP Pavilion 15 (Ryzen 5 3500U)', dataFile(PAVILION, 'lscpu.txt'), 8, 4, 1],
    ['this machine', dataFile(HERE, 'logs/lscpu.txt'), 2, 2, 1],
  ])('%s: the probe counts the cores and packages lscpu states', async (_, lscpu, logical, cores, packages) => {
    const profile = await probeImport(await importFiles({ 'lscpu.txt': lscpu }));
    expect(profile.cpu).toMatchObject({ logicalCpus: logical, cores, packages });
    expect(profile.diagnostics.filter((d) => d.path === '/proc/cpuinfo')).toEqual([]);
  });

  it.each([
    // The real /proc/cpuinfo beside the lscpu of the same machine: hwinfo's copy of it, and this machine's own.
    [PAVILION, 'lscpu.txt', parseHwinfo(dataFile(PAVILION, 'hwinfo.txt'), 'hwinfo.txt').files['proc/cpuinfo']!, 8],
    [HERE, 'logs/lscpu.txt', dataFile(HERE, 'proc-cpuinfo.truth'), 2],
  ])('%s: the synthesized topology lines are the real ones, numbering included', (machine, file, real, cpus) => {
    const synthesized = parseLscpu(dataFile(machine, file), file).files['proc/cpuinfo']!;
    expect(only(synthesized, TOPOLOGY)).toEqual(only(real, TOPOLOGY));
    expect(only(synthesized, /^processor/)).toHaveLength(cpus);
  });

  it.each([
    ['Socket(s):             1', 'Socket(s):             2', '2 sockets x 2 cores x 1 threads differ'],
    ['Thread(s) per core:    1\n', '', 'no Socket(s), Core(s) per socket and Thread(s) per core'],
  ])('writes no topology when the counts do not give the CPUs (%s -> %j)', async (from, to, why) => {
    const lscpu = dataFile(T60, 'lscpu.txt').replace(from, to);
    const result = await importFiles({ 'lscpu.txt': lscpu });
    expect(result.tree.files['proc/cpuinfo']).not.toMatch(/physical id|siblings|core id|cpu cores/);
    expect(result.manifest.notes).toContain(
      `lscpu.txt: /proc/cpuinfo synthesized from lscpu (2 CPUs; no topology fields: ${why})`,
    );
    expect(result.manifest.absent).toContain('cpu.topology');
    expect((await probeImport(result)).cpu).toMatchObject({ logicalCpus: 2, cores: null, packages: null });
  });
});

describe('lscpu without a Flags line: lm, vmx and svm from its op-mode and Virtualization lines', () => {
  // util-linux lscpu prints "64-bit" in "CPU op-mode(s)" only with lm in the flags, and "Virtualization:" only with
  // svm (AMD-V) or vmx (VT-x) in them (src/import/cpuinfo.ts). The atom-netbook's lscpu is such an older lscpu; the
  // others are real lscpu outputs with their Flags line taken out, which is what the older lscpu printed for them.
  const noFlags = (name: string) =>
    fixtureSource(name, 'lscpu.txt')
      .split('\n')
      .filter((l) => !l.startsWith('Flags:'))
      .join('\n');

  it('atom-netbook (Atom N270: "CPU op-mode(s): 32-bit", no Virtualization line): no lm, no vmx, no svm', async () => {
    const result = await importFiles({ 'lscpu.txt': fixtureSource('atom-netbook', 'lscpu.txt') });
    const blocks = result.tree.files['proc/cpuinfo']!.split('\n\n').filter((b) => b !== '');
    // lscpu read CPU 0's flags line: the statement is about that CPU only, and no flags line is made up.
    expect(blocks[0]!.split('\n').at(-1)).toBe('flags (partial)\t: -lm -vmx -svm');
    expect(blocks[1]).not.toMatch(/^flags/m);
    expect(result.manifest.absent).toContain('cpu.flags');
    expect(result.manifest.sources[0]!.used).toContain('cpu.flags.partial');
    expect(result.manifest.notes).toContain(
      'lscpu.txt: no Flags line; "CPU op-mode(s): 32-bit": no lm, no Virtualization line: neither vmx nor svm ' +
        '(lscpu derives both from the flags), other flags unknown',
    );
    const { cpu } = await probeImport(result);
    expect(cpu).toMatchObject({ flagsKnown: false, flags: [], flagsAbsent: ['lm', 'vmx', 'svm'], longMode: false });
    // Nothing about pae or the hypervisor bit: lscpu derives nothing it prints from them.
    expect(cpu).toMatchObject({ pae: null, hypervisorFlag: null });
    // No kernel release in this log alone: a kernel >= 5.6 could have hidden a locked-off vmx.
    expect(cpu.vt).toMatchObject({ technology: null, state: 'unknown' });
    expect(cpu.vt.evidence).toContain('the flags line is known only in part: no lm, no vmx, no svm');
  });

  it('the whole atom-netbook import: its kernel 3.14 (USB root hubs) never hides vmx, so VT is absent', async () => {
    const { cpu, kernel } = await probeImport(await importFixture('atom-netbook'));
    expect(kernel.release).toBe('3.14.44-nrj-desktop-2rosa-i586');
    expect(cpu.vt).toMatchObject({ technology: null, state: 'absent' });
  });

  it.each([
    ['thinkpad-t60', '32-bit', 'VT-x', '-lm +vmx -svm', ['vmx'], ['lm', 'svm'], false],
    ['macbookpro5-5', '32-bit, 64-bit', 'VT-x', '+lm +vmx -svm', ['lm', 'vmx'], ['svm'], true],
    ['amd-apu-laptop', '32-bit, 64-bit', 'AMD-V', '+lm +svm', ['lm', 'svm'], [], true],
  ])('%s without its Flags line ("%s", "Virtualization: %s"): %s', async (name, mode, virt, line, flags, absent, lm) => {
    const lscpu = noFlags(name);
    expect(lscpu).toMatch(new RegExp(`^CPU op-mode\\(s\\): +${mode}$`, 'm'));
    expect(lscpu).toMatch(new RegExp(`^Virtualization: +${virt}$`, 'm'));
    const result = await importFiles({ 'lscpu.txt': lscpu });
    expect(result.tree.files['proc/cpuinfo']).toContain(`\nflags (partial)\t: ${line}\n`);
    const { cpu } = await probeImport(result);
    expect(cpu).toMatchObject({ flagsKnown: false, flags, flagsAbsent: absent, longMode: lm, pae: null });
    expect(cpu.vt.technology).toBe(virt === 'VT-x' ? 'vmx' : 'svm');
  });

  it('with a Flags line the flags are the whole line, and no partial statement is written', async () => {
    const result = await importFiles({ 'lscpu.txt': fixtureSource('macbookpro5-5', 'lscpu.txt') });
    expect(result.tree.files['proc/cpuinfo']).not.toContain('flags (partial)');
    expect((await probeImport(result)).cpu).toMatchObject({ flagsKnown: true, flagsAbsent: [], longMode: true });
  });
});

describe('/proc/cpuinfo captured', () => {
  it.each([
    [HERE, 'proc-cpuinfo.truth'],
    ['notebook-dell-latitude_e4310-ul', 'proc__cpuinfo'],
    ['notebook-lenovo-yoga_slim_7-14are05-gh-toszlanyi', 'cpuinfo.txt'],
  ])('%s/%s is taken byte for byte', (machine, file) => {
    const text = dataFile(machine, file);
    const parsed = parseCpuinfo(text, file);
    expect(parsed.files['proc/cpuinfo']).toBe(text);
    expect(parsed.issues).toEqual([]);
    expect(parsed.used).toEqual(['cpu', 'cpu.flags', 'cpu.topology']);
  });

  it('reads CRLF line ends and writes LF, as the kernel does', async () => {
    const text = dataFile('notebook-dell-latitude_e4310-ul', 'proc__cpuinfo');
    const result = await importFiles({ 'cpuinfo.txt': text.replace(/\n/g, '\r\n') });
    expect(result.tree.files['proc/cpuinfo']).toBe(text);
  });

  it('drops a last line cut off without its line end: a cut flags list would hide vmx', () => {
    const text = dataFile('notebook-dell-latitude_e4310-ul', 'proc__cpuinfo');
    const cut = text.indexOf(' vmx ', text.indexOf('flags'));
    const parsed = parseCpuinfo(text.slice(0, cut), 'cpuinfo');
    const lines = text.slice(0, cut).split('\n');
    expect(parsed.issues).toEqual([
      { file: 'cpuinfo', line: lines.length, message: 'last line has no line end (cut off?); skipped' },
    ]);
    expect(parsed.files['proc/cpuinfo']).toBe(lines.slice(0, -1).join('\n') + '\n\n');
    expect(parsed.used).toEqual(['cpu', 'cpu.topology']);
  });
});

import { describe, expect, it } from 'vitest';
import { parseCpuinfo, parseLscpu } from '../../src/import/cpuinfo.ts';
import { dataFile, importFiles, importMachine } from './_support.ts';

const HERE = 'this-machine-firecracker-kvm';
const FIELDS = /^(processor|vendor_id|cpu family|model|model name|stepping|flags)\s*:/;

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
    const result = await importMachine('notebook-lenovo-thinkpad_t60-F815AEE35E');
    const cpuinfo = result.tree.files['proc/cpuinfo']!;
    const blocks = cpuinfo.split('\n\n').filter((b) => b !== '');
    expect(blocks).toHaveLength(2);
    expect(blocks[1]!.split('\n').slice(0, 6)).toEqual([
      'processor\t: 1',
      'vendor_id\t: GenuineIntel',
      'cpu family\t: 6',
      'model\t\t: 14',
      'model name\t: Genuine Intel(R) CPU           T2400  @ 1.83GHz',
      'stepping\t: 8',
    ]);
    const flags = /^flags\t\t: (.*)$/m.exec(cpuinfo)![1]!.split(' ');
    expect(flags).toContain('vmx');
    expect(flags).not.toContain('lm');
    expect(result.tree.files['proc/sys/kernel/arch']).toBe('i686\n');
    expect(result.manifest.notes).toContain(
      'lscpu.txt: /proc/cpuinfo synthesized from lscpu (2 CPUs; no topology fields)',
    );
    expect(result.manifest.absent).toEqual(expect.arrayContaining(['cpu.topology', 'cpu.cpuid', 'cpu.msr']));
    expect(result.manifest.absent).not.toContain('cpu.flags');
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
    expect(parsed.used).toEqual(['cpu', 'cpu.flags']);
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
    expect(parsed.used).toEqual(['cpu']);
  });
});

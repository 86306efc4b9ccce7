import { describe, expect, it } from 'vitest';
import { parseMeminfo, parseUname } from '../../src/import/proc.ts';
import { dataFile, importFiles, importMachine } from './_support.ts';

const HERE = 'this-machine-firecracker-kvm';
const [osrelease, arch] = dataFile(HERE, 'proc-sys-kernel.txt').split('\n');

describe('/proc/meminfo', () => {
  it('keeps only MemTotal, the line that describes the machine rather than the moment', () => {
    const text = dataFile(HERE, 'logs/meminfo.txt');
    expect(parseMeminfo(text).files).toEqual({ 'proc/meminfo': `${text.split('\n')[0]}\n` });
    expect(text.split('\n')[0]).toBe('MemTotal:       24683656 kB');
  });

  it('leaves MemTotal absent when no log states it (dmidecode module sizes are not MemTotal)', async () => {
    const result = await importMachine('notebook-lenovo-thinkpad_t60-F815AEE35E');
    // Only the installed modules, on the import-only line the memory probe reads as installedKiB.
    expect(result.tree.files['proc/meminfo']).toBe('Installed (SMBIOS):    3145728 kB\n');
    expect(result.manifest.absent).toContain('memory');
  });
});

describe('uname', () => {
  it('takes the release of `uname -a` as /proc/sys/kernel/osrelease (this machine)', () => {
    expect(parseUname(dataFile(HERE, 'logs/uname-a.txt')).files).toEqual({
      'proc/sys/kernel/osrelease': `${osrelease}\n`,
    });
  });

  it('takes `uname -m` as /proc/sys/kernel/arch (this machine)', () => {
    expect(parseUname(dataFile(HERE, 'logs/uname-m.txt')).files).toEqual({ 'proc/sys/kernel/arch': `${arch}\n` });
  });

  it('recognizes a `uname -a` line whatever the file is called (N100 mini PC)', async () => {
    const result = await importFiles({ 'x.txt': dataFile('minipc-intel-n100-adl-n-gh-ctcl-bregis', 'uname.txt') });
    expect(result.manifest.sources).toEqual([{ file: 'x.txt', format: 'uname -a', used: ['kernel.osrelease'] }]);
    expect(result.tree.files['proc/sys/kernel/osrelease']).toBe('5.15.0-91-generic\n');
  });
});

import { describe, expect, it } from 'vitest';
import { parseDmidecode } from '../../src/import/dmidecode.ts';
import { probeMemory } from '../../src/probe/memory.ts';
import { fixtureSource } from '../import/_support.ts';
import { dataFile, failingOpen, readerFor } from './_corpus.ts';

const meminfo = dataFile('this-machine-firecracker-kvm', 'proc__meminfo');
// What `autoconfig import` writes for the Atom netbook's dmidecode (one "Size: 2048 MB" Memory Device) when no log
// gives /proc/meminfo: the installed memory on a line no kernel prints.
const installed = parseDmidecode(fixtureSource('atom-netbook', 'dmidecode.txt'), 'dmidecode.txt').weakFiles![
  'proc/meminfo'
]!;

describe('probeMemory', () => {
  it.each<[string, string | undefined, number | null, number | null, string[]]>([
    ["this machine's /proc/meminfo", meminfo, 24683656, null, []],
    ['MemTotal not first (order is not relied on)', meminfo.split('\n').reverse().join('\n'), 24683656, null, []],
    ['no MemTotal line', meminfo.replace(/^MemTotal:.*\n/m, ''), null, null, ['malformed']],
    ['MemTotal in another unit', meminfo.replace(/^(MemTotal:\s+\d+) kB/m, '$1 MB'), null, null, ['malformed']],
    ['no /proc/meminfo at all', undefined, null, null, []],
    ["an import's installed memory modules, MemTotal unknown", installed, null, 2097152, []],
    // Never both: MemTotal is what the kernel manages; the modules' size is only its stand-in.
    ['MemTotal beside the installed line', installed + meminfo, 24683656, null, []],
  ])('%s', async (_name, text, totalKiB, installedKiB, codes) => {
    const reader = readerFor({ files: text === undefined ? {} : { 'proc/meminfo': text } });
    expect(await probeMemory(reader)).toEqual({ totalKiB, installedKiB });
    expect(reader.diagnostics.map((d) => d.code)).toEqual(codes);
  });

  it('reports an unreadable /proc/meminfo', async () => {
    const reader = readerFor({ files: { 'proc/meminfo': meminfo } }, { wrap: failingOpen('/proc/meminfo', 'EIO') });
    expect(await probeMemory(reader)).toEqual({ totalKiB: null, installedKiB: null });
    expect(reader.diagnostics.map((d) => [d.code, d.path])).toEqual([['unreadable', '/proc/meminfo']]);
  });
});

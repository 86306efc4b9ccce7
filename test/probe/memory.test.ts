import { describe, expect, it } from 'vitest';
import { probeMemory } from '../../src/probe/memory.ts';
import { dataFile, failingOpen, readerFor } from './_corpus.ts';

const meminfo = dataFile('this-machine-firecracker-kvm', 'proc__meminfo');

describe('probeMemory', () => {
  it.each<[string, string | undefined, number | null, string[]]>([
    ["this machine's /proc/meminfo", meminfo, 24683656, []],
    ['MemTotal not first (order is not relied on)', meminfo.split('\n').reverse().join('\n'), 24683656, []],
    ['no MemTotal line', meminfo.replace(/^MemTotal:.*\n/m, ''), null, ['malformed']],
    ['MemTotal in another unit', meminfo.replace(/^(MemTotal:\s+\d+) kB/m, '$1 MB'), null, ['malformed']],
    ['no /proc/meminfo at all', undefined, null, []],
  ])('%s', async (_name, text, totalKiB, codes) => {
    const reader = readerFor({ files: text === undefined ? {} : { 'proc/meminfo': text } });
    expect(await probeMemory(reader)).toEqual({ totalKiB });
    expect(reader.diagnostics.map((d) => d.code)).toEqual(codes);
  });

  it('reports an unreadable /proc/meminfo', async () => {
    const reader = readerFor({ files: { 'proc/meminfo': meminfo } }, { wrap: failingOpen('/proc/meminfo', 'EIO') });
    expect(await probeMemory(reader)).toEqual({ totalKiB: null });
    expect(reader.diagnostics.map((d) => [d.code, d.path])).toEqual([['unreadable', '/proc/meminfo']]);
  });
});

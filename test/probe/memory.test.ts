import { describe, expect, it } from 'vitest';
import { parseDmidecode } from '../../src/import/dmidecode.ts';
import { machineMemory, parseType19, probeMemory } from '../../src/probe/memory.ts';
import type { HardwareProfile } from '../../src/types.ts';
import { SMBIOS_KIB, TYPE19_RAW, smbiosRaw } from '../_support/qemu-xen.ts';
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
    // Both, each for what it is: MemTotal is what the kernel manages, the installed line the firmware's figure.
    ['MemTotal beside the installed line', installed + meminfo, 24683656, 2097152, []],
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

// SMBIOS type 19 (Memory Array Mapped Address), as QEMU's q35 with -m 3072 lists it in /sys/firmware/dmi/entries:
// 0-2 GiB and 4-5 GiB (issue #9 §3, measured). The same inside a Xen Dom0 and without Xen.
describe('the installed memory from SMBIOS type 19', () => {
  const entries = (raws: Record<string, Uint8Array>) =>
    Object.fromEntries(Object.entries(raws).map(([name, raw]) => [`sys/firmware/dmi/entries/${name}/raw`, raw]));
  // An SMBIOS 2.7 structure with the 64-bit byte addresses: 4 GiB at 4 TiB.
  const extended = smbiosRaw(
    '13 1f 02 13 ff ff ff ff ff ff ff ff 00 10 01 00 00 00 00 00 04 00 00 ff ff ff ff 00 04 00 00',
  );

  it('QEMU -m 3072: two ranges, 3 GiB, beside a Dom0 MemTotal that is only its share', async () => {
    const reader = readerFor({
      files: { 'proc/meminfo': 'MemTotal:        1938596 kB\n', ...entries(TYPE19_RAW), 'sys/firmware/dmi/entries/17-0/raw': 'x' },
    });
    expect(await probeMemory(reader)).toEqual({ totalKiB: 1938596, installedKiB: SMBIOS_KIB });
    expect(reader.diagnostics).toEqual([]);
    // Only the type 19 structures are read: type 17 (Memory Device) holds serial numbers.
    expect([...reader.touched].filter((p) => p.includes('/entries/1'))).toEqual([
      '/sys/firmware/dmi/entries/19-0/raw',
      '/sys/firmware/dmi/entries/19-1/raw',
    ]);
  });

  it.each<[string, Uint8Array, [bigint, bigint] | null | RegExp]>([
    ['0-2 GiB in KiB', TYPE19_RAW['19-0'], [0n, 2n ** 31n - 1n]],
    ['4-5 GiB in KiB', TYPE19_RAW['19-1'], [2n ** 32n, 5n * 2n ** 30n - 1n]],
    ['the extended 64-bit byte addresses', extended, [2n ** 42n, 2n ** 42n + 2n ** 32n - 1n]],
    ['an empty placeholder (0-0)', smbiosRaw('13 0f 03 13 00 00 00 00 00 00 00 00 00 10 01'), null],
    ['another type', smbiosRaw('11 1f 00 11 00 00 00 00 ff ff 1f 00 00 10 01 00'), /not an SMBIOS type 19/],
    ['cut short', new Uint8Array([0x13, 0x1f, 0, 0x13]), /not an SMBIOS type 19/],
    ['end below start', smbiosRaw('13 0f 03 13 00 00 40 00 ff ff 1f 00 00 10 01'), /below the starting address/],
    ['FFFFFFFFh without the extended fields', smbiosRaw('13 0f 03 13 ff ff ff ff ff ff ff ff 00 10 01'), /extended/],
  ])('parseType19: %s', (_name, raw, expected) => {
    const got = parseType19(raw);
    if (expected instanceof RegExp) expect(got).toMatch(expected);
    else expect(got).toEqual(expected);
  });

  it('overlapping ranges count once, in any order', async () => {
    const reader = readerFor({
      files: entries({
        '19-0': TYPE19_RAW['19-0'],
        '19-1': smbiosRaw('13 0f 01 13 00 00 10 00 ff ff 2f 00 00 10 01'), // 1-3 GiB, overlapping 19-0
        '19-10': extended,
        '19-2': smbiosRaw('13 0f 03 13 00 00 00 00 00 00 00 00 00 10 01'), // a placeholder
      }),
    });
    expect(await probeMemory(reader)).toEqual({ totalKiB: null, installedKiB: 3 * 1048576 + 4 * 1048576 });
    expect(reader.diagnostics).toEqual([]);
  });

  it("a range within the firmware flash window below 4 GiB is the flash array's, not RAM (HP dc5800)", async () => {
    // The dc5800's type 19: 0-3584 MB and 4096-8640 MB of its system array, 0xffe00000-0xffffffff of its flash array.
    const reader = readerFor({
      files: entries({
        '19-0': smbiosRaw('13 0f 3a 00 00 00 00 00 ff ff 37 00 32 00 01'),
        '19-1': smbiosRaw('13 0f 3b 00 00 00 40 00 ff ff 86 00 32 00 01'),
        '19-2': smbiosRaw('13 0f 3c 00 00 f8 3f 00 ff ff 3f 00 33 00 01'),
      }),
    });
    expect(await probeMemory(reader)).toEqual({ totalKiB: null, installedKiB: (3584 + 4544) * 1024 });
  });

  // A partial sum would be a wrong size: with one structure unusable the installed memory is unknown.
  it.each<[string, Record<string, string>, Record<string, Uint8Array>, [string, string][]]>([
    ['malformed', {}, { '19-2': new Uint8Array([0x13, 0x1f]) }, [['malformed', '/sys/firmware/dmi/entries/19-2/raw']]],
    // Not root: the raw files are 0400.
    ['unreadable', { wrap: '/sys/firmware/dmi/entries/19-0/raw' }, {}, [['unreadable', '/sys/firmware/dmi/entries/19-0/raw']]],
    ['missing', {}, { '19-3': null as unknown as Uint8Array }, [['missing', '/sys/firmware/dmi/entries/19-3/raw']]],
  ])('one structure %s: unknown, said in a diagnostic', async (_name, how, extra, diagnostics) => {
    const files: Record<string, Uint8Array | string | null> = entries(TYPE19_RAW);
    for (const [name, raw] of Object.entries(extra)) {
      if (raw === null) files[`sys/firmware/dmi/entries/${name}`] = null;
      else files[`sys/firmware/dmi/entries/${name}/raw`] = raw;
    }
    const reader = readerFor({ files }, how.wrap ? { wrap: failingOpen(how.wrap, 'EACCES') } : {});
    expect(await probeMemory(reader)).toEqual({ totalKiB: null, installedKiB: null });
    expect(reader.diagnostics.map((d) => [d.code, d.path])).toEqual(diagnostics);
  });
});

describe("machineMemory: the machine's memory the rules and the plan size from", () => {
  const profile = (totalKiB: number | null, installedKiB: number | null, role: HardwareProfile['hypervisor']['role']) =>
    ({ memory: { totalKiB, installedKiB }, hypervisor: { role } }) as unknown as HardwareProfile;
  it.each<[string, ReturnType<typeof profile>, ReturnType<typeof machineMemory>]>([
    ['SMBIOS whenever known, on bare metal', profile(3003440, SMBIOS_KIB, 'bare-metal'), { kib: SMBIOS_KIB, source: 'smbios' }],
    ['and in a Dom0, whatever its MemTotal', profile(1938596, SMBIOS_KIB, 'dom0'), { kib: SMBIOS_KIB, source: 'smbios' }],
    ['else MemTotal', profile(3003440, null, 'guest'), { kib: 3003440, source: 'memtotal' }],
    ["but never a Dom0's MemTotal, its own share", profile(1938596, null, 'dom0'), null],
    ['nothing known', profile(null, null, 'bare-metal'), null],
  ])('%s', (_name, p, expected) => {
    expect(machineMemory(p)).toEqual(expected);
  });
});

import { describe, expect, it } from 'vitest';
import { parseDmidecode } from '../../src/import/dmidecode.ts';
import { corpusFile, dataFile, fixtureSource, importFiles, probeImport } from './_support.ts';

const dmi = (machine: string) => {
  const parsed = parseDmidecode(dataFile(machine, 'dmidecode.txt'), 'dmidecode.txt');
  return {
    parsed,
    files: Object.fromEntries(
      Object.entries(parsed.files).map(([path, value]) => [
        path.slice('sys/class/dmi/id/'.length),
        value.replace(/\n$/, ''),
      ]),
    ),
  };
};

describe('dmidecode -> /sys/class/dmi/id', () => {
  it('takes the ThinkPad T60 strings verbatim and its chassis type as the SMBIOS number', () => {
    expect(dmi('notebook-lenovo-thinkpad_t60-F815AEE35E').files).toEqual({
      bios_vendor: 'LENOVO',
      bios_version: '79ETE7WW (2.27 )',
      bios_date: '03/21/2011',
      sys_vendor: 'LENOVO',
      product_name: '1951BY8',
      product_version: 'ThinkPad T60',
      product_family: 'ThinkPad T60',
      board_vendor: 'LENOVO',
      board_name: '1951BY8',
      board_version: 'Not Available',
      chassis_vendor: 'LENOVO',
      chassis_type: '10', // "Notebook"
    });
  });

  it('keeps leading spaces of a string, as the kernel does (MacBookPro2,1 under a Xen dom0)', () => {
    const { files } = dmi('vm-virtwhat-rhel5-xen-dom0');
    expect(files).toMatchObject({
      bios_version: '   MBP21.88Z.00A5.B08.0802291403',
      bios_date: '02/29/08',
      sys_vendor: 'Apple Computer, Inc.',
      product_name: 'MacBookPro2,1',
      product_family: 'MacBook Pro',
      board_name: 'Mac-F42189C8',
      chassis_type: '8', // "Portable"
    });
    // Serials, UUIDs and asset tags are never taken.
    expect(Object.keys(files).some((f) => /serial|uuid|asset/.test(f))).toBe(false);
  });

  it('reads "Not Specified" as string 0, the empty attribute, and notes it (OptiPlex 7010)', () => {
    const { files, parsed } = dmi('desktop-dell-optiplex_7010-i7-3770-13C4BC8256');
    expect(files).toMatchObject({
      product_name: 'OptiPlex 7010',
      product_family: '',
      board_name: '0KRC95',
      chassis_type: '6',
    });
    expect(parsed.notes).toEqual([
      'dmidecode.txt: "Not Specified" read as the empty string 0 (not as that literal text): product_family',
      'dmidecode.txt: installed memory 16384 MiB in 1 memory array mapped ranges (type 19), not MemTotal',
    ]);
  });

  it('gives nothing for a run that could not read the table (virt-what PV domU)', () => {
    const { files, parsed } = dmi('vm-virtwhat-rhel5-xen-domU-pv');
    expect(files).toEqual({});
    expect(parsed.format).toBe('dmidecode');
    expect(parsed.notes).toEqual(['dmidecode.txt: dmidecode printed no DMI structures']);
  });
});

describe('dmidecode -> the installed memory (type 19 mapped ranges, else type 17 Memory Devices, of the system memory arrays)', () => {
  const installed = (text: string) => parseDmidecode(text, 'dmidecode.txt').weakFiles?.['proc/meminfo'];

  it.each([
    // "Size: 2048 MB": one module.
    ['atom-netbook', fixtureSource('atom-netbook', 'dmidecode.txt'), 2048],
    // 1024 MB + 2048 MB in two SODIMM slots (the array says "Maximum Capacity: 2 GB": the sizes count, not that).
    ['thinkpad-t60', fixtureSource('thinkpad-t60', 'dmidecode.txt'), 3072],
    // "16 GB" and "No Module Installed".
    ['amd-apu-laptop', fixtureSource('amd-apu-laptop', 'dmidecode.txt'), 16384],
    // "2 GB" and three "4 GB".
    ['desktop-amd-gpu', fixtureSource('desktop-amd-gpu', 'dmidecode.txt'), 14336],
    // 16 x "8 GB", 8 x "No Module Installed".
    ['server-iommu-bmc', fixtureSource('server-iommu-bmc', 'dmidecode.txt'), 131072],
    // A Xen HVM guest: hvmloader's SMBIOS table gives the guest's memory as one device.
    ['xen-hvm-guest', fixtureSource('xen-hvm-guest', 'dmidecode.txt'), 15360],
    // Four "2048 MB" modules (8192 MB), of which the system array maps 3584 + 4544 MB (type 19); the 2 MB mapped
    // for the "Flash Memory" array (its SYSTEM ROM) is no RAM. The mapped size is what the live probe reads.
    ['HP Compaq dc5800', corpusFile('desktop-hp-compaq_dc5800-core2quad_q8400-2B81FDBD35', 'dmidecode.txt'), 8128],
    // bhyve's one Memory Device says "Size: 0 TB", but its type 19 maps 2 GB.
    ['bhyve', corpusFile('vm-virtwhat-bhyve', 'dmidecode.txt'), 2048],
  ])('%s (%#): the sum', (_name, text, mib) => {
    expect(installed(text)).toBe(`Installed (SMBIOS):    ${mib * 1024} kB\n`);
  });

  it('type 17 where there is no type 19: the Memory Devices of the system arrays', () => {
    const text = corpusFile('desktop-hp-compaq_dc5800-core2quad_q8400-2B81FDBD35', 'dmidecode.txt')
      .split(/\n(?=Handle )/)
      .filter((block) => !/DMI type 19,/.test(block))
      .join('\n');
    // Four "2048 MB" modules of the system array; the "4096 kB" SYSTEM ROM of the "Flash Memory" array is no RAM.
    expect(installed(text)).toBe(`Installed (SMBIOS):    ${8192 * 1024} kB\n`);
    expect(parseDmidecode(text, 'dmidecode.txt').notes).toContain(
      'dmidecode.txt: installed memory 8192 MiB in 4 memory devices (type 17), not MemTotal',
    );
  });

  it.each([
    // The PV domU's dmidecode could not read the table at all.
    ['xen-pv-guest (no table)', fixtureSource('xen-pv-guest', 'dmidecode.txt')],
  ])('%s: none', (_name, text) => {
    expect(installed(text)).toBeUndefined();
  });

  it('is what the probe reports when no log gives /proc/meminfo, never as MemTotal', async () => {
    const result = await importFiles({ 'dmidecode.txt': fixtureSource('thinkpad-t60', 'dmidecode.txt') });
    expect(result.manifest.sources[0]!.used).toEqual(['dmi', 'memory.installed']);
    expect(result.manifest.absent).toContain('memory');
    expect(result.manifest.notes).toContain(
      'dmidecode.txt: installed memory 3072 MiB in 1 memory array mapped ranges (type 19), not MemTotal',
    );
    const profile = await probeImport(result);
    expect(profile.memory).toEqual({ totalKiB: null, installedKiB: 3072 * 1024 });
    expect(profile.diagnostics).toEqual([]);
  });

  it('beside a /proc/meminfo log: both, MemTotal and the installed size, as a live probe reads them', async () => {
    // This machine's own meminfo beside a dmidecode of another: which file wins is the point, not the machine.
    const result = await importFiles({
      'dmidecode.txt': fixtureSource('thinkpad-t60', 'dmidecode.txt'),
      'meminfo.txt': dataFile('this-machine-firecracker-kvm', 'logs/meminfo.txt'),
    });
    expect(result.tree.files['proc/meminfo']).toMatch(/^MemTotal: +\d+ kB\nInstalled \(SMBIOS\): +3145728 kB\n$/);
    expect(result.manifest.sources.find((s) => s.file === 'dmidecode.txt')!.used).toEqual(['dmi', 'memory.installed']);
    expect(result.manifest.absent).not.toContain('memory');
    expect((await probeImport(result)).memory).toEqual({ totalKiB: 24683656, installedKiB: 3072 * 1024 });
  });
});

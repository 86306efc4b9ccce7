import { describe, expect, it } from 'vitest';
import { parseDmidecode } from '../../src/import/dmidecode.ts';
import { dataFile } from './_support.ts';

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
    ]);
  });

  it('gives nothing for a run that could not read the table (virt-what PV domU)', () => {
    const { files, parsed } = dmi('vm-virtwhat-rhel5-xen-domU-pv');
    expect(files).toEqual({});
    expect(parsed.format).toBe('dmidecode');
    expect(parsed.notes).toEqual(['dmidecode.txt: dmidecode printed no DMI structures']);
  });
});

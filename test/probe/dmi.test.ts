import { describe, expect, it } from 'vitest';
import { probeDmi } from '../../src/probe/dmi.ts';
import type { Dmi } from '../../src/types.ts';
import { failingOpen, machineTree, merge, readerFor } from './_corpus.ts';

const NONE: Dmi = {
  sysVendor: null,
  productName: null,
  productVersion: null,
  productFamily: null,
  boardVendor: null,
  boardName: null,
  boardVersion: null,
  biosVendor: null,
  biosVersion: null,
  biosDate: null,
  chassisVendor: null,
  chassisType: null,
};

describe('probeDmi on real SMBIOS strings', () => {
  it.each<[string, Dmi]>([
    [
      'vm-virtwhat-baremetal',
      {
        sysVendor: 'LENOVO',
        productName: '4384BR2',
        productVersion: 'ThinkPad T510',
        productFamily: 'ThinkPad T510',
        boardVendor: 'LENOVO',
        boardName: '4384BR2',
        boardVersion: 'Not Available',
        biosVendor: 'LENOVO',
        // Inner spaces are the firmware's and stay; only the ends are trimmed.
        biosVersion: '6MET61WW (1.24 )',
        biosDate: '06/07/2010',
        chassisVendor: 'LENOVO',
        chassisType: '10',
      },
    ],
    [
      'notebook-adata-xenia14-namecontainsXEN-AA93FD80B499',
      {
        sysVendor: 'ADATA',
        productName: 'XENIA 14',
        productVersion: 'Standard',
        productFamily: 'XENIA',
        boardVendor: 'Standard',
        boardName: 'Standard',
        boardVersion: 'Standard',
        biosVendor: 'American Megatrends International, LLC.',
        biosVersion: 'N.1.08ADA03',
        biosDate: '04/21/2021',
        chassisVendor: 'ADATA',
        chassisType: '10',
      },
    ],
    [
      // Apple pads the BIOS version with leading spaces.
      'vm-virtwhat-rhel5-xen-dom0',
      {
        sysVendor: 'Apple Computer, Inc.',
        productName: 'MacBookPro2,1',
        productVersion: '1.0',
        productFamily: 'MacBook Pro',
        boardVendor: 'Apple Computer, Inc.',
        boardName: 'Mac-F42189C8',
        boardVersion: 'PVT',
        biosVendor: 'Apple Inc.',
        biosVersion: 'MBP21.88Z.00A5.B08.0802291403',
        biosDate: '02/29/08',
        chassisVendor: 'Apple Inc.',
        chassisType: '8',
      },
    ],
    [
      // bhyve stores a single space as manufacturer and family: no value. No baseboard structure at all.
      'vm-virtwhat-bhyve',
      {
        ...NONE,
        productName: 'BHYVE',
        productVersion: '1.0',
        biosVendor: 'BHYVE',
        biosVersion: '1.00',
        biosDate: '03/14/2014',
        chassisType: '2',
      },
    ],
    [
      // Unset SMBIOS strings ("Not Specified" in dmidecode) are empty attributes.
      'vm-virtwhat-aws-kvm-x86',
      {
        ...NONE,
        sysVendor: 'Amazon EC2',
        productName: 'c5.large',
        boardVendor: 'Amazon EC2',
        biosVendor: 'Amazon EC2',
        biosVersion: '1.0',
        biosDate: '10/16/2017',
        chassisVendor: 'Amazon EC2',
        chassisType: '1',
      },
    ],
    // A Xen PV guest has no SMBIOS: "/dev/mem: mmap: Bad address".
    ['vm-virtwhat-rhel5-xen-domU-pv', NONE],
  ])('%s', async (machine, expected) => {
    const reader = readerFor(machineTree(machine));
    expect(await probeDmi(reader)).toEqual(expected);
    expect(reader.diagnostics).toEqual([]);
  });

  it('never reads the serials and the UUID, even when they are there', async () => {
    const secret = 'must not be read\n';
    const serials = { files: { 'sys/class/dmi/id/product_serial': secret, 'sys/class/dmi/id/product_uuid': secret } };
    const reader = readerFor(merge(machineTree('vm-virtwhat-baremetal'), serials));
    await probeDmi(reader);
    const read = [...reader.touched];
    expect(read).toContain('/sys/class/dmi/id/sys_vendor');
    expect(read.filter((p) => /serial|uuid/.test(p))).toEqual([]);
  });

  it('reports an unreadable attribute and still reads the others', async () => {
    const reader = readerFor(machineTree('vm-virtwhat-baremetal'), {
      wrap: failingOpen('/sys/class/dmi/id/bios_version', 'EACCES'),
    });
    const dmi = await probeDmi(reader);
    expect(dmi).toMatchObject({ biosVersion: null, biosVendor: 'LENOVO', productName: '4384BR2' });
    expect(reader.diagnostics).toEqual([
      { code: 'unreadable', path: '/sys/class/dmi/id/bios_version', message: '/sys/class/dmi/id/bios_version: EACCES' },
    ]);
  });
});

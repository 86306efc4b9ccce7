import { describe, expect, it } from 'vitest';
import { parseHwinfo } from '../../src/import/hwinfo.ts';
import { dataFile, importMachine, pciDevice, usbEntry } from './_support.ts';

const HP = 'notebook-hp-pavilion_15-ec0012nl-gh-maxximo88';

describe('hwinfo --all (HP Pavilion 15-ec0012nl)', () => {
  it('writes each PCI function from its Module Alias, Revision and Driver lines', async () => {
    const result = await importMachine(HP);
    // GeForce GTX 1650: "Revision: 0xa1", no "Driver:" line (only the "Driver Info" hints): nothing bound.
    expect(pciDevice(result, '0000:01:00.0')).toEqual({
      vendor: '0x10de',
      device: '0x1f91',
      subsystem_vendor: '0x103c',
      subsystem_device: '0x86d5',
      class: '0x030000',
      revision: '0xa1',
      modalias: 'pci:v000010DEd00001F91sv0000103Csd000086D5bc03sc00i00',
    });
    // No "Revision:" line: hwinfo prints it only when non-zero.
    expect(pciDevice(result, '0000:05:00.4')).toMatchObject({
      class: '0x0c0330',
      revision: '0x00',
      driver: 'xhci_hcd',
    });
    // A subsystem of 0000:0000, which lspci would hide, is in the modalias.
    expect(pciDevice(result, '0000:00:18.6')).toMatchObject({ subsystem_vendor: '0x0000', subsystem_device: '0x0000' });
  });

  it('names USB devices by their SysFS BusID and takes the interface modalias as printed', async () => {
    const result = await importMachine(HP);
    expect(usbEntry(result, '3-1')).toEqual({
      idVendor: '13d3',
      idProduct: '56c9',
      bcdDevice: '1803',
      bDeviceClass: 'ef',
      bDeviceSubClass: '02',
      bDeviceProtocol: '01',
      busnum: '3',
      devnum: '2', // from the plain lsusb: Bus 003 Device 002 is the only 13d3:56c9 on bus 3
      speed: '480',
      bConfigurationValue: '1',
    });
    expect(usbEntry(result, '3-1/3-1:1.0')).toEqual({
      bInterfaceNumber: '00',
      bInterfaceClass: '0e',
      bInterfaceSubClass: '01',
      bInterfaceProtocol: '00',
      modalias: 'usb:v13D3p56C9d1803dcEFdsc02dp01ic0Eisc01ip00in00',
      driver: 'uvcvideo',
    });
    // hwinfo folds a device's interfaces into one entry: the list may be incomplete, and the manifest says so.
    expect(result.manifest.absent).toContain('usb.interfaces');
  });

  it('copies /proc/cmdline and /proc/cpuinfo from its debug part, and its cpuinfo beats lscpu', async () => {
    const result = await importMachine(HP);
    expect(result.tree.files['proc/cmdline']).toBe(
      'BOOT_IMAGE=/boot/vmlinuz-4.15.0-30deepin-generic root=UUID=584ed46f-4e77-42a6-89d7-7db14a24fd13 ' +
        'ro splash quiet DEEPIN_GFXMODE=\n',
    );
    expect(result.tree.files['proc/cpuinfo']).toMatch(
      /^processor\t: 0\nvendor_id\t: AuthenticAMD\ncpu family\t: 23\nmodel\t\t: 24\n/,
    );
    expect(result.manifest.notes).toContain('/proc/cpuinfo: taken from hwinfo.txt; lscpu.txt differs and was not used');
    expect(result.manifest.sources.find((s) => s.file === 'lscpu.txt')?.used).toEqual(['cpu.arch']);
  });

  it('skips disks that hwinfo files under the PCI bus without an issue', () => {
    const parsed = parseHwinfo(dataFile(HP, 'hwinfo.txt'), 'hwinfo.txt');
    expect(parsed.issues).toEqual([]);
    expect(parsed.pci).toHaveLength(30);
  });
});

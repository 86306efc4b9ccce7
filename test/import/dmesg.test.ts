import { describe, expect, it } from 'vitest';
import { parseDmesg } from '../../src/import/dmesg.ts';
import { dataFile, importFiles, importMachine, pciDevice, usbEntry, usbNames } from './_support.ts';

const LEGION = 'notebook-lenovo-legion_y520-15ikbn-gh-sergeyklay';
const Z510 = 'notebook-lenovo-ideapad_z510-gh-xakrume';
const legion = () => parseDmesg(dataFile(LEGION, 'dmesg'), 'dmesg');
const tables = (files: Record<string, string>) =>
  Object.keys(files)
    .filter((p) => p.startsWith('sys/firmware/acpi/tables/'))
    .map((p) => p.slice('sys/firmware/acpi/tables/'.length));

describe('dmesg: kernel, firmware', () => {
  it('gives the release, the command line and the EFI boot of the Legion Y520 (kernel 6.19)', () => {
    const parsed = legion();
    expect(parsed.files['proc/sys/kernel/osrelease']).toBe('6.19.4-gentoo\n');
    expect(parsed.files['proc/cmdline']).toBe(
      'BOOT_IMAGE=/boot/kernel-6.19.4-gentoo root=UUID=2ae9dfd2-1cc4-4a3e-bcc1-7a0e9425aeb2 ro ' +
        'init=/usr/lib/systemd/systemd resume=UUID=e1a4240c-fa4d-4033-814a-4e02f88b85ae\n',
    );
    expect(parsed.dirs).toContain('sys/firmware/efi');
  });

  it('lists the boot-time ACPI tables as sysfs names them, repeated signatures numbered', () => {
    expect(tables(legion().files)).toEqual([
      ...['FACP', 'DSDT', 'FACS', 'UEFI1', 'UEFI2', 'POAT', 'SSDT1', 'SSDT2', 'TPM2', 'SSDT3', 'ASF!', 'ASPT', 'BOOT'],
      ...['DBGP1', 'HPET', 'APIC', 'MCFG', 'LPIT', 'WSMT', 'SSDT4', 'SSDT5', 'SSDT6', 'SSDT7', 'DBGP2', 'DBG2'],
      ...['SSDT8', 'SSDT9', 'SSDT10', 'DMAR', 'FPDT', 'BGRT'],
    ]);
  });

  it('leaves out SSDTs a 3.13 kernel loads later; a full log without EFI line is a BIOS boot (IdeaPad Z510)', () => {
    const parsed = parseDmesg(dataFile(Z510, 'dmesg.txt'), 'dmesg.txt');
    expect(tables(parsed.files)).toEqual([
      ...['FACP', 'DSDT', 'FACS', 'SLIC', 'UEFI', 'FPDT', 'MSDM', 'ASF!', 'HPET', 'APIC', 'MCFG', 'SSDT1', 'BOOT'],
      ...['LPIT', 'ASPT', 'DBGP', 'SSDT2', 'SSDT3', 'SSDT4'],
    ]);
    expect(parsed.dirs).not.toContain('sys/firmware/efi');
    expect(parsed.known).toEqual(['firmware.efi']);
    expect(parsed.files['proc/sys/kernel/osrelease']).toBe('3.13.0-32-generic\n');
  });
});

describe('dmesg: PCI', () => {
  it('gives ids and the full class, and boot_vga to VGA-class devices only', async () => {
    const result = await importFiles({ dmesg: dataFile(LEGION, 'dmesg') });
    expect(pciDevice(result, '0000:00:02.0')).toEqual({
      vendor: '0x8086',
      device: '0x591b',
      class: '0x030000',
      boot_vga: '1',
    });
    // The GeForce is a 3D controller (0302): no boot_vga attribute at all.
    expect(pciDevice(result, '0000:01:00.0')).toEqual({ vendor: '0x10de', device: '0x1c8c', class: '0x030200' });
    expect(result.manifest.absent).toEqual(
      expect.arrayContaining(['pci.subsystem', 'pci.revision', 'pci.modalias', 'pci.driver']),
    );
  });

  it('joins the revision and driver of an lspci without -nn by slot', async () => {
    const result = await importFiles({ dmesg: dataFile(LEGION, 'dmesg'), lspci: dataFile(LEGION, 'lspci') });
    expect(pciDevice(result, '0000:00:02.0')).toEqual({
      vendor: '0x8086',
      device: '0x591b',
      class: '0x030000',
      revision: '0x04',
      boot_vga: '1',
      driver: 'i915',
    });
    // lspci -v also gives the IOMMU groups, and the resources of the devices it shows without any region.
    expect(result.manifest.sources.find((s) => s.file === 'lspci')?.used).toEqual([
      'pci.revision',
      'pci.iommu_group',
      'pci.resources',
      'pci.driver',
    ]);
  });
});

describe('dmesg: USB', () => {
  it('names devices by port path with their number, speed, ids and strings (Legion Y520)', async () => {
    const result = await importFiles({ dmesg: dataFile(LEGION, 'dmesg') });
    expect(usbNames(result)).toEqual(['1-6', '1-11', 'usb1', 'usb2']);
    expect(usbEntry(result, '1-6')).toEqual({
      idVendor: '04f2',
      idProduct: 'b57e',
      bcdDevice: '8740',
      busnum: '1',
      devnum: '2',
      speed: '480',
      manufacturer: 'Chicony Electronics Co.,Ltd.',
      product: 'EasyCamera',
    });
    expect(usbEntry(result, '1-11')).toEqual({
      idVendor: '8087',
      idProduct: '0a2b',
      bcdDevice: '0010',
      busnum: '1',
      devnum: '3',
      speed: '12',
    });
  });

  it('reads the 3.13 lines that have no bcdDevice (IdeaPad Z510)', async () => {
    const result = await importMachine(Z510);
    expect(usbNames(result)).toEqual(['1-1', '2-1', '3-1', '3-2', '3-3', '3-7', 'usb1', 'usb2', 'usb3', 'usb4']);
    expect(usbEntry(result, '3-2')).toEqual({
      idVendor: '046d',
      idProduct: 'c52b',
      busnum: '3',
      devnum: '3',
      speed: '12',
      manufacturer: 'Logitech',
      product: 'USB Receiver',
    });
  });
});

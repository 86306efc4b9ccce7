import { describe, expect, it } from 'vitest';
import { parseLsusb } from '../../src/import/lsusb.ts';
import {
  corpusFile,
  dataFile,
  fixtureSource,
  importFiles,
  importMachine,
  probeImport,
  usbEntry,
  usbNames,
} from './_support.ts';

const LEGION = 'notebook-lenovo-legion_y520-15ikbn-gh-sergeyklay';

describe('lsusb -v joined with the kernel log (Legion Y520)', () => {
  it('names devices by the port paths dmesg gives for their bus and device numbers', async () => {
    const result = await importMachine(LEGION);
    expect(usbNames(result)).toEqual([
      '1-0:1.0',
      '1-6',
      '1-6:1.0',
      '1-6:1.1',
      '1-11',
      '1-11:1.0',
      '1-11:1.1',
      '2-0:1.0',
      'usb1',
      'usb2',
    ]);
    expect(result.tree.links['sys/bus/usb/devices/1-6:1.1']).toBe('../../../devices/usb/1-6/1-6:1.1');
  });

  it('writes the camera as sysfs shows it, interfaces from altsetting 0', async () => {
    const result = await importMachine(LEGION);
    expect(usbEntry(result, '1-6')).toEqual({
      idVendor: '04f2',
      idProduct: 'b57e',
      bcdDevice: '8740',
      bDeviceClass: 'ef',
      bDeviceSubClass: '02',
      bDeviceProtocol: '01',
      busnum: '1',
      devnum: '2',
      speed: '480',
      manufacturer: 'Chicony Electronics Co.,Ltd.',
      product: 'EasyCamera',
      bConfigurationValue: '1',
    });
    expect(usbEntry(result, '1-6/1-6:1.1')).toEqual({
      bInterfaceNumber: '01',
      bAlternateSetting: ' 0',
      bInterfaceClass: '0e',
      bInterfaceSubClass: '02',
      bInterfaceProtocol: '00',
      modalias: 'usb:v04F2pB57Ed8740dcEFdsc02dp01ic0Eisc02ip00in01',
    });
    expect(usbEntry(result, 'usb2')).toMatchObject({ idVendor: '1d6b', idProduct: '0003', speed: '5000', devnum: '1' });
  });

  it('without the kernel log, writes only the root hubs and notes the rest', async () => {
    const result = await importFiles({ lsusb: dataFile(LEGION, 'lsusb') });
    expect(usbNames(result)).toEqual(['1-0:1.0', '2-0:1.0', 'usb1', 'usb2']);
    expect(result.manifest.notes).toEqual(
      expect.arrayContaining([
        'usb bus 1 device 2 (04f2:b57e): no log gives its port path (its sysfs name); not written',
        'usb bus 1 device 3 (8087:0a2b): no log gives its port path (its sysfs name); not written',
      ]),
    );
    expect(result.manifest.absent).toContain('usb.port_path');
  });
});

describe('plain lsusb', () => {
  it('gives root hubs (always device 1) their usbB names and ids (N100 mini PC)', async () => {
    const result = await importMachine('minipc-intel-n100-adl-n-gh-ctcl-bregis');
    expect(usbNames(result)).toEqual(['usb1', 'usb2', 'usb3', 'usb4']);
    expect(usbEntry(result, 'usb3')).toEqual({ idVendor: '1d6b', idProduct: '0002', busnum: '3', devnum: '1' });
    expect(result.manifest.notes.filter((n) => n.includes('no log gives its port path'))).toHaveLength(5);
  });
});

describe('lsusb -v with a shell prompt pasted above it (Yoga Slim 7)', () => {
  it('reports the prompt line and reads the rest', () => {
    const parsed = parseLsusb(dataFile('notebook-lenovo-yoga_slim_7-14are05-gh-toszlanyi', 'lsusb.txt'), 'lsusb.txt');
    expect(parsed.format).toBe('lsusb -v');
    expect(parsed.issues).toEqual([{ file: 'lsusb.txt', line: 1, message: 'not lsusb -v output; skipped' }]);
    expect(parsed.usb.find((d) => d.bus === 4 && d.devnum === 1)).toMatchObject({
      name: 'usb4',
      vendor: '1d6b',
      product: '0003',
      class: '09',
      protocol: '03',
      config: 1,
      interfaces: [{ number: 0, alt: 0, class: '09', subclass: '00', protocol: '00' }],
    });
  });
});

describe('lsusb -t gives the port paths (shared corpus, read in place)', () => {
  it.each([
    [
      'minipc-qotom-q1900g4-m-gh-manouchehri',
      { name: '1-3', bus: 1, devnum: 2, speed: '480', interfaces: [{ number: 0, driver: 'rt2800usb' }] },
    ],
    [
      'stickpc-wintel-cx-w8-gh-manouchehri',
      {
        name: '1-4',
        bus: 1,
        devnum: 4,
        speed: '1.5',
        interfaces: [
          { number: 0, driver: 'usbhid' },
          { number: 1, driver: 'usbhid' },
        ],
      },
    ],
  ])('%s', (machine, expected) => {
    const parsed = parseLsusb(corpusFile(machine, 'lsusb.t.txt'), 'lsusb.t.txt');
    expect(parsed.issues).toEqual([]);
    expect(parsed.usb.find((d) => d.name === expected.name)).toMatchObject(expected);
    // The root hub line's "Driver=xhci_hcd/6p" belongs to the host controller, not to the hub.
    expect(parsed.usb.find((d) => d.name === 'usb1')?.interfaces).toEqual([]);
  });

  it('joins -t and -v by bus and device number into named devices with drivers', async () => {
    const machine = 'minipc-qotom-q1900g4-m-gh-manouchehri';
    const result = await importFiles({
      't.txt': corpusFile(machine, 'lsusb.t.txt'),
      'v.txt': corpusFile(machine, 'lsusb.v.txt'),
    });
    expect(usbNames(result)).toEqual(['1-0:1.0', '1-3', '1-3:1.0', '1-4', '1-4:1.0', '2-0:1.0', 'usb1', 'usb2']);
    expect(usbEntry(result, '1-3/1-3:1.0')).toMatchObject({
      bInterfaceClass: 'ff',
      modalias: 'usb:v13D3p3273d0101dc00dsc00dp00icFFiscFFipFFin00',
      driver: 'rt2800usb',
    });
    expect(usbEntry(result, '1-4/1-4:1.0').driver).toBe('hub');
    expect(result.tree.dirs).toEqual(
      expect.arrayContaining(['sys/bus/usb/drivers/hub', 'sys/bus/usb/drivers/rt2800usb']),
    );
  });
});

describe('lsusb -v: the kernel release in the root hubs\' manufacturer string (hcd.c rh_string())', () => {
  it.each([
    // log, what its root hubs' iManufacturer says ("Linux <release> <hcd>")
    ['thinkpad-t60', fixtureSource('thinkpad-t60', 'lsusb-v.txt'), '4.9.124-nrj-desktop-1rosa-i586'],
    ['amd-apu-laptop', fixtureSource('amd-apu-laptop', 'lsusb-v.txt'), '5.8.0-56-generic'],
    ['server-iommu-bmc', fixtureSource('server-iommu-bmc', 'lsusb-v.txt'), '4.18.0-193.19.1.el8_2.x86_64'],
    ['Yoga Slim 7', dataFile('notebook-lenovo-yoga_slim_7-14are05-gh-toszlanyi', 'lsusb.txt'), '5.8.0-44-lowlatency'],
    ['Legion Y520', dataFile(LEGION, 'lsusb'), '6.19.4-gentoo'],
  ])('%s: written as /proc/sys/kernel/osrelease, reported as kernel.release', async (_, lsusb, release) => {
    const result = await importFiles({ 'lsusb.txt': lsusb });
    expect(result.tree.files['proc/sys/kernel/osrelease']).toBe(`${release}\n`);
    expect(result.manifest.sources[0]!.used).toContain('kernel.osrelease');
    expect(result.manifest.absent).not.toContain('kernel.osrelease');
    expect((await probeImport(result)).kernel.release).toBe(release);
  });

  it('yields to the kernel log and to uname, which state the release directly', async () => {
    const lsusb = dataFile(LEGION, 'lsusb').replaceAll('Linux 6.19.4-gentoo ', 'Linux 6.18.1-gentoo ');
    const withDmesg = await importFiles({ dmesg: dataFile(LEGION, 'dmesg'), lsusb });
    expect(withDmesg.tree.files['proc/sys/kernel/osrelease']).toBe('6.19.4-gentoo\n');
    expect(withDmesg.manifest.notes).toContain(
      '/proc/sys/kernel/osrelease: taken from dmesg; lsusb differs and was not used',
    );
    expect(withDmesg.manifest.sources.find((s) => s.file === 'lsusb')!.used).not.toContain('kernel.osrelease');
    const uname = dataFile('minipc-intel-n100-adl-n-gh-ctcl-bregis', 'uname.txt');
    const withUname = await importFiles({ 'uname.txt': uname, lsusb });
    expect(withUname.tree.files['proc/sys/kernel/osrelease']).toBe('5.15.0-91-generic\n');
    // The same release from both: taken, nothing to note.
    const agreeing = await importFiles({ dmesg: dataFile(LEGION, 'dmesg'), lsusb: dataFile(LEGION, 'lsusb') });
    expect(agreeing.tree.files['proc/sys/kernel/osrelease']).toBe('6.19.4-gentoo\n');
    expect(agreeing.manifest.notes.filter((n) => n.includes('osrelease'))).toEqual([]);
  });

  it('takes none when the root hubs disagree', async () => {
    const t60 = fixtureSource('thinkpad-t60', 'lsusb-v.txt');
    // The first root hub (bus 1, line 14) made to name another kernel.
    const lsusb = t60.replace('Linux 4.9.124-nrj-desktop-1rosa-i586 ehci_hcd', 'Linux 4.9.125 ehci_hcd');
    const result = await importFiles({ 'lsusb.txt': lsusb });
    expect(result.tree.files['proc/sys/kernel/osrelease']).toBeUndefined();
    expect(result.manifest.notes).toContain(
      'lsusb.txt: the root hubs name different kernel releases: 4.9.125 (line 2), ' +
        '4.9.124-nrj-desktop-1rosa-i586 (line 72, 136, 200, 333); none taken',
    );
    expect(result.manifest.absent).toContain('kernel.osrelease');
    expect((await probeImport(result)).kernel.release).toBeNull();
  });

  it('reads only root hubs: a Linux gadget names its own kernel in the same string', async () => {
    const t60 = fixtureSource('thinkpad-t60', 'lsusb-v.txt');
    const lsusb = t60
      .replaceAll(/iManufacturer +3 Linux .*$/gm, 'iManufacturer           3 Linux Foundation')
      .replace(/(Bus 002 Device 003: ID 110a:1110[^]*?iManufacturer +)\d+ .*$/m, '$11 Linux 4.14.0 with dwc3-gadget');
    expect(lsusb).toContain('Linux 4.14.0 with dwc3-gadget');
    const result = await importFiles({ 'lsusb.txt': lsusb });
    expect(result.tree.files['proc/sys/kernel/osrelease']).toBeUndefined();
  });
});

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { posix } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { FsLike } from '../../src/fs.ts';
import { nodeFsPromises } from '../../src/fs.ts';
import { compareNames, Reader } from '../../src/probe/_reader.ts';
import { probeUsb } from '../../src/probe/usb.ts';
import type { DiagnosticCode, UsbDevice, UsbInterface } from '../../src/types.ts';
import { volume } from '../_support/memfs.ts';

const base = '/snap';

// One /sys/bus/usb/devices entry: where it lives below /sys/devices, its attribute files (values without the
// newline sysfs adds) and the driver bound to it.
interface SysUsb {
  at: string;
  attrs: Record<string, string>;
  driver?: string;
}

function usbTree(entries: SysUsb[]) {
  const files: Record<string, string | Uint8Array | null> = {};
  const links: Record<string, string> = {};
  for (const e of entries) {
    const dir = `sys/devices/${e.at}`;
    links[`sys/bus/usb/devices/${posix.basename(e.at)}`] = `../../../devices/${e.at}`;
    for (const [name, value] of Object.entries(e.attrs)) files[`${dir}/${name}`] = `${value}\n`;
    if (e.driver !== undefined) {
      files[`sys/bus/usb/drivers/${e.driver}/bind`] = '';
      links[`${dir}/driver`] = `${'../'.repeat(e.at.split('/').length + 1)}bus/usb/drivers/${e.driver}`;
    }
  }
  // Paths to chmod 0 once the volume is built (memfs enforces modes, even for root).
  return { files, links, chmod0: [] as string[] };
}

type Tree = ReturnType<typeof usbTree>;

function volumeOf(tree: Partial<Tree>) {
  const v = volume(tree, base);
  for (const path of tree.chmod0 ?? []) v.sync.chmodSync(posix.join(base, path), 0);
  return v;
}

/** Expected device; `ids` as "idVendor:idProduct bcdDevice", `cls` as "class subclass protocol". */
function usbDev(path: string, ids: string, cls: string | null, more: Partial<UsbDevice>): UsbDevice {
  const [vendor, product, bcdDevice] = ids.split(/[: ]/) as [string, string, string];
  const [klass, subclass, protocol] = cls === null ? [null, null, null] : cls.split(' ');
  const unknown = { busnum: null, devnum: null, speed: null, manufacturer: null, productName: null, interfaces: [] };
  const classes = { class: klass!, subclass: subclass!, protocol: protocol! };
  return { path, vendor, product, bcdDevice, ...classes, ...unknown, ...more };
}

/** Expected interface; `ids` as "bInterfaceNumber class subclass protocol" (null where the tree has no file). */
function usbIf(path: string, ids: string, modalias: string | null, driver: string | null): UsbInterface {
  const [number, klass, subclass, protocol] = ids.split(' ').map((v) => (v === '-' ? null : v)) as (string | null)[];
  return { path, number: number!, class: klass!, subclass: subclass!, protocol: protocol!, modalias, driver };
}

// HP Pavilion 15-ec0012nl (corpus notebook-hp-pavilion_15-ec0012nl-gh-maxximo88, kernel 4.15): everything from
// its hwinfo dump of sysfs and udev (paths, attributes, MODALIAS, DRIVER). The Realtek strings end in a space
// (udev's ID_VENDOR_ENC "Realtek\x20", ID_MODEL_ENC "Bluetooth\x20Radio\x20").
const hc3 = 'pci0000:00/0000:00:08.1/0000:05:00.3';
const hc4 = 'pci0000:00/0000:00:08.1/0000:05:00.4';
const rootHub = (at: string, product: string, protocol: string, busnum: string, speed: string, serial: string) => ({
  at,
  attrs: {
    idVendor: '1d6b',
    idProduct: product,
    bcdDevice: '0415',
    bDeviceClass: '09',
    bDeviceSubClass: '00',
    bDeviceProtocol: protocol,
    busnum,
    devnum: '1',
    speed,
    manufacturer: 'Linux 4.15.0-30deepin-generic xhci-hcd',
    product: 'xHCI Host Controller',
    serial,
  },
  driver: 'usb',
});
const ifAttrs = (number: string, cls: string, subclass: string, protocol: string, modalias: string) => ({
  bInterfaceNumber: number,
  bInterfaceClass: cls,
  bInterfaceSubClass: subclass,
  bInterfaceProtocol: protocol,
  modalias,
});
const hubIf = (at: string, modalias: string): SysUsb => ({
  at,
  attrs: ifAttrs('00', '09', '00', '00', modalias),
  driver: 'hub',
});
const hpSys: SysUsb[] = [
  rootHub(`${hc3}/usb1`, '0002', '01', '1', '480', '0000:05:00.3'),
  hubIf(`${hc3}/usb1/1-0:1.0`, 'usb:v1D6Bp0002d0415dc09dsc00dp01ic09isc00ip00in00'),
  {
    at: `${hc3}/usb1/1-4`,
    attrs: {
      idVendor: '0bda',
      idProduct: 'b00c',
      bcdDevice: '0000',
      bDeviceClass: 'e0',
      bDeviceSubClass: '01',
      bDeviceProtocol: '01',
      busnum: '1',
      devnum: '2',
      speed: '12',
      manufacturer: 'Realtek ',
      product: 'Bluetooth Radio ',
      serial: '00e04c000001',
    },
    driver: 'usb',
  },
  {
    at: `${hc3}/usb1/1-4/1-4:1.0`,
    attrs: ifAttrs('00', 'e0', '01', '01', 'usb:v0BDApB00Cd0000dcE0dsc01dp01icE0isc01ip01in00'),
    driver: 'btusb',
  },
  {
    at: `${hc3}/usb1/1-4/1-4:1.1`,
    attrs: ifAttrs('01', 'e0', '01', '01', 'usb:v0BDApB00Cd0000dcE0dsc01dp01icE0isc01ip01in01'),
    driver: 'btusb',
  },
  rootHub(`${hc3}/usb2`, '0003', '03', '2', '10000', '0000:05:00.3'),
  hubIf(`${hc3}/usb2/2-0:1.0`, 'usb:v1D6Bp0003d0415dc09dsc00dp03ic09isc00ip00in00'),
  rootHub(`${hc4}/usb3`, '0002', '01', '3', '480', '0000:05:00.4'),
  hubIf(`${hc4}/usb3/3-0:1.0`, 'usb:v1D6Bp0002d0415dc09dsc00dp01ic09isc00ip00in00'),
  {
    at: `${hc4}/usb3/3-1`,
    attrs: {
      idVendor: '13d3',
      idProduct: '56c9',
      bcdDevice: '1803',
      bDeviceClass: 'ef',
      bDeviceSubClass: '02',
      bDeviceProtocol: '01',
      busnum: '3',
      devnum: '2',
      speed: '480',
      manufacturer: 'Azurewave',
      product: 'HP TrueVision HD Camera',
      serial: '0001',
    },
    driver: 'usb',
  },
  {
    at: `${hc4}/usb3/3-1/3-1:1.0`,
    attrs: ifAttrs('00', '0e', '01', '00', 'usb:v13D3p56C9d1803dcEFdsc02dp01ic0Eisc01ip00in00'),
    driver: 'uvcvideo',
  },
  {
    at: `${hc4}/usb3/3-1/3-1:1.1`,
    attrs: ifAttrs('01', '0e', '02', '00', 'usb:v13D3p56C9d1803dcEFdsc02dp01ic0Eisc02ip00in01'),
    driver: 'uvcvideo',
  },
  rootHub(`${hc4}/usb4`, '0003', '03', '4', '10000', '0000:05:00.4'),
  hubIf(`${hc4}/usb4/4-0:1.0`, 'usb:v1D6Bp0003d0415dc09dsc00dp03ic09isc00ip00in00'),
];
const linux = { manufacturer: 'Linux 4.15.0-30deepin-generic xhci-hcd', productName: 'xHCI Host Controller' };
const hpExpected: UsbDevice[] = [
  usbDev('1-4', '0bda:b00c 0000', 'e0 01 01', {
    busnum: 1,
    devnum: 2,
    speed: '12',
    manufacturer: 'Realtek ',
    productName: 'Bluetooth Radio ',
    interfaces: [
      usbIf('1-4:1.0', '00 e0 01 01', 'usb:v0BDApB00Cd0000dcE0dsc01dp01icE0isc01ip01in00', 'btusb'),
      usbIf('1-4:1.1', '01 e0 01 01', 'usb:v0BDApB00Cd0000dcE0dsc01dp01icE0isc01ip01in01', 'btusb'),
    ],
  }),
  usbDev('3-1', '13d3:56c9 1803', 'ef 02 01', {
    busnum: 3,
    devnum: 2,
    speed: '480',
    manufacturer: 'Azurewave',
    productName: 'HP TrueVision HD Camera',
    interfaces: [
      usbIf('3-1:1.0', '00 0e 01 00', 'usb:v13D3p56C9d1803dcEFdsc02dp01ic0Eisc01ip00in00', 'uvcvideo'),
      usbIf('3-1:1.1', '01 0e 02 00', 'usb:v13D3p56C9d1803dcEFdsc02dp01ic0Eisc02ip00in01', 'uvcvideo'),
    ],
  }),
  usbDev('usb1', '1d6b:0002 0415', '09 00 01', {
    ...linux,
    busnum: 1,
    devnum: 1,
    speed: '480',
    interfaces: [usbIf('1-0:1.0', '00 09 00 00', 'usb:v1D6Bp0002d0415dc09dsc00dp01ic09isc00ip00in00', 'hub')],
  }),
  usbDev('usb2', '1d6b:0003 0415', '09 00 03', {
    ...linux,
    busnum: 2,
    devnum: 1,
    speed: '10000',
    interfaces: [usbIf('2-0:1.0', '00 09 00 00', 'usb:v1D6Bp0003d0415dc09dsc00dp03ic09isc00ip00in00', 'hub')],
  }),
  usbDev('usb3', '1d6b:0002 0415', '09 00 01', {
    ...linux,
    busnum: 3,
    devnum: 1,
    speed: '480',
    interfaces: [usbIf('3-0:1.0', '00 09 00 00', 'usb:v1D6Bp0002d0415dc09dsc00dp01ic09isc00ip00in00', 'hub')],
  }),
  usbDev('usb4', '1d6b:0003 0415', '09 00 03', {
    ...linux,
    busnum: 4,
    devnum: 1,
    speed: '10000',
    interfaces: [usbIf('4-0:1.0', '00 09 00 00', 'usb:v1D6Bp0003d0415dc09dsc00dp03ic09isc00ip00in00', 'hub')],
  }),
];

// ASRock X670E Taichi (corpus desktop-asrock-x670e_taichi-gh-lattrommi, kernel 6.1): eleven buses, so usb10 and
// usb11 exist, and ports 7, 10 and 12 on bus 5. Only what its dmesg tells is in the tree: ids, bcdDevice, strings,
// device numbers, speeds ("low-speed" 1.5, "full-speed" 12), paths from the "input: ... as /devices/..." lines;
// interfaces are HID (bound to usbhid) or the root hubs' hub interfaces. 5-12's manufacturer string is one space
// ("Manufacturer:  " and the HID name "  RF USB Device"); 5-7 has no strings (Mfr=0, Product=0).
const hc56 = 'pci0000:00/0000:00:02.1/0000:45:00.0/0000:46:0c.0/0000:56:00.0';
const hc59 = 'pci0000:00/0000:00:08.1/0000:59:00.4';
const hc5a = 'pci0000:00/0000:00:08.3/0000:5a:00.0';
const manjaro = { manufacturer: 'Linux 6.1.41-1-MANJARO xhci-hcd', product: 'xHCI Host Controller' };
const x670Dev = (at: string, ids: string, busnum: string, devnum: string, more: Record<string, string>): SysUsb => {
  const [idVendor, idProduct, bcdDevice] = ids.split(/[: ]/) as [string, string, string];
  return { at, attrs: { idVendor, idProduct, bcdDevice, busnum, devnum, ...more }, driver: 'usb' };
};
const x670If = (at: string, cls: string, driver: string): SysUsb => ({
  at,
  attrs: { bInterfaceNumber: `0${at.slice(-1)}`, bInterfaceClass: cls },
  driver,
});
const strings = (manufacturer: string, product: string) => ({ manufacturer, product });
const x670Sys: SysUsb[] = [
  x670Dev(`${hc56}/usb5`, '1d6b:0002 0601', '5', '1', manjaro),
  x670If(`${hc56}/usb5/5-0:1.0`, '09', 'hub'),
  x670Dev(`${hc56}/usb5/5-7`, '8087:0032 0000', '5', '2', { speed: '12' }),
  x670Dev(`${hc56}/usb5/5-10`, '093a:2533 0100', '5', '4', { speed: '12', ...strings('PixArt', 'OpticalMouse') }),
  x670If(`${hc56}/usb5/5-10/5-10:1.0`, '03', 'usbhid'),
  x670If(`${hc56}/usb5/5-10/5-10:1.1`, '03', 'usbhid'),
  x670Dev(`${hc56}/usb5/5-12`, '05a4:9866 0120', '5', '5', { speed: '1.5', ...strings(' ', 'RF USB Device') }),
  x670If(`${hc56}/usb5/5-12/5-12:1.0`, '03', 'usbhid'),
  x670If(`${hc56}/usb5/5-12/5-12:1.1`, '03', 'usbhid'),
  x670Dev(`${hc59}/usb9`, '1d6b:0002 0601', '9', '1', manjaro),
  x670If(`${hc59}/usb9/9-0:1.0`, '09', 'hub'),
  x670Dev(`${hc59}/usb9/9-1`, '046d:c31d 6601', '9', '2', { speed: '1.5', ...strings('Logitech', 'USB Keyboard') }),
  x670If(`${hc59}/usb9/9-1/9-1:1.0`, '03', 'usbhid'),
  x670If(`${hc59}/usb9/9-1/9-1:1.1`, '03', 'usbhid'),
  x670Dev(`${hc59}/usb10`, '1d6b:0003 0601', '10', '1', manjaro),
  x670If(`${hc59}/usb10/10-0:1.0`, '09', 'hub'),
  x670Dev(`${hc5a}/usb11`, '1d6b:0002 0601', '11', '1', manjaro),
  x670If(`${hc5a}/usb11/11-0:1.0`, '09', 'hub'),
  x670Dev(`${hc5a}/usb11/11-1`, '26ce:01a2 0000', '11', '2', { speed: '12', ...strings('ASRock', 'LED Controller') }),
  x670If(`${hc5a}/usb11/11-1/11-1:1.0`, '03', 'usbhid'),
];
const hid = (path: string) => usbIf(path, `0${path.slice(-1)} 03 - -`, null, 'usbhid');
const hub = (path: string) => usbIf(path, '00 09 - -', null, 'hub');
const manjaroNames = { manufacturer: 'Linux 6.1.41-1-MANJARO xhci-hcd', productName: 'xHCI Host Controller' };
const x670Expected: UsbDevice[] = [
  usbDev('5-7', '8087:0032 0000', null, { busnum: 5, devnum: 2, speed: '12' }),
  usbDev('5-10', '093a:2533 0100', null, {
    busnum: 5,
    devnum: 4,
    speed: '12',
    manufacturer: 'PixArt',
    productName: 'OpticalMouse',
    interfaces: [hid('5-10:1.0'), hid('5-10:1.1')],
  }),
  usbDev('5-12', '05a4:9866 0120', null, {
    busnum: 5,
    devnum: 5,
    speed: '1.5',
    manufacturer: ' ',
    productName: 'RF USB Device',
    interfaces: [hid('5-12:1.0'), hid('5-12:1.1')],
  }),
  usbDev('9-1', '046d:c31d 6601', null, {
    busnum: 9,
    devnum: 2,
    speed: '1.5',
    manufacturer: 'Logitech',
    productName: 'USB Keyboard',
    interfaces: [hid('9-1:1.0'), hid('9-1:1.1')],
  }),
  usbDev('11-1', '26ce:01a2 0000', null, {
    busnum: 11,
    devnum: 2,
    speed: '12',
    manufacturer: 'ASRock',
    productName: 'LED Controller',
    interfaces: [hid('11-1:1.0')],
  }),
  usbDev('usb5', '1d6b:0002 0601', null, { ...manjaroNames, busnum: 5, devnum: 1, interfaces: [hub('5-0:1.0')] }),
  usbDev('usb9', '1d6b:0002 0601', null, { ...manjaroNames, busnum: 9, devnum: 1, interfaces: [hub('9-0:1.0')] }),
  usbDev('usb10', '1d6b:0003 0601', null, { ...manjaroNames, busnum: 10, devnum: 1, interfaces: [hub('10-0:1.0')] }),
  usbDev('usb11', '1d6b:0002 0601', null, { ...manjaroNames, busnum: 11, devnum: 1, interfaces: [hub('11-0:1.0')] }),
];

const diagnostics = (r: Reader) => r.diagnostics.map((d) => [d.code, d.path]);

describe('probeUsb', () => {
  it.each([
    ['HP Pavilion 15 (root hubs, Bluetooth, camera)', hpSys, hpExpected],
    ['ASRock X670E Taichi (eleven buses, partial attributes)', x670Sys, x670Expected],
  ])('reads %s', async (_name, sys, expected) => {
    const r = new Reader({ fs: volumeOf(usbTree(sys)).fs, root: base });
    expect(await probeUsb(r)).toEqual(expected);
    expect(r.diagnostics).toEqual([]);
  });

  it('orders devices and interfaces by number, not by string', async () => {
    // Plain string order would give 11-1, 5-10, 5-12, 5-7, 9-1 and usb10 before usb5.
    const { fs } = volumeOf(usbTree(x670Sys));
    const reversed = { ...fs, readdir: async (path: string) => (await fs.readdir(path)).reverse() };
    const usb = await probeUsb(new Reader({ fs: reversed, root: base }));
    expect(usb.map((d) => d.path)).toEqual(['5-7', '5-10', '5-12', '9-1', '11-1', 'usb5', 'usb9', 'usb10', 'usb11']);
    expect(usb.flatMap((d) => d.interfaces.map((i) => i.path))).toEqual(
      x670Expected.flatMap((d) => d.interfaces.map((i) => i.path)),
    );
  });

  it.each([
    ['no /sys/bus/usb (this VM)', { 'sys/bus/pci': null }],
    ['an empty /sys/bus/usb/devices', { 'sys/bus/usb/devices': null }],
  ])('gives [] without diagnostics for %s', async (_name, files) => {
    const r = new Reader({ fs: volumeOf({ files }).fs, root: base });
    expect(await probeUsb(r)).toEqual([]);
    expect(r.diagnostics).toEqual([]);
  });

  it('never opens serial or descriptors', async () => {
    const tree = usbTree(hpSys);
    // descriptors is binary in sysfs; its first bytes are a device descriptor's bLength 18 and bDescriptorType 1.
    tree.files[`sys/devices/${hc3}/usb1/1-4/descriptors`] = new Uint8Array([18, 1]);
    const { fs } = volumeOf(tree);
    const opened: string[] = [];
    const watched: FsLike = { ...fs, open: (path, flags) => (opened.push(path), fs.open(path, flags)) };
    expect(await probeUsb(new Reader({ fs: watched, root: base }))).toEqual(hpExpected);
    expect(opened.length).toBeGreaterThan(0);
    expect(opened.filter((p) => /\/(serial|descriptors)$/.test(p))).toEqual([]);
  });

  // Each case damages the HP's Realtek Bluetooth device (1-4) or its first interface (1-4:1.0).
  const Dv = `sys/devices/${hc3}/usb1/1-4`;
  const If = `${Dv}/1-4:1.0`;
  const M = '/sys/bus/usb/devices/1-4';
  const MI = '/sys/bus/usb/devices/1-4:1.0';
  type Diag = [DiagnosticCode, string];
  type Expect = (devices: UsbDevice[]) => void;
  const file = (path: string, content: string) => (t: Tree) => void (t.files[path] = content);
  const devFile = (name: string, content: string) => file(`${Dv}/${name}`, content);
  const ifFile = (name: string, content: string) => file(`${If}/${name}`, content);
  const remove = (path: string) => (t: Tree) => void delete t.files[path];
  const link = (path: string, to: string | null) => (t: Tree) =>
    void (to === null ? delete t.links[path] : (t.links[path] = to));
  const chmod0 = (path: string) => (t: Tree) => void t.chmod0.push(path);
  const bt = (devices: UsbDevice[]) => devices.find((d) => d.path === '1-4')!;
  const device = (changes: Partial<UsbDevice>): Expect => (devices) => void Object.assign(bt(devices), changes);
  const iface =
    (changes: Partial<UsbInterface>): Expect =>
    (devices) =>
      void Object.assign(bt(devices).interfaces[0]!, changes);
  const dropDevice: Expect = (devices) => void devices.splice(devices.indexOf(bt(devices)), 1);
  const dropIface: Expect = (devices) => void bt(devices).interfaces.shift();
  const same: Expect = () => {};
  const bad = (path: string): Diag[] => [['malformed', path]];
  const ifBad = (name: string) => bad(`${MI}/${name}`);
  const ifNumber = 'bInterfaceNumber';
  const huge = `${'Bluetooth Radio '.repeat(655360)}\n`; // 10 MB
  const utf8 = 'Bluetooth® Radio ✓';
  const twoLines = 'Bluetooth\nRadio';
  const tooLarge: Diag[] = [['too-large', `${M}/product`]];
  const loopDiag: Diag[] = [['symlink-loop', `${MI}/driver`]];
  const noIn = 'usb:v0BDApB00Cd0000dcE0dsc01dp01icE0isc01ip01';
  const pciAlias = 'pci:v00008086d00002A42sv00001028sd00000443bc03sc00i00\n';
  const up = (n: number) => '../'.repeat(n);
  const entry = (name: string) => `sys/bus/usb/devices/${name}`;

  // [case, mutation, change to the expected result, diagnostics]
  const cases: [string, (t: Tree) => void, Expect, Diag[]][] = [
    ['an empty idVendor', devFile('idVendor', '\n'), device({ vendor: null }), bad(`${M}/idVendor`)],
    ['an idVendor with 0x', devFile('idVendor', '0x0bda\n'), device({ vendor: null }), bad(`${M}/idVendor`)],
    ['a three-digit idProduct', devFile('idProduct', 'b00\n'), device({ product: null }), bad(`${M}/idProduct`)],
    ['a non-hex bcdDevice', devFile('bcdDevice', '00g0\n'), device({ bcdDevice: null }), bad(`${M}/bcdDevice`)],
    ['a one-digit bDeviceClass', devFile('bDeviceClass', 'e\n'), device({ class: null }), bad(`${M}/bDeviceClass`)],
    ['a hex busnum', devFile('busnum', '0x1\n'), device({ busnum: null }), bad(`${M}/busnum`)],
    ['an empty devnum', devFile('devnum', ''), device({ devnum: null }), bad(`${M}/devnum`)],
    ['a speed that is not a number', devFile('speed', 'full\n'), device({ speed: null }), bad(`${M}/speed`)],
    ['the speed "unknown"', devFile('speed', 'unknown\n'), device({ speed: null }), []],
    ['a missing idVendor', remove(`${Dv}/idVendor`), device({ vendor: null }), [['missing', `${M}/idVendor`]]],
    ['a missing idProduct', remove(`${Dv}/idProduct`), device({ product: null }), [['missing', `${M}/idProduct`]]],
    ['no manufacturer string', remove(`${Dv}/manufacturer`), device({ manufacturer: null }), []],
    ['a product string in UTF-8', devFile('product', `${utf8}\n`), device({ productName: utf8 }), []],
    ['a newline inside the product', devFile('product', `${twoLines}\n`), device({ productName: twoLines }), []],
    ['a 10 MB product string', devFile('product', huge), device({ productName: null }), tooLarge],
    [
      'an unreadable (EACCES) manufacturer',
      chmod0(`${Dv}/manufacturer`),
      device({ manufacturer: null }),
      [['unreadable', `${M}/manufacturer`]],
    ],
    ['a non-hex interface class', ifFile('bInterfaceClass', 'zz\n'), iface({ class: null }), ifBad('bInterfaceClass')],
    [
      'a missing bInterfaceClass',
      remove(`${If}/bInterfaceClass`),
      iface({ class: null }),
      [['missing', `${MI}/bInterfaceClass`]],
    ],
    ['a one-digit interface number', ifFile('bInterfaceNumber', '0\n'), iface({ number: null }), ifBad(ifNumber)],
    ['an empty modalias', ifFile('modalias', '\n'), iface({ modalias: null }), ifBad('modalias')],
    ['a PCI modalias', ifFile('modalias', pciAlias), iface({ modalias: null }), ifBad('modalias')],
    ['a modalias without "in" (older kernels)', ifFile('modalias', `${noIn}\n`), iface({ modalias: noIn }), []],
    ['no driver bound', link(`${If}/driver`, null), iface({ driver: null }), []],
    ['a driver link that loops', link(`${If}/driver`, 'driver'), iface({ driver: null }), loopDiag],
    [
      'a driver link that leaves the root',
      link(`${If}/driver`, `${up(12)}etc`),
      iface({ driver: null }),
      [['outside-root', `${MI}/driver`]],
    ],
    ['an interface link leaving the root', link(entry('1-4:1.0'), `${up(7)}etc`), dropIface, [['outside-root', MI]]],
    ['a device link that leaves the root', link(entry('1-4'), `${up(7)}etc`), dropDevice, [['outside-root', M]]],
    ['a device link that loops', link(entry('1-4'), '1-4'), dropDevice, [['symlink-loop', M]]],
    ['a device that is not listed', link(entry('1-4'), null), dropDevice, [['missing', M]]],
    [
      'an entry that is neither device nor interface',
      link(entry('1-4:1'), `../../../devices/${hc3}/usb1/1-4`),
      same,
      bad('/sys/bus/usb/devices/1-4:1'),
    ],
  ];

  it.each(cases)('survives %s', async (_name, mutate, change, expectedDiagnostics) => {
    const tree = usbTree(hpSys);
    mutate(tree);
    const r = new Reader({ fs: volumeOf(tree).fs, root: base });
    const expected = structuredClone(hpExpected);
    change(expected);
    expect(await probeUsb(r)).toEqual(expected);
    expect(diagnostics(r)).toEqual(expectedDiagnostics);
  });
});

describe('probeUsb on this machine', () => {
  const bus = '/sys/bus/usb/devices';
  it('agrees with /sys read directly (this VM has no USB bus: [])', async () => {
    const names = existsSync(bus) ? readdirSync(bus) : [];
    const devices = names.filter((n) => !n.includes(':')).sort(compareNames);
    const r = new Reader({ fs: nodeFsPromises, root: '/' });
    const usb = await probeUsb(r);
    expect(usb.map((d) => d.path)).toEqual(devices);
    const idVendor = (name: string) => readFileSync(`${bus}/${name}/idVendor`, 'utf8').trim();
    expect(usb.map((d) => d.vendor)).toEqual(devices.map(idVendor));
    const interfaces = usb.flatMap((d) => d.interfaces.map((i) => i.path));
    expect(interfaces.sort()).toEqual(names.filter((n) => n.includes(':')).sort());
    expect(r.diagnostics).toEqual([]);
  });
});

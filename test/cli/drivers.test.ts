import { describe, expect, it } from 'vitest';
import type { WritableFsLike } from '../../src/fs.ts';
import type { DriverMatch } from '../../src/modalias/index.ts';
import { PciNames } from '../../src/ids/pci-ids.ts';
import { UsbNames } from '../../src/ids/usb-ids.ts';
import type { HardwareProfile } from '../../src/types.ts';
import { fixtureNames, loadFixture, readExpected } from '../_support/memfs.ts';
import { runCli } from '../_support/cli.ts';
import { referenceKernel } from '../_support/shipped-kernels.ts';

const run = runCli;
const [pciNames, usbNames] = await Promise.all([PciNames.load(), UsbNames.load()]);

describe('autoconfig drivers', () => {
  // Real devices of real machines against the shipped reference module data, the newest (Debian 13's 6.12): `drivers`
  // plans for no Xen (the fixtures carry no /lib/modules).
  it.each([
    ['thinkpad-t60', '0000:00:02.0', 'i915', ['i915']],
    ['thinkpad-t60', '0000:00:1b.0', 'snd_hda_intel', ['snd_hda_intel']],
    // Radeon HD 4850 (RV770): radeon's own id and amdgpu's catch-all for AMD display-class devices both match;
    // kmod returns both in modules.order order (choosing between them is rule policy).
    ['desktop-amd-gpu', '0000:01:00.0', null, ['radeon', 'amdgpu']],
  ])('%s %s: bound %s, candidates %j', async (name, slot, bound, candidates) => {
    const { fs, root } = loadFixture(name);
    const r = await run(['drivers', '--root', root, '--json'], fs);
    expect(r.code).toBe(0);
    const devices = JSON.parse(r.stdout) as DriverMatch[];
    const device = devices.find((d) => d.id === slot);
    expect(device).toMatchObject({ bus: 'pci', bound, candidates, chosen: candidates[0] });
    expect(Object.keys(device!).sort()).toEqual(
      ['blacklisted', 'bound', 'builtin', 'bus', 'candidates', 'chosen', 'id', 'modalias', 'paths', 'reason'].sort(),
    );
    expect(r.stderr).toContain(`kernel ${referenceKernel.release} (reference`);
  });

  it('says which kernel it matched against, in the readable listing', async () => {
    const { fs, root } = loadFixture('thinkpad-t60');
    const r = await run(['drivers', '--root', root], fs);
    expect(r.stdout.startsWith(`Kernel ${referenceKernel.release} modules: shipped reference data`)).toBe(true);
    expect(r.stdout).toContain('Kernel driver in use: i915');
    expect(r.stdout).toContain('Would load: i915');
  });

  // Names beside the ids, as `probe` prints them (pci.ids, usb.ids), the modalias on its own line below.
  it.each([
    [
      'thinkpad-t60',
      ['--root'],
      '\npci 0000:00:02.0 VGA compatible controller [0300]: Intel Corporation Mobile 945GM/GMS, 943/940GML Express ' +
        'Integrated Graphics Controller [8086:27a2] (rev 03)\n\tModalias: pci:v00008086d000027A2sv000017AAsd0000201Abc03sc00i00\n' +
        '\tKernel driver in use: i915\n\tKernel modules: i915\n',
    ],
    [
      'thinkpad-t60',
      ['--root'],
      '\nusb 1-0:1.0 ID 1d6b:0002 Linux Foundation 2.0 root hub, class 09/00/00 (Hub)\n' +
        '\tModalias: usb:v1D6Bp0002d0409dc09dsc00dp00ic09isc00ip00in00\n',
    ],
    [
      'desktop-amd-gpu',
      ['--root'],
      '\npci 0000:01:00.0 VGA compatible controller [0300]: Advanced Micro Devices, Inc. [AMD/ATI] RV770/M98L ' +
        '[Mobility Radeon HD 4850] [1002:944a]\n\tModalias: pci:v00001002d0000944A',
    ],
    // --no-names: the ids alone, as `probe --no-names` prints them.
    [
      'thinkpad-t60',
      ['--no-names', '--root'],
      '\npci 0000:00:02.0 Class [0300]: Vendor 8086 Device 27a2 [8086:27a2] (rev 03)\n\tModalias: pci:v00008086d000027A2',
    ],
    // Without usb.ids, the device's own strings, as lsusb shows them.
    [
      'thinkpad-t60',
      ['--no-names', '--root'],
      '\nusb 1-0:1.0 ID 1d6b:0002 Linux 4.9.124-nrj-desktop-1rosa-i586 ehci_hcd EHCI Host Controller, class 09/00/00\n',
    ],
  ])('%s %j: %j', async (name, args, expected) => {
    const { fs, root } = loadFixture(name);
    const r = await run(['drivers', ...args, root], fs);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(expected);
  });

  it.each(fixtureNames())('%s: every device of the listing is named, with its ids', async (name) => {
    const { fs, root } = loadFixture(name);
    const [text, json] = await Promise.all([run(['drivers', '--root', root], fs), run(['drivers', '--root', root, '--json'], fs)]);
    const profile = readExpected(name, 'profile.json') as HardwareProfile;
    for (const d of JSON.parse(json.stdout) as DriverMatch[]) {
      const header = text.stdout.split('\n').find((l) => l.startsWith(`${d.bus} ${d.id} `));
      // The name pci.ids/usb.ids give these ids, where they have one (lspci too says "Device 0d57" otherwise).
      const [ids, named] =
        d.bus === 'pci'
          ? profile.pci.filter((p) => p.slot === d.id).map((p) => [`[${p.vendor}:${p.device}]`, pciNames.device(p.vendor!, p.device!)])[0]!
          : profile.usb
              .filter((u) => u.interfaces.some((i) => i.path === d.id))
              .map((u) => [`ID ${u.vendor}:${u.product} `, usbNames.product(u.vendor!, u.product!)])[0]!;
      expect(header, d.id).toContain(ids);
      if (named) expect(header, d.id).toContain(named);
    }
  });

  // Imported lsusb -v names no USB driver: "unknown" there; lspci -vnnk names them: a device without one has none.
  it.each(['amd-apu-laptop', 'thinkpad-t60'])('%s: a USB driver the logs do not name is unknown', async (name) => {
    const { fs, root } = loadFixture(name);
    const r = await run(['drivers', '--root', root], fs);
    const blocks = r.stdout.split('\n\n').filter((b) => /^(pci|usb) /.test(b));
    const usb = blocks.filter((b) => b.startsWith('usb '));
    expect(usb.length).toBeGreaterThan(0);
    for (const b of usb) expect(b).toContain('\n\tKernel driver in use: unknown (the logs do not say)\n');
    for (const b of blocks.filter((x) => x.startsWith('pci '))) expect(b).not.toContain('unknown (the logs do not say)');
  });

  it('a snapshot tells the binding: a USB interface without a driver shows none', async () => {
    const { fs, vol, root } = loadFixture('thinkpad-t60');
    vol.writeFileSync(`${root}/autoconfig-snapshot.json`, JSON.stringify({ format: 1, kind: 'snapshot', created: '', tool: '', notes: [] }));
    const r = await run(['drivers', '--root', root], fs);
    expect(r.stdout).toContain('\nusb 1-0:1.0 ');
    expect(r.stdout).not.toContain('Kernel driver in use: unknown');
  });

  it('rejects stray arguments', async () => {
    const { fs } = loadFixture('thinkpad-t60');
    expect((await run(['drivers', 'extra'], fs)).code).toBe(2);
  });
});

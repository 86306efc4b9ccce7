// sysconfigDevices and networkPlan (src/plan/devices.ts) over real machines: the devices hwsetup's sysconfig files
// name, and the bridge the HVM template's vif uses.
import { describe, expect, it } from 'vitest';
import { sysconfigDevices } from '../../src/plan/devices.ts';
import { foreignKernel, preferredDriver } from '../../src/plan/modules.ts';
import { targetInfo } from '../../src/plan/plan.ts';
import { fixtureNames } from '../_support/memfs.ts';
import { decided } from './_decided.ts';

async function devicesOf(fixture: string, xen: string, extra = '') {
  const d = await decided(fixture, xen, extra);
  const target = targetInfo(d.target);
  const drivers = d.drivers.devices.map((m) => preferredDriver(m, d.outcome.modules.prefer));
  return {
    d,
    devices: sysconfigDevices({
      profile: d.profile,
      drivers,
      foreignKernel: foreignKernel(target, d.drivers.kernel),
      name: undefined,
      target,
      xenDisabled: d.outcome.facts['xen.disabled'] === true,
      dhcp: d.outcome.facts['skip.dhcp'] !== true,
      xserver: d.outcome.sysconfig['xserver'] ?? {},
    }),
  };
}

describe('sysconfigDevices', () => {
  it.each(fixtureNames().flatMap((f) => ['3.0.3', '4.17'].map((xen) => [f, xen] as const)))('%s at Xen %s', async (fixture, xen) => {
    const { d, devices } = await devicesOf(fixture, xen);
    const pci = d.profile.pci;
    // Every network and sound function once; the display the firmware booted on (else the first) for X.
    expect(devices.netcards.map((n) => n.device.id).sort()).toEqual(pci.filter((p) => p.class === '02').map((p) => p.slot).sort());
    const display = pci.filter((p) => p.class === '03');
    expect(devices.xserver.device?.id ?? null).toBe((display.find((p) => p.bootVga) ?? display[0])?.slot ?? null);
    // The bridge: xend's on 3.x; on 4.x ours on a wired card, none where Xen does not boot or no card is wired.
    if (xen === '3.0.3') expect(devices.network).toMatchObject({ bridge: 'xenbr0', by: 'xend' });
    else if (d.outcome.facts['xen.disabled'] === true) expect(devices.network).toMatchObject({ bridge: null, port: null });
    else if (devices.network.port === null) expect(devices.network.bridge).toBeNull();
    else expect(devices.network).toMatchObject({ bridge: 'xenbr0', by: 'ifupdown' });
    // No fixture has a USB boot mouse (its logs list none).
    expect(devices.mouse).toBeNull();
  });

  it.each([
    // The ProBook: the RTL8111 before the Wi-Fi; the APU's analog audio (.6) before its HDMI function (.1).
    ['amd-apu-laptop', '0000:01:00.0', ['0000:05:00.6', '0000:05:00.1']],
    // The NVIDIA laptop's only NIC is its Wi-Fi: no port.
    ['intel-nvidia-laptop', null, ['0000:00:1f.3']],
    // The Radeon desktop: the board's audio before the card's HDMI function.
    ['desktop-amd-gpu', '0000:02:00.0', ['0000:00:1b.0', '0000:01:00.1']],
  ] as const)('%s at 4.17: port %s, sound %j', async (fixture, port, sound) => {
    const { devices } = await devicesOf(fixture, '4.17');
    expect(devices.network.port?.device.id ?? null).toBe(port);
    expect(devices.sound.map((s) => s.device.id)).toEqual(sound);
  });

  it('nodhcp on the boot line: the bridge without DHCP', async () => {
    const { devices } = await devicesOf('amd-apu-laptop', '4.17', 'nodhcp');
    expect(devices.network).toMatchObject({ bridge: 'xenbr0', dhcp: false });
  });

  it("Xen 3.0.3's XenLinux Dom0 (drivers matched against the reference kernel): only bound drivers name the cards", async () => {
    const { d, devices } = await devicesOf('amd-apu-laptop', '3.0.3');
    for (const n of devices.netcards) expect(n.driver).toBe(d.profile.pci.find((p) => p.slot === n.device.id)!.driver ?? null);
  });
});

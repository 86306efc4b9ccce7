// The devices the sysconfig files name (hwsetup's xserver, netcard, sound, mouse) and the guests' bridge.
import type { DriverMatch } from '../modalias/index.ts';
import { moduleKey } from '../modalias/module-name.ts';
import type { HardwareProfile, PciDevice } from '../types.ts';
import type { Plan, PlanDevice, TargetInfo } from './types.ts';

export interface DevicesInput {
  profile: HardwareProfile;
  /** The driver matches, each with the rules' preference applied (src/plan/modules.ts preferredDriver). */
  drivers: readonly DriverMatch[];
  /** Matched against a kernel the Dom0 will not run (src/plan/modules.ts foreignKernel). */
  foreignKernel: boolean;
  /** Device names (printed only); null when absent. */
  name: ((vendor: string, device: string) => string | null) | undefined;
  target: TargetInfo;
  xenDisabled: boolean;
  /** DHCP on the bridge: false with nodhcp on the boot line (fact skip.dhcp). */
  dhcp: boolean;
  /** The rules' /etc/sysconfig/xserver variables. */
  xserver: Readonly<Record<string, string>>;
}

export type SysconfigDevices = Pick<Plan, 'xserver' | 'netcards' | 'network' | 'sound' | 'mouse'>;

/**
 * The first of each is what the sysconfig files name (hwsetup let the last device of a class win, whatever it was):
 * a wired card before a wireless one (network-bridge needs a wired one; many WLAN chips call themselves Ethernet,
 * class 0200, so the kernel's own grouping tells: a driver under drivers/net/wireless), and a sound card before the
 * HDMI/DisplayPort audio function of a graphics card (the function after the display one).
 */
export function sysconfigDevices(input: DevicesInput): SysconfigDevices {
  const { profile } = input;
  const pciName = (d: PciDevice): PlanDevice => ({
    id: d.slot,
    vendor: d.vendor,
    device: d.device,
    name: d.vendor && d.device ? (input.name?.(d.vendor, d.device) ?? null) : null,
  });
  const matchOf = new Map(input.drivers.map((m) => [m.id, m] as const));
  // Matched against a kernel the Dom0 will not run, a chosen module names nothing real there: only a bound driver
  // (what the machine itself used) names the card's driver then.
  const chosenFor = (slot: string) => (input.foreignKernel ? null : (matchOf.get(slot)?.chosen ?? null));
  const boundOr = (d: PciDevice) => d.driver ?? chosenFor(d.slot);
  const isWireless = (d: PciDevice) => {
    const driver = boundOr(d);
    const path = driver === null ? undefined : matchOf.get(d.slot)?.paths[moduleKey(driver)];
    return path?.includes('/drivers/net/wireless/') === true;
  };
  const display = profile.pci.filter((d) => d.class === '03');
  const primary = display.find((d) => d.bootVga) ?? display[0] ?? null;
  const nics = ranked(profile.pci.filter((d) => d.class === '02'), (d) => (isWireless(d) ? 1 : 0));
  // The bridge's port: an Ethernet controller (0200) no wireless driver drives. A wireless station cannot bridge
  // (802.11 sends only its own MAC address), and "Network controller" (0280) is where most WLAN chips sit.
  const wired = nics.find((d) => d.subclass === '00' && !isWireless(d)) ?? null;
  return {
    xserver: {
      server: input.xserver['XSERVER'] ?? null,
      module: input.xserver['XMODULE'] ?? null,
      description: input.xserver['XDESC'] ?? (primary ? (pciName(primary).name ?? null) : null),
      device: primary ? pciName(primary) : null,
    },
    netcards: nics.map((d) => ({ device: pciName(d), driver: boundOr(d) })),
    network: networkPlan(
      input.target,
      input.xenDisabled,
      wired === null ? null : { device: pciName(wired), driver: boundOr(wired) },
      input.dhcp,
    ),
    sound: ranked(
      profile.pci.filter((d) => d.class === '04' && (d.subclass === '01' || d.subclass === '03')),
      (d) => (display.some((v) => nextFunction(v.slot, d.slot)) ? 1 : 0),
    ).map((d) => ({ device: pciName(d), driver: boundOr(d) })),
    mouse: usbMouse(profile),
  };
}

/** The bridge HVM guests' vifs name (Plan['network']): xend's on 3.x, our ifupdown one on 4.x, none without a wired NIC. */
export function networkPlan(
  target: Pick<TargetInfo, 'toolstack' | 'version'>,
  xenDisabled: boolean,
  port: Plan['network']['port'],
  dhcp: boolean,
): Plan['network'] {
  if (target.toolstack === 'xend') {
    return {
      bridge: 'xenbr0',
      by: 'xend',
      port,
      dhcp,
      reason: "xend's network-bridge script makes xenbr0 on the default route's interface when xend starts",
    };
  }
  if (xenDisabled) return { bridge: null, by: null, port: null, dhcp, reason: 'Xen does not run here: no guests to bridge' };
  if (port === null) {
    return {
      bridge: null,
      by: null,
      port: null,
      dhcp,
      reason:
        'no wired Ethernet card: a bridge needs one (a wireless station sends only its own MAC address), and ' +
        `Xen ${target.version} ships no network-bridge script that would make one`,
    };
  }
  return {
    bridge: 'xenbr0',
    by: 'ifupdown',
    port,
    dhcp,
    reason: `Xen ${target.version} makes no bridge itself (Debian ships vif-bridge only): autoconfig's ifupdown file does`,
  };
}

/** `items` by rank, lowest first; equal ranks keep their order. */
function ranked<T>(items: readonly T[], rank: (item: T) => number): T[] {
  return items.map((item, i) => ({ item, i, r: rank(item) })).sort((a, b) => a.r - b.r || a.i - b.i).map((x) => x.item);
}

/**
 * `b` is the function after `a` on the same device ("0000:05:00.0" then "0000:05:00.1"): where a graphics card puts
 * its HDMI/DisplayPort audio (NVIDIA and AMD cards, AMD APUs, whose analog HD-Audio is a later function, .6).
 */
function nextFunction(a: string, b: string): boolean {
  const dot = a.lastIndexOf('.');
  return dot > 0 && b.slice(0, b.lastIndexOf('.')) === a.slice(0, dot) && Number.parseInt(b.slice(dot + 1), 16) === Number.parseInt(a.slice(dot + 1), 16) + 1;
}

// A USB HID boot mouse interface (class 03, subclass 01, protocol 02); PS/2 pointers are not on PCI or USB, so
// without one the mouse stays undetected (null), as hwsetup left it.
function usbMouse(profile: HardwareProfile): Plan['mouse'] {
  const mouse = profile.usb.find((d) =>
    d.interfaces.some((i) => i.class === '03' && i.subclass === '01' && i.protocol === '02'),
  );
  // hwsetup's mapping for a USB mouse: MOUSETYPE=imps2, XMOUSETYPE=IMPS/2 (knoppix.md §4.5).
  return mouse ? { device: '/dev/input/mice', type: 'imps2', xtype: 'IMPS/2' } : null;
}

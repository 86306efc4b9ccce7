// /etc/network/interfaces.d/xenbr0: the bridge HVM guests' vifs name, for xl targets (Xen 4.1 on). xend's
// network-bridge script made xenbr0 on Xen 3.x; xl runs none, the script left xen.git before 4.5, and Debian ships
// vif-bridge only, which puts a guest's vif on a bridge that must already exist (xen-review.md "Debian packaging").
//
// ifupdown, not systemd-networkd: it is Debian's network configuration without a desktop, and what KNOPPIX-like live
// systems run (and Debian's /etc/network/interfaces sources interfaces.d/* by default). The port is the plan's first
// wired Ethernet card (plan.network.port), found at ifup time by its PCI slot in sysfs: the interface's name is udev's
// choice at boot (eth0, enp2s0, eno1) and not known when this file is written, so no `bridge_ports` (bridge-utils'
// option, which takes names) but ip(8) from iproute2, which ifupdown itself depends on; bridge-utils is not needed.
// DHCP runs on the bridge, unless nodhcp is on the boot line. Where there is no bridge to make, the file says why and
// holds no stanza, so that a bridge written on another machine (a live medium moves) does not stay behind.
import { AutoconfigError } from '../errors.ts';
import type { Plan } from '../plan/types.ts';
import { commentHeader } from './header.ts';
import { deviceName } from './sysconfig.ts';

export const NETWORK_FILE = '/etc/network/interfaces.d/xenbr0';

// A PCI slot as sysfs names it, the only form that goes into a shell command here.
const SLOT = /^[0-9a-f]{4}:[0-9a-f]{2}:[0-1][0-9a-f]\.[0-7]$/;
// ifupdown's interface names, and what a bridge name may be in Linux (IFNAMSIZ 16 with its NUL).
const IFACE = /^[A-Za-z0-9_-]{1,15}$/;
const MODULE = /^[A-Za-z0-9_-]+$/;

/** The ifupdown file for an xl target; the caller writes it only where plan.target.toolstack is 'xl'. */
export function renderNetwork(plan: Plan): string {
  const { bridge, by, port, dhcp, reason } = plan.network;
  if (bridge === null || by !== 'ifupdown' || port === null) {
    const header = commentHeader(
      `No bridge for Xen's guests: ${reason}.`,
      'The HVM template has no vif; ifupdown finds no stanza here.',
    );
    return header;
  }
  if (!IFACE.test(bridge)) {
    throw new AutoconfigError('E_PARSE', `bridge name ${JSON.stringify(bridge)} is not a Linux interface name`, {
      path: NETWORK_FILE,
    });
  }
  const slot = port.device.id;
  if (!SLOT.test(slot)) {
    throw new AutoconfigError('E_PARSE', `network card ${JSON.stringify(slot)}: not a PCI slot (DDDD:BB:DD.F)`, {
      path: slot,
    });
  }
  const dev = `/sys/bus/pci/devices/${slot}`;
  const driver = port.driver !== null && MODULE.test(port.driver) ? port.driver : null;
  const missing = `${bridge}: PCI ${slot} has no network interface${driver === null ? '' : ` (is ${driver} loaded?)`}`;
  const header = commentHeader(
    `The bridge ${bridge} for Xen's guests (the HVM template's vif names it), on the wired network card`,
    `${deviceName(port.device)} (PCI ${slot}${driver === null ? '' : `, driver ${driver}`}), ${dhcp ? 'with DHCP on the bridge' : 'without DHCP (nodhcp)'}.`,
    `Why: ${reason}.`,
    'ifupdown reads it through `source /etc/network/interfaces.d/*` in /etc/network/interfaces (Debian\'s default).',
    'The card needs no stanza of its own there: its address is the bridge\'s now.',
    "No bridge_ports (bridge-utils' option, by interface name): the card's name is udev's choice at boot; the port is",
    'found by its PCI slot in sysfs and added with ip(8) (iproute2, which ifupdown depends on).',
  );
  const lines = [
    `auto ${bridge}`,
    `iface ${bridge} inet ${dhcp ? 'dhcp' : 'manual'}`,
    // STP stays off (a new bridge's default): the port forwards at once (linux br_stp.c br_make_forwarding, BR_NO_STP),
    // so DHCP does not wait out a forwarding delay. The check keeps a second ifup from failing on an existing bridge.
    `\tpre-up [ -d /sys/class/net/${bridge} ] || ip link add name ${bridge} type bridge`,
    // The card's interface: under its PCI function, or under the virtio device on it (virtio-net). ifupdown runs each
    // command with /bin/sh -c and stops at a failure: no interface is one, said on stderr.
    `\tpre-up for i in ${dev}/net/* ${dev}/virtio*/net/*; do [ -e "$i" ] && exec ip link set dev "\${i##*/}" master ${bridge} up; done; echo "${missing}" >&2; exit 1`,
    // The dhcp method's client brings the bridge up; ifupdown 0.8.41's manual method does too, older ones did not.
    ...(dhcp ? [] : [`\tup ip link set dev ${bridge} up`]),
    `\tpost-down ip link delete dev ${bridge}`,
  ];
  return `${header}${lines.join('\n')}\n`;
}

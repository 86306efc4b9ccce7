// /etc/network/interfaces.d/xenbr0 (src/emit/network.ts), judged by ifupdown itself: `ifquery -i FILE` parses it
// and lists its options, `ifup --no-act -i FILE xenbr0` plans the commands it would run. The port-finding pre-up
// command runs under dash against a sysfs-shaped directory, with `ip` recorded instead of run (the real one would
// change this machine's network).
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { NETWORK_FILE, renderNetwork } from '../../src/emit/network.ts';
import { PATHS, render } from '../../src/emit/render.ts';
import type { Plan } from '../../src/plan/types.ts';
import { fixtureNames } from '../_support/memfs.ts';
import { planFor, retarget, t60Plan } from './_plans.ts';
import { assertTool, findTool, run, scratch, skipNote } from './_tools.ts';

const ifquery = findTool('ifquery');
const ifup = findTool('ifup');
const dash = findTool('dash');
const dhclient = findTool('dhclient');
const ifNote = skipNote(ifquery, 'ifquery', 'ifupdown');
const ifupNote = skipNote(ifup, 'ifup', 'ifupdown');
const dashNote = skipNote(dash, 'dash', 'dash');
const dhcpNote = ifup === null ? ifupNote : skipNote(dhclient, 'dhclient', 'isc-dhcp-client');
const tmp = scratch('network');
afterAll(() => tmp.remove());

let n = 0;
const file = (text: string) => tmp.file(`xenbr0-${n++}`, text);
const stanzas = (text: string) => text.split('\n').filter((l) => l !== '' && !l.startsWith('#'));

/** The T60's plan for an xl target with the bridge on its 82573L (the plan's own port for this machine). */
function xlPlan(dhcp = true): Plan {
  const p = retarget(t60Plan(), '4.17');
  p.network = { ...p.network, by: 'ifupdown', dhcp, reason: 'Xen 4.17 makes no bridge itself' };
  return p;
}

describe('renderNetwork', () => {
  it('a bridge on the wired card, found by its PCI slot, with DHCP; the header says what and why', () => {
    const text = renderNetwork(xlPlan());
    expect(stanzas(text)).toEqual([
      'auto xenbr0',
      'iface xenbr0 inet dhcp',
      '\tpre-up [ -d /sys/class/net/xenbr0 ] || ip link add name xenbr0 type bridge',
      '\tpre-up for i in /sys/bus/pci/devices/0000:02:00.0/net/* /sys/bus/pci/devices/0000:02:00.0/virtio*/net/*; ' +
        'do [ -e "$i" ] && exec ip link set dev "${i##*/}" master xenbr0 up; done; ' +
        'echo "xenbr0: PCI 0000:02:00.0 has no network interface (is e1000e loaded?)" >&2; exit 1',
      '\tpost-down ip link delete dev xenbr0',
    ]);
    expect(text).toMatch(/^# Written by xenoppix-autoconfig/);
    expect(text).toContain('# 82573L Gigabit Ethernet Controller (PCI 0000:02:00.0, driver e1000e), with DHCP on the bridge.');
    expect(text).toContain("# No bridge_ports (bridge-utils' option, by interface name)");
  });

  it('nodhcp: inet manual, and the bridge brought up by hand', () => {
    const lines = stanzas(renderNetwork(xlPlan(false)));
    expect(lines[1]).toBe('iface xenbr0 inet manual');
    expect(lines).toContain('\tup ip link set dev xenbr0 up');
  });

  it('no bridge: comments only, saying why', () => {
    const p = xlPlan();
    p.network = { bridge: null, by: null, port: null, dhcp: true, reason: 'no wired Ethernet card: a bridge needs one' };
    const text = renderNetwork(p);
    expect(stanzas(text)).toEqual([]);
    expect(text).toContain("# No bridge for Xen's guests: no wired Ethernet card: a bridge needs one.");
  });

  it.each([
    ['0000:02:00.0; reboot', '0000:02:00.0; reboot'],
    ['02:00.0', '02:00.0'],
    ['0000:02:00.0\nauto eth0', '0000:02:00.0\nauto eth0'],
  ])('refuses a port that is no PCI slot (%j), naming it', (id, path) => {
    const p = xlPlan();
    p.network = { ...p.network, port: { device: { ...p.network.port!.device, id }, driver: 'e1000e' } };
    expect(() => renderNetwork(p)).toThrow(expect.objectContaining({ code: 'E_PARSE', path }));
  });

  it('refuses a bridge name Linux would not take, naming the file', () => {
    const p = xlPlan();
    p.network = { ...p.network, bridge: 'xenbr0 inet static' };
    expect(() => renderNetwork(p)).toThrow(expect.objectContaining({ code: 'E_PARSE', path: NETWORK_FILE }));
  });

  it('a driver name that is no module name is left out of the message, not written into the command', () => {
    const p = xlPlan();
    p.network = { ...p.network, port: { device: p.network.port!.device, driver: 'e1000e"; reboot; "' } };
    const text = renderNetwork(p);
    expect(text).not.toContain('reboot');
    expect(text).toContain('has no network interface" >&2; exit 1');
  });
});

describe('render(): the file for xl targets only', () => {
  it.each([
    ['4.17', true],
    ['4.1', true],
    ['4.0', false], // xend: its network-bridge makes xenbr0
    ['3.0.3', false],
  ] as const)('Xen %s: %s', (xen, written) => {
    const p = retarget(t60Plan(), xen);
    p.hvm = { ...p.hvm, available: false, reason: 'not the point here' };
    expect(render(p).some((f) => f.path === PATHS.network)).toBe(written);
    expect(PATHS.network).toBe('/etc/network/interfaces.d/xenbr0');
  });
});

describe.each([
  ['4.17', fixtureNames()],
  // The Atom N270 has a 32-bit Xen only up to 4.2, whose toolstack is xl.
  ['4.2', ['atom-netbook']],
])('real plans on Xen %s, read by ifupdown', (xen, fixtures) => {
  it.skipIf(ifquery === null).each(fixtures)(`%s: ifquery takes the file${ifNote}`, async (fixture) => {
    assertTool(ifquery);
    const p = await planFor(fixture, xen);
    const path = file(renderNetwork(p));
    const list = run([ifquery, '-i', path, '--list', '--allow', 'auto']);
    expect({ status: list.status, stderr: list.stderr }).toEqual({ status: 0, stderr: '' });
    // ifupdown knows the loopback by itself.
    const auto = list.stdout.split('\n').filter((l) => l !== '' && l !== 'lo');
    if (p.network.bridge === null) {
      expect(auto).toEqual([]);
      return;
    }
    expect(auto).toEqual(['xenbr0']);
    const q = run([ifquery, '-i', path, 'xenbr0']);
    expect({ status: q.status, stderr: q.stderr }).toEqual({ status: 0, stderr: '' });
    const slot = p.network.port!.device.id;
    expect(q.stdout).toContain(`pre-up: for i in /sys/bus/pci/devices/${slot}/net/* /sys/bus/pci/devices/${slot}/virtio*/net/*;`);
    expect(q.stdout).toContain('post-down: ip link delete dev xenbr0');
  });

  it.skipIf(ifup === null).each(fixtures)(`%s: ifup --no-act plans the bridge, then its port, then the hooks${ifupNote}`, async (fixture) => {
    assertTool(ifup);
    const p = await planFor(fixture, xen);
    if (p.network.bridge === null) {
      expect(p.network.reason).not.toBe('');
      expect(renderNetwork(p)).toContain(`# No bridge for Xen's guests: ${p.network.reason}.`);
      return;
    }
    const r = run([ifup, '--no-act', '-i', file(renderNetwork(p)), 'xenbr0']);
    expect(r.status).toBe(0);
    // ifup --no-act prints the commands it would run on stderr.
    const out = r.stderr.split('\n');
    const add = out.findIndex((l) => l.includes('ip link add name xenbr0 type bridge'));
    const port = out.findIndex((l) => l.includes(`/sys/bus/pci/devices/${p.network.port!.device.id}/net/*`));
    const hooks = out.indexOf('run-parts --exit-on-error /etc/network/if-pre-up.d');
    expect(add).toBeGreaterThanOrEqual(0);
    expect(port).toBeGreaterThan(add);
    // Our pre-up lines run before the if-pre-up.d hooks (bridge-utils' among them) and before the DHCP client.
    expect(hooks).toBeGreaterThan(port);
  });
});

describe('DHCP on the bridge, as ifup would run it', () => {
  it.skipIf(ifup === null || dhclient === null)(`dhcp: dhclient on xenbr0, after the port is added${dhcpNote}`, () => {
    assertTool(ifup);
    const out = run([ifup, '--no-act', '-i', file(renderNetwork(xlPlan())), 'xenbr0']).stderr.split('\n');
    const port = out.findIndex((l) => l.includes('/sys/bus/pci/devices/0000:02:00.0/net/*'));
    const client = out.findIndex((l) => /\bdhclient -4 .* xenbr0\b/.test(l));
    expect(port).toBeGreaterThanOrEqual(0);
    expect(client).toBeGreaterThan(port);
  });

  it.skipIf(ifup === null)(`nodhcp: no DHCP client, the bridge is brought up${ifupNote}`, () => {
    assertTool(ifup);
    const r = run([ifup, '--no-act', '-i', file(renderNetwork(xlPlan(false))), 'xenbr0']);
    expect(r.status).toBe(0);
    expect(r.stderr).not.toMatch(/dhclient|udhcpc|dhcpcd|No DHCP client/);
    expect(r.stderr).toContain('ip link set dev xenbr0 up');
  });
});

describe('the port-finding command under dash, over a sysfs-shaped tree', () => {
  /** The pre-up command with /sys/bus/pci/devices/ moved to `sysfs`, and an `ip` on PATH that records its arguments. */
  function setup(text: string) {
    const dir = join(tmp.dir, `sysfs-${n++}`);
    const bin = join(dir, 'bin');
    mkdirSync(bin, { recursive: true });
    const log = join(dir, 'ip.log');
    writeFileSync(join(bin, 'ip'), `#!/bin/sh\necho "$@" >> '${log}'\n`);
    chmodSync(join(bin, 'ip'), 0o755);
    const line = stanzas(text).find((l) => l.includes('/net/*'))!.replace(/^\tpre-up /, '');
    return { dir, bin, log, command: line.replaceAll('/sys/bus/pci/devices/', `${dir}/devices/`) };
  }

  it.skipIf(dash === null).each([
    ['the interface under the PCI function (e1000e: enp2s0)', 'net/enp2s0', 'enp2s0'],
    ['the interface under the virtio device (virtio-net: eth0)', 'virtio0/net/eth0', 'eth0'],
  ])(`%s${dashNote}`, (_what, under, iface) => {
    assertTool(dash);
    const s = setup(renderNetwork(xlPlan()));
    mkdirSync(join(s.dir, 'devices', '0000:02:00.0', under), { recursive: true });
    const r = run([dash, '-c', s.command], { env: { PATH: `${s.bin}:/usr/bin:/bin` } });
    expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: '' });
    expect(readFileSync(s.log, 'utf8')).toBe(`link set dev ${iface} master xenbr0 up\n`);
  });

  it.skipIf(dash === null)(`no interface (driver not loaded): fails, saying so, and runs no ip${dashNote}`, () => {
    assertTool(dash);
    const s = setup(renderNetwork(xlPlan()));
    mkdirSync(join(s.dir, 'devices', '0000:02:00.0'), { recursive: true });
    const r = run([dash, '-c', s.command], { env: { PATH: `${s.bin}:/usr/bin:/bin` } });
    expect(r.status).toBe(1);
    expect(r.stderr).toBe('xenbr0: PCI 0000:02:00.0 has no network interface (is e1000e loaded?)\n');
    expect(existsSync(s.log)).toBe(false);
  });
});

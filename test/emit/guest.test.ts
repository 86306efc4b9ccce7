// The HVM guest template. xm create runs an xm config as Python (exec), so python3 is the real parser for the xm
// files; the xl files use the subset of xl.cfg(5) syntax that Python reads the same way (KEY = number, "string",
// [ 'item' ]), which python3 checks as well.
import { afterAll, describe, expect, it } from 'vitest';
import {
  GUEST_CDROM,
  guestMemoryMiB,
  LIVE_CD_GUEST_MIB,
  renderGuestConfig,
  UNKNOWN_HOST_GUEST_MIB,
  VIDEO_RAM_MIB,
} from '../../src/emit/guest.ts';
import type { Plan } from '../../src/plan/types.ts';
import { fixtureNames } from '../_support/memfs.ts';
import { planFor, retarget, t60Plan } from './_plans.ts';
import { assertTool, findTool, run, scratch, skipNote } from './_tools.ts';

const python = findTool('python3');
const pyNote = skipNote(python, 'python3', 'python3');
const tmp = scratch('guest');
afterAll(() => tmp.remove());

let n = 0;
/** Runs the config as Python and returns its variables. */
function execPython(text: string): Record<string, unknown> {
  const file = tmp.file(`guest-${n++}.cfg`, text);
  const script = [
    'import json, sys',
    'scope = {}',
    'exec(compile(open(sys.argv[1]).read(), sys.argv[1], "exec"), scope)',
    // xm reads the variables it knows; the modules a config imports (os, re) are not values.
    'import types',
    'print(json.dumps({k: v for k, v in scope.items() if not k.startswith("__") and not isinstance(v, types.ModuleType)}))',
  ].join('\n');
  const r = run([python!, '-c', script, file]);
  expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: '' });
  return JSON.parse(r.stdout) as Record<string, unknown>;
}

/** Non-comment top-level `key = value` lines as text (not xmexample.hvm's lib64 test at the top of xm files). */
const assignments = (text: string) =>
  Object.fromEntries(
    text
      .split('\n')
      .filter((l) => / = /.test(l) && !l.startsWith('#') && !l.startsWith(' ') && !l.startsWith('arch = '))
      .map((l) => l.split(' = ') as [string, string]),
  );
/** What xmexample.hvm's test gives on this machine, which runs the tests as Dom0 would run xm. */
const libdir = /64/.test(process.arch === 'x64' ? 'x86_64' : process.arch === 'ia32' ? 'i686' : process.arch) ? 'lib64' : 'lib';

describe('guestMemoryMiB', () => {
  it.each([
    [1536, 1, 1515],
    [1024, 2, 1006],
    [65536, 8, 65012],
  ])('%i MiB for %i vCPUs -> %i', (available, vcpus, mem) => {
    expect(guestMemoryMiB(available, vcpus)).toBe(mem);
  });

  it('leaves exactly room for shadow page tables (1 MiB per vCPU, 8 KiB per MiB) and the video RAM', () => {
    for (const available of [64, 100, 512, 1536, 2047, 3000, 15_872]) {
      for (const vcpus of [1, 2, 4, 16]) {
        const mem = guestMemoryMiB(available, vcpus);
        const needs = (m: number) => m + vcpus + Math.ceil(m / 128) + VIDEO_RAM_MIB;
        if (mem === null) {
          expect(needs(32)).toBeGreaterThan(available);
          continue;
        }
        expect(needs(mem)).toBeLessThanOrEqual(available);
        expect(needs(mem + 1)).toBeGreaterThan(available);
      }
    }
  });

  it('null below 32 MiB, too little for a guest', () => {
    expect(guestMemoryMiB(40, 1)).toBeNull();
    expect(guestMemoryMiB(0, 1)).toBeNull();
  });
});

describe('xm syntax (xend: Xen 3.x, 4.0)', () => {
  it('Xen 3.0.2: hvmloader, builder, cdrom= (no disk=), ne2000=0, no PV drivers; the boot options as a comment', () => {
    const p = t60Plan();
    const text = renderGuestConfig(p);
    expect(assignments(text)).toEqual({
      kernel: `'/usr/lib/xen/boot/hvmloader'`,
      builder: `'hvm'`,
      name: `'autoconfig-hvm'`,
      memory: '1515',
      vcpus: '1',
      device_model: `'/usr/' + arch_libdir + '/xen/bin/qemu-dm'`,
      vif: `[ 'type=ioemu, bridge=xenbr0' ]`,
      cdrom: `'${GUEST_CDROM}'`,
      boot: `'d'`,
      vnc: '1',
      serial: `'pty'`,
      ne2000: '0',
    });
    // xm hands `extra` only to a kernel it boots itself; this guest boots the CD through hvmloader's BIOS.
    expect(text).toContain("# The guest's kernel needs the options: nolapic nosmp noapm\n# Type them at the CD's boot: prompt");
    expect(text).toContain('# An emulated NIC on the bridge xenbr0: Xen 3.0.2 has no PV drivers for HVM guests.');
    expect(text).toContain('# MiB: the 1536 left for guests, less shadow page tables and 8 MiB of video RAM.');
  });

  it('Xen 3.0.3 on a 64-bit CPU: disk= for the CD, PAE for 64-bit guests, qemu-dm by the running Dom0, acpi/apic', () => {
    const p = retarget(t60Plan(), '3.0.3');
    p.arch = { xen: 'x86_64', dom0: 'x86_64', guests64: true };
    p.vcpus = { host: 2, dom0: 'all', guests: 2 };
    p.guest = { vcpus: 2, acpi: 1, apic: 1, pv_drivers: true, vif_type: 'ioemu' };
    const a = assignments(renderGuestConfig(p));
    expect(a).toMatchObject({
      disk: `[ 'phy:${GUEST_CDROM},hdc:cdrom,r' ]`,
      pae: '1',
      device_model: `'/usr/' + arch_libdir + '/xen/bin/qemu-dm'`,
      acpi: '1',
      apic: '1',
      vcpus: '2',
    });
    expect(a.cdrom).toBeUndefined();
    // xend 3.x makes no netfront for a type=ioemu vif (netif.py), unlike xl: the comment says what PV drivers need.
    expect(renderGuestConfig(p)).toContain("# A guest with PV drivers gets a paravirtual NIC only from a vif without type=ioemu: add 'bridge=xenbr0'.");
    expect(renderGuestConfig(p)).not.toContain('may use the paravirtual NIC');
  });

  it.skipIf(python === null)(`python3 runs it and reads every value back, hostile rule strings included${pyNote}`, () => {
    assertTool(python);
    const p = t60Plan();
    p.guest = { ...p.guest, extra: `it's "x" \\ $(reboot)`, keymap: `it's "x" \\ $(reboot)`, localtime: true, stdvga: 0 };
    expect(execPython(renderGuestConfig(p))).toEqual({
      kernel: '/usr/lib/xen/boot/hvmloader',
      builder: 'hvm',
      name: 'autoconfig-hvm',
      memory: 1515,
      vcpus: 1,
      device_model: `/usr/${libdir}/xen/bin/qemu-dm`,
      arch: expect.any(String),
      arch_libdir: libdir,
      vif: ['type=ioemu, bridge=xenbr0'],
      cdrom: GUEST_CDROM,
      boot: 'd',
      vnc: 1,
      serial: 'pty',
      keymap: `it's "x" \\ $(reboot)`,
      localtime: 1,
      ne2000: 0,
      stdvga: 0,
    });
  });
});

describe('xl syntax (xl: Xen 4.1 on)', () => {
  function xlPlan(): Plan {
    const p = retarget(t60Plan(), '4.17');
    p.arch = { xen: 'x86_64', dom0: 'x86_64', guests64: true };
    p.vcpus = { host: 4, dom0: 'all', guests: 4 };
    p.memory = { totalMiB: 8192, installedMiB: null, dom0: '1024M,max:1024M', dom0MiB: 1024, guestsMiB: 7168 };
    p.guest = { vcpus: 4, pv_drivers: true, vif_type: 'ioemu', xen_platform_pci: 1 };
    p.network = {
      ...p.network,
      by: 'ifupdown',
      reason: "Xen 4.17 makes no bridge itself (Debian ships vif-bridge only): autoconfig's ifupdown file does",
    };
    return p;
  }

  it('type="hvm", the CD as an xl disk spec, vif with xl\'s default type, xen_platform_pci from the rules', () => {
    const text = renderGuestConfig(xlPlan());
    expect(assignments(text)).toEqual({
      type: '"hvm"',
      name: '"autoconfig-hvm"',
      memory: '2048',
      vcpus: '4',
      vif: `[ 'bridge=xenbr0' ]`,
      disk: `[ 'format=raw, vdev=hdc, access=ro, devtype=cdrom, target=${GUEST_CDROM}' ]`,
      boot: '"d"',
      vnc: '1',
      serial: '"pty"',
      xen_platform_pci: '1',
    });
    expect(text).not.toMatch(/^(pae|kernel|device_model|builder) /m);
  });

  it('builder="hvm" before 4.10 (xl knows type= from 4.10)', () => {
    const a = assignments(renderGuestConfig(retarget(xlPlan(), '4.9')));
    expect(a.builder).toBe('"hvm"');
    expect(a.type).toBeUndefined();
  });

  it('a vif type other than ioemu is written; the rules may replace our keys or unset them with null', () => {
    const p = xlPlan();
    p.guest = { ...p.guest, vif_type: 'vif', boot: 'c', vnc: null, viridian: true };
    const a = assignments(renderGuestConfig(p));
    expect(a.vif).toBe(`[ 'type=vif, bridge=xenbr0' ]`);
    expect(a.boot).toBe('"c"');
    expect(a.vnc).toBeUndefined();
    expect(a.viridian).toBe('1');
    expect(Object.keys(a).indexOf('boot')).toBeLessThan(Object.keys(a).indexOf('serial'));
  });

  it('refuses a string xl.cfg cannot hold, and a key that is no name', () => {
    const p = xlPlan();
    expect(() => renderGuestConfig({ ...p, guest: { keymap: 'say "hi"' } })).toThrow(/cannot be an xl.cfg string/);
    expect(() => renderGuestConfig({ ...p, guest: { extra: 'a\nb' } })).toThrow(/control character/);
    expect(() => renderGuestConfig({ ...p, guest: { 'bad key': 1 } })).toThrow(/not an xm\/xl key name/);
  });

  it.skipIf(python === null)(`python3 reads the same values (xl.cfg's simple forms are Python too)${pyNote}`, () => {
    assertTool(python);
    expect(execPython(renderGuestConfig(xlPlan()))).toMatchObject({
      type: 'hvm',
      memory: 2048,
      vif: ['bridge=xenbr0'],
      disk: [`format=raw, vdev=hdc, access=ro, devtype=cdrom, target=${GUEST_CDROM}`],
    });
  });
});

describe('the vif and the bridge it names (plan.network)', () => {
  function xl(): Plan {
    const p = retarget(t60Plan(), '4.17');
    p.network = { ...p.network, by: 'ifupdown', reason: 'r' };
    return p;
  }

  it('xl: the bridge of autoconfig\'s ifupdown file, and the comment says which file makes it', () => {
    const text = renderGuestConfig(xl());
    expect(assignments(text).vif).toBe(`[ 'bridge=xenbr0' ]`);
    expect(text).toContain('# An emulated NIC on the bridge xenbr0 (/etc/network/interfaces.d/xenbr0): Xen 4.17 has no PV');
  });

  it.each(['3.0.3', '4.17'])('without a bridge (no wired NIC) on Xen %s: no vif at all, and the template says why', (xen) => {
    const p = retarget(t60Plan(), xen);
    p.network = { bridge: null, by: null, port: null, dhcp: true, reason: 'no wired Ethernet card: a bridge needs one' };
    const text = renderGuestConfig(p);
    expect(assignments(text).vif).toBeUndefined();
    expect(text).toContain('# No vif: the guest has no network (no wired Ethernet card: a bridge needs one).');
    expect(text).not.toContain('xenbr0');
  });

  it.skipIf(python === null)(`python3 reads a template without a vif${pyNote}`, () => {
    assertTool(python);
    const p = xl();
    p.network = { bridge: null, by: null, port: null, dhcp: true, reason: 'none' };
    expect(execPython(renderGuestConfig(p)).vif).toBeUndefined();
  });
});

describe("the guest's memory: a live CD's 2048 MiB, bounded by what is left for guests", () => {
  it.each([
    // [MiB left for guests, vCPUs, memory]: the live CD's size wherever it fits with its overhead, else what fits.
    [126_976, 20, LIVE_CD_GUEST_MIB], // the R730: 124 GiB left, the guest still gets 2 GiB, not all of it
    [7168, 4, LIVE_CD_GUEST_MIB],
    [2048 + 1 + 16 + VIDEO_RAM_MIB, 1, LIVE_CD_GUEST_MIB], // exactly the live CD's size and its overhead
    [2048, 1, guestMemoryMiB(2048, 1)!], // just short of it: what fits
    [1536, 1, 1515],
  ] as const)('%i MiB left, %i vCPUs: memory = %i', (guestsMiB, vcpus, memory) => {
    const p = retarget(t60Plan(), '4.17');
    p.memory = { ...p.memory, guestsMiB };
    p.vcpus = { ...p.vcpus, guests: vcpus };
    p.guest = { ...p.guest, vcpus };
    const text = renderGuestConfig(p);
    expect(assignments(text).memory).toBe(String(memory));
    expect(memory).toBeLessThanOrEqual(LIVE_CD_GUEST_MIB);
    if (memory === LIVE_CD_GUEST_MIB) {
      expect(text).toContain(`# MiB: what a live CD's desktop needs (KNOPPIX recommends 2 GB), of the ${guestsMiB} left for guests.`);
    } else {
      expect(text).toContain(`# MiB: the ${guestsMiB} left for guests, less shadow page tables`);
    }
  });

  it('vcpus_max (the 3.0.x DSDT cap) shapes the plan, not the file: no such key is written', () => {
    const p = retarget(t60Plan(), '3.0.3');
    p.guest = { ...p.guest, vcpus: 4, vcpus_max: 4 };
    expect(assignments(renderGuestConfig(p)).vcpus_max).toBeUndefined();
  });
});

describe('memory and refusal', () => {
  it('512 MiB when what is left for guests is unknown (xl would give 32, too little to boot the CD), and says why', () => {
    for (const xen of ['3.0.3', '4.17']) {
      const p = retarget(t60Plan(), xen);
      p.memory = { ...p.memory, totalMiB: null, guestsMiB: null };
      const text = renderGuestConfig(p);
      expect(assignments(text).memory, xen).toBe(String(UNKNOWN_HOST_GUEST_MIB));
      expect(text).toContain('# MiB: how much memory is left for guests is unknown; 512 MiB boots the live CD');
    }
  });

  it('no memory line when too little is left', () => {
    const p = t60Plan();
    p.memory = { ...p.memory, guestsMiB: 20 };
    expect(renderGuestConfig(p)).toContain('# memory is not set: 20 MiB left for guests is too little');
  });

  it('refuses a plan where HVM guests cannot run', () => {
    const p = t60Plan();
    expect(() => renderGuestConfig({ ...p, hvm: { ...p.hvm, available: false, reason: 'no vmx' } })).toThrow(/no vmx/);
  });
});

describe.each(['3.0.2', '3.0.3', '4.17'])(`real plans on Xen %s${pyNote}`, (xen) => {
  // Every row checks something: the template where HVM guests can run, its refusal (with the reason) elsewhere.
  it.skipIf(python === null).each(fixtureNames())(
    '%s: python3 runs the template where HVM guests can run; elsewhere it is refused with the reason',
    async (fixture) => {
      const p = await planFor(fixture, xen);
      if (p.hvm.available) {
        const vars = execPython(renderGuestConfig(p));
        expect(vars.name).toBe('autoconfig-hvm');
        expect(vars.vcpus).toBe(p.vcpus.guests ?? undefined);
      } else {
        expect(p.hvm.reason).not.toBe('');
        expect(() => renderGuestConfig(p)).toThrow(p.hvm.reason);
      }
    },
  );

  it('some fixtures run HVM guests and some do not, so both branches above are taken', async () => {
    const available = await Promise.all(fixtureNames().map(async (f) => (await planFor(f, xen)).hvm.available));
    expect(available).toContain(true);
    expect(available).toContain(false);
  });
});

// Issue #11: a rule's guest key that names a program Dom0 runs passed lint; now lint and render share one allowlist.
describe('guest keys rules may not set (src/rules/values.ts)', () => {
  it.each(['kernel', 'device_model_override', 'bootloader', 'builder', 'type', 'name', 'memory', 'disk', 'vif'])('%s', (key) => {
    const p = retarget(t60Plan(), '4.17');
    expect(() => renderGuestConfig({ ...p, guest: { ...p.guest, [key]: '/bin/sh' } })).toThrow(
      expect.objectContaining({ code: 'E_PARSE', path: key }),
    );
  });
});

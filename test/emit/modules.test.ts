// The module lists, and the modprobe.d file read by kmod itself (`modprobe -C DIR --showconfig`, kmod 30): kmod
// must take every line we write, report none as bad, and show our blacklist and options lines.
import { copyFileSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { renderModprobeConf, renderModulesLoad } from '../../src/emit/modules.ts';
import { parseModprobeConfig } from '../../src/modalias/modprobe-d.ts';
import type { Plan } from '../../src/plan/types.ts';
import { decide } from '../../src/plan/decide.ts';
import { plan } from '../../src/plan/plan.ts';
import { fixtureNames, loadFixture, repoRoot } from '../_support/memfs.ts';
import { planFor, t60Plan } from './_plans.ts';
import { assertTool, findTool, run, scratch, skipNote } from './_tools.ts';

const modprobe = findTool('modprobe');
const kmodNote = skipNote(modprobe, 'modprobe', 'kmod');
const tmp = scratch('modules');
afterAll(() => tmp.remove());

/** The T60 with the policy lines a real rule set writes: nouveau blacklisted, options for two modules. */
function withPolicy(): Plan {
  const p = t60Plan();
  p.dom0.blacklist = [
    { name: 'nouveau', reason: 'rule nvidia-pv-dom0' },
    { name: 'snd-hda-codec-hdmi', reason: 'rule hdmi-audio\nsecond line of the reason' },
  ];
  p.dom0.modules = [
    { name: 'netbk', options: 'nloopbacks=0', reason: 'rule dom0-backends-xenlinux', optional: null },
    ...p.dom0.modules.slice(1),
    { name: 'snd-hda-intel', options: '  model=thinkpad power_save=1 ', reason: 'rule t60-audio', optional: null },
  ];
  return p;
}

const body = (text: string) => text.split('\n').filter((l) => l !== '' && !l.startsWith('#'));

describe('renderModulesLoad', () => {
  it('one module per line in the plan order, each after a comment with its reason', () => {
    const text = renderModulesLoad(t60Plan());
    expect(body(text)).toEqual(['netbk', 'blkbk', 'e1000e']);
    expect(text).toContain('# rule dom0-backends-xenlinux\nnetbk\n# rule dom0-backends-xenlinux\nblkbk\n');
    expect(text).toContain('# pci 0000:02:00.0: bound\ne1000e\n');
    expect(text).toMatch(/^# Written by xenoppix-autoconfig/);
  });

  it('says "(none)" when there is nothing to load', () => {
    const p = t60Plan();
    p.dom0.modules = [];
    expect(renderModulesLoad(p)).toMatch(/# \(none\)\n$/);
  });

  it.each(['xen netback', 'a/b', '../x', '', 'x\ny', 'nvidia;reboot'])('refuses the module name %j', (name) => {
    const p = t60Plan();
    p.dom0.modules = [{ name, options: null, reason: 'r', optional: null }];
    expect(() => renderModulesLoad(p)).toThrow(expect.objectContaining({ code: 'E_PARSE' }));
  });
});

describe('renderModprobeConf', () => {
  it('blacklist lines, then options lines, each after its reason', () => {
    const text = renderModprobeConf(withPolicy());
    expect(body(text)).toEqual([
      'blacklist nouveau',
      'blacklist snd-hda-codec-hdmi',
      'options netbk nloopbacks=0',
      'options snd-hda-intel model=thinkpad power_save=1',
    ]);
    expect(text).toContain('# rule hdmi-audio\n# second line of the reason\nblacklist snd-hda-codec-hdmi\n');
    expect(text).toContain('# rule t60-audio\noptions snd-hda-intel');
  });

  it('reads back the same with our modprobe.d parser', () => {
    const text = renderModprobeConf(withPolicy());
    const config = parseModprobeConfig([{ path: '/etc/modprobe.d/autoconfig.conf', text }]);
    expect([...config.blacklist.keys()].sort()).toEqual(['nouveau', 'snd_hda_codec_hdmi']);
    expect(config.options.map((o) => [o.module, o.options])).toEqual([
      ['netbk', 'nloopbacks=0'],
      ['snd_hda_intel', 'model=thinkpad power_save=1'],
    ]);
  });

  it('refuses options with a line break, which would start another command', () => {
    const p = t60Plan();
    p.dom0.modules = [{ name: 'e1000e', options: 'a=1\ninstall e1000e /bin/sh', reason: 'r', optional: null }];
    expect(() => renderModprobeConf(p)).toThrow(expect.objectContaining({ code: 'E_PARSE', path: 'e1000e' }));
  });

  it.each(['nouveau driver', 'a\nb', ''])('refuses the blacklisted name %j', (name) => {
    const p = t60Plan();
    p.dom0.blacklist = [{ name, reason: 'r' }];
    expect(() => renderModprobeConf(p)).toThrow(expect.objectContaining({ code: 'E_PARSE' }));
  });

  it('says "(none)" with no blacklist and no options', () => {
    expect(renderModprobeConf(t60Plan())).toMatch(/# \(none\)\n$/);
  });
});

describe('kmod reads the modprobe.d file', () => {
  let dirs = 0;
  /** kmod reads a directory as it reads /etc/modprobe.d: every *.conf file in it. */
  function showconfig(text: string) {
    const dir = join(tmp.dir, `modprobe.d-${dirs++}`);
    mkdirSync(dir);
    writeFileSync(join(dir, 'autoconfig.conf'), text);
    return run([modprobe!, '-C', dir, '--showconfig']);
  }

  it.skipIf(modprobe === null)(`kmod reports a bad line, so its silence below means something${kmodNote}`, () => {
    assertTool(modprobe);
    expect(showconfig('blacklist\noptions\n').stderr).toMatch(/ignoring bad line/);
  });

  it.skipIf(modprobe === null)(`takes every line and shows our blacklist and options lines (module names as kmod writes them)${kmodNote}`, () => {
    assertTool(modprobe);
    const r = showconfig(renderModprobeConf(withPolicy()));
    expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: '' });
    const lines = r.stdout.split('\n');
    expect(lines).toContain('blacklist nouveau');
    expect(lines).toContain('blacklist snd_hda_codec_hdmi');
    expect(lines).toContain('options netbk nloopbacks=0');
    expect(lines).toContain('options snd_hda_intel model=thinkpad power_save=1');
  });

  it.skipIf(modprobe === null).each(fixtureNames().flatMap((f) => ['3.0.2', '4.17'].map((x) => [f, x] as const)))(
    `takes the file of %s on Xen %s without a bad line${kmodNote}`,
    async (fixture, xen) => {
      assertTool(modprobe);
      const p = await planFor(fixture, xen);
      const r = showconfig(renderModprobeConf(p));
      expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: '' });
      const lines = r.stdout.split('\n');
      for (const b of p.dom0.blacklist) expect(lines).toContain(`blacklist ${b.name.replace(/-/g, '_')}`);
    },
  );
});

// passthrough= (plan.ts passthroughModules): the backend's own hide= option and a softdep per driver of a hidden
// device, as a real plan makes them, read by kmod: --showconfig, and `modprobe -n -v` (dry run) over Debian 12's
// 6.1 module indexes (data/kernel/6.1.0-56-amd64, the Xen 4.17 Dom0's kernel), which must insert xen-pciback with
// its hide= before the device's driver.
describe('passthrough=: options and softdep lines, as kmod loads them', () => {
  async function passthroughPlan(fixture: string, xen: string, cmdline: string): Promise<Plan> {
    const { fs, sync, root } = loadFixture(fixture);
    sync.writeFileSync(`${root}/proc/cmdline`, `${cmdline}\n`);
    const d = await decide({ fs, root, xen });
    return plan({ profile: d.profile, drivers: d.drivers.devices, target: d.target, outcome: d.outcome });
  }
  let n = 0;
  function confDir(text: string): string {
    const dir = join(tmp.dir, `passthrough-${n++}`);
    mkdirSync(dir);
    writeFileSync(join(dir, 'autoconfig.conf'), text);
    return dir;
  }
  const release = '6.1.0-56-amd64';
  /** A -d root with the shipped indexes of Debian 12's kernel (no .ko files: a dry run opens none). */
  function kmodRoot(): string {
    const dir = join(tmp.dir, 'kmod-root', 'lib', 'modules', release);
    mkdirSync(dir, { recursive: true });
    const src = join(repoRoot, 'data', 'kernel', release);
    for (const f of readdirSync(src).filter((f) => f.startsWith('modules.'))) copyFileSync(join(src, f), join(dir, f));
    return join(tmp.dir, 'kmod-root');
  }

  it('renders the softdep lines after the options lines, each after its reason; refuses a bad module name', () => {
    const p = t60Plan();
    p.dom0.modules = [{ name: 'pciback', options: 'hide=(0000:02:00.0)', reason: 'rule r; hide=: passthrough', optional: null }];
    p.dom0.softdeps = [{ module: 'e1000e', pre: ['pciback'], reason: 'cheatcode:passthrough=02:00.0: first' }];
    const text = renderModprobeConf(p);
    expect(body(text)).toEqual(['options pciback hide=(0000:02:00.0)', 'softdep e1000e pre: pciback']);
    expect(text).toContain('# cheatcode:passthrough=02:00.0: first\nsoftdep e1000e pre: pciback\n');
    p.dom0.softdeps = [{ module: 'e1000e', pre: ['pciback; reboot'], reason: 'r' }];
    expect(() => renderModprobeConf(p)).toThrow(expect.objectContaining({ code: 'E_PARSE', path: 'pciback; reboot' }));
  });

  it('our modprobe.d parser reads the softdep back', async () => {
    const p = await passthroughPlan('amd-apu-laptop', '4.17', 'passthrough=01:00.0');
    const config = parseModprobeConfig([{ path: '/etc/modprobe.d/autoconfig.conf', text: renderModprobeConf(p) }]);
    expect(config.options.map((o) => [o.module, o.options])).toEqual([['xen_pciback', 'hide=(0000:01:00.0)']]);
    expect(config.softdeps.map((d) => [d.module, d.pre])).toEqual([['r8169', ['xen-pciback']]]);
  });

  it.skipIf(modprobe === null)(`kmod shows the options and softdep lines of the ProBook's RTL8111 (01:00.0)${kmodNote}`, async () => {
    assertTool(modprobe);
    const p = await passthroughPlan('amd-apu-laptop', '4.17', 'passthrough=01:00.0');
    const r = run([modprobe, '-C', confDir(renderModprobeConf(p)), '--showconfig']);
    expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: '' });
    const lines = r.stdout.split('\n');
    expect(lines).toContain('options xen_pciback hide=(0000:01:00.0)');
    expect(lines).toContain('softdep r8169 pre: xen-pciback');
  });

  it.skipIf(modprobe === null)(`modprobe -n -v r8169 inserts xen-pciback with hide= first${kmodNote}`, async () => {
    assertTool(modprobe);
    const p = await passthroughPlan('amd-apu-laptop', '4.17', 'passthrough=01:00.0');
    const r = run([modprobe, '-d', kmodRoot(), '-S', release, '-C', confDir(renderModprobeConf(p)), '-n', '-v', 'r8169']);
    expect(r.status).toBe(0);
    // Only insmod lines count; r8169's own dependencies (libphy, ...) are reported missing on stderr, as the tree has
    // no .ko files for kmod to read their dependency lines against.
    const inserts = r.stdout.split('\n').filter((l) => l.startsWith('insmod '));
    expect(inserts[0]).toMatch(/\/kernel\/drivers\/xen\/xen-pciback\/xen-pciback\.ko hide=\(0000:01:00\.0\) *$/);
    expect(inserts.at(-1)).toMatch(/\/r8169\.ko *$/);
  });

  it.skipIf(modprobe === null)(`the Radeon HD 4850 and its two candidate drivers: both wait for xen-pciback${kmodNote}`, async () => {
    assertTool(modprobe);
    const p = await passthroughPlan('desktop-amd-gpu', '4.17', 'passthrough=01:00.0');
    const dir = confDir(renderModprobeConf(p));
    for (const driver of ['radeon', 'amdgpu']) {
      const r = run([modprobe, '-d', kmodRoot(), '-S', release, '-C', dir, '-n', '-v', driver]);
      expect(r.status, driver).toBe(0);
      const inserts = r.stdout.split('\n').filter((l) => l.startsWith('insmod '));
      expect(inserts[0], driver).toMatch(/xen-pciback\.ko hide=\(0000:01:00\.0\) *$/);
      expect(inserts.at(-1), driver).toMatch(new RegExp(`/${driver}\\.ko *$`));
    }
  });
});

// The module lists, and the modprobe.d file read by kmod itself (`modprobe -C DIR --showconfig`, kmod 30): kmod
// must take every line we write, report none as bad, and show our blacklist and options lines.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { renderModprobeConf, renderModulesLoad } from '../../src/emit/modules.ts';
import { parseModprobeConfig } from '../../src/modalias/modprobe-d.ts';
import type { Plan } from '../../src/plan/types.ts';
import { fixtureNames } from '../_support/memfs.ts';
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

// menu.lst, checked with GRUB's own reader of it: grub-menulst2cfg (grub-common) converts a GRUB legacy menu with
// GRUB 2's legacy parser (what `legacy_configfile` runs when GRUB 2 boots such a medium), and grub-script-check
// parses what it makes.
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { defaultEntryIndex, renderMenuLst } from '../../src/emit/grub-legacy.ts';
import { grubQuote } from '../../src/emit/grub2.ts';
import type { GrubEntry, Plan } from '../../src/plan/types.ts';
import { fixtureNames } from '../_support/memfs.ts';
import { planFor, t60Plan } from './_plans.ts';
import { assertTool, findTool, run, scratch, skipNote } from './_tools.ts';

const menulst2cfg = findTool('grub-menulst2cfg');
const grubScriptCheck = findTool('grub-script-check');
const haveTools = menulst2cfg !== null && grubScriptCheck !== null;
const toolsNote = skipNote(haveTools ? 'found' : null, 'grub-menulst2cfg or grub-script-check', 'grub-common');
const tmp = scratch('menulst');
afterAll(() => tmp.remove());
let n = 0;

/** grub-menulst2cfg's conversion of `menuLst`, and grub-script-check's verdict on it. */
function convert(menuLst: string) {
  const input = tmp.file(`menu-${n}.lst`, menuLst);
  const output = `${tmp.dir}/grub-${n++}.cfg`;
  const conv = run([menulst2cfg!, input, output]);
  expect({ status: conv.status, stderr: conv.stderr }).toEqual({ status: 0, stderr: '' });
  const check = run([grubScriptCheck!, output]);
  return { cfg: readFileSync(output, 'utf8'), check };
}

/** GRUB 2's legacy commands for one entry: the legacy parser splits at blanks and quotes each word, file name twice. */
function legacyLines(entry: GrubEntry): string[] {
  const line = (command: string, file: string, args: string) =>
    [command, grubQuote(file), grubQuote(file), ...args.split(/\s+/).filter((w) => w !== '').map(grubQuote)].join(' ');
  if (entry.xen) {
    return [
      line('legacy_kernel  ', entry.hypervisor!, entry.xenOptions),
      line('legacy_initrd', entry.kernel, entry.kernelOptions),
      ...(entry.initrd === '' ? [] : [line('legacy_initrd', entry.initrd, '')]),
    ];
  }
  return [
    line('legacy_kernel  ', entry.kernel, entry.kernelOptions),
    ...(entry.initrd === '' ? [] : [line('legacy_initrd', entry.initrd, '')]),
  ];
}

/** The menuentry blocks of a converted grub.cfg: title and the command lines inside, trimmed. */
function menuEntries(cfg: string): { title: string; lines: string[] }[] {
  return [...cfg.matchAll(/^menuentry '((?:[^']|'\\'')*)' \{\n([\s\S]*?)^\}$/gm)].map((m) => ({
    title: m[1]!.replaceAll(`'\\''`, "'"),
    lines: m[2]!.split('\n').map((l) => l.trim()).filter((l) => l !== ''),
  }));
}

const withEntries = (p: Plan, entries: GrubEntry[]): Plan => ({ ...p, grub: { ...p.grub, entries } });
const body = (text: string) => text.replace(/^(#.*\n)+\n/, '');

describe('renderMenuLst', () => {
  it('writes the 2006 shape: kernel = hypervisor + Xen options, module = Dom0 kernel, module = initrd', () => {
    const p = t60Plan();
    p.grub.entries[0]!.kernelOptions = 'lang=de nomce';
    expect(body(renderMenuLst(p))).toBe(
      [
        'default 0',
        'timeout 10',
        '',
        'title Xenoppix (Xen 3.0.2, x86_32)',
        'kernel /boot/x86_32/xen.gz dom0_mem=524288',
        'module /boot/x86_32/vmlinuz lang=de nomce',
        'module /boot/x86_32/initrd.gz',
        '',
        'title Xenoppix (x86_32, without Xen)',
        'kernel /boot/x86_32/vmlinuz',
        'initrd /boot/x86_32/initrd.gz',
        '',
      ].join('\n'),
    );
  });

  it('starts with the generated-by comment', () => {
    expect(renderMenuLst(t60Plan())).toMatch(/^# Written by xenoppix-autoconfig: `autoconfig explain` tells why/);
  });

  it('makes the entry marked default the default, counting from 0', () => {
    const p = t60Plan();
    const [xen, plain] = p.grub.entries as [GrubEntry, GrubEntry];
    const moved = withEntries(p, [xen, { ...plain, default: true }].map((e, i) => ({ ...e, default: i === 1 })));
    expect(renderMenuLst(moved)).toMatch(/^default 1$/m);
    expect(defaultEntryIndex([{ ...xen, default: false }])).toBe(0);
  });

  it('passes options verbatim (GRUB legacy does not quote), leaving no trailing space when there are none', () => {
    const p = t60Plan();
    p.grub.entries[0]!.xenOptions = 'cpufreq=hwp;xen acpi_osi="Windows 2009" $x';
    const text = renderMenuLst(p);
    expect(text).toContain('\nkernel /boot/x86_32/xen.gz cpufreq=hwp;xen acpi_osi="Windows 2009" $x\n');
    expect(text).not.toMatch(/ \n/);
  });

  it('drops the initrd line when the entry has none', () => {
    const p = t60Plan();
    p.grub.entries[0]!.initrd = '';
    expect(renderMenuLst(p)).not.toContain('module /boot/x86_32/initrd.gz');
  });

  it.each([
    ['a title with a line break', { title: 'Xen\ndefault 1' }, /title .* control character/],
    ['options with a line break', { xenOptions: 'a\ntitle evil' }, /kernel options .* control character/],
    ['a relative path', { kernel: 'boot/vmlinuz' }, /not an absolute path/],
    ['a path with a space', { initrd: '/boot/my initrd.gz' }, /not an absolute path/],
    ['a Xen entry without hypervisor', { hypervisor: null }, /Xen entry without a hypervisor/],
  ])('refuses %s', (_what, change, message) => {
    const p = t60Plan();
    Object.assign(p.grub.entries[0]!, change);
    expect(() => renderMenuLst(p)).toThrow(
      expect.objectContaining({ code: 'E_PARSE', message: expect.stringMatching(message) }),
    );
  });

  it('refuses a plan without entries', () => {
    expect(() => renderMenuLst(withEntries(t60Plan(), []))).toThrow(/no boot entries/);
  });

  it("the T60 on Xen 3.0.2 (real plan): 32-bit entries only, Dom0 memory in 3.0.2's KiB syntax", async () => {
    const text = renderMenuLst(await planFor('thinkpad-t60', '3.0.2'));
    expect(text).toMatch(/^default 0$/m);
    expect(text).toContain('\nkernel /boot/x86_32/xen.gz dom0_mem=524288\nmodule /boot/x86_32/vmlinuz-xen\nmodule /boot/x86_32/initrd-xen.gz\n');
    expect(text).not.toContain('x86_64');
  });
});

// Every target whose plan has a menu.lst (GRUB legacy: Xen 3.x): 3.0.2 (plain dom0_mem sizes), 3.0.3, 3.4 (3.x).
const LEGACY_TARGETS = ['3.0.2', '3.0.3', '3.4'];
const rows = fixtureNames().flatMap((f) => LEGACY_TARGETS.map((x) => [f, x] as const));

describe('grub-menulst2cfg (GRUB 2\'s legacy parser) reads every menu.lst we write', () => {
  it.skipIf(!haveTools)(`the oracle means something: an indented kernel line is "Unsupported", an entry without commands fails grub-script-check${toolsNote}`, () => {
    assertTool(menulst2cfg); assertTool(grubScriptCheck);
    const text = renderMenuLst(t60Plan());
    const indented = convert(text.replace(/^(kernel|module|initrd) /gm, '  $1 '));
    expect(indented.cfg).toContain('# Unsupported legacy command:   kernel /boot/x86_32/xen.gz');
    expect(indented.check.status).not.toBe(0);
    expect(convert(text).check).toMatchObject({ status: 0, stderr: '' });
  });

  it.skipIf(!haveTools).each(rows)(`%s on Xen %s: every entry converted with its kernel and module lines, and grub-script-check accepts it${toolsNote}`, async (fixture, xen) => {
    assertTool(menulst2cfg); assertTool(grubScriptCheck);
    const p = await planFor(fixture, xen);
    expect(p.grub.flavor).toBe('legacy');
    const text = renderMenuLst(p);
    const { cfg, check } = convert(text);
    expect({ status: check.status, stderr: check.stderr }).toEqual({ status: 0, stderr: '' });
    expect(cfg).not.toContain('Unsupported legacy command');
    const entries = menuEntries(cfg);
    expect(entries.length).toBe([...text.matchAll(/^title /gm)].length);
    expect(entries).toEqual(p.grub.entries.map((e) => ({ title: e.title, lines: legacyLines(e) })));
    expect(cfg).toMatch(new RegExp(`^set default='${defaultEntryIndex(p.grub.entries)}';`, 'm'));
    expect(cfg).toMatch(/^set timeout=10$/m);
  });

  it.skipIf(!haveTools)(`hostile titles and options stay inside their entry${toolsNote}`, () => {
    assertTool(menulst2cfg); assertTool(grubScriptCheck);
    const p = t60Plan();
    p.grub.entries = p.grub.entries.map((e) => ({
      ...e,
      title: `${e.title} it's $(reboot) "q" ; {x}`,
      kernelOptions: 'acpi_osi="Windows 2009" a={b} #c $x `halt`',
    }));
    p.grub.entries[0]!.xenOptions = 'cpufreq=hwp;xen dom0_mem=524288';
    const { cfg, check } = convert(renderMenuLst(p));
    expect({ status: check.status, stderr: check.stderr }).toEqual({ status: 0, stderr: '' });
    expect(menuEntries(cfg)).toEqual(p.grub.entries.map((e) => ({ title: e.title, lines: legacyLines(e) })));
  });
});

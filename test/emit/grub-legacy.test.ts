import { describe, expect, it } from 'vitest';
import { defaultEntryIndex, renderMenuLst } from '../../src/emit/grub-legacy.ts';
import type { GrubEntry, Plan } from '../../src/plan/types.ts';
import { planFor, t60Plan } from './_plans.ts';

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
        '  kernel /boot/x86_32/xen.gz dom0_mem=524288',
        '  module /boot/x86_32/vmlinuz lang=de nomce',
        '  module /boot/x86_32/initrd.gz',
        '',
        'title Xenoppix (x86_32, without Xen)',
        '  kernel /boot/x86_32/vmlinuz',
        '  initrd /boot/x86_32/initrd.gz',
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
    expect(text).toContain('  kernel /boot/x86_32/xen.gz cpufreq=hwp;xen acpi_osi="Windows 2009" $x\n');
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
    expect(text).toContain('  kernel /boot/x86_32/xen.gz dom0_mem=524288\n  module /boot/x86_32/vmlinuz-xen\n  module /boot/x86_32/initrd-xen.gz\n');
    expect(text).not.toContain('x86_64');
  });
});

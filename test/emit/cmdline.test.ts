import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { splitCmdline } from '../../src/cmdline.ts';
import { renderCmdline, renderOption } from '../../src/emit/cmdline.ts';
import { parseCheatcodes } from '../../src/rules/cheatcodes.ts';
import type { BootOption } from '../../src/rules/types.ts';

const opt = (name: string, value: string | null = null): BootOption => ({ name, value, rule: 'test-rule' });

/** What the kernel hands to its parameter parser: next_arg()'s name and value for each token. */
const parsedBack = (line: string) => parseCheatcodes(splitCmdline(line)).map(({ name, value }) => ({ name, value }));

describe('renderCmdline', () => {
  it('writes flags bare and values after "=", in order, one space apart', () => {
    // Options the shipped rules decide (xen.md §1.2/§6): sizes with min/max, lists, dotted module parameters.
    const options = [
      opt('dom0_mem', '1024M,max:1024M'),
      opt('noreboot'),
      opt('iommu', 'no-igfx'),
      opt('console', 'com1,vga'),
      opt('xen-pciback.hide', '(0000:01:00.0)(0000:01:00.1)'),
    ];
    expect(renderCmdline(options)).toBe(
      'dom0_mem=1024M,max:1024M noreboot iommu=no-igfx console=com1,vga xen-pciback.hide=(0000:01:00.0)(0000:01:00.1)',
    );
  });

  it('gives the empty string for no options', () => {
    expect(renderCmdline([])).toBe('');
  });

  it.each([
    [opt('acpi_osi', 'Windows 2009'), 'acpi_osi="Windows 2009"'],
    [opt('root', ''), 'root='],
    [opt('cpufreq', 'hwp;xen'), 'cpufreq=hwp;xen'],
    [opt('rd.driver.blacklist', 'nouveau'), 'rd.driver.blacklist=nouveau'],
    [opt('init', '/bin/sh -c x=1'), 'init="/bin/sh -c x=1"'],
  ])('%j -> %s', (option, token) => {
    expect(renderOption(option)).toBe(token);
  });

  it('splits back into the same names and values the way the kernel does', () => {
    const options = [
      opt('acpi_osi', 'Windows 2009'),
      opt('quiet'),
      opt('root', ''),
      opt('init', '/bin/sh -c x=1'),
      opt('a', 'b=c'),
    ];
    expect(parsedBack(renderCmdline(options))).toEqual(options.map(({ name, value }) => ({ name, value })));
  });

  it('round-trips any option it accepts (property)', () => {
    const nameChar = fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789_.-,:/'.split(''));
    const valueChar = fc.constantFrom(...'abcXYZ019 _.-,:;=/()$`\'!*[]{}<>|&\\'.split(''));
    const option = fc.record({
      name: fc.string({ unit: nameChar, minLength: 1, maxLength: 12 }).filter((n) => n !== '--'),
      value: fc.option(fc.string({ unit: valueChar, maxLength: 16 }), { nil: null }),
    });
    fc.assert(
      fc.property(fc.array(option, { maxLength: 8 }), (options) => {
        const line = renderCmdline(options.map((o) => opt(o.name, o.value)));
        expect(parsedBack(line)).toEqual(options);
      }),
    );
  });

  it.each([
    [opt('a', 'say "hi"'), /holds a '"'/],
    [opt('a', 'x\ny'), /not printable ASCII/],
    [opt('a', 'caf\u00e9'), /not printable ASCII/],
    [opt('a', 'tab\there'), /not printable ASCII/],
    [opt('a=b'), /a name is printable ASCII/],
    [opt('a b'), /a name is printable ASCII/],
    [opt('"a'), /a name is printable ASCII/],
    [opt(''), /empty name/],
    [opt('--'), /would end the kernel's parameters/],
  ])('refuses %j, naming the option and its rule', (option, message) => {
    expect(() => renderOption(option)).toThrow(
      expect.objectContaining({ code: 'E_PARSE', path: option.name, message: expect.stringMatching(message) }),
    );
    expect(() => renderOption(option)).toThrow(/rule test-rule/);
  });
});

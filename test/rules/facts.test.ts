// The built-in facts: the same list as the manual, with the types lint enforces.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BUILTIN_FACTS, builtinFact, FACT_NAME, factValueProblem, fillPlaceholders, placeholdersIn, truthy } from '../../src/rules/facts.ts';
import { repoRoot } from '../_support/memfs.ts';

describe('built-in facts', () => {
  it('are exactly the facts docs/rules.md lists under "Built-in facts"', () => {
    const doc = readFileSync(join(repoRoot, 'docs', 'rules.md'), 'utf8');
    const section = doc.slice(doc.indexOf('## Built-in facts'), doc.indexOf('## Lint'));
    const paragraph = section.slice(0, section.search(/Others must be\s+declared/));
    // Backticked names, without the quoted values ("vmx"/"svm", "x86_64"/"x86_32", "efi"/"bios").
    const named = [...paragraph.matchAll(/`([^`]+)`/g)].map((m) => m[1]!).filter((n) => FACT_NAME.test(n) && !['vmx', 'svm', 'x86_64', 'x86_32', 'efi', 'bios'].includes(n));
    expect(BUILTIN_FACTS.map((f) => f.name).sort()).toEqual(named.sort());
  });

  it('have the value sets the manual gives', () => {
    expect(builtinFact('hvm.technology')?.values).toEqual(['vmx', 'svm']);
    expect(builtinFact('arch.xen')?.values).toEqual(['x86_64', 'x86_32']);
    expect(builtinFact('arch.dom0')?.values).toEqual(['x86_64', 'x86_32']);
    expect(builtinFact('grub.variant')?.values).toEqual(['efi', 'bios']);
    expect(builtinFact('safe')?.type).toBe('boolean');
    expect(builtinFact('quirks.igfx')).toBeUndefined();
  });

  it.each([
    ['boolean', undefined, true, null],
    ['boolean', undefined, null, null],
    ['boolean', undefined, 'yes', 'a boolean is expected, not string "yes"'],
    ['number', undefined, 2, null],
    ['string', ['vmx', 'svm'], 'svm', null],
    ['string', ['vmx', 'svm'], 'vt-x', 'one of vmx, svm is expected, not "vt-x"'],
    ['string', undefined, 64, 'a string is expected, not number 64'],
  ] as const)('factValueProblem(%s, %j, %j)', (type, values, value, problem) => {
    expect(factValueProblem(type, values, value)).toBe(problem);
  });

  it('reads truthiness as a fact condition does', () => {
    expect([true, 1, 'x', 'false'].map(truthy)).toEqual([true, true, true, true]);
    expect([false, 0, '', null, undefined].map(truthy)).toEqual([false, false, false, false, false]);
  });

  it('names facts with dotted words', () => {
    for (const ok of ['safe', 'hvm.available', 'guests.64bit', 'quirks.igfx_2', 'a-b.c']) expect(FACT_NAME.test(ok)).toBe(true);
    for (const bad of ['', '.x', 'x.', 'x..y', 'a b', 'x=1', '-x']) expect(FACT_NAME.test(bad)).toBe(false);
  });
});

describe('placeholders in fact values', () => {
  it('are {word} in a string, each name once', () => {
    expect(placeholdersIn('{slot}')).toEqual(['slot']);
    expect(placeholdersIn('at {slot}, again {slot}, {bus_2}')).toEqual(['slot', 'bus_2']);
    expect(placeholdersIn('no { slot } here, {} nor {0x}')).toEqual([]);
    expect([true, 3, null].map(placeholdersIn)).toEqual([[], [], []]);
  });

  it('are filled by name; an unknown one stays as written', () => {
    expect(fillPlaceholders('{slot}', { slot: '0000:05:00.0' })).toBe('0000:05:00.0');
    expect(fillPlaceholders('gpu {slot} / {slot} / {bus}', { slot: '0000:00:02.0' })).toBe('gpu 0000:00:02.0 / 0000:00:02.0 / {bus}');
  });
});

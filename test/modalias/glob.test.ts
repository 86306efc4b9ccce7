import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { fnmatch, literalPrefixLength, moduleName, normalizeAlias, toByteString, underscores } from '../../src/modalias/glob.ts';
import { loadKernelData } from '../../src/modalias/kernel-data.ts';
import { parseModprobeConfig } from '../../src/modalias/modprobe-d.ts';
import { lookupModules } from '../../src/modalias/resolve.ts';
import { kmodTree, modprobeResolve, writeTree } from './_kmod.ts';

describe('fnmatch (glibc, flags 0)', () => {
  // Each answer was checked against glibc's fnmatch() on Debian 12 (through ctypes) while writing this.
  it.each([
    ['pci:v00008086d000010D3sv*sd*bc*sc*i*', 'pci:v00008086d000010D3sv00008086sd0000A01Fbc02sc00i00', true],
    ['usb:v0D96p410Ad[1-9]*dc*dsc*dp*ic*isc*ip*in*', 'usb:v0D96p410Ad0100dc00dsc00dp00ic08isc06ip50in00', false],
    ['usb:v0D96p410Ad[1-9]*dc*dsc*dp*ic*isc*ip*in*', 'usb:v0D96p410Ad1100dc00dsc00dp00ic08isc06ip50in00', true],
    ['dmi:*:[bs]vnD[Ee][Ll][Ll]*:*', 'dmi:bvnDell Inc.:bvr1.2:svnDell Inc.:', true],
    ['[ab', 'a', false], // unterminated: the `[` is literal, whatever matched inside
    ['[ab', '[ab', true], // unterminated, nothing matched: the `[` is literal
    ['[a-', '[', false], // a range without its end
    ['x[!', 'x[!', true],
    ['[]', '[]', true],
    ['[]a]', ']', true], // a leading `]` is a member
    ['[!]]', 'a', true],
    ['[^a]x', 'bx', true], // `^` negates like `!` without POSIXLY_CORRECT
    ['[a\\]]', 'a]', false],
    ['[[:alpha:]]', 'q', true],
    ['[[:alpha]', '[', true],
    ['[[:foo:]]', 'f', false], // unknown class
    ['[z-a]', 'm', false],
    ['[a-]', '-', true],
    ['[\\', '[', false],
    ['a*\\', 'ab\\', false], // trailing backslash loses
    ['a\\*b', 'a*b', true],
    ['a\\*b', 'axb', false],
    ['[--0]', '.', true],
    ['[[:alpha:]-z]', '-', true],
    ['*[[:alpha', 'q[[:alpha', true],
    ['[a-c-e]', 'd', false],
    ['[a-c-e]', '-', true],
    ['[1^[[:alpha:][:digit:]', '[', false],
    ['*', '', true],
    ['?', '', false],
    ['a*/b', 'a/x/b', true], // no FNM_PATHNAME
    ['PCI:*', 'pci:v', false], // case-sensitive
  ])('%j on %j is %s', (pattern, text, expected) => {
    expect(fnmatch(pattern, text)).toBe(expected);
  });
});

describe('normalization', () => {
  it('turns - into _ outside brackets and rejects unmatched brackets, as alias_normalize()', () => {
    expect(normalizeAlias('xen-backend:vbd')).toBe('xen_backend:vbd');
    expect(normalizeAlias('usb:v0D96p410Ad[1-9]*')).toBe('usb:v0D96p410Ad[1-9]*');
    expect(normalizeAlias('a-[b-c]-d')).toBe('a_[b-c]_d');
    expect(normalizeAlias('a[b')).toBeNull();
    expect(normalizeAlias('a]b')).toBeNull();
    expect(normalizeAlias('[]a]')).toBeNull(); // kmod copies up to the first `]`, then meets a lone one
    expect(normalizeAlias('ab\0cd')).toBe('ab');
    expect(normalizeAlias('x'.repeat(5000))).toHaveLength(4095);
  });

  it('normalizes modprobe.d names like aliases, and module names from paths', () => {
    expect(underscores('snd-pcsp')).toBe('snd_pcsp');
    expect(underscores('a[x-y]b-c')).toBe('a[x-y]b_c');
    expect(underscores('a[x-y')).toBeNull();
    expect(underscores('a]')).toBeNull();
    expect(moduleName('kernel/drivers/net/ethernet/intel/e1000e/e1000e.ko')).toBe('e1000e');
    expect(moduleName('kernel/arch/x86/crypto/crc32c-intel.ko.xz')).toBe('crc32c_intel');
    expect(literalPrefixLength('pci:v00008086d*sv*')).toBe(14);
    expect(literalPrefixLength('acpi*:PNP0A03:*')).toBe(4);
    expect(literalPrefixLength('xen:vfb')).toBe(7);
    expect(toByteString('é')).toBe('\xc3\xa9');
  });
});

// The whole chain (modprobe.d parsing, underscores(), alias normalization, fnmatch) against the real kmod: one
// config file of random alias wildcards, random queries, `modprobe -R` for each.
describe('against modprobe: modprobe.d alias wildcards', async () => {
  const tree = await kmodTree();
  const tmp = mkdtempSync(join(tmpdir(), 'glob-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it.skipIf(typeof tree === 'string')(`random wildcards and queries give modprobe's answers${typeof tree === 'string' ? ` (skipped: ${tree})` : ''}`, async () => {
    if (typeof tree === 'string') return;
    const pieces = ['a', 'b', '-', '_', '*', '?', '[', ']', '!', '^', ':', '[a-b]', '[!a]', '[[:alpha:]]', '\\'];
    const word = (min: number, parts: string[]) =>
      fc.array(fc.constantFrom(...parts), { minLength: min, maxLength: 6 }).map((p) => p.join(''));
    const rnd = fc.sample(fc.tuple(fc.array(word(1, pieces), { minLength: 150, maxLength: 150 }), fc.array(word(0, ['a', 'b', '-', '_', '[', ']', '!', ':', '^', '?']), { minLength: 300, maxLength: 300 })), { numRuns: 1, seed: 20250 })[0]!;
    const [patterns, queries] = rnd;
    // A leading `#` would make a comment, on both sides; keep lines meaningful.
    const lines = patterns.map((p, i) => `alias ${p} m${i}`);
    writeTree(tmp, { 'conf/test.conf': lines.join('\n') + '\n' });
    const kernel = await loadKernelData({ kernelDir: tree.dir });
    const config = parseModprobeConfig([{ path: join(tmp, 'conf/test.conf'), text: lines.join('\n') + '\n' }]);
    const ours = queries.map((q) => lookupModules({ kernel, config }, q).modules);
    const theirs = await modprobeResolve(tree, queries, [join(tmp, 'conf')]);
    const differ = queries.filter((_, i) => JSON.stringify(ours[i]) !== JSON.stringify(theirs[i]));
    expect(differ.map((q) => ({ q, ours: ours[queries.indexOf(q)], theirs: theirs[queries.indexOf(q)] })).slice(0, 5)).toEqual([]);
    // The sample must exercise matching, not only misses.
    expect(ours.filter((m) => m.length > 0).length).toBeGreaterThan(50);
  }, 120_000);
});


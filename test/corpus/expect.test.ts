// expect.yaml: every fixture has one and it holds (corpus check over fixtures/, what CI runs); a mutated real file
// is refused naming file:line; a wrong expectation names machine, target, key, expected and got.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { checkCorpus, type CheckResult } from '../../src/corpus/check.ts';
import { hasOption, parseExpect } from '../../src/corpus/expect.ts';
import { fixtureNames, fixturesDir } from '../_support/memfs.ts';
import { copyFixtures } from './_support.ts';

const T60 = join(fixturesDir, 'thinkpad-t60', 'expect.yaml');
const t60Text = () => readFileSync(T60, 'utf8');

describe('corpus check over fixtures/', () => {
  let result: CheckResult;
  beforeAll(async () => {
    result = await checkCorpus([fixturesDir]);
  }, 600_000);

  it('every fixture has an expect.yaml and is checked at the targets it names', () => {
    expect(result.unchecked).toEqual([]);
    expect(result.checked.map((c) => c.machine).sort()).toEqual(fixtureNames());
    for (const c of result.checked) expect(c.expectations).toBeGreaterThan(0);
  });

  it('no mismatch', () => {
    expect(result.mismatches).toEqual([]);
    expect(result.unreadable).toEqual([]);
  });
});

describe('a wrong expectation is a mismatch naming machine, target, key, expected, got', () => {
  it.each([
    // The T60's Core Duo has no lm: claiming long mode must fail at every target the file names.
    ['long_mode: no ', 'long_mode: yes', 'long_mode', 'yes', 'no', 4],
    // The 945GM is Intel integrated graphics: UMA.
    ['uma: yes', 'uma: no ', 'uma', 'no', 'yes', 4],
    // Its wired NIC is e1000e (lspci): an e1000 expectation is not met.
    ['network: [e1000e, ath5k]', 'network: [e1000, ath5k] ', 'network', 'e1000 ath5k chosen', 'e1000e ath5k', 4],
  ])('thinkpad-t60 with "%s" made "%s"', async (from, to, key, expected, got, count) => {
    const dir = copyFixtures(['thinkpad-t60']);
    const file = join(dir, 'thinkpad-t60', 'expect.yaml');
    expect(t60Text()).toContain(from);
    writeFileSync(file, t60Text().replace(from, to));
    const line = t60Text().split('\n').findIndex((l) => l.includes(from)) + 1;
    const r = await checkCorpus([dir]);
    expect(r.mismatches).toHaveLength(count);
    expect(r.mismatches[0]).toEqual({ machine: 'thinkpad-t60', target: '3.0.2', key, expected, got, where: `${file}:${line}` });
  }, 120_000);

  it('an option that must not appear, and does', async () => {
    const dir = copyFixtures(['thinkpad-t60']);
    // At 3.0.2 (the first must_not list) the rules size Dom0 (a fixed size for HVM): forbid dom0_mem there.
    writeFileSync(join(dir, 'thinkpad-t60', 'expect.yaml'), t60Text().replace('must_not: ["dom0_mem=*min:*"', 'must_not: [dom0_mem, "dom0_mem=*min:*"'));
    const r = await checkCorpus([dir]);
    expect(r.mismatches.map((m) => `${m.target} ${m.key} ${m.expected}`)).toEqual(['3.0.2 xen_options dom0_mem absent']);
    expect(r.mismatches[0]!.got).toMatch(/^dom0_mem=\d+$/);
  }, 120_000);
});

describe('a bad expect.yaml is refused with file:line (mutations of the T60 file)', () => {
  it.each([
    ['an unknown key', (t: string) => t.replace('  uma: yes', '  umma: yes'), /unknown key "umma"/],
    ['an unquoted version (YAML makes 4.20 the number 4.2)', (t: string) => t.replace('"4.20":', '4.20:'), /target 4\.2: quote the version/],
    ['a list where a word is wanted', (t: string) => t.replace('long_mode: no ', 'long_mode: [no]'), /long_mode: expected yes \| no \| unknown/],
    ['options that are not must/must_not', (t: string) => t.replace('{ must_not:', '{ mustnt:'), /xen_options: expected \{ must/],
    ['a YAML syntax error', (t: string) => t.replace('every:', 'every: ['), /expect\.yaml:\d+: /],
    ['an unknown top-level key', (t: string) => t.replace('targets:', 'target:'), /unknown top-level key "target"/],
  ])('%s', async (_what, mutate, message) => {
    const text = mutate(t60Text());
    expect(text).not.toBe(t60Text());
    const error = await parseExpect(text, '/x/expect.yaml').then(() => null, (e: unknown) => e);
    expect(error).toMatchObject({ code: 'E_PARSE' });
    expect((error as Error).message).toMatch(/^\/x\/expect\.yaml:\d+: /);
    expect((error as Error).message).toMatch(message);
  });

  it('the line named is the line of the bad key', async () => {
    const text = t60Text().replace('  uma: yes', '  umma: yes');
    const line = text.split('\n').findIndex((l) => l.startsWith('  umma:')) + 1;
    await expect(parseExpect(text, '/x/expect.yaml')).rejects.toThrow(`/x/expect.yaml:${line}: unknown key "umma"`);
  });
});

describe('option matching', () => {
  it.each([
    // Boot lines as the plans write them (xen.md 2.2/2.3 examples).
    ['dom0_mem=262144', 'dom0_mem', true],
    ['dom0_mem=262144', 'dom0_mem=262144', true],
    ['dom0_mem=262144', 'dom0_mem=*max:*', false],
    ['ucode=scan dom0_mem=2048M,max:2048M dom0_max_vcpus=1-4', 'dom0_mem=*max:*', true],
    ['ucode=scan dom0_mem=2048M,max:2048M dom0_max_vcpus=1-4', 'dom0_max_vcpus=*-*', true],
    ['ucode=scan dom0_mem=2048M,max:2048M', 'dom0_max', false],
    ['iommu=no-igfx', 'iommu', true],
    ['', 'iommu', false],
  ])('%s has %s: %s', (cmdline, option, has) => {
    expect(hasOption(cmdline, option)).toBe(has);
  });
});

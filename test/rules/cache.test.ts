// The compiled-rules cache (src/rules/cache.ts): local rules compiled once and kept in the target's
// /var/cache/autoconfig/rules.json. What must hold: a cache gives exactly the result compiling gives (the same
// objects, the same plan); a damaged cache, or one made for other rules, is ignored and said, never used; only a
// run asked to write (--write) writes it, a dry run writes nothing anywhere.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { configure } from '../../src/configure/configure.ts';
import { decide, planDecided } from '../../src/plan/decide.ts';
import type { Plan } from '../../src/plan/types.ts';
import { cachedRuleTexts, parseRulesCache, renderRulesCache, RULES_CACHE_PATH, rulesCacheKey } from '../../src/rules/cache.ts';
import { loadShippedRules } from '../../src/rules/compile.ts';
import { loadRuleTexts, TARGET_RULES_DIR } from '../../src/rules/load.ts';
import { runCli } from '../_support/cli.ts';
import { faultyFs, loadFixture, repoRoot } from '../_support/memfs.ts';

const shippedDir = join(repoRoot, 'data', 'rules');
const shippedTexts = readdirSync(shippedDir)
  .filter((n) => n.endsWith('.yaml'))
  .sort()
  .map((n) => ({ file: `/site/${n}`, text: readFileSync(join(shippedDir, n), 'utf8') }));
// The test rule set's site policy (test/rules/data/90-site.yaml) as a machine's /etc/autoconfig/rules.d would hold
// it, beside a copy of a shipped file with its rule ids renamed (so that it loads after the shipped set).
const siteRules = readFileSync(join(repoRoot, 'test', 'rules', 'data', '90-site.yaml'), 'utf8');
const quirksCopy = readFileSync(join(shippedDir, '60-quirks.yaml'), 'utf8').replace(/\bid: ([\w.-]+)/g, 'id: site-$1').replace(/^  (intel-broadwell-graphics|amd-npu):/gm, '  site-$1:').replace(/list: (intel-broadwell-graphics|amd-npu)\b/g, 'list: site-$1');

describe('the cache file', () => {
  // Every shipped file as local rules (no prior), and the same with a real file made wrong (an unquoted PCI id, a
  // misspelt key): the issues are part of the result and come back as well.
  const sets = [
    ['the shipped files', shippedTexts],
    [
      'the shipped files, two made wrong',
      shippedTexts.map((t) =>
        t.file.endsWith('60-quirks.yaml') ? { ...t, text: t.text.replace('vendor: "8086", device: "a780"', 'vendor: 8086, device: "a780"') } : t.file.endsWith('70-drivers.yaml') ? { ...t, text: t.text.replace('then:', 'than:') } : t,
      ),
    ],
  ] as const;

  it.each(sets)('%s: a round trip through the cache is the identical result', async (_name, texts) => {
    const loaded = await loadRuleTexts(texts);
    if (_name.includes('wrong')) expect(loaded.issues.filter((i) => i.severity === 'error').map((i) => i.code).sort()).toEqual(['bad_hex_id', 'missing_key', 'unknown_key']);
    const key = rulesCacheKey(texts, []);
    const file = renderRulesCache(key, loaded);
    expect(file).not.toBeNull();
    const parsed = parseRulesCache(Buffer.from(file!), key);
    expect(parsed.status).toBe('used');
    expect(parsed.status === 'used' && parsed.loaded).toStrictEqual(loaded);
  });

  it('the key changes with any text, name, order, or the shipped rules; not otherwise', async () => {
    const shipped = (await loadShippedRules()).files;
    const texts = shippedTexts.slice(0, 3);
    const key = rulesCacheKey(texts, shipped);
    expect(rulesCacheKey(texts.map((t) => ({ ...t })), shipped)).toBe(key);
    const variants = [
      texts.map((t, i) => (i === 1 ? { ...t, text: `${t.text}# one more comment\n` } : t)),
      texts.map((t, i) => (i === 1 ? { ...t, file: t.file.replace('.yaml', '.yml') } : t)),
      [texts[1]!, texts[0]!, texts[2]!],
      texts.slice(0, 2),
      // The boundary between a name and its text moved: the same bytes in a row, another input.
      texts.map((t, i) => (i === 0 ? { file: `${t.file}x`, text: t.text.slice(1) } : t)),
    ];
    for (const v of variants) expect(rulesCacheKey(v, shipped)).not.toBe(key);
    expect(rulesCacheKey(texts, shipped.slice(1))).not.toBe(key);
  });

  // A real cache file, damaged in the ways a disk or a person damages one: each is ignored, with why.
  it.each([
    ['cut short', 'damaged', 'its checksum does not match its content', (b: Buffer) => b.subarray(0, b.length >> 1)],
    ['one byte of the body changed', 'damaged', 'its checksum does not match its content', (b: Buffer) => Buffer.from(b).fill(b[b.length - 40]! ^ 1, b.length - 40, b.length - 39)],
    ['emptied', 'damaged', 'no header', () => Buffer.alloc(0)],
    ['another file', 'damaged', 'not a compiled-rules cache', () => readFileSync(join(shippedDir, '10-cpu.yaml'))],
    ['another format', 'stale', 'made for other rule files, shipped rules or autoconfig version', (b: Buffer) => Buffer.from(b.toString('latin1').replace(/^(\S+) 1 /, '$1 2 '), 'latin1')],
    ['another key', 'stale', 'made for other rule files, shipped rules or autoconfig version', (b: Buffer, key: string) => Buffer.from(b.toString('latin1').replace(key, 'f'.repeat(64)), 'latin1')],
  ] as const)('%s: %s (%s)', async (_name, status, why, damage) => {
    const loaded = await loadRuleTexts(shippedTexts.slice(0, 2));
    const key = rulesCacheKey(shippedTexts.slice(0, 2), []);
    const parsed = parseRulesCache(damage(Buffer.from(renderRulesCache(key, loaded)!), key), key);
    expect(parsed).toEqual({ status, why });
  });

  it('a result JSON would not give back exactly is not cached', async () => {
    const loaded = await loadRuleTexts(shippedTexts.slice(0, 1));
    const rule = loaded.files[0]!.rules[0]!;
    for (const odd of [Number.POSITIVE_INFINITY, Number.NaN, -0, undefined]) {
      const changed = { ...loaded, files: [{ ...loaded.files[0]!, rules: [{ ...rule, odd }, ...loaded.files[0]!.rules.slice(1)] }] };
      expect(renderRulesCache('0'.repeat(64), changed)).toBeNull();
    }
  });
});

describe('cachedRuleTexts: read and compile; what to write is handed up, never written here', () => {
  const target = '/machine';
  const texts = [{ file: `${target}${TARGET_RULES_DIR}/90-site.yaml`, text: siteRules }];

  it('compiles once: the file it hands up, once written, is used by the next run, which compiles nothing', async () => {
    const m = loadFixture('thinkpad-t60', target);
    const shipped = (await loadShippedRules()).files;
    let compiles = 0;
    const compile = () => (compiles++, loadRuleTexts(texts, shipped));
    const before = JSON.stringify(m.vol.toJSON());
    const first = await cachedRuleTexts(texts, shipped, { target, fs: m.fs }, compile);
    expect([first.status, first.file?.path, first.note, compiles]).toEqual(['absent', RULES_CACHE_PATH, null, 1]);
    expect(JSON.stringify(m.vol.toJSON())).toBe(before);
    m.sync.mkdirSync(`${target}/var/cache/autoconfig`, { recursive: true });
    m.sync.writeFileSync(`${target}${RULES_CACHE_PATH}`, first.file!.content);
    const next = await cachedRuleTexts(texts, shipped, { target, fs: m.fs }, compile);
    expect([next.status, next.file, next.note, compiles]).toEqual(['used', null, null, 1]);
    expect(next.loaded).toStrictEqual(first.loaded);
  });
});

describe('decide() and --dry-run with a cache: the same plan, a damaged or stale cache ignored and said', () => {
  // A real machine with local rules in its rules.d (the site policy and a renamed copy of the shipped quirks).
  function machine() {
    const m = loadFixture('amd-apu-laptop');
    m.sync.mkdirSync(`${m.root}${TARGET_RULES_DIR}`, { recursive: true });
    m.sync.writeFileSync(`${m.root}${TARGET_RULES_DIR}/60-site-quirks.yml`, quirksCopy);
    m.sync.writeFileSync(`${m.root}${TARGET_RULES_DIR}/90-site.yaml`, siteRules);
    return m;
  }
  const cachePath = (root: string) => `${root}${RULES_CACHE_PATH}`;
  // A run that writes is configure() (what --write runs): it leaves the cache decide() handed up.
  const planOf = async (m: ReturnType<typeof machine>, write = false): Promise<Plan> =>
    write
      ? (await configure({ fs: m.fs, root: m.root, xen: '4.20', write: true, lockTimeoutMs: 1 })).plan
      : planDecided(await decide({ fs: m.fs, root: m.root, xen: '4.20', rulesCache: { target: m.root } }));
  const withoutCacheNotes = (p: Plan) => ({ ...p, notes: p.notes.filter((n) => !n.startsWith('the compiled-rules cache')) });

  it('without a cache, writing it, and reading it: the same plan, byte for byte; only the write writes', async () => {
    const m = machine();
    const before = JSON.stringify(m.vol.toJSON());
    const uncached = await planOf(m);
    expect(JSON.stringify(m.vol.toJSON())).toBe(before);
    expect(uncached.decisions.some((d) => d.rule === 'site-x2apic-off-amd-without-mixed-mode' || d.rule === 'dom0-default')).toBe(true);
    const writing = await planOf(m, true);
    expect(m.sync.existsSync(cachePath(m.root))).toBe(true);
    const cached = await planOf(m);
    // (the write's plan is configure()'s, with device names: compared as the CLI's in test/configure)
    expect(writing.decisions).toEqual(uncached.decisions);
    expect(JSON.stringify(cached)).toBe(JSON.stringify(uncached));
  });

  it.each([
    ['a damaged cache', (m: ReturnType<typeof machine>) => m.sync.writeFileSync(cachePath(m.root), (m.sync.readFileSync(cachePath(m.root), 'utf8') as string).replace('"dom0-default"', '"dom0-defaulz"')), /is ignored \(its checksum does not match its content\)/],
    ['a cache of other rules', (m: ReturnType<typeof machine>) => m.sync.appendFileSync(`${m.root}${TARGET_RULES_DIR}/90-site.yaml`, '# edited\n'), /is ignored \(made for other rule files, shipped rules or autoconfig version\)/],
  ] as const)('%s is ignored, said in a note, and the plan is otherwise the same', async (_name, spoil, note) => {
    const m = machine();
    await planOf(m, true);
    spoil(m);
    const fresh = loadFixture('amd-apu-laptop');
    fresh.sync.mkdirSync(`${fresh.root}${TARGET_RULES_DIR}`, { recursive: true });
    for (const name of m.sync.readdirSync(`${m.root}${TARGET_RULES_DIR}`) as string[]) {
      fresh.sync.writeFileSync(`${fresh.root}${TARGET_RULES_DIR}/${name}`, m.sync.readFileSync(`${m.root}${TARGET_RULES_DIR}/${name}`));
    }
    const expected = await planOf(fresh);
    const p = await planOf(m);
    expect(p.notes.filter((n) => n.startsWith('the compiled-rules cache'))).toEqual([expect.stringMatching(note)]);
    expect(JSON.stringify(withoutCacheNotes(p))).toBe(JSON.stringify(expected));
    // --dry-run says it, and writes nothing (the damaged cache stays as it is).
    const before = JSON.stringify(m.vol.toJSON());
    const run = await runCli(['--dry-run', '--root', m.root, '--xen', '4.20'], m.fs);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(new RegExp(`^note: the compiled-rules cache /machine/var/cache/autoconfig/rules\\.json ${note.source}`, 'm'));
    expect(JSON.stringify(m.vol.toJSON())).toBe(before);
    // A --write replaces it; the next run uses it without a word.
    await planOf(m, true);
    expect((await planOf(m)).notes).toEqual(expected.notes);
  });

  it('--write leaves the cache in the target, not in the root it planned for; a --dry-run of that target reads it', async () => {
    const m = machine();
    m.sync.mkdirSync('/target', { recursive: true });
    const wrote = await runCli(['--write', '--root', m.root, '--target', '/target', '--xen', '4.20'], m.fs);
    expect(wrote.code).toBe(0);
    expect(m.sync.existsSync(cachePath('/target'))).toBe(true);
    expect(m.sync.existsSync(cachePath(m.root))).toBe(false);
    // Spoiled in the target, the dry run of that target says so: it read the target's cache.
    m.sync.writeFileSync(cachePath('/target'), 'x');
    const dry = await runCli(['--dry-run', '--root', m.root, '--target', '/target', '--xen', '4.20'], m.fs);
    expect(dry.stdout).toMatch(/^note: the compiled-rules cache \/target\/var\/cache\/autoconfig\/rules\.json is ignored \(no header\)/m);
  });

  it('a cache that cannot be written is said; the files are written and the exit code stands', async () => {
    const m = machine();
    // Its directory is a file: the plan's files go in, the cache cannot.
    m.sync.mkdirSync(`${m.root}/var/cache`, { recursive: true });
    m.sync.writeFileSync(`${m.root}/var/cache/autoconfig`, 'not a directory');
    const run = await runCli(['--write', '--root', m.root, '--xen', '4.20'], m.fs);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^wrote \d+ file/m);
    expect(run.stderr).toMatch(/^autoconfig: the compiled-rules cache \/machine\/var\/cache\/autoconfig\/rules\.json could not be written \(.+\): the next run reads the rule files again$/m);
    // Nothing of the cache was left; the next run reads the rule files again and says why.
    expect(m.sync.readFileSync(`${m.root}/var/cache/autoconfig`, 'utf8')).toBe('not a directory');
    expect((await planOf(m)).notes.filter((n) => n.includes('compiled-rules cache'))).toEqual([
      expect.stringMatching(/^the compiled-rules cache \/machine\/var\/cache\/autoconfig\/rules\.json is ignored \(a path component is not a directory\): the rule files were read instead/),
    ]);
  });

  it('--dry-run with local rules and no cache writes nothing anywhere', async () => {
    const m = machine();
    const before = JSON.stringify(m.vol.toJSON());
    const run = await runCli(['--dry-run', '--root', m.root], m.fs);
    expect(run.code).toBe(0);
    expect(run.stdout).not.toMatch(/compiled-rules cache/);
    expect(JSON.stringify(m.vol.toJSON())).toBe(before);
  });
});

// Reading rule files: YAML problems with their positions, anchors and their limits, and the documented file order
// (shipped, each --rules path, the target's /etc/autoconfig/rules.d; names in code-point order in a directory).
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isAutoconfigError } from '../../src/errors.ts';
import { compileRules } from '../../src/rules/compile.ts';
import { formatRuleIssue } from '../../src/rules/shared.ts';
import { compareFileNames, loadRules, parseRuleText, readRuleTexts, RULE_FILE_CAP } from '../../src/rules/load.ts';
import type { RuleIssue } from '../../src/rules/types.ts';
import { repoRoot, volume } from '../_support/memfs.ts';
import { load, yaml } from './_support.ts';

const RULE = (id: string) => `rules:\n  - { id: ${id}, source: s, then: [note: ${id}] }\n`;

describe('YAML', () => {
  it.each([
    ['a tab as indentation', 'rules:\n\t- id: r\n', 2, 1, 'Tabs are not allowed as indentation'],
    ['a mapping in a compact mapping', 'rules: a: b\n', 1, 8, 'Nested mappings are not allowed in compact mappings'],
    ['two documents', 'rules: []\n---\nrules: []\n', 2, 1, 'a rule file holds one YAML document (this "---" starts a second)'],
    ['a bad escape', 'rules: "\\x"\n', 1, 9, 'Invalid escape sequence \\x"'],
    ['an alias without anchor', 'rules:\n  - { id: r, source: s, when: *w, then: [note: n] }\n', 2, 31, 'unknown alias *w (no anchor &w before it)'],
  ])('%s is a yaml_syntax error at its place, and nothing of the file is used', async (_name, text, line, column, message) => {
    const parsed = await parseRuleText(text, 'a.yaml');
    expect(parsed.doc).toBeNull();
    expect(parsed.issues).toEqual([{ code: 'yaml_syntax', severity: 'error', file: 'a.yaml', line, column, path: '', message }]);
  });

  it('an unknown tag is a warning; the value is used as a string', async () => {
    const { files, issues } = await load({ 'a.yaml': 'rules:\n  - { id: r, source: !cite s, then: [note: n] }\n' });
    expect(issues).toEqual([{ code: 'yaml_syntax', severity: 'warning', file: 'a.yaml', line: 2, column: 22, path: '', message: 'Unresolved tag: !cite' }]);
    expect(files[0]!.rules[0]!.source).toBe('s');
  });

  it('expands anchors; a reused condition keeps the position of its anchor', async () => {
    const { files, issues } = await load({
      'a.yaml': yaml`
        rules:
          - id: one
            source: s
            when: &gfx { pci: { class: "03" } }
            then: [note: one]
          - { id: two, source: s, when: *gfx, then: [note: two] }
      `,
    });
    expect(issues).toEqual([]);
    const [one, two] = files[0]!.rules;
    expect(two!.when).toEqual(one!.when);
    expect(two!.paths?.['when.pci.class']).toEqual({ file: 'a.yaml', line: 4, column: 32 });
  });

  it('stops alias bombs and absurd nesting with a yaml_syntax error', async () => {
    const bomb = ['a: &a [x, x, x, x, x, x, x, x, x, x]', ...'bcdefghi'.split('').map((c, i) => `${c}: &${c} [${Array(10).fill(`*${'abcdefghi'[i]}`).join(', ')}]`), 'rules: *i'].join('\n');
    const deep = `rules: ${'['.repeat(300)}${']'.repeat(300)}\n`;
    for (const text of [bomb, deep]) {
      const parsed = await parseRuleText(text, 'a.yaml');
      expect(parsed.doc).toBeNull();
      expect(parsed.issues.map((i) => `${i.code} ${i.line}:${i.column} ${i.message}`)).toEqual(['yaml_syntax 1:1 more than 200000 nodes or 128 levels of nesting, aliases expanded']);
    }
  });

  it('keeps keys YAML does not read as strings distinct from words', async () => {
    const { issues } = await load({ 'a.yaml': 'lists:\n  1002: { pci: ["1002:*"] }\n  null: { pci: ["10de:*"] }\n' });
    expect(issues.map((i) => `${i.code} ${i.line}:${i.column} ${i.path}`)).toEqual(['invalid_type 2:3 lists["1002"]', 'invalid_type 3:3 lists.null']);
  });
});

describe('files and order', () => {
  it('sorts names by code point, .yaml and .yml in one order, skips hidden and other files, whatever the listing order', async () => {
    const names = ['50-quirks.yaml', '10-cpu.yaml', 'b.yaml', 'B.yaml', '.hidden.yaml', 'notes.txt', 'x.yml', '\u{1F600}.yaml', '\u{E000}.yaml'];
    const files: Record<string, string> = {};
    for (const n of names) files[`/rules/${n}`] = RULE('r');
    const { fs } = volume({ files });
    const skipped: RuleIssue[] = [];
    const texts = await readRuleTexts(['/rules'], { fs, skipped });
    // U+E000 before U+1F600: code points, not UTF-16 units (where the surrogate pair D83D would sort first).
    expect(texts.map((t) => t.file)).toEqual(['/rules/10-cpu.yaml', '/rules/50-quirks.yaml', '/rules/B.yaml', '/rules/b.yaml', '/rules/x.yml', '/rules/\u{E000}.yaml', '/rules/\u{1F600}.yaml']);
    expect(skipped.map((i) => `${i.severity} ${i.code} ${i.file}`)).toEqual(['info skipped_file /rules/.hidden.yaml', 'info skipped_file /rules/notes.txt']);
    expect(['\u{1F600}', '\u{E000}'].sort(compareFileNames)).toEqual(['\u{E000}', '\u{1F600}']);
  });

  it('loads shipped, then each --rules path in the order given, then the target rules.d; one validation over all', async () => {
    const shipped = (await load({ 'data/rules/10-base.yaml': 'lists:\n  gfx: { pci: ["8086:27a2"] }\n' + RULE('base') })).files;
    const { fs } = volume({
      files: {
        '/site/z.yaml': RULE('site-z'),
        '/site/a.yaml': 'rules:\n  - { id: site-a, source: s, when: { pci: { list: gfx } }, then: [note: a] }\n',
        '/one.yaml': RULE('one'),
        '/target/etc/autoconfig/rules.d/00-local.yaml': RULE('local'),
        '/target/etc/autoconfig/rules.d/10-dup.yaml': RULE('base'),
      },
    });
    const loaded = await loadRules({ shipped, paths: ['/one.yaml', '/site'], targetRoot: '/target', fs });
    expect(loaded.files.map((f) => `${f.file}: ${f.rules.map((r) => r.id).join(' ')}`)).toEqual([
      'data/rules/10-base.yaml: base',
      '/one.yaml: one',
      '/site/a.yaml: site-a',
      '/site/z.yaml: site-z',
      '/target/etc/autoconfig/rules.d/00-local.yaml: local',
      '/target/etc/autoconfig/rules.d/10-dup.yaml: ',
    ]);
    expect(loaded.issues.map((i) => `${i.code} ${i.file}:${i.line}:${i.column} ${i.message}`)).toEqual([
      'duplicate_rule_id /target/etc/autoconfig/rules.d/10-dup.yaml:2:11 rule id "base" is already used at data/rules/10-base.yaml:4:5',
    ]);
  });

  it('reads the target rules.d inside its root: an absolute link resolves in the target, not on this machine', async () => {
    const { fs, sync } = volume({ files: { '/target/srv/site.yaml': RULE('in-target'), '/srv/site.yaml': RULE('on-host') } });
    sync.mkdirSync('/target/etc/autoconfig/rules.d', { recursive: true });
    sync.symlinkSync('/srv/site.yaml', '/target/etc/autoconfig/rules.d/site.yaml');
    const loaded = await loadRules({ targetRoot: '/target', fs });
    expect(loaded.files.flatMap((f) => f.rules.map((r) => r.id))).toEqual(['in-target']);
  });

  it('a target without rules.d adds nothing; a missing or oversized --rules path is an E_IO error', async () => {
    const { fs } = volume({ files: { '/target/etc/hostname': 'x\n', '/big.yaml': `# ${'x'.repeat(RULE_FILE_CAP)}\n` } });
    expect(await loadRules({ targetRoot: '/target', fs })).toEqual({ files: [], issues: [] });
    for (const path of ['/nowhere', '/big.yaml']) {
      const error = await loadRules({ paths: [path], fs }).catch((e: unknown) => e);
      expect(isAutoconfigError(error) && error.code === 'E_IO' && error.path === path).toBe(true);
    }
  });

  it('names files as the user wrote the path', async () => {
    const texts = await readRuleTexts(['test/rules/data']);
    expect(texts.map((t) => t.file)).toEqual(['test/rules/data/10-cpu.yaml', 'test/rules/data/50-graphics.yaml', 'test/rules/data/90-site.yaml']);
  });
});

describe('rule paths that are not regular files (issue #11)', () => {
  it('a FIFO as --rules file or in a rules directory is an E_IO error naming it, never opened', async () => {
    const { mkdtempSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { watchedFifo } = await import('../_support/fifo.ts');
    const dir = mkdtempSync(join(tmpdir(), 'autoconfig-rules-'));
    const fifo = watchedFifo(join(dir, '10-site.yaml'));
    try {
      for (const path of [fifo.path, dir]) {
        const t0 = performance.now();
        const error = await readRuleTexts([path]).catch((e: unknown) => e);
        expect(performance.now() - t0).toBeLessThan(1000);
        expect(isAutoconfigError(error) && error.code).toBe('E_IO');
        expect((error as Error).message).toBe(`${fifo.path}: a FIFO, not a regular file; not read`);
      }
    } finally {
      fifo.dispose();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

// Copies of the shipped rule files, under the names a site would give them: .yaml and .yml alike, beside what a
// directory also holds (an editor's backup and swap file, a README, a disabled file, a subdirectory).
describe('.yml and the entries a rules directory does not read (issue #12)', () => {
  const shipped = (name: string) => readFileSync(join(repoRoot, 'data', 'rules', name), 'utf8');
  const site = {
    '/site/70-drivers.yml': shipped('70-drivers.yaml'),
    '/site/60-quirks.yaml': shipped('60-quirks.yaml'),
    '/site/60-quirks.yaml~': shipped('60-quirks.yaml'),
    '/site/.60-quirks.yaml.swp': 'swap',
    '/site/README': '# site rules\n',
    '/site/40-memory.yaml.disabled': shipped('40-memory.yaml'),
    '/site/old/40-memory.yaml': shipped('40-memory.yaml'),
  };

  it.each([
    ['the target rules.d', { targetRoot: '/target' }, (p: string) => `/target/etc/autoconfig/rules.d${p.slice('/site'.length)}`],
    ['a --rules directory', { paths: ['/site'] }, (p: string) => p],
  ] as const)('%s: *.yaml and *.yml load in one name order; every other entry is an info issue saying why', async (_where, where, shown) => {
    const files: Record<string, string> = {};
    for (const [path, text] of Object.entries(site)) files['targetRoot' in where ? shown(path) : path] = text;
    const { fs } = volume({ files });
    const loaded = await loadRules({ ...where, fs });
    expect(loaded.files.map((f) => `${f.file} ${f.rules.length}`)).toEqual([
      `${shown('/site/60-quirks.yaml')} ${(await load({ a: shipped('60-quirks.yaml') })).files[0]!.rules.length}`,
      `${shown('/site/70-drivers.yml')} ${(await load({ a: shipped('70-drivers.yaml') })).files[0]!.rules.length}`,
    ]);
    expect(loaded.issues.map((i) => `${i.severity} ${i.code} ${i.file}: ${i.message}`)).toEqual([
      `info skipped_file ${shown('/site/.60-quirks.yaml.swp')}: skipped: a hidden file (the name starts with ".")`,
      ...['40-memory.yaml.disabled', '60-quirks.yaml~', 'README', 'old'].map(
        (n) => `info skipped_file ${shown(`/site/${n}`)}: skipped: not named *.yaml or *.yml (a directory contributes only those; name a file itself to load it)`,
      ),
    ]);
  });

  it('a file named itself loads whatever its name; one that is no YAML is a yaml_syntax error naming it', async () => {
    const { fs } = volume({ files: { '/site/70-drivers.yaml.disabled': shipped('70-drivers.yaml'), '/site/60-quirks.txt': shipped('60-quirks.yaml'), '/site/README.md': readFileSync(join(repoRoot, 'data', 'README.md'), 'utf8') } });
    const ok = await loadRules({ paths: ['/site/70-drivers.yaml.disabled', '/site/60-quirks.txt'], fs });
    expect(ok.issues).toEqual([]);
    expect(ok.files.map((f) => f.file)).toEqual(['/site/70-drivers.yaml.disabled', '/site/60-quirks.txt']);
    const bad = await loadRules({ paths: ['/site/README.md'], fs });
    expect(bad.files).toEqual([]);
    expect(bad.issues.length).toBeGreaterThan(0);
    expect(new Set(bad.issues.map((i) => `${i.severity} ${i.code} ${i.file}`))).toEqual(new Set(['error yaml_syntax /site/README.md']));
  });

  it('the shipped set too: compileRules() says what its directory held besides rule files', async () => {
    const { mkdtempSync, cpSync, writeFileSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const dir = mkdtempSync(join(tmpdir(), 'autoconfig-shipped-'));
    try {
      cpSync(join(repoRoot, 'test', 'rules', 'data'), dir, { recursive: true });
      writeFileSync(join(dir, 'README'), readFileSync(join(repoRoot, 'data', 'README.md')));
      const { compiled, issues } = await compileRules(dir);
      expect(compiled.files.map((f) => f.file)).toEqual(['data/rules/10-cpu.yaml', 'data/rules/50-graphics.yaml', 'data/rules/90-site.yaml']);
      expect(issues.map((i) => `${i.severity} ${i.code} ${i.file}`)).toEqual(['info skipped_file data/rules/README']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('rules lint prints what a directory skipped, as info, and counts no warning for it', async () => {
    const { runCli } = await import('../_support/cli.ts');
    const { fs } = volume({ files: { '/site/60-quirks.yml': shipped('60-quirks.yaml').replace(/\bid: ([\w.-]+)/g, 'id: site-$1').replace(/(^  |list: )(intel-broadwell-graphics|amd-npu)\b/gm, '$1site-$2'), '/site/README': '# site rules\n' } });
    const run = await runCli(['rules', 'lint', '/site'], fs);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('/site/README:0:0: info: skipped_file: (document): skipped: not named *.yaml or *.yml');
    expect(run.stdout).toMatch(/: 0 error\(s\), 0 warning\(s\)\n$/);
  });

  it('the lint line says info', async () => {
    const { fs } = volume({ files: { '/site/README': 'x\n' } });
    const { issues } = await loadRules({ paths: ['/site'], fs });
    expect(issues.map(formatRuleIssue)).toEqual(['/site/README:0:0: info: skipped_file: (document): skipped: not named *.yaml or *.yml (a directory contributes only those; name a file itself to load it)']);
  });
});

describe('the YAML parser in the CLI bundle', () => {
  it('is bundled: no node_modules lookup and compile of ~40 files when local rules are parsed', async () => {
    const { build } = await import('esbuild');
    const { cliOptions } = await import('../../scripts/bundle-options.mjs');
    const cli = await build({ ...cliOptions(repoRoot, join(repoRoot, 'out', 'autoconfig.cjs')), write: false, metafile: true, logLevel: 'silent' });
    const inputs = Object.keys(cli.metafile.outputs[Object.keys(cli.metafile.outputs)[0]!]!.inputs);
    expect(inputs.filter((i) => i.startsWith('node_modules/yaml/')).length).toBeGreaterThan(10);
    const text = cli.outputFiles[0]!.text;
    expect(text).not.toMatch(/require\("yaml"\)/);
  });
});

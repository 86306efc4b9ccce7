// The shipped rules compiled to JSON at build time: the script, the JSON a bundle reads without the YAML parser,
// and the shipped set itself, which must lint clean.
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { afterAll, describe, expect, it } from 'vitest';
import { compileRules, loadShippedRules, SHIPPED_RULES } from '../../src/rules/compile.ts';
import { repoRoot } from '../_support/memfs.ts';

const DATA = join(repoRoot, 'test', 'rules', 'data');
const SCRIPT = join(repoRoot, 'scripts', 'compile-rules.mjs');
const tmp = mkdtempSync(join(tmpdir(), 'rules-compile-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('compileRules', () => {
  it('names files by their place in the package and keeps the positions decisions use: each action\'s', async () => {
    const { compiled, issues } = await compileRules(DATA);
    expect(issues).toEqual([]);
    expect(compiled.files.map((f) => f.file)).toEqual([`${SHIPPED_RULES}/10-cpu.yaml`, `${SHIPPED_RULES}/50-graphics.yaml`, `${SHIPPED_RULES}/90-site.yaml`]);
    const rule = compiled.files[1]!.rules.find((r) => r.id === 'igfx-no-igfx')!;
    expect(rule.pos).toEqual({ file: `${SHIPPED_RULES}/50-graphics.yaml`, line: 18, column: 5 });
    // Only `then.N`: the positions of other nodes serve lint messages, and a compiled set has linted clean.
    expect(rule.paths).toEqual({
      'then.0': { file: `${SHIPPED_RULES}/50-graphics.yaml`, line: 25, column: 9 },
      'then.1': { file: `${SHIPPED_RULES}/50-graphics.yaml`, line: 26, column: 9 },
      'then.2': { file: `${SHIPPED_RULES}/50-graphics.yaml`, line: 27, column: 9 },
    });
  });

  it('the shipped set (data/rules) lints clean, and from the sources it is loaded from that YAML', async () => {
    const shipped = await loadShippedRules();
    expect(shipped.issues).toEqual([]);
    const { compiled } = await compileRules();
    expect(shipped.files).toEqual(compiled.files);
    expect(await loadShippedRules()).toBe(shipped); // loaded once per process
  });
});

describe('scripts/compile-rules.mjs', () => {
  const out = join(tmp, 'dist', 'rules.json');

  it('writes {files} as JSON, equal to compileRules()', async () => {
    const stdout = execFileSync(process.execPath, [SCRIPT, '--dir', DATA, '--out', out], { encoding: 'utf8' });
    expect(stdout).toBe('rules: 3 file(s), 12 rule(s) compiled\n');
    const { compiled } = await compileRules(DATA);
    expect(JSON.parse(readFileSync(out, 'utf8'))).toEqual(JSON.parse(JSON.stringify(compiled)));
  });

  it('fails the build with lint lines when a rule file has an error', () => {
    const bad = join(tmp, 'bad');
    mkdirSync(bad, { recursive: true });
    writeFileSync(join(bad, '10-bad.yaml'), 'rules:\n  - { id: r, source: s, when: { pci: { vendor: 8086 } }, then: [note: n] }\n');
    const badOut = join(tmp, 'bad-out', 'rules.json');
    const r = spawnSync(process.execPath, [SCRIPT, '--dir', bad, '--out', badOut], { encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('data/rules/10-bad.yaml:2:48: bad_hex_id: rules[0].when.pci.vendor: YAML read this ID as the number 8086');
    expect(r.stderr).toContain(`1 error(s) in the rule files of ${bad}; ${badOut} not written`);
  });

  it('a bundle with rules.json next to it loads the JSON and never needs the yaml package', async () => {
    // A package laid out as installed, outside the repository: there `yaml` cannot be resolved, so the YAML
    // fallback fails, and only the JSON path can work.
    const pkg = join(tmp, 'pkg');
    const dir = join(pkg, 'dist');
    mkdirSync(join(pkg, 'data', 'rules'), { recursive: true });
    writeFileSync(join(pkg, 'data', 'pci.ids'), '');
    copyFileSync(join(DATA, '10-cpu.yaml'), join(pkg, 'data', 'rules', '10-cpu.yaml'));
    await build({ entryPoints: [join(repoRoot, 'src', 'rules', 'compile.ts')], outfile: join(dir, 'index.mjs'), bundle: true, platform: 'node', format: 'esm', external: ['yaml'], logLevel: 'silent' });
    const run = () =>
      spawnSync(process.execPath, ['--input-type=module', '-e', `const m = await import(${JSON.stringify(pathToFileURL(join(dir, 'index.mjs')).href)}); process.stdout.write(JSON.stringify(await m.loadShippedRules()));`], { encoding: 'utf8' });
    const without = run();
    expect(without.status).not.toBe(0);
    expect(without.stderr).toContain("Cannot find package 'yaml'");
    copyFileSync(out, join(dir, 'rules.json'));
    const withJson = run();
    expect(withJson.stderr).toBe('');
    expect(JSON.parse(withJson.stdout)).toEqual({ files: JSON.parse(readFileSync(out, 'utf8')).files, issues: [] });
  });
});

import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { LintJson } from '../../src/cli/rules.ts';
import type { WritableFsLike } from '../../src/fs.ts';
import { formatRuleIssue } from '../../src/rules/validate.ts';
import { tmp } from '../corpus/_support.ts';
import { documentedKeys } from './_json-docs.ts';
import { repoRoot, volume } from '../_support/memfs.ts';
import { runCli } from '../_support/cli.ts';

const run = runCli;

describe('autoconfig rules lint', () => {
  it('passes the shipped rules', async () => {
    const r = await run(['rules', 'lint'], volume().fs);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^\d+ files, \d+ rules: 0 error\(s\), 0 warning\(s\)\n$/);
  });

  it('reports a user file with file:line:column, code and path, and exits 1', async () => {
    // YAML reads an unquoted 0166 (Ivy Bridge graphics, 8086:0166) as the number 166.
    const { fs } = volume({
      files: {
        'rules.d/90-mine.yaml': 'rules:\n  - id: mine\n    source: test\n    when:\n      pci: { vendor: "8086", device: 0166 }\n    then:\n      - note: hi\n',
      },
    });
    const r = await run(['rules', 'lint', '/rules.d'], fs);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^\/rules\.d\/90-mine\.yaml:5:\d+: bad_hex_id: rules\[0\]\.when\.pci\.device: /m);
    expect(r.stdout).toMatch(/1 error\(s\)/);
  });

  it('given the shipped directory (or a file in it), checks it once instead of reporting every id twice', async () => {
    const shippedDir = join(repoRoot, 'data', 'rules');
    const alone = await run(['rules', 'lint']);
    for (const given of [shippedDir, join(shippedDir, '80-xserver.yaml'), join(repoRoot, 'data', 'rules', '.', '')]) {
      const r = await run(['rules', 'lint', given]);
      expect(r.code, given).toBe(0);
      expect(r.stdout).toBe(`${given}: the shipped rules, checked once\n${alone.stdout}`);
    }
  });

  it('shows a control character of a rule file as \\xNN in the text, never sends it to the terminal', async () => {
    // A real rule file with an ESC typed into one key (an unknown key, quoted in the issue's path and message).
    const text = readFileSync(join(repoRoot, 'data', 'rules', '40-memory.yaml'), 'utf8');
    const { fs } = volume({ files: { 'rules.d/90-mine.yaml': text.replace(/^( {2}- id: )(\S+)/gm, '$1$2-mine').replace('    when:', '    wh\x1b[2Jen:') } });
    const r = await run(['rules', 'lint', '/rules.d'], fs);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('wh\\x1b[2Jen');
    expect(r.stdout).not.toContain('\x1b');
    // JSON escapes it itself.
    const json = await run(['rules', 'lint', '/rules.d', '--json'], fs);
    expect(JSON.parse(json.stdout).issues).toMatchObject([{ code: 'unknown_key', message: expect.stringContaining('"wh\x1b[2Jen"') }]);
  });

  it('needs the lint subcommand', async () => {
    expect((await run(['rules'], volume().fs)).code).toBe(2);
  });
});

describe('autoconfig rules lint --json', () => {
  const shippedDir = join(repoRoot, 'data', 'rules');
  const shippedFiles = readdirSync(shippedDir).filter((f) => f.endsWith('.yaml')).sort().map((f) => `data/rules/${f}`);
  const KEYS = documentedKeys('rules lint');
  const ISSUE_KEYS = ['code', 'column', 'file', 'line', 'message', 'path', 'severity'];

  it.each([[[]], [[shippedDir]]])('over data/rules (%j given): every shipped file, no issue, exit 0; the counts of the text', async (given) => {
    const r = await run(['rules', 'lint', ...given, '--json']);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    const json = JSON.parse(r.stdout) as LintJson;
    expect(Object.keys(json)).toEqual(KEYS);
    expect(json.files).toEqual(shippedFiles);
    expect(json.shipped).toEqual(given);
    expect(json.issues).toEqual([]);
    const text = await run(['rules', 'lint']);
    const { files, rules, errors, warnings } = json.summary;
    expect(text.stdout.split('\n').at(-2)).toBe(`${files} files, ${rules} rules: ${errors} error(s), ${warnings} warning(s)`);
    expect(files).toBe(shippedFiles.length);
  });

  it('over a mutated copy of a shipped file (a vendor id unquoted): the error with file, line, column, path; exit 1 as in text', async () => {
    // 60-quirks.yaml as a user's own file: its ids and list names renamed (else each is a duplicate of the shipped
    // one), and the Raptor Lake quirk's vendor "8086" written unquoted, which YAML reads as the number 8086.
    const dir = join(tmp('lint-json'), 'rules.d');
    const file = join(dir, '90-mine.yaml');
    const original = readFileSync(join(shippedDir, '60-quirks.yaml'), 'utf8');
    const renamed = original
      .replace(/^( {2}- id: )(\S+)/gm, '$1$2-mine') // the rules
      .replace(/^( {2})([\w-]+):$/gm, '$1$2-mine:') // the lists (the only other keys at that depth)
      .replace(/list: ([\w-]+)/g, 'list: $1-mine');
    const mutated = renamed.replace('pci: { vendor: "8086", device: "a780"', 'pci: { vendor: 8086, device: "a780"');
    expect(mutated).not.toBe(renamed);
    mkdirSync(dir, { recursive: true });
    writeFileSync(file, renamed);
    const clean = await run(['rules', 'lint', dir, '--json']);
    expect(JSON.parse(clean.stdout).issues).toEqual([]);
    writeFileSync(file, mutated);

    const r = await run(['rules', 'lint', dir, '--json']);
    expect(r.code).toBe(1);
    const json = JSON.parse(r.stdout) as LintJson;
    expect(json.files).toEqual([...shippedFiles, file]);
    expect(json.issues).toHaveLength(1);
    const issue = json.issues[0]!;
    expect(Object.keys(issue).sort()).toEqual(ISSUE_KEYS);
    const lines = mutated.split('\n');
    expect(issue).toMatchObject({ code: 'bad_hex_id', severity: 'error', file, line: lines.findIndex((l) => l.includes('vendor: 8086,')) + 1 });
    expect(issue.path).toMatch(/^rules\[\d+\]\.when\.pci\.vendor$/);
    expect(lines[issue.line - 1]!.slice(issue.column - 1)).toMatch(/^8086,/);
    expect(json.summary).toMatchObject({ files: shippedFiles.length + 1, errors: 1, warnings: 0 });
    // The text says the same, line for line.
    const text = await run(['rules', 'lint', dir]);
    expect(text.code).toBe(1);
    expect(text.stdout.split('\n')[0]).toBe(formatRuleIssue(issue));
  });
});

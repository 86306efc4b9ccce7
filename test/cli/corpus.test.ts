// `autoconfig corpus run | diff | check` through the real CLI (in-process, real filesystem): text, --json and
// --html output, exit codes (diff: 1 when something changes, like git diff --exit-code; check: 1 on a mismatch),
// usage errors before any machine is read.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../_support/cli.ts';
import { fixturesDir, repoRoot } from '../_support/memfs.ts';
import { copyFixtures, copyRules, tmp } from '../corpus/_support.ts';
import { cliOptions } from '../../scripts/bundle-options.mjs';

const T60 = join(fixturesDir, 'thinkpad-t60');
const APU = join(fixturesDir, 'amd-apu-laptop');

describe('autoconfig corpus: usage', () => {
  it.each([
    [['corpus'], /^autoconfig corpus: needs a subcommand\n\nUsage: autoconfig corpus <subcommand>/],
    [['corpus', 'walk', T60], /^autoconfig corpus: unknown subcommand "walk"/],
    [['corpus', 'run'], /^autoconfig corpus run: name at least one DIR\nUsage: autoconfig corpus run DIR\.\.\. \[options\]\n$/],
    [['corpus', 'run', T60, '--json', '--html', '/tmp/x.html'], /give --json or --html FILE, not both/],
    [['corpus', 'run', T60, '--xen', '4.x'], /--xen "4\.x"/],
    [['corpus', 'run', '/no/such/dir'], /\/no\/such\/dir: not a directory/],
    [['corpus', 'run', T60, '--frobnicate'], /unknown option --frobnicate/],
    // check plans at the targets each expect.yaml names: it takes no --xen (its --help lists none).
    [['corpus', 'check', T60, '--xen', '4.20'], /^autoconfig corpus check: unknown option --xen/],
    [['corpus', 'check', T60, '--html', '/tmp/x.html'], /unknown option --html/],
    [['corpus', 'diff', T60], /^autoconfig corpus diff: give --base DIR or --base-ref GIT_REF\n$/],
    [['corpus', 'diff', T60, '--base', join(repoRoot, 'data', 'rules'), '--base-ref', 'HEAD'], /give --base DIR or --base-ref GIT_REF/],
    [['corpus', 'diff', T60, '--base-ref', 'no-such-ref-13'], /no such commit/],
  ])('%j: exit 2 and why', async (argv, message) => {
    const r = await runCli(argv);
    expect(r.code).toBe(2);
    expect(r.stdout + r.stderr).toMatch(message);
  });

  it('main --help lists the command', async () => {
    const r = await runCli(['--help']);
    expect(r.stdout).toMatch(/^ {2}corpus {7}run \| diff \| check: the rules over many machines/m);
  });
});

describe('autoconfig corpus run', () => {
  it('text: the table, one row per machine and target, then the summary', async () => {
    const r = await runCli(['corpus', 'run', T60, APU, '--xen', '3.0.2', '--xen', '4.20']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toMatch(/^machine +xen +HVM +64-bit +UMA +IOMMU +Dom0 mem +vCPUs +GRUB +X +network +sound +warn$/);
    // The T60: Core Duo with vmx, no lm (lscpu); 945GM (UMA); legacy GRUB at 3.0.2, Xen disabled at 4.20 (no 32-bit Xen).
    expect(lines[1]).toMatch(/^thinkpad-t60 +3\.0\.2 +vmx +no +yes /);
    expect(lines[2]).toMatch(/^thinkpad-t60 +4\.20 +no +no +yes /);
    expect(lines[3]).toMatch(/^amd-apu-laptop +3\.0\.2 /);
    expect(lines[4]).toMatch(/^amd-apu-laptop +4\.20 +svm +yes +yes +yes /);
    expect(r.stdout).toContain('2 machines x 2 target(s) (Xen 3.0.2, 4.20): 4 plans, 2 machines planned');
    expect(r.stdout).toContain('0 machines could not be read');
  });

  it('on a terminal: progress on stderr, redrawn in place and cleared; none when captured', async () => {
    const tty = await runCli(['corpus', 'run', T60, APU], undefined, { isTTY: true });
    expect(tty.code).toBe(0);
    expect(tty.stderr).toBe('\rcorpus: 1/2 machines\r\x1b[K');
    expect((await runCli(['corpus', 'run', T60, APU])).stderr).toBe('');
  });

  it('--json: rows with verdicts, warnings and notes (no file contents), and the summary', async () => {
    const r = await runCli(['corpus', 'run', T60, '--json', '--xen', '4.20']);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { rows: Record<string, unknown>[]; summary: { rows: number; unreadable: unknown[] } };
    expect(out.rows).toHaveLength(1);
    expect(Object.keys(out.rows[0]!).sort()).toEqual(['error', 'kind', 'machine', 'notes', 'target', 'verdicts', 'warnings']);
    expect(out.rows[0]).toMatchObject({ machine: 'thinkpad-t60', kind: 'fixture', target: '4.20', error: null, verdicts: { longMode: 'no', xenDisabled: true } });
    expect(out.summary).toMatchObject({ rows: 1, unreadable: [] });
  });

  it('--html FILE: written, the summary on stdout', async () => {
    const file = join(tmp('cli-html'), 'run.html');
    const r = await runCli(['corpus', 'run', T60, '--html', file]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^wrote ${file}\\n1 machines x 1 target`));
    expect(readFileSync(file, 'utf8')).toMatch(/^<!DOCTYPE html>/);
    expect(readFileSync(file, 'utf8')).toContain('data-machine="thinkpad-t60"');
  });
});

describe('autoconfig corpus check', () => {
  it("fixtures/: every expectation holds, exit 0", async () => {
    const r = await runCli(['corpus', 'check', fixturesDir]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^16 machines checked \(\d+ expectations\), 0 mismatches\n$/);
  }, 300_000);

  it('a wrong expectation (the T60 claimed 64-bit): exit 1, each mismatch with machine, target, key, expected, got, file:line', async () => {
    const dir = copyFixtures(['thinkpad-t60']);
    const file = join(dir, 'thinkpad-t60', 'expect.yaml');
    writeFileSync(file, readFileSync(file, 'utf8').replace('long_mode: no ', 'long_mode: yes'));
    const r = await runCli(['corpus', 'check', dir]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`MISMATCH thinkpad-t60, Xen 3.0.2, long_mode: expected yes, got no (${file}:4)`);
    expect(r.stdout).toMatch(/1 machines checked \(\d+ expectations\), 4 mismatches/);
    const json = await runCli(['corpus', 'check', dir, '--json']);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout).mismatches[0]).toEqual({ machine: 'thinkpad-t60', target: '3.0.2', key: 'long_mode', expected: 'yes', got: 'no', where: `${file}:4` });
  });

  it('a machine without expect.yaml is listed, not failed', async () => {
    const r = await runCli(['corpus', 'check', join(T60, 'root')]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('0 machines checked (0 expectations), 0 mismatches; 1 without expect.yaml: root');
  });
});

describe('autoconfig corpus diff', () => {
  const changed = () => {
    const rules = copyRules();
    const file = join(rules, '40-memory.yaml');
    writeFileSync(file, readFileSync(file, 'utf8').replace('dom0Memory: "2048M,max:2048M"', 'dom0Memory: "3072M,max:3072M"'));
    return rules;
  };

  it('the same rules: "no change", exit 0', async () => {
    const r = await runCli(['corpus', 'diff', '--base', copyRules(), T60, APU, '--xen', '4.20']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^no change: 2 machines x Xen 4\.20/);
  });

  it('a changed rule: exit 1, the headline, the machine with its verdict, decision and file diffs', async () => {
    const rules = changed();
    const r = await runCli(['corpus', 'diff', '--base', join(repoRoot, 'data', 'rules'), '--rules', rules, T60, APU, '--xen', '4.20']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^1 of 2 machines change \(.* -> .*, Xen 4\.20\): amd-apu-laptop\n/);
    expect(r.stdout).toContain('=== amd-apu-laptop, Xen 4.20\n  dom0Mem: 2048M,max:2048M -> 3072M,max:3072M\n');
    expect(r.stdout).toContain('  + decision dom0-mem-large: {"dom0Memory":"3072M,max:3072M"}');
    expect(r.stdout).toMatch(/^\+DOM0_MEM='3072M,max:3072M'$/m);
    const json = JSON.parse((await runCli(['corpus', 'diff', '--base', join(repoRoot, 'data', 'rules'), '--rules', rules, APU, '--xen', '4.20', '--json'])).stdout);
    expect(json.changedMachines).toEqual(['amd-apu-laptop']);
    expect(json.changes[0].verdicts).toEqual([{ key: 'dom0Mem', before: '2048M,max:2048M', after: '3072M,max:3072M' }]);
  });

  it('--html FILE with the diff view', async () => {
    const file = join(tmp('cli-diff-html'), 'diff.html');
    const r = await runCli(['corpus', 'diff', '--base', join(repoRoot, 'data', 'rules'), '--rules', changed(), APU, '--xen', '4.20', '--html', file]);
    expect(r.code).toBe(1);
    expect(existsSync(file)).toBe(true);
    expect(readFileSync(file, 'utf8')).toContain('<tr class="row changed" data-machine="amd-apu-laptop" data-target="4.20">');
  });
});

describe('autoconfig corpus run --workers, from the CLI bundle', () => {
  // Built as scripts/build.mjs builds dist/autoconfig.cjs, beside a copy of bin/load-cli.cjs, where data/ is found
  // upward (node_modules/.autoconfig-test/dist): the workers run this bundle through load-cli (src/cli/corpus.ts).
  const base = join(repoRoot, 'node_modules', '.autoconfig-test');
  const cli = join(base, 'bin', 'autoconfig.cjs');
  beforeAll(async () => {
    const { build } = await import('esbuild');
    await build(cliOptions(repoRoot, join(base, 'dist', 'autoconfig.cjs')));
    mkdirSync(join(base, 'bin'), { recursive: true });
    copyFileSync(join(repoRoot, 'bin', 'load-cli.cjs'), join(base, 'bin', 'load-cli.cjs'));
    writeFileSync(cli, "require('./load-cli.cjs').loadCli({ cache: false }).main({ argv: process.argv.slice(2) }).then((c) => { process.exitCode = c; });\n");
  }, 120_000);

  it('--workers 2 gives the rows of --workers 1 (fixtures/, two targets)', () => {
    const run = (workers: string) => {
      const r = spawnSync(process.execPath, [cli, 'corpus', 'run', fixturesDir, '--xen', '3.0.3', '--xen', '4.20', '--json', '--workers', workers], { encoding: 'utf8', maxBuffer: 64 << 20 });
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      return JSON.parse(r.stdout) as { rows: unknown[] };
    };
    const one = run('1');
    expect(one.rows).toHaveLength(32);
    expect(run('2')).toEqual(one);
  }, 300_000);

  it.each(['0', 'two', '65'])('--workers %s: a usage error', async (n) => {
    const r = await runCli(['corpus', 'run', T60, '--workers', n]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--workers/);
  });
});

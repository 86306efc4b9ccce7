import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.ts';
import { VERSION } from '../../src/version.ts';
import { volume } from '../_support/memfs.ts';

function run(argv: string[], fs = volume().fs) {
  let stdout = '';
  let stderr = '';
  return main({ argv, fs, cwd: '/', stdout: (t) => (stdout += t), stderr: (t) => (stderr += t) }).then((code) => ({
    code,
    stdout,
    stderr,
  }));
}

describe('main', () => {
  it('prints usage and exits 2 without a command', async () => {
    const r = await run([]);
    expect(r.code).toBe(2);
    expect(r.stdout).toContain('Usage: autoconfig --dry-run');
    expect(r.stdout).toContain('autoconfig <command> [options]');
  });

  it('prints the version', async () => {
    expect(await run(['--version'])).toMatchObject({ code: 0, stdout: `${VERSION}\n` });
  });

  it.each([
    [['frobnicate'], 2, 'unknown command "frobnicate"'],
    [['probe', '--bogus'], 2, 'unknown option --bogus'],
    [['snapshot'], 2, 'snapshot needs --out DIR'],
    [['import', '--out', '/x'], 2, 'import needs one LOGDIR'],
  ])('%j exits %i', async (argv, code, message) => {
    const r = await run(argv);
    expect(r.code).toBe(code);
    expect(r.stderr).toContain(message);
  });

  it.each([
    [['probe', '--root', '/missing'], '/missing: no such directory'],
    [['drivers', '--root', '/missing'], '/missing: no such directory'],
    [['explain', '--root', '/missing'], '/missing: no such directory'],
    [['snapshot', '--root', '/missing', '--out', '/out'], '/missing: no such directory'],
    [['probe', '--root', '/empty'], '/empty holds no machine'],
    [['drivers', '--root', '/empty'], '/empty holds no machine'],
    [['explain', '--root', '/empty'], '/empty holds no machine'],
    [['snapshot', '--root', '/empty', '--out', '/out'], '/empty holds no machine'],
  ])('%j: a root that is missing or holds no machine exits 1, naming it, writing nothing', async (argv, message) => {
    const { fs, vol } = volume({ files: { 'empty/etc/hostname': 'x\n' } });
    const r = await run(argv, fs);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(message);
    expect(r.stdout).toBe('');
    expect(Object.keys(vol.toJSON())).toEqual(['/empty/etc/hostname']);
  });

  it('refuses to snapshot into a non-empty directory', async () => {
    const { fs } = volume({ files: { 'out/file': 'x' } });
    const r = await run(['snapshot', '--out', '/out'], fs);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('/out is not empty');
  });
});

// Issue #12: every command answers --help with its own options (from the spec its parser uses), a typo gets a
// suggestion, and a forgotten option value is not taken from the next option.
describe('--help everywhere, generated from each command\'s options', () => {
  // Every option each command's parser accepts, as the README documents them.
  it.each([
    [['--dry-run', '--help'], ['--dry-run', '--write', '--apply', '--root DIR', '--target DIR', '--xen VERSION', '--rules DIR', '--kernel DIR', '--json', '--module-timeout MS', '--modprobe CMD', '--lock-timeout MS']],
    [['probe', '--help'], ['--root DIR', '--json', '--no-names', '--timeout MS']],
    [['snapshot', '--help'], ['-o, --out DIR', '--root DIR', '--force', '--json']],
    [['import', '--help'], ['-o, --out DIR', '--force', '--json']],
    [['drivers', '--help'], ['--root DIR', '--kernel DIR', '--json', '--no-names']],
    [['explain', '--help'], ['--root DIR', '--xen VERSION', '--rules DIR', '--kernel DIR', '--json']],
    [['install-boot', '--help'], ['--target DIR', '--exec PATH', '--remove', '--dry-run', '--json']],
    [['rules', 'lint', '--help'], ['--json']],
    [['corpus', 'diff', '-h'], ['--xen VERSION', '--rules DIR', '--base DIR', '--base-ref REF', '--html FILE', '--json']],
  ])('%j: exit 0, its options on stdout, nothing done', async (argv, options) => {
    const r = await run(argv);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^Usage: autoconfig /);
    for (const o of options) expect(r.stdout).toMatch(new RegExp(`\\n  ${o.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}  +\\S`));
    expect(r.stdout).toMatch(/\n  -h, --help +this text\n$/);
  });

  it('the top-level help lists every option of --dry-run/--write/--apply the README documents, and every command', async () => {
    const r = await run(['--help']);
    for (const o of ['--root DIR', '--target DIR', '--xen VERSION', '--rules DIR', '--kernel DIR', '--json', '--module-timeout MS', '--modprobe CMD', '--lock-timeout MS']) {
      expect(r.stdout).toContain(`  ${o} `);
    }
    for (const c of ['probe', 'snapshot', 'import', 'drivers', 'explain', 'rules', 'install-boot', 'corpus']) expect(r.stdout).toMatch(new RegExp(`\\n  ${c} +\\S`));
  });
});

describe('did you mean', () => {
  it.each([
    [['prboe'], 'unknown command "prboe" (did you mean probe?)'],
    [['--dryrun'], 'unknown option "--dryrun" (did you mean --dry-run?)'],
    [['--dry-rn'], 'unknown option "--dry-rn" (did you mean --dry-run?)'],
    [['-v'], 'unknown option "-v" (did you mean --version?)'],
    [['instal-boot'], 'unknown command "instal-boot" (did you mean install-boot?)'],
    [['probe', '--jsno'], 'autoconfig probe: unknown option --jsno (did you mean --json?)'],
    [['--dry-run', '--tagret', '/t'], 'autoconfig: unknown option --tagret (did you mean --target?)'],
  ])('%j', async (argv, message) => {
    const r = await run(argv);
    expect(r.code).toBe(2);
    expect(r.stderr.split('\n')[0]).toContain(message);
  });

  it('no suggestion where nothing is close', async () => {
    const r = await run(['frobnicate']);
    expect(r.stderr.split('\n')[0]).toBe('autoconfig: unknown command "frobnicate"');
  });
});

describe("messages name the user's command", () => {
  it('--dry-run --write: "autoconfig:", not an internal command name', async () => {
    const r = await run(['--dry-run', '--write']);
    expect(r).toMatchObject({ code: 2, stderr: 'autoconfig: give --dry-run, or --write (and/or --apply)\n' });
  });

  it('--root --json is a forgotten value, not a directory named --json; --root=--json is one', async () => {
    const r = await run(['--dry-run', '--root', '--json']);
    expect(r).toMatchObject({ code: 2, stderr: 'autoconfig: --root needs a value, and --json is an option\n' });
    const literal = await run(['probe', '--root=--json']);
    expect(literal.code).toBe(1); // no such directory: taken as a path
    expect(literal.stderr).toContain('--json');
  });

  it('probe takes no arguments: the machine is --root DIR', async () => {
    expect(await run(['probe', 'extra'])).toMatchObject({ code: 2, stderr: 'autoconfig probe: unexpected argument "extra" (the machine is --root DIR)\n' });
  });
});

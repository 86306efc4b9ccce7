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

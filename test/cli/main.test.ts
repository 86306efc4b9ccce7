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

  it('refuses to snapshot into a non-empty directory', async () => {
    const { fs } = volume({ files: { 'out/file': 'x' } });
    const r = await run(['snapshot', '--out', '/out'], fs);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('/out is not empty');
  });
});

// `--xen` outside what autoconfig knows (rules/version.ts XEN_KNOWN: 3.0.2 to 4.20.x), and with numbers too long to
// be a version: a usage error naming the value and what is accepted; newer than the newest: planned, with a warning.
import { describe, expect, it } from 'vitest';
import { runCli as run } from '../_support/cli.ts';
import { loadFixture } from '../_support/memfs.ts';

describe('autoconfig --dry-run --xen outside the known range', () => {
  it.each([
    ['4.17.9007199254740993', 'not a Xen version (digits.digits[.digits][-extra], each number at most 4 digits)'],
    ['2.0', 'older than Xen 3.0.2, the oldest this autoconfig knows (known: 3.0.2 to 4.20.x)'],
    ['3.0.1', 'older than Xen 3.0.2, the oldest this autoconfig knows (known: 3.0.2 to 4.20.x)'],
  ])('--xen %s: exit 2, %s', async (xen, reason) => {
    const { fs, vol, root } = loadFixture('desktop-amd-gpu');
    const before = JSON.stringify(vol.toJSON());
    const r = await run(['--dry-run', '--root', root, '--xen', xen], fs);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`--xen "${xen}": ${reason}`);
    expect(r.stdout).toBe('');
    expect(JSON.stringify(vol.toJSON())).toBe(before);
  });

  it('--xen 4.21: planned as 4.20, the warning in the report and in the JSON plan', async () => {
    const { fs, root } = loadFixture('desktop-amd-gpu');
    const warning =
      'Xen 4.21 is newer than the newest this autoconfig knows (4.20): options are those of 4.20 (known: 3.0.2 to 4.20.x)';
    const text = await run(['--dry-run', '--root', root, '--xen', '4.21'], fs);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain(warning);
    const json = await run(['--dry-run', '--json', '--root', root, '--xen', '4.21'], fs);
    expect(json.code).toBe(0);
    const plan = (JSON.parse(json.stdout) as { plan: { warnings: string[]; target: { toolstack: string } } }).plan;
    expect(plan.warnings).toContain(warning);
    expect(plan.target.toolstack).toBe('xl');
    const known = await run(['--dry-run', '--root', root, '--xen', '4.20'], fs);
    expect(known.stdout).not.toContain('newer than the newest');
  });
});

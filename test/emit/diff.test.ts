import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { unifiedDiff } from '../../src/emit/diff.ts';

const dir = mkdtempSync(join(tmpdir(), 'autoconfig-diff-'));
const lines = (n: number, f: (i: number) => string) => Array.from({ length: n }, (_, i) => f(i)).join('\n') + '\n';

describe('unifiedDiff', () => {
  it('is empty for identical texts and a creation against /dev/null', () => {
    expect(unifiedDiff('/etc/x', 'a\n', 'a\n')).toBe('');
    expect(unifiedDiff('/etc/x', null, 'a\nb\n')).toBe('--- /dev/null\n+++ b/etc/x\n@@ -0,0 +1,2 @@\n+a\n+b\n');
  });

  // `patch` applies our diff to the old text and must give the new one: the check that hunks and ranges are right.
  it.each([
    ['one change in the middle', lines(20, (i) => `l${i}`), lines(20, (i) => (i === 10 ? 'changed' : `l${i}`))],
    ['two distant changes', lines(40, (i) => `l${i}`), lines(40, (i) => (i === 3 || i === 30 ? `x${i}` : `l${i}`))],
    ['insertions and deletions', lines(12, (i) => `l${i}`), lines(10, (i) => (i < 5 ? `l${i}` : `l${i + 2}`)) + 'end\n'],
    ['a real modprobe.d edit', 'blacklist nouveau\noptions snd-hda-intel model=auto\n', 'blacklist nouveau\nblacklist amdxdna\n'],
  ])('%s round-trips through patch', (_name, before, after) => {
    const old = join(dir, 'file');
    writeFileSync(old, before);
    const patch = unifiedDiff('/file', before, after);
    const out = execFileSync('patch', ['-s', '-o', '-', old], { input: patch, encoding: 'utf8' });
    expect(out).toBe(after);
  });
});

import { describe, expect, it } from 'vitest';
import type { WritableFsLike } from '../../src/fs.ts';
import { join } from 'node:path';
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

  it('needs the lint subcommand', async () => {
    expect((await run(['rules'], volume().fs)).code).toBe(2);
  });
});

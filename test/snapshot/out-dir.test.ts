import { describe, expect, it } from 'vitest';
import { checkOutDir } from '../../src/snapshot/out-dir.ts';
import { volume } from '../_support/memfs.ts';

describe('checkOutDir', () => {
  const { fs } = volume({ files: { 'empty': null, 'full/file': 'x', 'plain': 'x' } });
  it.each([
    ['/missing', false, null],
    ['/empty', false, null],
    ['/full', false, 'E_NOT_EMPTY'],
    ['/full', true, null],
    ['/plain', true, 'E_IO'],
  ])('%s (force %s) -> %s', async (out, force, code) => {
    const result = checkOutDir(fs, out, force);
    if (code === null) await expect(result).resolves.toBeUndefined();
    else await expect(result).rejects.toMatchObject({ code, path: out });
  });
});

// Output directories of snapshot and import: refuse to mix a capture into unrelated files unless forced.
import { AutoconfigError, errnoCode } from '../errors.ts';
import type { WritableFsLike } from '../fs.ts';

export async function checkOutDir(fs: WritableFsLike, out: string, force: boolean): Promise<void> {
  let entries: string[];
  try {
    entries = await fs.readdir(out);
  } catch (error) {
    const code = errnoCode(error);
    if (code === 'ENOENT') return;
    if (code === 'ENOTDIR') throw new AutoconfigError('E_IO', `${out} exists and is not a directory`, { path: out });
    throw new AutoconfigError('E_IO', `cannot read ${out}: ${code ?? String(error)}`, { path: out, cause: error });
  }
  if (entries.length > 0 && !force) {
    throw new AutoconfigError('E_NOT_EMPTY', `${out} is not empty (use --force to write into it anyway)`, {
      path: out,
    });
  }
}

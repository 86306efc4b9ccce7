import { posix } from 'node:path';
import { AutoconfigError } from '../errors.ts';
import { importLogs } from '../import/import.ts';
import { writeTree } from '../import/tree.ts';
import { checkOutDir } from '../snapshot/out-dir.ts';
import { parseArgs } from './_args.ts';
import { EXIT, type CliIO } from './_io.ts';

export async function runImport(argv: readonly string[], io: CliIO): Promise<number> {
  const { options, positionals } = parseArgs(argv, {
    out: { type: 'string', short: 'o' },
    force: { type: 'boolean' },
  });
  if (positionals.length !== 1) throw new AutoconfigError('E_USAGE', 'import needs one LOGDIR and --out DIR');
  if (typeof options.out !== 'string') throw new AutoconfigError('E_USAGE', 'import needs --out DIR');
  const logDir = posix.resolve(io.cwd, positionals[0]!);
  const out = posix.resolve(io.cwd, options.out);
  await checkOutDir(io.fs, out, options.force === true);
  const result = await importLogs(logDir, { fs: io.fs });
  // The tree carries its manifest (autoconfig-snapshot.json) already.
  await writeTree(result.tree, out, io.fs);
  for (const issue of result.issues) io.stderr(`${issue.file}:${issue.line}: ${issue.message}\n`);
  io.stdout(`imported ${logDir} into ${out}\nread it back with: autoconfig probe --root ${out}\n`);
  return EXIT.ok;
}

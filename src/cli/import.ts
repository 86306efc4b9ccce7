import { posix } from 'node:path';
import { AutoconfigError } from '../errors.ts';
import { importLogs, type ImportManifest, type ImportSource } from '../import/import.ts';
import { writeTree } from '../import/tree.ts';
import { checkOutDir } from '../snapshot/out-dir.ts';
import { parseCommand, type CommandSpec } from './_args.ts';
import { EXIT, type CliIO } from './_io.ts';

export const IMPORT = {
  name: 'import',
  args: 'LOGDIR --out DIR',
  summary: 'a snapshot tree from published hardware logs (lspci, lsusb, dmesg, dmidecode ...), for --root DIR',
  options: {
    out: { type: 'string', short: 'o' },
    force: { type: 'boolean' },
    json: { type: 'boolean' },
  },
} as const satisfies CommandSpec;

/** `import --json`: stable keys (docs/cli.md). */
export interface ImportJson {
  logDir: string;
  out: string;
  /** The manifest as written to OUT/autoconfig-snapshot.json (sources, absent facts, notes). */
  manifest: ImportManifest;
  /** Every regular file of the tree written, relative to OUT, sorted (the manifest among them). */
  files: string[];
  /** Each file of LOGDIR read: the format it was recognised as and what it supplied (empty: nothing). */
  read: ImportSource[];
  /** What was passed over and why: a whole file (line 0: binary, not a known format, empty) or one line of it. */
  skipped: Array<{ file: string; line: number; reason: string }>;
}

export async function runImport(argv: readonly string[], io: CliIO): Promise<number> {
  const { options, positionals } = parseCommand(argv, IMPORT);
  if (positionals.length !== 1) throw new AutoconfigError('E_USAGE', 'import needs one LOGDIR and --out DIR');
  if (typeof options.out !== 'string') throw new AutoconfigError('E_USAGE', 'import needs --out DIR');
  const logDir = posix.resolve(io.cwd, positionals[0]!);
  const out = posix.resolve(io.cwd, options.out);
  await checkOutDir(io.fs, out, options.force === true);
  const result = await importLogs(logDir, { fs: io.fs });
  // The tree carries its manifest (autoconfig-snapshot.json) already.
  await writeTree(result.tree, out, io.fs);
  for (const issue of result.issues) io.stderr(`${issue.file}:${issue.line}: ${issue.message}\n`);
  if (options.json) {
    const skipped = result.issues.map(({ file, line, message }) => ({ file, line, reason: message }));
    // An empty file is no issue (nothing to complain about) but it was passed over all the same.
    for (const s of result.manifest.sources) if (s.format === 'empty') skipped.push({ file: s.file, line: 0, reason: 'empty' });
    const json: ImportJson = {
      logDir,
      out,
      manifest: result.manifest,
      files: Object.keys(result.tree.files).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)),
      read: result.manifest.sources,
      skipped,
    };
    io.stdout(JSON.stringify(json, null, 2) + '\n');
    return EXIT.ok;
  }
  io.stdout(`imported ${logDir} into ${out}\nread it back with: autoconfig probe --root ${out}\n`);
  return EXIT.ok;
}

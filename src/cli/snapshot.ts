import { posix } from 'node:path';
import { AutoconfigError } from '../errors.ts';
import { snapshot } from '../snapshot/snapshot.ts';
import { parseArgs } from './_args.ts';
import { EXIT, type CliIO } from './_io.ts';

export async function runSnapshot(argv: readonly string[], io: CliIO): Promise<number> {
  const { options, positionals } = parseArgs(argv, {
    out: { type: 'string', short: 'o' },
    root: { type: 'string' },
    force: { type: 'boolean' },
  });
  if (positionals.length > 0) throw new AutoconfigError('E_USAGE', `unexpected argument "${positionals[0]}"`);
  if (typeof options.out !== 'string') throw new AutoconfigError('E_USAGE', 'snapshot needs --out DIR');
  const out = posix.resolve(io.cwd, options.out);
  const root = posix.resolve(io.cwd, (options.root as string | undefined) ?? '/');
  if (out === root || out.startsWith(root === '/' ? '/sys/' : root + '/sys/')) {
    throw new AutoconfigError('E_USAGE', `--out ${out} would be inside the tree being captured`);
  }
  const result = await snapshot({ fs: io.fs, outFs: io.fs, root, out, force: options.force === true });
  const m = result.manifest;
  io.stdout(
    `snapshot of ${root} written to ${out}: ${m.files} files, ${m.links} symlinks, ` +
      `${result.profile.pci.length} PCI and ${result.profile.usb.length} USB devices` +
      (result.profile.diagnostics.length ? `, ${result.profile.diagnostics.length} diagnostics` : '') +
      `\nread it back with: autoconfig probe --root ${out}\n`,
  );
  for (const note of m.notes) io.stderr(`note: ${note}\n`);
  return EXIT.ok;
}

import { posix } from 'node:path';
import { AutoconfigError } from '../errors.ts';
import { snapshot, type SnapshotManifest } from '../snapshot/snapshot.ts';
import type { Diagnostic } from '../types.ts';
import { parseCommand, type CommandSpec } from './_args.ts';
import { EXIT, type CliIO } from './_io.ts';

export const SNAPSHOT = {
  name: 'snapshot',
  args: '--out DIR',
  summary: 'capture what the probes read into a directory, for --root DIR later',
  options: {
    out: { type: 'string', short: 'o' },
    root: { type: 'string' },
    force: { type: 'boolean' },
    json: { type: 'boolean' },
  },
} as const satisfies CommandSpec;

/** `snapshot --json`: stable keys (docs/cli.md). */
export interface SnapshotJson {
  root: string;
  out: string;
  /** The manifest as written to OUT/autoconfig-snapshot.json. */
  manifest: SnapshotManifest;
  /** Every regular file written, relative to OUT, sorted (the manifest among them). */
  files: string[];
  /** Every symlink written (relative to OUT) and its target, as the kernel's sysfs has it. */
  links: Record<string, string>;
  /** What the probes read that was not copied: path on the machine and why. */
  skipped: Array<{ path: string; reason: string }>;
  devices: { pci: number; usb: number };
  /** The probe's diagnostics on the machine (what it could not read). */
  diagnostics: Diagnostic[];
}

export async function runSnapshot(argv: readonly string[], io: CliIO): Promise<number> {
  const { options, positionals } = parseCommand(argv, SNAPSHOT);
  if (positionals.length > 0) throw new AutoconfigError('E_USAGE', `unexpected argument "${positionals[0]}"`);
  if (typeof options.out !== 'string') throw new AutoconfigError('E_USAGE', 'snapshot needs --out DIR');
  const out = posix.resolve(io.cwd, options.out);
  const root = posix.resolve(io.cwd, (options.root as string | undefined) ?? '/');
  if (out === root || out.startsWith(root === '/' ? '/sys/' : root + '/sys/')) {
    throw new AutoconfigError('E_USAGE', `--out ${out} would be inside the tree being captured`);
  }
  const result = await snapshot({ fs: io.fs, outFs: io.fs, root, out, force: options.force === true });
  const m = result.manifest;
  // stderr says what it always says; with --json, stdout holds the JSON alone.
  for (const note of m.notes) io.stderr(`note: ${note}\n`);
  if (options.json) {
    const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
    const json: SnapshotJson = {
      root,
      out,
      manifest: m,
      files: Object.keys(result.tree.files).sort(byName),
      links: Object.fromEntries(Object.entries(result.tree.links).sort(([a], [b]) => byName(a, b))),
      skipped: result.skipped,
      devices: { pci: result.profile.pci.length, usb: result.profile.usb.length },
      diagnostics: result.profile.diagnostics,
    };
    io.stdout(JSON.stringify(json, null, 2) + '\n');
    return EXIT.ok;
  }
  io.stdout(
    `snapshot of ${root} written to ${out}: ${m.files} files, ${m.links} symlinks, ` +
      `${result.profile.pci.length} PCI and ${result.profile.usb.length} USB devices` +
      (result.profile.diagnostics.length ? `, ${result.profile.diagnostics.length} diagnostics` : '') +
      `\nread it back with: autoconfig probe --root ${out}\n`,
  );
  return EXIT.ok;
}

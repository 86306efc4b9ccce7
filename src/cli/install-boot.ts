// `autoconfig install-boot [--target DIR] [--exec PATH] [--remove] [--dry-run] [--json]`: installs what starts
// autoconfig at boot (src/emit/boot.ts) into a target root: the systemd unit, its enabling link in
// sysinit.target.wants (what `systemctl enable` makes), and the SysV init script, mode 0755. The same atomic,
// backed-up, idempotent writer as `--write`: a second run changes nothing. `--remove` takes back exactly that, only
// where the content is still what install-boot writes (with the same --exec), putting back a file it had replaced.
// SysV rc links are left to `update-rc.d autoconfig defaults`, which orders the script by its LSB header (insserv);
// a fixed S??autoconfig number made here could sort before mountall or after networking on another system.
import { realpathSync } from 'node:fs';
import { dirname, join, posix } from 'node:path';
import { dataDir } from '../data-dir.ts';
import { BOOT_PATHS, execWords, renderBootFiles, type BootFile } from '../emit/boot.ts';
import {
  DEFAULT_BACKUP_SUFFIX,
  readEntry,
  removeFiles,
  writeFiles,
  type CurrentEntry,
  type EntryToWrite,
  type WriteFsLike,
} from '../emit/write.ts';
import { AutoconfigError } from '../errors.ts';
import { Reader } from '../probe/_reader.ts';
import { parseArgs } from './_args.ts';
import { EXIT, type CliIO } from './_io.ts';
import { unifiedDiff } from '../emit/diff.ts';

export const INSTALL_BOOT_USAGE = 'autoconfig install-boot [--target DIR] [--exec PATH] [--remove] [--dry-run] [--json]';

/**
 * The command that starts this very autoconfig: the Node running it and the real path of its bin/autoconfig.cjs
 * (found beside the package's data/, from src/ and from the bundle in dist/ alike).
 */
export function defaultExec(): string[] {
  const bin = join(dirname(dataDir()), 'bin', 'autoconfig.cjs');
  try {
    return [process.execPath, realpathSync(bin)];
  } catch {
    throw new AutoconfigError('E_USAGE', `cannot find ${bin} to start autoconfig at boot; give --exec PATH`, { path: bin });
  }
}

type Status =
  // install, dry run: what would happen; real run: what happened
  | 'new'
  | 'changed'
  | 'unchanged'
  | 'written'
  // remove
  | 'remove'
  | 'restore'
  | 'removed'
  | 'restored'
  | 'absent'
  | 'not-ours'
  // either: the writer refuses the path (a symlink on the way, a directory in place of the file ...)
  | 'refused';

interface Row {
  path: string;
  kind: BootFile['kind'];
  mode?: string;
  symlink?: string;
  status: Status;
  /** Why it is refused or not ours; for a changed file whose mode changes, the old mode. */
  detail?: string;
}

export async function runInstallBoot(argv: readonly string[], io: CliIO): Promise<number> {
  const { options, positionals } = parseArgs(argv, {
    target: { type: 'string' },
    exec: { type: 'string' },
    remove: { type: 'boolean' },
    'dry-run': { type: 'boolean' },
    json: { type: 'boolean' },
  });
  if (positionals.length > 0) throw new AutoconfigError('E_USAGE', `unexpected argument "${positionals[0]}"`);
  const target = posix.resolve(io.cwd, (options.target as string | undefined) ?? '/');
  const exec = typeof options.exec === 'string' ? execWords(options.exec) : defaultExec();
  const remove = options.remove === true;
  const dryRun = options['dry-run'] === true;
  const json = options.json === true;
  const fs = io.fs as unknown as WriteFsLike;
  const boot = renderBootFiles({ exec });
  const entries: EntryToWrite[] = boot.map((f) =>
    f.kind === 'file' ? { path: f.path, content: f.content, mode: f.mode } : { path: f.path, symlink: f.symlink },
  );
  const base = (f: BootFile): Pick<Row, 'path' | 'kind' | 'mode' | 'symlink'> =>
    f.kind === 'file' ? { path: f.path, kind: f.kind, mode: octal(f.mode) } : { path: f.path, kind: f.kind, symlink: f.symlink };

  const warnings: string[] = [];
  if (!remove && !(await new Reader({ fs: io.fs, root: target }).exists(exec[0]!))) {
    warnings.push(`${exec[0]!} is not in ${target} (yet): the boot files start autoconfig by that path, so install it there`);
  }

  const rows: Row[] = [];
  const diffs: string[] = [];
  if (dryRun) {
    for (const f of boot) {
      const current = await readEntry(f.path, { target, fs, kind: f.kind });
      const row: Row = { ...base(f), ...(remove ? removeStatus(f, current) : installStatus(f, current)) };
      if (row.status === 'remove') {
        // What --remove does where a backup of the replaced file is there: renames it back in place.
        const backup = await readEntry(f.path + DEFAULT_BACKUP_SUFFIX, { target, fs, kind: f.kind });
        if (backup.kind === f.kind) row.status = 'restore';
      }
      rows.push(row);
      if (!remove && f.kind === 'file' && (current.kind === 'missing' || current.kind === 'file')) {
        const before = current.kind === 'file' ? Buffer.from(current.bytes).toString('utf8') : null;
        const diff = unifiedDiff(f.path, before, f.content);
        if (diff !== '') diffs.push(diff.trimEnd());
      }
    }
  } else if (remove) {
    const result = await removeFiles(entries, { target, fs });
    for (const f of boot) {
      const status: Status = result.restored.includes(f.path) ? 'restored' : result.removed.includes(f.path) ? 'removed' : 'absent';
      rows.push({ ...base(f), status });
    }
  } else {
    const result = await writeFiles(entries, { target, fs });
    for (const f of boot) rows.push({ ...base(f), status: result.written.includes(f.path) ? 'written' : 'unchanged' });
    for (const backup of result.backups) warnings.push(`kept the file it replaced as ${backup}`);
  }
  const blocked = rows.filter((r) => r.status === 'refused' || r.status === 'not-ours');
  const notes = notesFor(remove, dryRun);

  if (json) {
    io.stdout(
      `${JSON.stringify({ action: remove ? 'remove' : 'install', dryRun, target, exec, files: rows, warnings, notes }, null, 2)}\n`,
    );
  } else {
    io.stdout(textReport(rows, diffs, { remove, dryRun, target, exec }));
    for (const note of notes) io.stdout(`note: ${note}\n`);
  }
  for (const warning of warnings) io.stderr(`autoconfig install-boot: warning: ${warning}\n`);
  // A dry run exits as the real run would: 1, naming the path, when the writer would refuse it.
  for (const row of blocked) io.stderr(`autoconfig install-boot: ${row.detail ?? row.path}\n`);
  return blocked.length > 0 ? EXIT.error : EXIT.ok;
}

function octal(mode: number): string {
  return `0${mode.toString(8).padStart(3, '0')}`;
}

function installStatus(f: BootFile, current: CurrentEntry): Pick<Row, 'status' | 'detail'> {
  if (current.kind === 'refused') return { status: 'refused', detail: current.reason };
  if (current.kind === 'missing') return { status: 'new' };
  if (f.kind === 'symlink') {
    return current.kind === 'symlink' && current.symlink === f.symlink ? { status: 'unchanged' } : { status: 'changed' };
  }
  if (current.kind !== 'file') return { status: 'changed' };
  const same = Buffer.from(current.bytes).toString('utf8') === f.content;
  if (same && current.mode === f.mode) return { status: 'unchanged' };
  return current.mode === f.mode ? { status: 'changed' } : { status: 'changed', detail: `mode ${octal(current.mode)} -> ${octal(f.mode)}` };
}

function removeStatus(f: BootFile, current: CurrentEntry): Pick<Row, 'status' | 'detail'> {
  if (current.kind === 'refused') return { status: 'refused', detail: current.reason };
  if (current.kind === 'missing') return { status: 'absent' };
  const ours =
    f.kind === 'symlink'
      ? current.kind === 'symlink' && current.symlink === f.symlink
      : current.kind === 'file' && Buffer.from(current.bytes).toString('utf8') === f.content;
  if (!ours) {
    return { status: 'not-ours', detail: `${f.path}: not what install-boot writes with this --exec (changed since, or written by something else); nothing would be removed` };
  }
  return { status: 'remove' };
}

const LABEL: Record<Status, string> = {
  new: 'new',
  changed: 'changed',
  unchanged: 'unchanged',
  written: 'written',
  remove: 'remove',
  restore: 'restore',
  removed: 'removed',
  restored: 'restored',
  absent: 'absent',
  'not-ours': 'not ours',
  refused: 'refused',
};

function textReport(
  rows: Row[],
  diffs: string[],
  o: { remove: boolean; dryRun: boolean; target: string; exec: string[] },
): string {
  const out: string[] = [];
  if (o.dryRun) out.push(`autoconfig install-boot${o.remove ? ' --remove' : ''} --dry-run: nothing is written.`);
  out.push(
    o.remove
      ? `Boot files under ${o.target}:`
      : `Boot files under ${o.target}, starting: ${[...o.exec, '--write', '--apply'].join(' ')}`,
  );
  for (const row of rows) {
    const what = row.kind === 'symlink' ? `${row.path} -> ${row.symlink!}` : `${row.path} (${row.mode!})`;
    const detail = row.detail !== undefined && row.status === 'changed' ? `; ${row.detail}` : '';
    out.push(`  ${LABEL[row.status].padEnd(9)} ${what}${detail}`);
  }
  for (const diff of diffs) out.push('', diff);
  return `${out.join('\n')}\n`;
}

function notesFor(remove: boolean, dryRun: boolean): string[] {
  if (remove) {
    return [
      'if `update-rc.d autoconfig defaults` had enabled the init script, `update-rc.d autoconfig remove` drops its rc links',
      ...(dryRun ? [] : ['a running systemd forgets the unit after `systemctl daemon-reload`']),
    ];
  }
  return [
    `systemd: enabled by the link in ${posix.dirname(BOOT_PATHS.unitLink)} (what \`systemctl enable autoconfig\` makes); ` +
      'it runs at the next boot (`systemctl daemon-reload` makes a running systemd see it now)',
    'SysV init: `update-rc.d autoconfig defaults` enables the init script in rcS (ordered by its LSB header); ' +
      'under systemd the unit of the same name runs instead; a busybox init runs `/etc/init.d/autoconfig start` from its sysinit script',
  ];
}

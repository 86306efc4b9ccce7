// Writes generated files into a target root (the running system "/" at boot, or a mounted installation) so that
// a crash, a full disk or a read-only mount never leaves a half-written config behind: each file is written to a
// temporary file in its own directory, fsynced, then renamed over the old one. A file whose content is already
// right is not touched (a second run changes nothing), and the file a run replaces is kept once as a backup.
//
// Paths are absolute as seen inside the target. No path may contain "..", and no existing component under the
// target may be a symlink: a symlinked /etc in a target could point at the host's /etc, so writing through
// symlinks is refused outright rather than resolved. Every path is checked before the first file is written.
//
// A symlink can be written too (an enabling link in a systemd .wants directory): created under a temporary name in
// its directory, then renamed over the old link, so it too changes in one step. Its text must lead to a path inside
// the target (a relative link may not climb above the target's root); it is never followed here. removeFiles()
// takes back what writeFiles() wrote, only where the content is still exactly that.
import { posix } from 'node:path';
import { AutoconfigError, errnoCode } from '../errors.ts';
import { nodeFsPromises, type FileHandleLike, type StatsLike, type WritableFsLike } from '../fs.ts';

export interface WriteStatsLike extends StatsLike {
  mode: number;
}

export interface WriteHandleLike extends FileHandleLike {
  write(
    buffer: Uint8Array,
    offset: number,
    length: number,
    position: number | null,
  ): Promise<{ bytesWritten: number }>;
  chmod(mode: number): Promise<void>;
  sync(): Promise<void>;
}

/** WritableFsLike plus file handles that write and fsync. node:fs/promises and memfs's `promises` satisfy it. */
export interface WriteFsLike extends WritableFsLike {
  open(path: string, flags: string, mode?: number): Promise<WriteHandleLike>;
  lstat(path: string): Promise<WriteStatsLike>;
}

// node:fs/promises file handles write, sync and chmod: the project's default fs already is one.
export const nodeWriteFs: WriteFsLike = nodeFsPromises as unknown as WriteFsLike;

export interface FileToWrite {
  /** Absolute path inside the target: "/etc/sysconfig/xserver". */
  path: string;
  content: string | Uint8Array;
  /** Permission bits; default: those of the file replaced, or 0644 for a new file. Applied exactly (no umask). */
  mode?: number;
}

/** A symlink to create (or replace) at `path`; `symlink` is the link's text, e.g. "../autoconfig.service". */
export interface SymlinkToWrite {
  path: string;
  symlink: string;
}

export type EntryToWrite = FileToWrite | SymlinkToWrite;

function isSymlinkEntry(entry: EntryToWrite): entry is SymlinkToWrite {
  return 'symlink' in entry && typeof entry.symlink === 'string';
}

export interface WriteOptions {
  /** The root the paths are inside of ("/" at boot). Must be an existing directory. */
  target: string;
  fs?: WriteFsLike;
  /** Appended to a replaced file's name for its backup; default ".autoconfig-old". */
  backupSuffix?: string;
  /** false: keep no backup of what is replaced (a file rewritten on every run, such as the run record). */
  backup?: boolean;
  /** Dry runs are the plan's business: nothing here pretends to write. */
  dryRun?: false;
}

export interface WriteResult {
  /** Paths (inside the target) written by this call, in order. */
  written: string[];
  /** Paths whose content (and mode, when given) was already right. */
  unchanged: string[];
  /** Backups (inside the target) created by this call. */
  backups: string[];
  /**
   * Stale temporary files of an earlier, interrupted run (`.NAME.autoconfig-XXXXXXXX.tmp`, regular files only) that
   * this call removed from the directories it writes to (paths inside the target).
   */
  removedTemps: string[];
}

/** A write that failed after others succeeded: `partial` says what was already done (each file is all-or-nothing). */
export class WriteFilesError extends AutoconfigError {
  readonly partial: WriteResult;

  constructor(error: AutoconfigError, partial: WriteResult) {
    super(error.code, error.message, { cause: error.cause, ...(error.path === undefined ? {} : { path: error.path }) });
    this.partial = partial;
  }
}

export const DEFAULT_BACKUP_SUFFIX = '.autoconfig-old';
const DEFAULT_MODE = 0o644;

export async function writeFiles(files: readonly EntryToWrite[], options: WriteOptions): Promise<WriteResult> {
  const fs = options.fs ?? nodeWriteFs;
  if ((options.dryRun as boolean | undefined) === true) {
    throw new AutoconfigError('E_USAGE', 'writeFiles has no dry run: do not call it to preview a plan');
  }
  const suffix = options.backupSuffix ?? DEFAULT_BACKUP_SUFFIX;
  if (suffix === '' || suffix.includes('/') || suffix.includes('\0')) {
    throw new AutoconfigError('E_USAGE', `invalid backup suffix ${JSON.stringify(suffix)}`);
  }
  const keep = options.backup === false ? null : suffix;
  const target = posix.resolve('/', options.target);
  const checked = checkEntries(files);
  await requireDirectory(fs, target);
  // Every path is checked before anything is written, so a refused path leaves the whole target untouched.
  for (const file of checked) await checkComponents(fs, target, file.path, false, file.kind);

  const result: WriteResult = { written: [], unchanged: [], backups: [], removedTemps: [] };
  // A run killed between creating a temporary file and renaming it leaves the temporary file behind: remove ours
  // (exactly the name writeTemp gives, regular files only) from the directories this call writes to.
  for (const dir of new Set(checked.map((file) => posix.dirname(file.path)))) {
    result.removedTemps.push(...(await removeStaleTemps(fs, target, dir)));
  }
  const dirsToSync = new Set<string>();
  for (const file of checked) {
    try {
      await checkComponents(fs, target, file.path, true, file.kind);
      const wrote =
        file.kind === 'symlink'
          ? await writeLink(fs, target, file.path, file.symlink, keep, result.backups)
          : await writeOne(fs, target, file.path, file.bytes, file.mode, keep, result.backups);
      if (wrote) {
        result.written.push(file.path);
        dirsToSync.add(posix.dirname(posix.join(target, file.path)));
      } else {
        result.unchanged.push(file.path);
      }
    } catch (error) {
      const failure = error instanceof AutoconfigError ? error : ioError(file.path, 'cannot write', error);
      if (result.written.length === 0 && result.backups.length === 0) throw failure;
      throw new WriteFilesError(failure, result);
    }
  }
  for (const dir of dirsToSync) await syncDirectory(fs, dir);
  return result;
}

type CheckedEntry =
  | { kind: 'file'; path: string; bytes: Uint8Array; mode: number | undefined }
  | { kind: 'symlink'; path: string; symlink: string };

/** Paths normalised and unique, modes and link texts valid: every entry checked before anything is touched. */
function checkEntries(entries: readonly EntryToWrite[]): CheckedEntry[] {
  const seen = new Set<string>();
  return entries.map((entry): CheckedEntry => {
    const path = checkPath(entry.path);
    if (seen.has(path)) throw new AutoconfigError('E_USAGE', `${path} is listed twice`, { path });
    seen.add(path);
    if (isSymlinkEntry(entry)) return { kind: 'symlink', path, symlink: checkLinkText(path, entry.symlink) };
    const mode = entry.mode;
    if (mode !== undefined && !(Number.isInteger(mode) && mode >= 0 && mode <= 0o7777)) {
      throw new AutoconfigError('E_USAGE', `${path}: invalid mode ${String(mode)}`, { path });
    }
    return { kind: 'file', path, bytes: toBytes(entry.content), mode };
  });
}

/**
 * A link's text, refused unless it names a path inside the target: not empty, no NUL; absolute without "..";
 * relative without climbing above the target's root from the link's directory ("../x" from /etc/a/b is fine,
 * "../../../x" is not). The link is resolved inside the target by the system that boots from it, never here.
 */
function checkLinkText(path: string, text: string): string {
  const refuse = (why: string) =>
    new AutoconfigError('E_OUTSIDE_ROOT', `${path}: symlink text ${JSON.stringify(text)} ${why}`, { path });
  if (typeof text !== 'string' || text === '') throw refuse('is empty');
  if (text.includes('\0')) throw refuse('contains a NUL');
  const parts = text.split('/').filter((p) => p !== '' && p !== '.');
  if (text.startsWith('/')) {
    if (parts.includes('..')) throw refuse('has ".." in an absolute link');
    return text;
  }
  let depth = posix.dirname(path).split('/').filter((p) => p !== '').length;
  for (const part of parts) {
    depth += part === '..' ? -1 : 1;
    if (depth < 0) throw refuse('leads out of the target root');
  }
  if (parts.length === 0) throw refuse('names no file');
  return text;
}

/** The path normalised ("//etc/./x" -> "/etc/x"); refused when relative, with "..", a NUL, or no file name. */
function checkPath(path: string): string {
  if (typeof path !== 'string' || !path.startsWith('/')) {
    throw new AutoconfigError('E_OUTSIDE_ROOT', `${String(path)}: not an absolute path inside the target`, {
      path: String(path),
    });
  }
  if (path.includes('\0')) {
    throw new AutoconfigError('E_OUTSIDE_ROOT', `${JSON.stringify(path)}: contains a NUL`, { path });
  }
  if (path.split('/').includes('..')) {
    throw new AutoconfigError('E_OUTSIDE_ROOT', `${path}: ".." is not allowed in a path inside the target`, { path });
  }
  const normal = posix.normalize(path);
  if (normal === '/' || path.endsWith('/') || path.endsWith('/.')) {
    throw new AutoconfigError('E_OUTSIDE_ROOT', `${path}: not a file name`, { path });
  }
  return normal;
}

function toBytes(content: string | Uint8Array): Uint8Array {
  return typeof content === 'string' ? Buffer.from(content, 'utf8') : content;
}

function ioError(path: string, what: string, error: unknown): AutoconfigError {
  const code = errnoCode(error);
  const why =
    code === 'EROFS' ? 'read-only filesystem' : code === 'EACCES' || code === 'EPERM' ? 'permission denied' : '';
  const detail = [code, why].filter((s) => s !== undefined && s !== '').join(', ') || String(error);
  return new AutoconfigError('E_IO', `${path}: ${what} (${detail})`, { path, cause: error });
}

async function requireDirectory(fs: WriteFsLike, target: string): Promise<void> {
  let stats: StatsLike;
  try {
    stats = await fs.stat(target);
  } catch (error) {
    throw ioError(target, 'target root is not usable', error);
  }
  if (!stats.isDirectory()) {
    throw new AutoconfigError('E_IO', `${target}: target root is not a directory`, { path: target });
  }
}

async function lstatOrNull(fs: WriteFsLike, real: string): Promise<WriteStatsLike | null> {
  try {
    return await fs.lstat(real);
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return null;
    throw error;
  }
}

/**
 * Walks the directories of `path` under the target, one component at a time: a symlink is refused, a
 * non-directory is an error, a missing one is created when `create` (one level at a time, so mkdir never follows
 * a link). The file itself may be missing or a regular file, not a symlink or anything else; for a symlink entry
 * (`last` 'symlink') it may be missing or a symlink, which is replaced, never followed.
 */
async function checkComponents(
  fs: WriteFsLike,
  target: string,
  path: string,
  create: boolean,
  lastKind: 'file' | 'symlink' = 'file',
): Promise<void> {
  const parts = path.split('/').filter((p) => p !== '');
  let inside = '';
  for (let i = 0; i < parts.length; i++) {
    inside = `${inside}/${parts[i]!}`;
    const real = posix.join(target, inside);
    const last = i === parts.length - 1;
    let stats: WriteStatsLike | null;
    try {
      stats = await lstatOrNull(fs, real);
    } catch (error) {
      throw ioError(path, `cannot inspect ${inside}`, error);
    }
    if (stats === null) {
      if (last) return;
      if (!create) return; // the rest is missing too; created in the write pass
      try {
        await fs.mkdir(real, { recursive: true });
      } catch (error) {
        throw ioError(path, `cannot create directory ${inside}`, error);
      }
      continue;
    }
    if (last && lastKind === 'symlink') {
      if (!stats.isSymbolicLink()) throw new AutoconfigError('E_IO', `${path}: ${inside} exists and is not a symlink`, { path });
      return;
    }
    if (stats.isSymbolicLink()) {
      let to = '';
      try {
        to = ` -> ${await fs.readlink(real)}`;
      } catch {
        // The link text is only for the message.
      }
      throw new AutoconfigError(
        'E_OUTSIDE_ROOT',
        `${path}: ${inside}${to} is a symlink in ${target}; autoconfig does not write through symlinks`,
        { path },
      );
    }
    if (last ? !stats.isFile() : !stats.isDirectory()) {
      throw new AutoconfigError('E_IO', `${path}: ${inside} is not a ${last ? 'regular file' : 'directory'}`, { path });
    }
  }
}

async function readAll(fs: WriteFsLike, real: string, size: number): Promise<Uint8Array> {
  const handle = await fs.open(real, 'r');
  try {
    const chunks: Uint8Array[] = [];
    let total = 0;
    for (;;) {
      const buffer = new Uint8Array(Math.max(size - total, 0) + 4096);
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, null);
      if (bytesRead === 0) break;
      chunks.push(buffer.subarray(0, bytesRead));
      total += bytesRead;
    }
    return Buffer.concat(chunks, total);
  } finally {
    await handle.close();
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b);
}

/** Writes `bytes` to a new temporary file next to `real` (mode applied exactly), fsynced; returns its path. */
async function writeTemp(fs: WriteFsLike, real: string, bytes: Uint8Array, mode: number): Promise<string> {
  const dir = posix.dirname(real);
  const base = posix.basename(real);
  for (let attempt = 0; ; attempt++) {
    // The name only has to be unlikely to exist: 'wx' (O_EXCL) makes the open itself safe, so no crypto (whose
    // import costs milliseconds at every boot) is needed.
    const temp = posix.join(dir, `.${base}.autoconfig-${tempTag()}.tmp`);
    let handle: WriteHandleLike;
    try {
      handle = await fs.open(temp, 'wx', mode);
    } catch (error) {
      if (errnoCode(error) === 'EEXIST' && attempt < 8) continue;
      throw error;
    }
    try {
      let done = 0;
      while (done < bytes.length) {
        const { bytesWritten } = await handle.write(bytes, done, bytes.length - done, null);
        if (bytesWritten <= 0) throw new Error(`write returned ${bytesWritten}`);
        done += bytesWritten;
      }
      await handle.chmod(mode);
      await handle.sync();
    } catch (error) {
      await handle.close().catch(() => undefined);
      await removeQuietly(fs, temp);
      throw error;
    }
    try {
      await handle.close();
    } catch (error) {
      await removeQuietly(fs, temp);
      throw error;
    }
    return temp;
  }
}

/** The name writeTemp and replaceLink give a temporary file: `.NAME.autoconfig-XXXXXXXX.tmp` (8 lowercase hex). */
export const TEMP_NAME = /^\.[^/]+\.autoconfig-[0-9a-f]{8}\.tmp$/;

/**
 * Removes stale temporary files of ours from the directory `dir` (inside the target, its components already
 * checked not to be symlinks): only names matching TEMP_NAME, only regular files (lstat: a symlink, directory or
 * FIFO of that name is left alone, never followed). Best effort: a directory that is missing or unreadable, or a
 * file that cannot be removed, is left as it is. Returns the paths removed, inside the target.
 */
async function removeStaleTemps(fs: WriteFsLike, target: string, dir: string): Promise<string[]> {
  const real = posix.join(target, dir);
  let names: string[];
  try {
    const stats = await lstatOrNull(fs, real);
    if (stats === null || !stats.isDirectory()) return [];
    names = (await fs.readdir(real)).map(String).sort();
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    if (!TEMP_NAME.test(name)) continue;
    const path = posix.join(real, name);
    try {
      const stats = await lstatOrNull(fs, path);
      if (stats === null || !stats.isFile() || stats.isSymbolicLink()) continue;
      await fs.unlink(path);
      removed.push(posix.join(dir, name));
    } catch {
      // Gone meanwhile, or not ours to remove: the write itself does not depend on it.
    }
  }
  return removed;
}

async function removeQuietly(fs: WriteFsLike, path: string): Promise<void> {
  try {
    await fs.unlink(path);
  } catch {
    // Already gone, or the filesystem refuses even that: the caller's error says what went wrong first.
  }
}

/** Writes a temp file and renames it to `to`; the temp file is removed when anything fails. */
async function replaceWith(fs: WriteFsLike, to: string, bytes: Uint8Array, mode: number): Promise<void> {
  const temp = await writeTemp(fs, to, bytes, mode);
  try {
    await fs.rename(temp, to);
  } catch (error) {
    await removeQuietly(fs, temp);
    throw error;
  }
}

async function writeOne(
  fs: WriteFsLike,
  target: string,
  path: string,
  bytes: Uint8Array,
  mode: number | undefined,
  suffix: string | null,
  backups: string[],
): Promise<boolean> {
  const real = posix.join(target, path);
  let current: { bytes: Uint8Array; mode: number } | null = null;
  try {
    const stats = await lstatOrNull(fs, real);
    if (stats !== null) current = { bytes: await readAll(fs, real, stats.size), mode: stats.mode & 0o7777 };
  } catch (error) {
    throw ioError(path, 'cannot read the current file', error);
  }
  const wanted = mode ?? current?.mode ?? DEFAULT_MODE;
  if (current !== null && current.mode === wanted && sameBytes(current.bytes, bytes)) {
    return false;
  }

  if (current !== null && suffix !== null) {
    const backupReal = real + suffix;
    try {
      // A backup from an earlier run is the original file: it is never replaced.
      if ((await lstatOrNull(fs, backupReal)) === null) {
        await replaceWith(fs, backupReal, current.bytes, current.mode);
        // Listed at once: if the write below fails, the backup (a true copy of the intact file) stays.
        backups.push(path + suffix);
      }
    } catch (error) {
      throw ioError(path, `cannot keep a backup as ${path + suffix}`, error);
    }
  }
  try {
    await replaceWith(fs, real, bytes, wanted);
  } catch (error) {
    throw ioError(path, 'cannot write', error);
  }
  return true;
}

/** Creates a symlink under a temporary name next to `real` and renames it to `real`: the link changes in one step. */
async function replaceLink(fs: WriteFsLike, real: string, text: string): Promise<void> {
  const dir = posix.dirname(real);
  const base = posix.basename(real);
  for (let attempt = 0; ; attempt++) {
    const temp = posix.join(dir, `.${base}.autoconfig-${tempTag()}.tmp`);
    try {
      await fs.symlink(text, temp);
    } catch (error) {
      if (errnoCode(error) === 'EEXIST' && attempt < 8) continue;
      throw error;
    }
    try {
      await fs.rename(temp, real);
    } catch (error) {
      await removeQuietly(fs, temp);
      throw error;
    }
    return;
  }
}

/** Creates or replaces the symlink `path` with the text `text`; false when it already is exactly that link. */
async function writeLink(
  fs: WriteFsLike,
  target: string,
  path: string,
  text: string,
  suffix: string | null,
  backups: string[],
): Promise<boolean> {
  const real = posix.join(target, path);
  let current: string | null = null;
  try {
    const stats = await lstatOrNull(fs, real);
    if (stats !== null) current = await fs.readlink(real);
  } catch (error) {
    throw ioError(path, 'cannot read the current link', error);
  }
  if (current === text) return false;
  if (current !== null && suffix !== null) {
    const backupReal = real + suffix;
    try {
      // As for files: the link replaced first is kept once, as a link with the same text.
      if ((await lstatOrNull(fs, backupReal)) === null) {
        await replaceLink(fs, backupReal, current);
        backups.push(path + suffix);
      }
    } catch (error) {
      throw ioError(path, `cannot keep a backup as ${path + suffix}`, error);
    }
  }
  try {
    await replaceLink(fs, real, text);
  } catch (error) {
    throw ioError(path, 'cannot create the symlink', error);
  }
  return true;
}

/** What is at a path inside the target now, as writeFiles() and removeFiles() see it (never through a symlink). */
export type CurrentEntry =
  | { kind: 'missing' }
  | { kind: 'file'; bytes: Uint8Array; mode: number }
  | { kind: 'symlink'; symlink: string }
  /** Something writeFiles() would refuse: a symlink or non-directory on the way, a directory or device there. */
  | { kind: 'refused'; reason: string };

/**
 * Reads what is at `path` inside the target without writing or following anything: the view a dry run shows a
 * diff against. A path writeFiles() would refuse is 'refused' with the reason, not an exception.
 */
export async function readEntry(
  path: string,
  options: { target: string; fs?: WriteFsLike; kind?: 'file' | 'symlink' },
): Promise<CurrentEntry> {
  const fs = options.fs ?? nodeWriteFs;
  const target = posix.resolve('/', options.target);
  let normal: string;
  try {
    normal = checkPath(path);
    await checkComponents(fs, target, normal, false, options.kind ?? 'file');
  } catch (error) {
    if (error instanceof AutoconfigError) return { kind: 'refused', reason: error.message };
    throw error;
  }
  const real = posix.join(target, normal);
  try {
    const stats = await lstatOrNull(fs, real);
    if (stats === null) return { kind: 'missing' };
    if (stats.isSymbolicLink()) return { kind: 'symlink', symlink: await fs.readlink(real) };
    return { kind: 'file', bytes: await readAll(fs, real, stats.size), mode: stats.mode & 0o7777 };
  } catch (error) {
    // A parent that is missing (ENOTDIR/ENOENT races) reads as missing; anything else is an I/O error.
    if (errnoCode(error) === 'ENOENT') return { kind: 'missing' };
    throw ioError(normal, 'cannot read', error);
  }
}

export interface RemoveResult {
  /** Paths removed (nothing was there before them). */
  removed: string[];
  /** Paths whose backup (NAME + suffix, kept when writeFiles() replaced it) was renamed back in their place. */
  restored: string[];
  /** Paths that were not there. */
  absent: string[];
}

/**
 * Takes back what writeFiles() wrote: each entry is removed only when it is still exactly what was written (a
 * file's bytes, a link's text); where writeFiles() kept a backup of what it replaced, the backup is renamed back
 * over it (one step), else the entry is unlinked. Every entry is checked first: if any one differs, or a path is
 * refused (a symlink on the way), nothing is removed and the error (E_CHANGED or E_OUTSIDE_ROOT) names it.
 * Directories writeFiles() created stay.
 */
export async function removeFiles(
  entries: readonly EntryToWrite[],
  options: { target: string; fs?: WriteFsLike; backupSuffix?: string },
): Promise<RemoveResult> {
  const fs = options.fs ?? nodeWriteFs;
  const suffix = options.backupSuffix ?? DEFAULT_BACKUP_SUFFIX;
  if (suffix === '' || suffix.includes('/') || suffix.includes('\0')) {
    throw new AutoconfigError('E_USAGE', `invalid backup suffix ${JSON.stringify(suffix)}`);
  }
  const target = posix.resolve('/', options.target);
  const checked = checkEntries(entries);
  await requireDirectory(fs, target);
  const plan: { entry: CheckedEntry; present: boolean; backup: boolean }[] = [];
  for (const entry of checked) {
    await checkComponents(fs, target, entry.path, false, entry.kind);
    const current = await readEntry(entry.path, { target, fs, kind: entry.kind });
    if (current.kind === 'refused') throw new AutoconfigError('E_OUTSIDE_ROOT', current.reason, { path: entry.path });
    if (current.kind === 'missing') {
      plan.push({ entry, present: false, backup: false });
      continue;
    }
    const same =
      entry.kind === 'symlink'
        ? current.kind === 'symlink' && current.symlink === entry.symlink
        : current.kind === 'file' && sameBytes(current.bytes, entry.bytes);
    if (!same) {
      throw new AutoconfigError('E_CHANGED', `${entry.path}: not what was written (changed since, or written by something else); nothing removed`, {
        path: entry.path,
      });
    }
    const backup = await readEntry(entry.path + suffix, { target, fs, kind: entry.kind });
    plan.push({ entry, present: true, backup: backup.kind === entry.kind });
  }
  const result: RemoveResult = { removed: [], restored: [], absent: [] };
  const dirsToSync = new Set<string>();
  for (const { entry, present, backup } of plan) {
    const real = posix.join(target, entry.path);
    if (!present) {
      result.absent.push(entry.path);
      continue;
    }
    try {
      if (backup) {
        await fs.rename(real + suffix, real);
        result.restored.push(entry.path);
      } else {
        await fs.unlink(real);
        result.removed.push(entry.path);
      }
      dirsToSync.add(posix.dirname(real));
    } catch (error) {
      throw ioError(entry.path, backup ? `cannot put back ${entry.path + suffix}` : 'cannot remove', error);
    }
  }
  for (const dir of dirsToSync) await syncDirectory(fs, dir);
  return result;
}

/** fsyncs a directory so its renames survive a power cut; filesystems that cannot (memfs, some FUSE) are let be. */
async function syncDirectory(fs: WriteFsLike, dir: string): Promise<void> {
  let handle: WriteHandleLike;
  try {
    handle = await fs.open(dir, 'r');
  } catch {
    return;
  }
  try {
    await handle.sync();
  } catch {
    // EINVAL/EISDIR where directories cannot be synced: the data itself was fsynced before the rename.
  } finally {
    await handle.close().catch(() => undefined);
  }
}

function tempTag(): string {
  return Math.floor(Math.random() * 0x100000000).toString(16).padStart(8, '0');
}

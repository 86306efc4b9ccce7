// Writes generated files into a target root (the running system "/" at boot, or a mounted installation) so that
// a crash, a full disk or a read-only mount never leaves a half-written config behind, nor a set of files half old
// and half new:
// 1. stage: every file that changes is written to a temporary file in its own directory and fsynced, and the file
//    it replaces is held (a hard link to its inode, or a copy where links are not supported) before anything is
//    renamed, so a full disk or an immutable directory fails here, with nothing changed;
// 2. commit: the temporary files are renamed over the old ones one after another, then the directories fsynced;
// 3. a rename that fails puts back every one already renamed, from what was held, so the set is wholly old again.
//    Only when even that fails is the write partial: WriteFilesError (E_PARTIAL) says which files are new, which old.
// A file whose content is already right is not touched (a second run changes nothing), and the file a run replaces
// is kept once as a backup.
//
// Paths are absolute as seen inside the target. No path may contain "..", and no existing component under the
// target may be a symlink: a symlinked /etc in a target could point at the host's /etc, so writing through
// symlinks is refused outright rather than resolved. Every path is checked before the first file is written. A
// check is not enough when another process can swap a directory for a symlink between the check and the write, so
// on Linux the target is walked one opened directory at a time (O_DIRECTORY|O_NOFOLLOW), and every file is made,
// renamed and removed through /proc/self/fd/N/NAME of the directory opened: a lookup that starts at that directory,
// which a swapped path cannot redirect. Without /proc (or on memfs) each component is checked just before use.
//
// A symlink can be written too (an enabling link in a systemd .wants directory): created under a temporary name in
// its directory, then renamed over the old link, so it too changes in one step. Its text must lead to a path inside
// the target (a relative link may not climb above the target's root); it is never followed here. removeFiles()
// takes back what writeFiles() wrote, only where the content is still exactly that.
import { constants } from 'node:fs';
import { posix } from 'node:path';
import { AutoconfigError, errnoCode } from '../errors.ts';
import { nodeFsPromises, type FileHandleLike, type StatsLike, type WritableFsLike } from '../fs.ts';

export interface WriteStatsLike extends StatsLike {
  mode: number;
  ino?: number;
  dev?: number;
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
  /** The descriptor (node:fs and memfs handles have it): the anchor of /proc/self/fd/N/NAME paths. */
  fd?: number;
}

/** WritableFsLike plus file handles that write and fsync. node:fs/promises and memfs's `promises` satisfy it. */
export interface WriteFsLike extends WritableFsLike {
  open(path: string, flags: string | number, mode?: number): Promise<WriteHandleLike>;
  lstat(path: string): Promise<WriteStatsLike>;
  stat(path: string): Promise<WriteStatsLike>;
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

/** What a failed set left: `written` are new, `old` are as they were (never reached, or put back). */
export interface PartialWrite extends WriteResult {
  /** Paths that were to change and are as before the call: not reached, or put back after a failure. */
  old: string[];
  /** Paths in `written` that could not be put back, with why. */
  notRestored: { path: string; error: string }[];
}

/**
 * A set that failed after some of its files had been renamed into place, and putting those back failed too (code
 * E_PARTIAL): `partial` says which files are new and which old. Every file on its own is still wholly old or new.
 */
export class WriteFilesError extends AutoconfigError {
  readonly partial: PartialWrite;

  constructor(error: AutoconfigError, partial: PartialWrite) {
    super(error.code, error.message, { cause: error.cause, ...(error.path === undefined ? {} : { path: error.path }) });
    this.partial = partial;
  }
}

export const DEFAULT_BACKUP_SUFFIX = '.autoconfig-old';
const DEFAULT_MODE = 0o644;

// ---- The target, walked one directory at a time.

/** A directory inside the target: checked by path (memfs), or open, anchoring the names in it (Linux). */
export interface Dir {
  /** Path inside the target: "/" or "/etc/sysconfig". */
  inside: string;
  /** The path of the entry NAME of this directory, to hand to the fs. */
  entry(name: string): string;
  handle: WriteHandleLike | null;
}

const O_DIR_NOFOLLOW = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW;
const O_READ_NOFOLLOW = constants.O_RDONLY | constants.O_NOFOLLOW;

/**
 * The target root and the directories opened under it. In anchored mode (an fs with fdPath and /proc/self/fd
 * working) every directory is opened with O_NOFOLLOW|O_DIRECTORY through its parent's descriptor, so no swapped
 * component can lead outside; otherwise each component is lstat-checked just before it is used.
 */
export class TargetDirs {
  readonly fs: WriteFsLike;
  readonly target: string;
  private readonly dirs = new Map<string, Dir>();
  /** Directories this walk created, in creation order (removed again if the set is rolled back). */
  readonly created: string[] = [];
  private constructor(fs: WriteFsLike, target: string) {
    this.fs = fs;
    this.target = target;
  }

  get anchored(): boolean {
    return this.dirs.get('/')?.handle != null;
  }

  /** Opens the target root (an existing directory; a symlink there is the caller's choice and is followed). */
  static async open(fs: WriteFsLike, target: string): Promise<TargetDirs> {
    const walk = new TargetDirs(fs, target);
    let stats: WriteStatsLike;
    try {
      stats = await fs.stat(target);
    } catch (error) {
      throw ioError(target, 'target root is not usable', error);
    }
    if (!stats.isDirectory()) {
      throw new AutoconfigError('E_IO', `${target}: target root is not a directory`, { path: target });
    }
    walk.dirs.set('/', { inside: '/', entry: (name) => posix.join(target, name), handle: null });
    const fdPath = fs.fdPath;
    if (fdPath !== undefined) {
      let handle: WriteHandleLike | null = null;
      try {
        handle = await fs.open(target, constants.O_RDONLY | constants.O_DIRECTORY);
        const fd = handle.fd;
        // /proc may be missing (an early boot without it): then /proc/self/fd/N/. is not the root just opened.
        const seen = typeof fd === 'number' ? await fs.stat(fdPath(fd, '.')) : null;
        if (seen !== null && seen.ino === stats.ino && seen.dev === stats.dev && typeof fd === 'number') {
          walk.dirs.set('/', { inside: '/', entry: (name) => fdPath(fd, name), handle });
          handle = null;
        }
      } catch {
        // Checked paths, as without fdPath.
      } finally {
        await handle?.close().catch(() => undefined);
      }
    }
    return walk;
  }

  /** The real path of a path inside the target, for messages and the checked mode. */
  real(inside: string): string {
    return posix.join(this.target, inside);
  }

  /**
   * The directory `inside` (normalised, absolute inside the target), walked from the root one component at a time:
   * a symlink is refused (E_OUTSIDE_ROOT), a non-directory is an error, a missing one is created when `create`
   * (else null). `forPath` is the file the message names.
   */
  async dir(inside: string, create: boolean, forPath: string): Promise<Dir | null> {
    const cached = this.dirs.get(inside);
    if (cached !== undefined && cached.handle !== null) return cached;
    const parts = inside.split('/').filter((p) => p !== '');
    let dir = this.dirs.get('/')!;
    let at = '';
    for (const name of parts) {
      at = `${at}/${name}`;
      const known = this.dirs.get(at);
      if (known !== undefined && known.handle !== null) {
        dir = known;
        continue;
      }
      const next = await this.child(dir, name, at, create, forPath);
      if (next === null) return null;
      dir = next;
    }
    return dir;
  }

  private async child(parent: Dir, name: string, at: string, create: boolean, forPath: string): Promise<Dir | null> {
    const fs = this.fs;
    const entry = parent.entry(name);
    let stats = await this.inspect(entry, at, forPath);
    if (stats === null) {
      if (!create) return null;
      try {
        await fs.mkdir(entry, { recursive: true });
        this.created.push(at);
      } catch (error) {
        // Made meanwhile by someone else is fine: it is checked like any other below.
        if (errnoCode(error) !== 'EEXIST') throw ioError(forPath, `cannot create directory ${at}`, error);
      }
      stats = await this.inspect(entry, at, forPath);
      if (stats === null) throw new AutoconfigError('E_IO', `${forPath}: directory ${at} vanished while writing`, { path: forPath });
    }
    await this.refuseUnlessDir(stats, entry, at, forPath);
    if (parent.handle === null) {
      const dir: Dir = { inside: at, entry: (n) => posix.join(this.real(at), n), handle: null };
      this.dirs.set(at, dir);
      return dir;
    }
    let handle: WriteHandleLike;
    try {
      handle = await fs.open(entry, O_DIR_NOFOLLOW);
    } catch (error) {
      const code = errnoCode(error);
      // Swapped for a symlink (ELOOP) or a file (ENOTDIR) since the lstat above: refused, never followed.
      if (code === 'ELOOP') throw symlinkRefusal(forPath, at, '', this.target);
      if (code === 'ENOTDIR') throw new AutoconfigError('E_IO', `${forPath}: ${at} is not a directory`, { path: forPath });
      throw ioError(forPath, `cannot open directory ${at}`, error);
    }
    const fd = handle.fd!;
    const dir: Dir = { inside: at, entry: (n) => this.fs.fdPath!(fd, n), handle };
    this.dirs.set(at, dir);
    return dir;
  }

  private async inspect(entry: string, at: string, forPath: string): Promise<WriteStatsLike | null> {
    try {
      return await lstatOrNull(this.fs, entry);
    } catch (error) {
      throw ioError(forPath, `cannot inspect ${at}`, error);
    }
  }

  private async refuseUnlessDir(stats: WriteStatsLike, entry: string, at: string, forPath: string): Promise<void> {
    if (stats.isSymbolicLink()) {
      let to = '';
      try {
        to = ` -> ${await this.fs.readlink(entry)}`;
      } catch {
        // The link text is only for the message.
      }
      throw symlinkRefusal(forPath, at, to, this.target);
    }
    if (!stats.isDirectory()) throw new AutoconfigError('E_IO', `${forPath}: ${at} is not a directory`, { path: forPath });
  }

  /** fsyncs a directory so its renames survive a power cut; filesystems that cannot (memfs, some FUSE) are let be. */
  async sync(inside: string): Promise<void> {
    const dir = this.dirs.get(inside);
    if (dir?.handle) {
      await dir.handle.sync().catch(() => undefined);
      return;
    }
    await syncDirectory(this.fs, this.real(inside));
  }

  async close(): Promise<void> {
    for (const dir of this.dirs.values()) await dir.handle?.close().catch(() => undefined);
    this.dirs.clear();
  }

  /** Flags that open an existing file for reading without following a symlink (where the fs is node:fs). */
  get readFlags(): string | number {
    return this.anchored ? O_READ_NOFOLLOW : 'r';
  }
}

function symlinkRefusal(path: string, at: string, to: string, target: string): AutoconfigError {
  return new AutoconfigError(
    'E_OUTSIDE_ROOT',
    `${path}: ${at}${to} is a symlink in ${target}; autoconfig does not write through symlinks`,
    { path },
  );
}

/** A file staged for the commit: its new content in `temp`, what it replaces held in `hold`. */
interface Staged {
  path: string;
  dir: Dir;
  base: string;
  temp: string;
  /** The replaced file's inode (hard link) or a copy, under a temporary name; null for a new file. */
  hold: string | null;
  /** The backup, staged under a temporary name, renamed to `base + suffix` in the commit; null for none. */
  backupTemp: string | null;
  backupName: string | null;
}

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
  const dirs = await TargetDirs.open(fs, target);
  try {
    // Every path is checked before anything is written, so a refused path leaves the whole target untouched.
    for (const file of checked) await checkComponents(dirs, file.path, file.kind);
    return await writeSet(dirs, checked, keep);
  } finally {
    await dirs.close();
  }
}

async function writeSet(dirs: TargetDirs, checked: CheckedEntry[], keep: string | null): Promise<WriteResult> {
  const fs = dirs.fs;
  const result: WriteResult = { written: [], unchanged: [], backups: [], removedTemps: [] };
  const staged: Staged[] = [];
  const swept = new Set<string>();
  // 1. Stage. Nothing visible changes but new directories and temporary files, all removed again on failure.
  for (const file of checked) {
    try {
      const inside = posix.dirname(file.path);
      const dir = (await dirs.dir(inside, true, file.path))!;
      // A run killed between creating a temporary file and renaming it leaves the temporary file behind: remove
      // ours (exactly the name writeTemp gives, regular files only) from the directories this call writes to.
      if (!swept.has(inside)) {
        swept.add(inside);
        result.removedTemps.push(...(await removeStaleTemps(dirs, dir)));
      }
      const step = file.kind === 'symlink' ? await stageLink(dirs, dir, file, keep) : await stageFile(dirs, dir, file, keep);
      if (step === null) result.unchanged.push(file.path);
      else staged.push(step);
    } catch (error) {
      await discard(dirs, staged);
      await removeCreatedDirs(dirs);
      const failure = error instanceof AutoconfigError ? error : ioError(file.path, 'cannot write', error);
      throw new AutoconfigError(failure.code, `${failure.message}; nothing was changed`, {
        path: failure.path ?? file.path,
        cause: failure.cause,
      });
    }
  }
  // 2. Commit: one rename per file (and one per new backup); each remembered so that it can be undone.
  const undo: { path: string; backup: boolean; run: () => Promise<void> }[] = [];
  const consumed = new Set<string>();
  for (const s of staged) {
    try {
      if (s.backupTemp !== null && s.backupName !== null) {
        const backupEntry = s.dir.entry(s.backupName);
        await fs.rename(s.dir.entry(s.backupTemp), backupEntry);
        consumed.add(s.backupTemp);
        const path = posix.join(s.dir.inside, s.backupName);
        result.backups.push(path);
        undo.push({ path, backup: true, run: () => fs.unlink(backupEntry) });
      }
      await fs.rename(s.dir.entry(s.temp), s.dir.entry(s.base));
      consumed.add(s.temp);
      result.written.push(s.path);
      const hold = s.hold;
      undo.push({
        path: s.path,
        backup: false,
        // The held inode goes back in one rename; a file that was not there before is removed.
        run: hold === null ? () => fs.unlink(s.dir.entry(s.base)) : async () => {
          await fs.rename(s.dir.entry(hold), s.dir.entry(s.base));
          consumed.add(hold);
        },
      });
    } catch (error) {
      const failure = ioError(s.path, 'cannot write', error);
      throw await rollBack(dirs, staged, undo, consumed, result, failure);
    }
  }
  // 3. The renames made durable, then what was held let go (a hold left by a power cut is removed as stale).
  for (const inside of dirsToSync(dirs, staged)) await dirs.sync(inside);
  for (const s of staged) if (s.hold !== null) await removeQuietly(fs, s.dir.entry(s.hold));
  return result;
}

/** The directories whose entries changed: those of the staged files and the parents of created directories. */
function dirsToSync(dirs: TargetDirs, staged: Staged[]): Set<string> {
  const out = new Set<string>();
  for (const created of dirs.created) out.add(posix.dirname(created));
  for (const s of staged) out.add(s.dir.inside);
  return out;
}

/**
 * Undoes the renames done so far, newest first, then removes every temporary file and the directories created.
 * Returns the error to throw: the original failure (E_IO) when the set is wholly old again, else E_PARTIAL.
 */
async function rollBack(
  dirs: TargetDirs,
  staged: Staged[],
  undo: { path: string; backup: boolean; run: () => Promise<void> }[],
  consumed: Set<string>,
  result: WriteResult,
  failure: AutoconfigError,
): Promise<AutoconfigError> {
  const notRestored: { path: string; error: string }[] = [];
  const leftBackups: string[] = [];
  for (const step of [...undo].reverse()) {
    try {
      await step.run();
    } catch (error) {
      const code = errnoCode(error);
      if (step.backup) leftBackups.push(step.path);
      else notRestored.push({ path: step.path, error: code ?? String(error) });
    }
  }
  // Whatever was not renamed (or put back) is a temporary file of ours: removed.
  for (const s of staged) {
    for (const name of [s.temp, s.hold, s.backupTemp]) {
      if (name !== null && !consumed.has(name)) await removeQuietly(dirs.fs, s.dir.entry(name));
    }
  }
  await removeCreatedDirs(dirs);
  for (const inside of dirsToSync(dirs, staged)) await dirs.sync(inside);
  if (notRestored.length === 0) {
    const putBack = result.written.length;
    return new AutoconfigError(
      'E_IO',
      `${failure.message}; nothing was changed` + (putBack > 0 ? ` (the ${putBack} file(s) already replaced were put back)` : ''),
      { path: failure.path ?? '', cause: failure.cause },
    );
  }
  // In the order they were written (the undo ran newest first).
  notRestored.sort((a, b) => result.written.indexOf(a.path) - result.written.indexOf(b.path));
  const isNew = new Set(notRestored.map((n) => n.path));
  const partial: PartialWrite = {
    written: result.written.filter((p) => isNew.has(p)),
    unchanged: result.unchanged,
    backups: leftBackups.reverse(),
    removedTemps: result.removedTemps,
    old: staged.map((s) => s.path).filter((p) => !isNew.has(p)),
    notRestored,
  };
  const message =
    `${failure.message}; files partly written: ${partial.written.length} new (${partial.written.join(', ')}) ` +
    `could not be put back, ${partial.old.length} as before`;
  return new WriteFilesError(new AutoconfigError('E_PARTIAL', message, { path: failure.path ?? '', cause: failure.cause }), partial);
}

/** Removes the staged temporary files (a staging failure: nothing was renamed). */
async function discard(dirs: TargetDirs, staged: Staged[]): Promise<void> {
  for (const s of staged) {
    for (const name of [s.temp, s.hold, s.backupTemp]) if (name !== null) await removeQuietly(dirs.fs, s.dir.entry(name));
  }
}

/** Removes the directories this call created, deepest first, where they are empty again (best effort). */
async function removeCreatedDirs(dirs: TargetDirs): Promise<void> {
  const fs = dirs.fs;
  if (fs.rmdir === undefined) return;
  for (const inside of [...dirs.created].reverse()) {
    try {
      const dir = await dirs.dir(posix.dirname(inside), false, inside);
      if (dir !== null) await fs.rmdir(dir.entry(posix.basename(inside)));
    } catch {
      // Not empty (someone else's file), or gone: left as it is.
    }
  }
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

async function lstatOrNull(fs: WriteFsLike, real: string): Promise<WriteStatsLike | null> {
  try {
    return await fs.lstat(real);
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return null;
    throw error;
  }
}

/**
 * Checks the directories of `path` under the target, one component at a time, creating nothing: a symlink is
 * refused, a non-directory is an error, a missing one ends the check (created in the stage). The file itself may
 * be missing or a regular file, not a symlink or anything else; for a symlink entry (`lastKind` 'symlink') it may
 * be missing or a symlink, which is replaced, never followed.
 */
async function checkComponents(dirs: TargetDirs, path: string, lastKind: 'file' | 'symlink'): Promise<void> {
  const dir = await dirs.dir(posix.dirname(path), false, path);
  if (dir === null) return;
  await checkLast(dirs, dir, path, lastKind);
}

/** What is at `path` now (its directory `dir` already walked): null when missing; refused as checkComponents says. */
async function checkLast(dirs: TargetDirs, dir: Dir, path: string, lastKind: 'file' | 'symlink'): Promise<WriteStatsLike | null> {
  const entry = dir.entry(posix.basename(path));
  let stats: WriteStatsLike | null;
  try {
    stats = await lstatOrNull(dirs.fs, entry);
  } catch (error) {
    throw ioError(path, `cannot inspect ${path}`, error);
  }
  if (stats === null) return null;
  if (lastKind === 'symlink') {
    if (!stats.isSymbolicLink()) throw new AutoconfigError('E_IO', `${path}: ${path} exists and is not a symlink`, { path });
    return stats;
  }
  if (stats.isSymbolicLink()) {
    let to = '';
    try {
      to = ` -> ${await dirs.fs.readlink(entry)}`;
    } catch {
      // The link text is only for the message.
    }
    throw symlinkRefusal(path, path, to, dirs.target);
  }
  if (!stats.isFile()) throw new AutoconfigError('E_IO', `${path}: ${path} is not a regular file`, { path });
  return stats;
}

export async function readAll(fs: WriteFsLike, real: string, size: number, flags: string | number = 'r'): Promise<Uint8Array> {
  const handle = await fs.open(real, flags);
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

/** A fresh temporary name for `base` in its directory: `.BASE.autoconfig-XXXXXXXX.tmp`. */
function tempName(base: string): string {
  // The name only has to be unlikely to exist: O_EXCL (or link/symlink's EEXIST) makes the creation itself safe,
  // so no crypto (whose import costs milliseconds at every boot) is needed.
  return `.${base}.autoconfig-${tempTag()}.tmp`;
}

/** Creates a new entry under a fresh temporary name with `make`, retrying a name that exists; returns the name. */
async function createTemp(base: string, make: (name: string) => Promise<void>): Promise<string> {
  for (let attempt = 0; ; attempt++) {
    const name = tempName(base);
    try {
      await make(name);
      return name;
    } catch (error) {
      if (errnoCode(error) === 'EEXIST' && attempt < 8) continue;
      throw error;
    }
  }
}

/**
 * Writes `bytes` to a new temporary file for `base` in `dir` (mode applied exactly), fsynced: the data is on disk
 * before any rename can make it visible. Returns its name.
 */
export async function writeTemp(fs: WriteFsLike, dir: Dir, base: string, bytes: Uint8Array, mode: number): Promise<string> {
  let handle: WriteHandleLike | null = null;
  const name = await createTemp(base, async (n) => {
    // 'wx' is O_CREAT|O_EXCL: a symlink of that name is never followed.
    handle = await fs.open(dir.entry(n), 'wx', mode);
  });
  const h = handle as unknown as WriteHandleLike;
  try {
    let done = 0;
    while (done < bytes.length) {
      const { bytesWritten } = await h.write(bytes, done, bytes.length - done, null);
      if (bytesWritten <= 0) throw new Error(`write returned ${bytesWritten}`);
      done += bytesWritten;
    }
    await h.chmod(mode);
    await h.sync();
  } catch (error) {
    await h.close().catch(() => undefined);
    await removeQuietly(fs, dir.entry(name));
    throw error;
  }
  try {
    await h.close();
  } catch (error) {
    await removeQuietly(fs, dir.entry(name));
    throw error;
  }
  return name;
}

/**
 * Holds what is at `base` (a file or a symlink) under a temporary name for `as`: a hard link to the same inode
 * (no data written, so it works on a full disk), or where the filesystem has no hard links (vfat) a copy, fsynced.
 */
async function holdOld(fs: WriteFsLike, dir: Dir, base: string, as: string, current: Current): Promise<string> {
  const link = fs.link;
  if (link !== undefined) {
    try {
      return await createTemp(as, (n) => link.call(fs, dir.entry(base), dir.entry(n)));
    } catch {
      // No hard links here (EPERM on vfat, ENOTSUP ...): a copy instead; a full disk fails there too, clearly.
    }
  }
  if (current.kind === 'symlink') return await createTemp(as, (n) => fs.symlink(current.text, dir.entry(n)));
  return await writeTemp(fs, dir, as, current.bytes, current.mode);
}

type Current = { kind: 'file'; bytes: Uint8Array; mode: number } | { kind: 'symlink'; text: string };

/** The temporary files of one entry: new content, what it replaces, its backup. Removed again if staging fails. */
async function stageEntry(
  dirs: TargetDirs,
  dir: Dir,
  path: string,
  current: Current | null,
  makeNew: () => Promise<string>,
  keep: string | null,
): Promise<Staged> {
  const fs = dirs.fs;
  const base = posix.basename(path);
  const made: string[] = [];
  try {
    const temp = await makeNew();
    made.push(temp);
    let hold: string | null = null;
    let backupTemp: string | null = null;
    let backupName: string | null = null;
    if (current !== null) {
      hold = await holdOld(fs, dir, base, base, current);
      made.push(hold);
      // A backup from an earlier run is the original file: it is never replaced.
      if (keep !== null && (await lstatOrNull(fs, dir.entry(base + keep))) === null) {
        backupName = base + keep;
        try {
          backupTemp = await holdOld(fs, dir, base, backupName, current);
        } catch (error) {
          throw ioError(path, `cannot keep a backup as ${path + keep}`, error);
        }
        made.push(backupTemp);
      }
    }
    return { path, dir, base, temp, hold, backupTemp, backupName };
  } catch (error) {
    for (const name of made) await removeQuietly(fs, dir.entry(name));
    throw error instanceof AutoconfigError ? error : ioError(path, 'cannot write', error);
  }
}

async function stageFile(
  dirs: TargetDirs,
  dir: Dir,
  file: Extract<CheckedEntry, { kind: 'file' }>,
  keep: string | null,
): Promise<Staged | null> {
  const fs = dirs.fs;
  const entry = dir.entry(posix.basename(file.path));
  let current: Extract<Current, { kind: 'file' }> | null = null;
  try {
    const stats = await checkLast(dirs, dir, file.path, 'file');
    // O_NOFOLLOW where anchored: a file swapped for a symlink since the lstat is refused (ELOOP), not read.
    if (stats !== null) current = { kind: 'file', bytes: await readAll(fs, entry, stats.size, dirs.readFlags), mode: stats.mode & 0o7777 };
  } catch (error) {
    if (error instanceof AutoconfigError) throw error;
    throw ioError(file.path, 'cannot read the current file', error);
  }
  const wanted = file.mode ?? current?.mode ?? DEFAULT_MODE;
  if (current !== null && current.mode === wanted && sameBytes(current.bytes, file.bytes)) return null;
  return stageEntry(dirs, dir, file.path, current, () => writeTemp(fs, dir, posix.basename(file.path), file.bytes, wanted), keep);
}

async function stageLink(
  dirs: TargetDirs,
  dir: Dir,
  link: Extract<CheckedEntry, { kind: 'symlink' }>,
  keep: string | null,
): Promise<Staged | null> {
  const fs = dirs.fs;
  const entry = dir.entry(posix.basename(link.path));
  let current: Extract<Current, { kind: 'symlink' }> | null = null;
  try {
    if ((await checkLast(dirs, dir, link.path, 'symlink')) !== null) current = { kind: 'symlink', text: await fs.readlink(entry) };
  } catch (error) {
    if (error instanceof AutoconfigError) throw error;
    throw ioError(link.path, 'cannot read the current link', error);
  }
  if (current?.text === link.symlink) return null;
  return stageEntry(dirs, dir, link.path, current, () => createTemp(posix.basename(link.path), (n) => fs.symlink(link.symlink, dir.entry(n))), keep);
}

/** The name writeTemp and the other temporary entries get: `.NAME.autoconfig-XXXXXXXX.tmp` (8 lowercase hex). */
export const TEMP_NAME = /^\.[^/]+\.autoconfig-[0-9a-f]{8}\.tmp$/;

/**
 * Removes stale temporary files of ours from the directory `dir` (inside the target, already walked): only names
 * matching TEMP_NAME, only regular files (lstat: a symlink, directory or FIFO of that name is left alone, never
 * followed). Best effort: a directory that is unreadable, or a file that cannot be removed, is left as it is.
 * Returns the paths removed, inside the target.
 */
async function removeStaleTemps(dirs: TargetDirs, dir: Dir): Promise<string[]> {
  const fs = dirs.fs;
  let names: string[];
  try {
    names = (await fs.readdir(dir.entry('.'))).map(String).sort();
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    if (!TEMP_NAME.test(name)) continue;
    const entry = dir.entry(name);
    try {
      const stats = await lstatOrNull(fs, entry);
      if (stats === null || !stats.isFile() || stats.isSymbolicLink()) continue;
      await fs.unlink(entry);
      removed.push(posix.join(dir.inside, name));
    } catch {
      // Gone meanwhile, or not ours to remove: the write itself does not depend on it.
    }
  }
  return removed;
}

export async function removeQuietly(fs: WriteFsLike, path: string): Promise<void> {
  try {
    await fs.unlink(path);
  } catch {
    // Already gone, or the filesystem refuses even that: the caller's error says what went wrong first.
  }
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
  } catch (error) {
    if (error instanceof AutoconfigError) return { kind: 'refused', reason: error.message };
    throw error;
  }
  let dirs: TargetDirs;
  try {
    dirs = await TargetDirs.open(fs, target);
  } catch (error) {
    if (error instanceof AutoconfigError) return { kind: 'refused', reason: error.message };
    throw error;
  }
  try {
    return await readWalked(dirs, normal, options.kind ?? 'file');
  } finally {
    await dirs.close();
  }
}

async function readWalked(dirs: TargetDirs, normal: string, kind: 'file' | 'symlink'): Promise<CurrentEntry> {
  let dir: Dir | null;
  try {
    dir = await dirs.dir(posix.dirname(normal), false, normal);
    if (dir === null) return { kind: 'missing' };
    await checkLast(dirs, dir, normal, kind);
  } catch (error) {
    if (error instanceof AutoconfigError) return { kind: 'refused', reason: error.message };
    throw error;
  }
  const entry = dir.entry(posix.basename(normal));
  try {
    const stats = await lstatOrNull(dirs.fs, entry);
    if (stats === null) return { kind: 'missing' };
    if (stats.isSymbolicLink()) return { kind: 'symlink', symlink: await dirs.fs.readlink(entry) };
    return { kind: 'file', bytes: await readAll(dirs.fs, entry, stats.size, dirs.readFlags), mode: stats.mode & 0o7777 };
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
  const dirs = await TargetDirs.open(fs, target);
  try {
    const plan: { entry: CheckedEntry; dir: Dir | null; present: boolean; backup: boolean }[] = [];
    for (const entry of checked) {
      await checkComponents(dirs, entry.path, entry.kind);
      const current = await readWalked(dirs, entry.path, entry.kind);
      if (current.kind === 'refused') throw new AutoconfigError('E_OUTSIDE_ROOT', current.reason, { path: entry.path });
      if (current.kind === 'missing') {
        plan.push({ entry, dir: null, present: false, backup: false });
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
      const backup = await readWalked(dirs, entry.path + suffix, entry.kind);
      const dir = await dirs.dir(posix.dirname(entry.path), false, entry.path);
      plan.push({ entry, dir, present: true, backup: backup.kind === entry.kind });
    }
    const result: RemoveResult = { removed: [], restored: [], absent: [] };
    const toSync = new Set<string>();
    for (const { entry, dir, present, backup } of plan) {
      if (!present || dir === null) {
        result.absent.push(entry.path);
        continue;
      }
      const base = posix.basename(entry.path);
      try {
        if (backup) {
          await fs.rename(dir.entry(base + suffix), dir.entry(base));
          result.restored.push(entry.path);
        } else {
          await fs.unlink(dir.entry(base));
          result.removed.push(entry.path);
        }
        toSync.add(dir.inside);
      } catch (error) {
        throw ioError(entry.path, backup ? `cannot put back ${entry.path + suffix}` : 'cannot remove', error);
      }
    }
    for (const inside of toSync) await dirs.sync(inside);
    return result;
  } finally {
    await dirs.close();
  }
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

// The only filesystem surface the library touches. node:fs/promises satisfies it; so does memfs's
// `fs.promises` (through one cast in tests). Injecting it keeps every probe runnable on `/`, on a snapshot
// directory and on an in-memory volume.
import * as nodeFsSync from 'node:fs';
import * as nodeFs from 'node:fs/promises';

export interface StatsLike {
  size: number;
  isFile(): boolean;
  isDirectory(): boolean;
  isSymbolicLink(): boolean;
  isCharacterDevice(): boolean;
  // Optional: only to name what a refused path is (a FIFO, a socket ...); node:fs and memfs have them.
  isFIFO?(): boolean;
  isSocket?(): boolean;
  isBlockDevice?(): boolean;
}

export interface FileHandleLike {
  read(
    buffer: Uint8Array,
    offset: number,
    length: number,
    position: number | null,
  ): Promise<{ bytesRead: number }>;
  close(): Promise<void>;
  /** fstat: what was opened, which may no longer be what a stat before the open saw. */
  stat?(): Promise<StatsLike>;
}

/**
 * Synchronous reads, optional. sysfs attributes are a few bytes each and a machine has hundreds of them: through
 * the thread pool every read is a round trip, synchronously it is three plain system calls. When an FsLike has
 * `sync`, probes read through it (node:fs by default); device nodes, which may block, still go async with a time
 * limit.
 */
export interface SyncFsLike {
  openSync(path: string, flags: string | number): number;
  fstatSync?(fd: number): StatsLike;
  readSync(fd: number, buffer: Uint8Array, offset: number, length: number, position: number | null): number;
  closeSync(fd: number): void;
  readdirSync(path: string): unknown[];
  readlinkSync(path: string): unknown;
  lstatSync(path: string): StatsLike;
  statSync(path: string): StatsLike;
}

export interface FsLike {
  sync?: SyncFsLike;
  open(path: string, flags: string | number): Promise<FileHandleLike>;
  readdir(path: string): Promise<string[]>;
  readlink(path: string): Promise<string>;
  lstat(path: string): Promise<StatsLike>;
  stat(path: string): Promise<StatsLike>;
}

/** What writers (snapshot, import, emit) need on top of reading. */
export interface WritableFsLike extends FsLike {
  mkdir(path: string, options: { recursive: true }): Promise<unknown>;
  writeFile(path: string, data: string | Uint8Array): Promise<void>;
  symlink(target: string, path: string): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  unlink(path: string): Promise<void>;
  /** Optional: a hard link; the atomic writer keeps a replaced file's inode this way until its set is complete. */
  link?(existing: string, path: string): Promise<void>;
  rmdir?(path: string): Promise<void>;
  /**
   * Optional (Linux, node:fs): the path of the entry NAME of the directory open as `fd`, /proc/self/fd/FD/NAME.
   * Its lookup starts at the opened directory, not at a path another process could swap for a symlink
   * (src/emit/write.ts). Without it (memfs) writers check each path component just before use.
   */
  fdPath?(fd: number, name: string): string;
}

export const nodeFsPromises: WritableFsLike = {
  sync: nodeFsSync as unknown as SyncFsLike,
  open: nodeFs.open,
  readdir: nodeFs.readdir,
  readlink: nodeFs.readlink,
  lstat: nodeFs.lstat,
  stat: nodeFs.stat,
  mkdir: nodeFs.mkdir,
  writeFile: nodeFs.writeFile,
  symlink: nodeFs.symlink,
  rename: nodeFs.rename,
  unlink: nodeFs.unlink,
  link: nodeFs.link,
  rmdir: nodeFs.rmdir,
  fdPath: (fd: number, name: string) => `/proc/self/fd/${fd}/${name}`,
} as unknown as WritableFsLike;

// ---- The read path (issue #11): a file expected to be regular is checked before it is opened and again after.

/**
 * Flags of every read-side open: O_NONBLOCK, so that opening a FIFO (which waits for a writer) returns at once;
 * it changes nothing for regular files, and cpuid/msr device reads ignore it.
 */
export const READ_FLAGS = nodeFsSync.constants.O_RDONLY | nodeFsSync.constants.O_NONBLOCK;

/** What a path is, in words, for the messages that refuse it. */
export function fileKind(stats: StatsLike): string {
  if (stats.isFile()) return 'a regular file';
  if (stats.isDirectory()) return 'a directory';
  if (stats.isSymbolicLink()) return 'a symlink';
  if (stats.isFIFO?.()) return 'a FIFO';
  if (stats.isSocket?.()) return 'a socket';
  if (stats.isCharacterDevice()) return 'a character device';
  if (stats.isBlockDevice?.()) return 'a block device';
  return 'not a regular file';
}

/**
 * A path that is not what the read expected (a FIFO, device or socket where a file is read). `code` is
 * E_NOT_REGULAR like an errno code, so that errnoCode() sees it; a directory gets EISDIR, as read() would give.
 */
export class NotRegularError extends Error {
  readonly code: string;
  constructor(
    readonly path: string,
    readonly kind: string,
    readonly expected: string = 'a regular file',
  ) {
    super(`${path}: ${kind}, not ${expected}; not read`);
    this.code = kind === 'a directory' ? 'EISDIR' : 'E_NOT_REGULAR';
  }
}

type Want = 'file' | 'char';
const wanted = (stats: StatsLike, want: Want) => (want === 'file' ? stats.isFile() : stats.isCharacterDevice());

function refuse(path: string, stats: StatsLike, want: Want): NotRegularError {
  return new NotRegularError(path, fileKind(stats), want === 'char' ? 'a character device' : 'a regular file');
}

/**
 * Opens `real` for reading only if it is a regular file (`want` 'char': a character device): stat before the
 * open (a FIFO, socket or device is never opened: opening some devices has effects, a watchdog starts), O_NONBLOCK,
 * then fstat on what was opened (it may have been swapped since the stat). Throws NotRegularError, or the errno.
 */
export function openCheckedSync(fs: SyncFsLike, real: string, want: Want = 'file'): number {
  const before = fs.statSync(real);
  if (!wanted(before, want)) throw refuse(real, before, want);
  const fd = fs.openSync(real, READ_FLAGS);
  try {
    const after = fs.fstatSync?.(fd);
    if (after && !wanted(after, want)) throw refuse(real, after, want);
  } catch (error) {
    fs.closeSync(fd);
    throw error;
  }
  return fd;
}

/** The same through promises (async fs without a synchronous side, device nodes read within a time limit). */
export async function openChecked(fs: FsLike, real: string, want: Want = 'file'): Promise<FileHandleLike> {
  const before = await fs.stat(real);
  if (!wanted(before, want)) throw refuse(real, before, want);
  const handle = await fs.open(real, READ_FLAGS);
  try {
    const after = await handle.stat?.();
    if (after && !wanted(after, want)) throw refuse(real, after, want);
  } catch (error) {
    await handle.close().catch(() => undefined);
    throw error;
  }
  return handle;
}

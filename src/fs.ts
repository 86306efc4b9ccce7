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
}

export interface FileHandleLike {
  read(
    buffer: Uint8Array,
    offset: number,
    length: number,
    position: number | null,
  ): Promise<{ bytesRead: number }>;
  close(): Promise<void>;
}

/**
 * Synchronous reads, optional. sysfs attributes are a few bytes each and a machine has hundreds of them: through
 * the thread pool every read is a round trip, synchronously it is three plain system calls. When an FsLike has
 * `sync`, probes read through it (node:fs by default); device nodes, which may block, still go async with a time
 * limit.
 */
export interface SyncFsLike {
  openSync(path: string, flags: string): number;
  readSync(fd: number, buffer: Uint8Array, offset: number, length: number, position: number | null): number;
  closeSync(fd: number): void;
  readdirSync(path: string): unknown[];
  readlinkSync(path: string): unknown;
  lstatSync(path: string): StatsLike;
  statSync(path: string): StatsLike;
}

export interface FsLike {
  sync?: SyncFsLike;
  open(path: string, flags: string): Promise<FileHandleLike>;
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

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
} as unknown as WritableFsLike;

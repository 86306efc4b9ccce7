// The only filesystem surface the library touches. node:fs/promises satisfies it; so does memfs's
// `fs.promises` (through one cast in tests). Injecting it keeps every probe runnable on `/`, on a snapshot
// directory and on an in-memory volume.
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

export interface FsLike {
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

export const nodeFsPromises: WritableFsLike = nodeFs as unknown as WritableFsLike;

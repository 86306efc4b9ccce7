// Test support: build memfs volumes from flat descriptions or from fixture snapshot trees on disk.
import { lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { dirname, join, posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import { memfs } from 'memfs';
import type { WritableFsLike } from '../../src/fs.ts';

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const fixturesDir = join(repoRoot, 'fixtures');

export interface Tree {
  /** path -> content; null for an empty directory. */
  files?: Record<string, string | Uint8Array | null>;
  /** link path -> target (kept verbatim, relative or absolute). */
  links?: Record<string, string>;
}

export function volume(tree: Tree = {}, base = '/') {
  const { fs, vol } = memfs();
  fs.mkdirSync(base, { recursive: true });
  for (const [path, content] of Object.entries(tree.files ?? {})) {
    const at = posix.join(base, path);
    if (content === null) {
      fs.mkdirSync(at, { recursive: true });
    } else {
      fs.mkdirSync(posix.dirname(at), { recursive: true });
      fs.writeFileSync(at, content);
    }
  }
  for (const [path, target] of Object.entries(tree.links ?? {})) {
    const at = posix.join(base, path);
    fs.mkdirSync(posix.dirname(at), { recursive: true });
    fs.symlinkSync(target, at);
  }
  return { fs: fs.promises as unknown as WritableFsLike, sync: fs, vol };
}

/** The names of the fixture machines (directories of fixtures/ with a root/ tree). */
export function fixtureNames(): string[] {
  return readdirSync(fixturesDir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && safeIsDir(join(fixturesDir, d.name, 'root')))
    .map((d) => d.name)
    .sort();
}

function safeIsDir(path: string): boolean {
  try {
    return lstatSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** Reads a snapshot tree from disk into a Tree (symlinks kept as symlinks). */
export function readTree(dir: string): Tree {
  const files: Record<string, string | Uint8Array | null> = {};
  const links: Record<string, string> = {};
  const walk = (rel: string) => {
    const abs = join(dir, rel);
    const entries = readdirSync(abs, { withFileTypes: true });
    if (entries.length === 0 && rel !== '') files[rel] = null;
    for (const entry of entries) {
      const childRel = rel === '' ? entry.name : `${rel}/${entry.name}`;
      const childAbs = join(dir, childRel);
      if (entry.isSymbolicLink()) links[childRel] = readlinkSync(childAbs);
      else if (entry.isDirectory()) walk(childRel);
      else files[childRel] = readFileSync(childAbs);
    }
  };
  walk('');
  return { files, links };
}

/** A fixture machine loaded into memfs under `base` (default /machine), ready for `probe({fs, root: base})`. */
export function loadFixture(name: string, base = '/machine') {
  return { ...volume(readTree(join(fixturesDir, name, 'root')), base), root: base };
}

export function readExpected(name: string, file: string): unknown {
  return JSON.parse(readFileSync(join(fixturesDir, name, file), 'utf8'));
}

/** The calls faultyFs() can make fail: `create` is an open for writing ('wx'), `write` and `sync` are handle calls. */
export type FaultOp = 'create' | 'write' | 'sync' | 'rename' | 'link' | 'symlink' | 'mkdir' | 'unlink';

export interface Fault {
  op: FaultOp;
  /** The call (1-based, counting only calls of `op`) that fails. */
  nth: number;
  /** The errno it fails with: ENOSPC, EROFS, EIO ... */
  code: string;
  /** That call and every later one of `op` fail (a filesystem gone read-only), not just the one. */
  sticky?: boolean;
}

/**
 * `base` (memfs's promises, or node:fs) with one kind of call failing as a real one would (an Error with `code`),
 * everything else passed through; `counts` says how often each op was called. A fault with nth 0 fails nothing:
 * a clean run that counts the calls a table of faults is built from.
 */
export function faultyFs<T extends object>(base: T, fault: Fault): { fs: T; counts: Record<FaultOp, number> } {
  const counts: Record<FaultOp, number> = { create: 0, write: 0, sync: 0, rename: 0, link: 0, symlink: 0, mkdir: 0, unlink: 0 };
  const hit = (op: FaultOp): void => {
    counts[op]++;
    if (op === fault.op && fault.nth > 0 && (counts[op] === fault.nth || (fault.sticky === true && counts[op] > fault.nth))) {
      throw Object.assign(new Error(`${fault.code}: injected failure of ${op} #${counts[op]}`), { code: fault.code });
    }
  };
  const b = base as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
  const wrapHandle = (handle: Record<string, unknown>) => {
    const h = handle as Record<string, (...args: unknown[]) => Promise<unknown>>;
    return Object.assign(Object.create(handle) as object, {
      write: async (...args: unknown[]) => (hit('write'), h['write']!.apply(handle, args)),
      sync: async () => (hit('sync'), h['sync']!.call(handle)),
      close: () => h['close']!.call(handle),
      chmod: (mode: unknown) => h['chmod']!.call(handle, mode),
      read: (...args: unknown[]) => h['read']!.apply(handle, args),
      stat: (...args: unknown[]) => h['stat']!.apply(handle, args),
    });
  };
  const pass = (op: FaultOp, name: string) => async (...args: unknown[]) => (hit(op), b[name]!.apply(base, args));
  const fs = Object.assign(Object.create(base) as object, {
    open: async (path: unknown, flags: unknown, mode?: unknown) => {
      if (flags === 'wx') hit('create');
      return wrapHandle((await b['open']!.call(base, path, flags, mode)) as Record<string, unknown>);
    },
    rename: pass('rename', 'rename'),
    link: pass('link', 'link'),
    symlink: pass('symlink', 'symlink'),
    mkdir: pass('mkdir', 'mkdir'),
    unlink: pass('unlink', 'unlink'),
  }) as T;
  return { fs, counts };
}

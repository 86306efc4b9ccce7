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

// A read-only in-memory filesystem over an imported snapshot tree (src/import: files, links, dirs), mounted at one
// absolute path; every other path goes to node:fs, so that --kernel DIR, data/ and the rules stay readable. The
// corpus imports about 140 published-log folders per run: writing each tree to disk (or pulling memfs, a dev
// dependency, into the runtime) only to read it back would cost more than the import itself. It offers the
// synchronous surface too, which the probes prefer (src/fs.ts SyncFsLike).
import * as nodeFs from 'node:fs';
import { posix } from 'node:path';
import { nodeFsPromises, type FileHandleLike, type FsLike, type StatsLike, type SyncFsLike } from '../fs.ts';
import type { Tree } from '../import/import.ts';

type Node = { kind: 'file'; data: Buffer } | { kind: 'dir'; children: Set<string> } | { kind: 'link'; target: string };

/** Symlinks followed in one lookup before ELOOP, as Linux's MAXSYMLINKS. */
const MAX_LINKS = 40;
/** Fake descriptors of tree files start here, far above any real one this process could hold. */
const FD_BASE = 1 << 28;

function errno(code: string, syscall: string, path: string): Error {
  // The probes expect ENOENT for most of what they try: no stack trace, which costs more than the lookup.
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  const error = Object.assign(new Error(`${code}: ${syscall} '${path}'`), { code, syscall, path });
  Error.stackTraceLimit = limit;
  return error;
}

function statsOf(node: Node): StatsLike {
  const is = (k: Node['kind']) => () => node.kind === k;
  return {
    size: node.kind === 'file' ? node.data.length : node.kind === 'link' ? node.target.length : 4096,
    isFile: is('file'),
    isDirectory: is('dir'),
    isSymbolicLink: is('link'),
    isCharacterDevice: () => false,
    isFIFO: () => false,
    isSocket: () => false,
    isBlockDevice: () => false,
  };
}

export class TreeFs implements FsLike {
  readonly sync: SyncFsLike;
  private readonly nodes = new Map<string, Node>();
  private readonly fds = new Map<number, Buffer>();
  private nextFd = FD_BASE;

  /** `mount`: the absolute path the tree appears at (probe with root = mount). */
  constructor(
    tree: Tree,
    readonly mount: string,
  ) {
    this.nodes.set(mount, { kind: 'dir', children: new Set() });
    for (const dir of tree.dirs) this.makeDir(posix.join(mount, dir));
    for (const [rel, content] of Object.entries(tree.files)) {
      const path = posix.join(mount, rel);
      this.makeDir(posix.dirname(path));
      this.add(path, { kind: 'file', data: Buffer.from(content, 'utf8') });
    }
    for (const [rel, target] of Object.entries(tree.links)) {
      const path = posix.join(mount, rel);
      this.makeDir(posix.dirname(path));
      this.add(path, { kind: 'link', target });
    }
    const self = this;
    const real = nodeFs as unknown as SyncFsLike;
    this.sync = {
      openSync: (path, flags) => (self.inside(path) ? self.openFd(path) : real.openSync(path, flags)),
      fstatSync: (fd) => {
        const data = self.fds.get(fd);
        return data ? statsOf({ kind: 'file', data }) : real.fstatSync!(fd);
      },
      readSync: (fd, buffer, offset, length, position) => {
        const data = self.fds.get(fd);
        if (!data) return real.readSync(fd, buffer, offset, length, position);
        return self.readAt(data, buffer, offset, length, position ?? 0);
      },
      closeSync: (fd) => (self.fds.has(fd) ? void self.fds.delete(fd) : real.closeSync(fd)),
      readdirSync: (path) => (self.inside(path) ? self.list(path) : real.readdirSync(path)),
      readlinkSync: (path) => (self.inside(path) ? self.linkTarget(path) : real.readlinkSync(path)),
      lstatSync: (path) => (self.inside(path) ? statsOf(self.lookup(path, false, 'lstat')) : real.lstatSync(path)),
      statSync: (path) => (self.inside(path) ? statsOf(self.lookup(path, true, 'stat')) : real.statSync(path)),
    };
  }

  async open(path: string, flags: string | number): Promise<FileHandleLike> {
    if (!this.inside(path)) return nodeFsPromises.open(path, flags);
    const data = this.fileData(path);
    return {
      read: async (buffer, offset, length, position) => ({ bytesRead: this.readAt(data, buffer, offset, length, position ?? 0) }),
      close: async () => undefined,
      stat: async () => statsOf({ kind: 'file', data }),
    };
  }

  async readdir(path: string): Promise<string[]> {
    return this.inside(path) ? this.list(path) : nodeFsPromises.readdir(path);
  }

  async readlink(path: string): Promise<string> {
    return this.inside(path) ? this.linkTarget(path) : nodeFsPromises.readlink(path);
  }

  async lstat(path: string): Promise<StatsLike> {
    return this.inside(path) ? statsOf(this.lookup(path, false, 'lstat')) : nodeFsPromises.lstat(path);
  }

  async stat(path: string): Promise<StatsLike> {
    return this.inside(path) ? statsOf(this.lookup(path, true, 'stat')) : nodeFsPromises.stat(path);
  }

  private inside(path: string): boolean {
    const p = posix.normalize(path);
    return p === this.mount || p.startsWith(`${this.mount}/`);
  }

  private makeDir(path: string): void {
    const node = this.nodes.get(path);
    if (node?.kind === 'dir') return;
    this.makeDir(posix.dirname(path));
    this.add(path, { kind: 'dir', children: new Set() });
  }

  private add(path: string, node: Node): void {
    this.nodes.set(path, node);
    const parent = this.nodes.get(posix.dirname(path));
    if (parent?.kind === 'dir') parent.children.add(posix.basename(path));
  }

  /** The node at `path`, symlinks followed on the way (and at the end when `followLast`), as the kernel does. */
  private lookup(path: string, followLast: boolean, syscall: string): Node {
    // Fast paths: a path stored as it is (nothing on the way to it is a link), or missing from a stored directory.
    const direct = this.nodes.get(path);
    if (direct !== undefined && (direct.kind !== 'link' || !followLast)) return direct;
    if (direct === undefined) {
      const parent = this.nodes.get(posix.dirname(path));
      if (parent?.kind === 'dir' && !path.endsWith('/.') && !path.endsWith('/..')) throw errno('ENOENT', syscall, path);
    }
    let links = 0;
    const walk = (parts: string[]): { path: string; node: Node } => {
      let at = '/';
      let node: Node | undefined = this.nodes.get('/') ?? { kind: 'dir', children: new Set() };
      for (let i = 0; i < parts.length; i++) {
        const part = parts[i]!;
        if (part === '' || part === '.') continue;
        if (node.kind !== 'dir') throw errno('ENOTDIR', syscall, path);
        const next = part === '..' ? posix.dirname(at) : posix.join(at, part);
        // Above the mount the tree has no nodes: the directories on the way to it are implied.
        const child: Node | undefined = this.nodes.get(next) ?? (this.mount.startsWith(`${next}/`) ? { kind: 'dir', children: new Set() } : undefined);
        if (child === undefined) throw errno('ENOENT', syscall, path);
        const last = i === parts.length - 1;
        if (child.kind === 'link' && (!last || followLast)) {
          if (++links > MAX_LINKS) throw errno('ELOOP', syscall, path);
          const base = child.target.startsWith('/') ? [] : at.split('/');
          const resolved = walk([...base, ...child.target.split('/'), ...parts.slice(i + 1)]);
          return resolved;
        }
        at = next;
        node = child;
      }
      return { path: at, node };
    };
    return walk(posix.normalize(path).split('/')).node;
  }

  private list(path: string): string[] {
    const node = this.lookup(path, true, 'scandir');
    if (node.kind !== 'dir') throw errno('ENOTDIR', 'scandir', path);
    return [...node.children];
  }

  private linkTarget(path: string): string {
    const node = this.lookup(path, false, 'readlink');
    if (node.kind !== 'link') throw errno('EINVAL', 'readlink', path);
    return node.target;
  }

  private fileData(path: string): Buffer {
    const node = this.lookup(path, true, 'open');
    if (node.kind === 'dir') throw errno('EISDIR', 'open', path);
    return (node as { data: Buffer }).data;
  }

  private openFd(path: string): number {
    const data = this.fileData(path);
    const fd = this.nextFd++;
    this.fds.set(fd, data);
    return fd;
  }

  private readAt(data: Buffer, buffer: Uint8Array, offset: number, length: number, position: number): number {
    const n = Math.max(0, Math.min(length, data.length - position));
    buffer.set(data.subarray(position, position + n), offset);
    return n;
  }
}

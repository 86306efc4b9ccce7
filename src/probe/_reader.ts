// Reads machine paths ("/sys/...", "/proc/...") under a root through an injected fs. Nothing here throws for
// bad data: every problem becomes a Diagnostic and the caller gets null. Symlinks are followed by hand when the
// root is not "/", so that no path (absolute link, too many "..") can leave the root; loops are cut at 40 links
// as the kernel does.
import { posix } from 'node:path';
import { errnoCode } from '../errors.ts';
import type { FsLike } from '../fs.ts';
import type { Diagnostic, DiagnosticCode } from '../types.ts';

export interface ReaderOptions {
  fs: FsLike;
  root: string;
  /** Cap for ordinary attribute files (sysfs values). */
  attrCap?: number;
  /** Time limit for device-node reads (/dev/cpu/N/cpuid, msr), in ms. */
  deviceTimeoutMs?: number;
}

export const DEFAULT_ATTR_CAP = 64 * 1024;
/** /proc/cpuinfo of a 512-thread machine is ~1 MB. */
export const LARGE_FILE_CAP = 8 * 1024 * 1024;
const MAX_LINKS = 40;

class ResolveError extends Error {
  constructor(
    readonly diag: DiagnosticCode | 'ENOENT' | 'ENOTDIR',
    message: string,
  ) {
    super(message);
  }
}

export class Reader {
  readonly fs: FsLike;
  readonly root: string;
  readonly diagnostics: Diagnostic[] = [];
  readonly attrCap: number;
  readonly deviceTimeoutMs: number;
  /** Paths whose content was read or listed, for the snapshot allowlist check and debugging. */
  readonly touched = new Set<string>();
  private readonly plainRoot: boolean;
  private readonly dirCache = new Map<string, string[]>();

  constructor(options: ReaderOptions) {
    this.fs = options.fs;
    this.root = posix.resolve('/', options.root);
    this.attrCap = options.attrCap ?? DEFAULT_ATTR_CAP;
    this.deviceTimeoutMs = options.deviceTimeoutMs ?? 2000;
    this.plainRoot = this.root === '/';
  }

  diag(code: DiagnosticCode, path: string, message: string): void {
    this.diagnostics.push({ code, path, message });
  }

  /** The real path (under root) of a machine path, symlinks resolved inside the root. */
  async realPath(machinePath: string): Promise<string> {
    if (this.plainRoot) return posix.resolve('/', machinePath);
    const parts = await this.resolveParts(splitPath(machinePath), [], 0, true);
    return posix.join(this.root, ...parts);
  }

  // Resolves `todo` relative to the already resolved, symlink-free `done` (both relative to root).
  private async resolveParts(todo: string[], done: string[], links: number, followLast: boolean): Promise<string[]> {
    const key = done.length === 0 ? '/' + todo.join('/') : undefined;
    if (key !== undefined) {
      const hit = this.dirCache.get(key + (followLast ? '' : '\0'));
      if (hit) return hit;
    }
    const stack = [...done];
    const queue = [...todo];
    while (queue.length > 0) {
      const part = queue.shift()!;
      if (part === '.' || part === '') continue;
      if (part === '..') {
        if (stack.length === 0) throw new ResolveError('outside-root', 'a ".." leads above the root');
        stack.pop();
        continue;
      }
      stack.push(part);
      if (queue.length === 0 && !followLast) break;
      const real = posix.join(this.root, ...stack);
      let isLink = false;
      try {
        isLink = (await this.fs.lstat(real)).isSymbolicLink();
      } catch (error) {
        const code = errnoCode(error);
        if (code === 'ENOENT') {
          // The rest cannot exist either; the caller's open() reports it as missing.
          stack.push(...queue.filter((p) => p !== '.' && p !== ''));
          break;
        }
        if (code === 'ENOTDIR') throw new ResolveError('ENOTDIR', 'a path component is not a directory');
        throw error;
      }
      if (!isLink) continue;
      if (++links > MAX_LINKS) throw new ResolveError('symlink-loop', `more than ${MAX_LINKS} symlinks`);
      const target = await this.fs.readlink(real);
      stack.pop();
      if (target.startsWith('/')) stack.length = 0;
      queue.unshift(...splitPath(target));
    }
    if (key !== undefined && this.dirCache.size < 50_000) this.dirCache.set(key + (followLast ? '' : '\0'), stack);
    return stack;
  }

  private async real(path: string, followLast = true): Promise<string | null> {
    if (this.plainRoot) return posix.resolve('/', path);
    try {
      if (followLast) return await this.realPath(path);
      const parts = splitPath(path);
      const last = parts.pop();
      const dir = await this.resolveParts(parts, [], 0, true);
      return posix.join(this.root, ...dir, ...(last === undefined ? [] : [last]));
    } catch (error) {
      this.failure(path, error);
      return null;
    }
  }

  private failure(path: string, error: unknown): void {
    if (error instanceof ResolveError) {
      if (error.diag === 'ENOENT') return;
      if (error.diag === 'ENOTDIR') return this.diag('not-directory', path, error.message);
      return this.diag(error.diag, path, `${path}: ${error.message}`);
    }
    const code = errnoCode(error);
    switch (code) {
      case 'ELOOP':
        return this.diag('symlink-loop', path, `${path}: symlink loop`);
      case 'ENOTDIR':
        return this.diag('not-directory', path, `${path}: not a directory`);
      default:
        return this.diag('unreadable', path, `${path}: ${code ?? String(error)}`);
    }
  }

  /**
   * Reads a whole file, at most `cap` bytes. Missing file: null without a diagnostic unless `required`.
   * Larger than the cap: null with a 'too-large' diagnostic (a truncated value could be wrongly parsed).
   */
  async text(path: string, options: { cap?: number; required?: boolean } = {}): Promise<string | null> {
    const cap = options.cap ?? this.attrCap;
    const real = await this.real(path);
    if (real === null) return null;
    this.touched.add(path);
    let handle;
    try {
      handle = await this.fs.open(real, 'r');
    } catch (error) {
      const code = errnoCode(error);
      if (code === 'ENOENT') {
        if (options.required) this.diag('missing', path, `${path}: missing`);
        return null;
      }
      if (code === 'EISDIR') return this.diag('malformed', path, `${path}: is a directory`), null;
      this.failure(path, error);
      return null;
    }
    try {
      const chunks: Uint8Array[] = [];
      let total = 0;
      // sysfs files claim 4096 bytes whatever they hold, so the size from stat is never trusted: read to EOF.
      for (;;) {
        const buffer = new Uint8Array(Math.min(65536, cap + 1 - total));
        const { bytesRead } = await handle.read(buffer, 0, buffer.length, total);
        if (bytesRead === 0) break;
        chunks.push(buffer.subarray(0, bytesRead));
        total += bytesRead;
        if (total > cap) {
          this.diag('too-large', path, `${path}: larger than ${cap} bytes, not used`);
          return null;
        }
      }
      return Buffer.concat(chunks, total).toString('utf8');
    } catch (error) {
      if (errnoCode(error) === 'EISDIR') return this.diag('malformed', path, `${path}: is a directory`), null;
      this.failure(path, error);
      return null;
    } finally {
      await handle.close().catch(() => undefined);
    }
  }

  /** A sysfs attribute: the text without its trailing newline. */
  async attr(path: string, options: { required?: boolean } = {}): Promise<string | null> {
    const value = await this.text(path, options);
    return value === null ? null : value.replace(/\n$/, '');
  }

  /** Directory entries, sorted; null when the directory is absent (no diagnostic) or unreadable (diagnostic). */
  async list(path: string): Promise<string[] | null> {
    const real = await this.real(path);
    if (real === null) return null;
    this.touched.add(path);
    try {
      // Plain code-point order: fixed-width hex names (PCI slots) sort right; callers re-sort where needed.
      return (await this.fs.readdir(real)).map(String).sort();
    } catch (error) {
      if (errnoCode(error) === 'ENOENT') return null;
      this.failure(path, error);
      return null;
    }
  }

  /** The raw target of a symlink; null when absent or not a link. */
  async link(path: string): Promise<string | null> {
    const real = await this.real(path, false);
    if (real === null) return null;
    this.touched.add(path);
    try {
      return String(await this.fs.readlink(real));
    } catch (error) {
      const code = errnoCode(error);
      if (code === 'ENOENT' || code === 'EINVAL') return null;
      this.failure(path, error);
      return null;
    }
  }

  /** The basename of a link's target, after checking that the whole link resolves inside the root. */
  async linkName(path: string): Promise<string | null> {
    const target = await this.link(path);
    if (target === null) return null;
    if (!this.plainRoot && (await this.real(path)) === null) return null;
    const name = posix.basename(target);
    return name === '' || name === '..' || name === '.' ? null : name;
  }

  async exists(path: string): Promise<boolean> {
    const real = await this.real(path);
    if (real === null) return false;
    try {
      await this.fs.stat(real);
      return true;
    } catch {
      return false;
    }
  }

  async isCharDevice(path: string): Promise<boolean> {
    const real = await this.real(path);
    if (real === null) return false;
    try {
      return (await this.fs.stat(real)).isCharacterDevice();
    } catch {
      return false;
    }
  }

  /**
   * Reads `length` bytes at `position` from a device node, within the time limit. Unreadable (EACCES, EIO from
   * an unsupported MSR, no such node) gives null; the caller decides whether that deserves a diagnostic.
   */
  async pread(path: string, position: number, length: number): Promise<{ data: Uint8Array | null; error?: string }> {
    const real = await this.real(path);
    if (real === null) return { data: null, error: 'outside root' };
    this.touched.add(path);
    let timer: NodeJS.Timeout | undefined;
    const work = (async () => {
      const handle = await this.fs.open(real, 'r');
      try {
        const buffer = new Uint8Array(length);
        const { bytesRead } = await handle.read(buffer, 0, length, position);
        return bytesRead === length ? buffer : null;
      } finally {
        await handle.close().catch(() => undefined);
      }
    })();
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), this.deviceTimeoutMs);
      timer.unref?.();
    });
    try {
      const result = await Promise.race([work, timeout]);
      if (result === 'timeout') {
        work.catch(() => undefined);
        this.diag('timeout', path, `${path}: no answer within ${this.deviceTimeoutMs} ms`);
        return { data: null, error: 'timeout' };
      }
      return { data: result, ...(result === null ? { error: 'short read' } : {}) };
    } catch (error) {
      return { data: null, error: errnoCode(error) ?? String(error) };
    } finally {
      clearTimeout(timer);
    }
  }
}

function splitPath(path: string): string[] {
  return path.split('/').filter((p) => p !== '' && p !== '.');
}

/** Name order that puts "usb2" before "usb10" and "1-1.2" before "1-1.10", like `ls -v`. */
export function compareNames(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true });
}

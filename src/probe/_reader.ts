// Reads machine paths ("/sys/...", "/proc/...") under a root through an injected fs. Nothing here throws for
// bad data: every problem becomes a Diagnostic and the caller gets null. Symlinks are followed by hand when the
// root is not "/", so that no path (absolute link, too many "..") can leave the root; loops are cut at 40 links
// as the kernel does.
import { posix } from 'node:path';
import { errnoCode } from '../errors.ts';
import { NotRegularError, openChecked, openCheckedSync, type FsLike, type StatsLike, type SyncFsLike } from '../fs.ts';
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
  /** Symlink-free prefix + component -> resolved components (see resolveFrom). */
  private readonly resolved = new Map<string, string[]>();

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

  /** Records a value that is not in the kernel's format (quoted, cut at 40 characters) and returns null for it. */
  malformed(path: string, raw: string, expected: string): null {
    const shown = raw.length > 40 ? `${JSON.stringify(raw.slice(0, 40))}...` : JSON.stringify(raw);
    this.diag('malformed', path, `${path}: ${shown}, expected ${expected}`);
    return null;
  }

  /** The real path (under root) of a machine path, symlinks resolved inside the root. */
  async realPath(machinePath: string): Promise<string> {
    if (this.plainRoot) return posix.resolve('/', machinePath);
    const parts = await this.resolveFrom([], splitPath(machinePath), 0);
    return posix.join(this.root, ...parts);
  }

  // Resolves `parts` one component at a time from `stack`, an already resolved, symlink-free directory (relative
  // to root). Each resolved component is memoized by its symlink-free prefix, so reading the twenty attributes of
  // one device costs one lstat each, not one per path component. A ".." always applies to the resolved stack, as
  // in the kernel, never lexically.
  private async resolveFrom(stack: readonly string[], parts: readonly string[], links: number): Promise<string[]> {
    let current = [...stack];
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i]!;
      if (part === '..') {
        if (current.length === 0) throw new ResolveError('outside-root', 'a ".." leads above the root');
        current.pop();
        continue;
      }
      const key = current.length === 0 ? part : `${current.join('/')}/${part}`;
      const hit = this.resolved.get(key);
      if (hit !== undefined) {
        current = [...hit];
        continue;
      }
      const real = posix.join(this.root, key);
      let isLink: boolean;
      try {
        isLink = (await this.lstat(real)).isSymbolicLink();
      } catch (error) {
        const code = errnoCode(error);
        // The rest cannot exist either; the caller's open() reports the path as missing.
        if (code === 'ENOENT') return [...current, ...parts.slice(i)];
        if (code === 'ENOTDIR') throw new ResolveError('ENOTDIR', 'a path component is not a directory');
        throw error;
      }
      let next: string[];
      if (isLink) {
        if (links + 1 > MAX_LINKS) throw new ResolveError('symlink-loop', `more than ${MAX_LINKS} symlinks`);
        const target = String(await this.readlinkOf(real));
        next = await this.resolveFrom(target.startsWith('/') ? [] : current, splitPath(target), links + 1);
      } else {
        next = [...current, part];
      }
      if (this.resolved.size < 100_000) this.resolved.set(key, next);
      current = next;
    }
    return current;
  }

  private async real(path: string, followLast = true): Promise<string | null> {
    if (this.plainRoot) return posix.resolve('/', path);
    try {
      if (followLast) return await this.realPath(path);
      const parts = splitPath(path);
      const last = parts.pop();
      const dir = await this.resolveFrom([], parts, 0);
      return posix.join(this.root, ...dir, ...(last === undefined ? [] : [last]));
    } catch (error) {
      this.failure(path, error);
      return null;
    }
  }

  /** A FIFO, socket or device where a file is read: never opened, so it cannot hang the run (issue #11). */
  private notRegular(path: string, error: NotRegularError): void {
    this.diag('not-regular', path, `${path}: ${error.kind}, not ${error.expected}; not read`);
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
    const bytes = await this.bytes(path, options);
    return bytes === null ? null : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
  }

  /** The same as text(), as bytes: binary files (the raw SMBIOS structures of /sys/firmware/dmi/entries). */
  async bytes(path: string, options: { cap?: number; required?: boolean } = {}): Promise<Uint8Array | null> {
    const cap = options.cap ?? this.attrCap;
    const real = await this.real(path);
    if (real === null) return null;
    this.touched.add(path);
    let read: { bytes: Uint8Array; tooLarge: boolean };
    try {
      read = await (this.fs.sync ? readCappedSync(this.fs.sync, real, cap) : readCapped(this.fs, real, cap));
    } catch (error) {
      const code = errnoCode(error);
      if (code === 'ENOENT') {
        if (options.required) this.diag('missing', path, `${path}: missing`);
        return null;
      }
      if (code === 'EISDIR') return this.diag('malformed', path, `${path}: is a directory`), null;
      if (error instanceof NotRegularError) return this.notRegular(path, error), null;
      this.failure(path, error);
      return null;
    }
    if (read.tooLarge) {
      this.diag('too-large', path, `${path}: larger than ${cap} bytes, not used`);
      return null;
    }
    return read.bytes;
  }

  // The fs calls, synchronous when the fs offers it (errors thrown here reject the caller's promise all the same).
  private async lstat(real: string): Promise<StatsLike> {
    return this.fs.sync ? this.fs.sync.lstatSync(real) : this.fs.lstat(real);
  }

  private async stat(real: string): Promise<StatsLike> {
    return this.fs.sync ? this.fs.sync.statSync(real) : this.fs.stat(real);
  }

  private async readlinkOf(real: string): Promise<unknown> {
    return this.fs.sync ? this.fs.sync.readlinkSync(real) : this.fs.readlink(real);
  }

  private async readdirOf(real: string): Promise<unknown[]> {
    return this.fs.sync ? this.fs.sync.readdirSync(real) : this.fs.readdir(real);
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
      return (await this.readdirOf(real)).map(String).sort();
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
      return String(await this.readlinkOf(real));
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
      await this.stat(real);
      return true;
    } catch {
      return false;
    }
  }

  /**
   * True when `path` resolves to a directory. Otherwise records one diagnostic for the entry (it does not resolve,
   * it is not a directory, or why resolving failed), so that callers skip it instead of reporting every attribute.
   */
  async requireDir(path: string): Promise<boolean> {
    const real = await this.real(path);
    if (real === null) return false;
    try {
      if ((await this.stat(real)).isDirectory()) return true;
      this.diag('not-directory', path, `${path}: not a directory`);
    } catch (error) {
      if (errnoCode(error) === 'ENOENT') this.diag('missing', path, `${path}: listed but does not resolve`);
      else this.failure(path, error);
    }
    return false;
  }

  async isCharDevice(path: string): Promise<boolean> {
    const real = await this.real(path);
    if (real === null) return false;
    try {
      return (await this.stat(real)).isCharacterDevice();
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
      // Checked and opened O_NONBLOCK like every read: a FIFO swapped in after the caller's isCharDevice() is
      // refused, not waited on.
      const handle = await openChecked(this.fs, real, 'char');
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
      if (error instanceof NotRegularError) this.notRegular(path, error);
      return { data: null, error: errnoCode(error) ?? String(error) };
    } finally {
      clearTimeout(timer);
    }
  }
}

type Capped = { bytes: Uint8Array; tooLarge: boolean };

// One scratch buffer for all synchronous reads: a sysfs attribute is a few bytes, and a fresh 64 KiB buffer per
// read (two reads per file, the second to see EOF) cost more than the reads on a machine with hundreds of files.
let scratch: Uint8Array | undefined;

function readCappedSync(fs: SyncFsLike, real: string, cap: number): Capped {
  const fd = openCheckedSync(fs, real);
  try {
    const buffer = (scratch ??= new Uint8Array(65536));
    const chunks: Uint8Array[] = [];
    let total = 0;
    for (;;) {
      const bytesRead = fs.readSync(fd, buffer, 0, Math.min(buffer.length, cap + 1 - total), total);
      if (bytesRead === 0) break;
      chunks.push(buffer.slice(0, bytesRead));
      total += bytesRead;
      if (total > cap) return { bytes: new Uint8Array(0), tooLarge: true };
    }
    return { bytes: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, total), tooLarge: false };
  } finally {
    fs.closeSync(fd);
  }
}

async function readCapped(fs: FsLike, real: string, cap: number): Promise<Capped> {
  const handle = await openChecked(fs, real);
  try {
    return await collect(cap, async (buffer, position) => (await handle.read(buffer, 0, buffer.length, position)).bytesRead);
  } finally {
    await handle.close().catch(() => undefined);
  }
}

// sysfs files claim 4096 bytes whatever they hold, so the size from stat is never trusted: read to EOF, and stop
// one byte past the cap (a truncated value could be wrongly parsed, so a larger file is not used at all).
async function collect(
  cap: number,
  read: (buffer: Uint8Array, position: number) => number | Promise<number>,
): Promise<Capped> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const buffer = new Uint8Array(Math.min(65536, cap + 1 - total));
    const bytesRead = await read(buffer, total);
    if (bytesRead === 0) break;
    chunks.push(buffer.subarray(0, bytesRead));
    total += bytesRead;
    if (total > cap) return { bytes: new Uint8Array(0), tooLarge: true };
  }
  return { bytes: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, total), tooLarge: false };
}

function splitPath(path: string): string[] {
  return path.split('/').filter((p) => p !== '' && p !== '.');
}

/** Name order that puts "usb2" before "usb10" and "1-1.2" before "1-1.10", like `ls -v`. */
export function compareNames(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true });
}

// Loads one kernel's module metadata and picks which kernel: the target root's own /lib/modules/<release> when it
// is there (the modules the machine will really run), else `--kernel DIR`, else the reference data shipped in
// data/kernel/. A directory that cannot be used falls back to the shipped reference with a warning: matching
// against some real kernel beats matching against none.
//
// Lookups go where libkmod's go: depmod's binary indexes modules.alias.bin, modules.dep.bin, modules.builtin.bin
// and modules.builtin.alias.bin, walked per lookup (kmod-index.ts), nothing indexed up front. With a synchronous fs
// (node:fs) an index stays open and only the pages a lookup reaches are read (positional reads, as libkmod's
// non-mmap path); without one it is read whole.
// Where a .bin is missing, or damaged (reported as an issue naming it), the text file depmod writes next to it
// answers instead, parsed and indexed here (alias-file.ts, index-build.ts). Damage found only by a later lookup
// switches that table to its text file then, with the same issue.
import { statSync } from 'node:fs';
import { posix } from 'node:path';
import { dataDir } from '../data-dir.ts';
import { errnoCode } from '../errors.ts';
import { nodeFsPromises, NotRegularError, openChecked, openCheckedSync, type FsLike, type SyncFsLike } from '../fs.ts';
import { LARGE_FILE_CAP, Reader } from '../probe/_reader.ts';
import {
  parseBuiltinModinfo,
  parseModuleList,
  parseModulesAlias,
  parseModulesDep,
  type ModaliasIssue,
} from './alias-file.ts';
import { moduleName } from './glob.ts';
import { AliasIndexBuilder, type AliasIndex } from './index-build.ts';
import { KmodIndex, KmodIndexError } from './kmod-index.ts';

export type KernelSource = 'target' | 'option' | 'reference';

/** The four tables kmod looks modules up in. */
export type KernelTable = 'alias' | 'dep' | 'builtin' | 'builtinAlias';

export interface KernelData {
  source: KernelSource;
  /** The module directory: a path on the target for 'target', a local path otherwise. */
  dir: string;
  release: string;
  /** The file that answers each table: its .bin index, or the text file used instead. */
  files: Record<KernelTable, string>;
  /**
   * modules.alias(.bin): the modules with a pattern that matches a normalized query, in kmod's order (depmod's
   * priority: modules.order), each once.
   */
  lookupAlias(query: string): string[];
  /** The same over the aliases of built-in modules (modules.builtin.alias.bin, or modules.builtin.modinfo). */
  lookupBuiltinAlias(query: string): string[];
  /** A loadable module of this kernel: a name in modules.dep(.bin). */
  isModule(name: string): boolean;
  /** A module's direct dependencies from modules.dep(.bin), in order; [] for none or an unknown name. */
  dependencies(name: string): string[];
  /** A loadable module's file, relative to the module directory ("kernel/drivers/net/e1000/e1000.ko"); null if none. */
  modulePath(name: string): string | null;
  /** Built into the kernel (modules.builtin(.bin)). */
  isBuiltin(name: string): boolean;
  /** modules.softdep as text: kmod reads it as one more modprobe.d file (see modprobe-d.ts). */
  softdep: { path: string; text: string } | null;
  /** Parse problems and fallbacks, with file and line. */
  issues: ModaliasIssue[];
}

export interface LoadKernelOptions {
  fs?: FsLike;
  /** The target root ("/" for this machine, a snapshot or mounted system otherwise). */
  root?: string;
  /** The release the target boots (profile.kernel.release); null or absent when unknown. */
  release?: string | null;
  /** `--kernel DIR`: a module directory like /lib/modules/6.1.0-56-amd64 (a local path). */
  kernelDir?: string | null;
  /** Where the shipped reference kernels are; data/kernel by default. */
  referenceDir?: string;
  /**
   * Which shipped reference to read, or how to choose it from referenceKernels() (the plan picks by the target Xen):
   * asked only when the reference is needed, so a target with its own modules reads no reference metadata at all.
   * The newest when absent, null or not shipped.
   */
  referenceRelease?: string | null | ((references: ReferenceKernel[]) => Promise<string | null>);
}

/** A shipped reference kernel and the Xen its Debian release ships beside it (data/kernel/<release>/SOURCE). */
export interface ReferenceKernel {
  release: string;
  /** "4.17" for Debian 12's 6.1, "4.20" for Debian 13's 6.12; null when SOURCE does not say. */
  xen: string | null;
}

/** Release names oldest first: numeric order ("6.1.0-56-amd64" before "6.12.117+deb13-amd64"). */
function sortedReleases(names: string[]): string[] {
  return names.sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
}

/** The shipped reference kernels, oldest first (numeric order of the release names). */
export async function referenceKernels(referenceDir: string = posix.join(dataDir(), 'kernel')): Promise<ReferenceKernel[]> {
  const packaged = new Reader({ fs: nodeFsPromises, root: '/' });
  const releases = sortedReleases((await packaged.list(referenceDir)) ?? []);
  return Promise.all(
    releases.map(async (release) => {
      const source = (await packaged.text(posix.join(referenceDir, release, 'SOURCE'))) ?? '';
      return { release, xen: /^xen=(\S+)$/m.exec(source)?.[1] ?? null };
    }),
  );
}

export async function loadKernelData(options: LoadKernelOptions = {}): Promise<KernelData> {
  const fs = options.fs ?? nodeFsPromises;
  const issues: ModaliasIssue[] = [];
  const root = options.root ?? '/';
  if (options.release) {
    const dir = posix.join('/lib/modules', options.release);
    const reader = new Reader({ fs, root });
    if ((await reader.list(dir)) !== null) {
      const data = await readKernelDir(reader, dir, 'target', options.release, issues);
      if (data) return data;
      issues.push({ file: dir, line: null, message: 'not usable; falling back' });
    }
  }
  const local = new Reader({ fs, root: '/' });
  if (options.kernelDir) {
    const dir = posix.resolve(options.kernelDir);
    if ((await local.list(dir)) === null) {
      issues.push({ file: dir, line: null, message: 'no such module directory; falling back to the reference' });
    } else {
      const data = await readKernelDir(local, dir, 'option', posix.basename(dir), issues);
      if (data) return data;
      issues.push({ file: dir, line: null, message: 'not usable; falling back to the reference' });
    }
  }
  const referenceDir = options.referenceDir ?? posix.join(dataDir(), 'kernel');
  // The shipped data belongs to this package, not to the machine being configured: always the real filesystem.
  const packaged = new Reader({ fs: nodeFsPromises, root: '/' });
  const choose = options.referenceRelease;
  const references = typeof choose === 'function' ? await referenceKernels(referenceDir) : null;
  const releases = references?.map((r) => r.release) ?? sortedReleases((await packaged.list(referenceDir)) ?? []);
  // The one asked for (the plan picks it by the target Xen), else the newest in version order.
  const wanted = typeof choose === 'function' ? await choose(references!) : choose;
  const release = wanted && releases.includes(wanted) ? wanted : releases.at(-1);
  const dir = release === undefined ? referenceDir : posix.join(referenceDir, release);
  const data = release === undefined ? null : await readReference(packaged, dir, release, issues);
  if (data) return data;
  // Only a broken installation gets here; matching then finds nothing, and says why.
  issues.push({ file: dir, line: null, message: 'the shipped reference kernel data is missing' });
  return emptyKernel(dir, release ?? 'unknown', issues);
}

// The shipped references, once read, by directory and the size and mtime of their files: a corpus run plans
// hundreds of machines in one process, and reading the indexes again for each was a quarter of its time. Their
// nodes are kept as they are read (kmod-index.ts), so later plans share the lookups too.
const references = new Map<string, { stamp: string; data: Promise<{ data: KernelData | null; issues: ModaliasIssue[] }> }>();

async function readReference(packaged: Reader, dir: string, release: string, issues: ModaliasIssue[]): Promise<KernelData | null> {
  const stamp = [...Object.values(BIN), 'modules.softdep']
    .map((name) => {
      const s = statSync(posix.join(dir, name), { throwIfNoEntry: false });
      return s ? `${s.ino}:${s.size}:${s.mtimeMs}` : '-';
    })
    .join(' ');
  let cached = references.get(dir);
  if (cached?.stamp !== stamp) {
    const own: ModaliasIssue[] = [];
    cached = { stamp, data: readKernelDir(packaged, dir, 'reference', release, own).then((data) => ({ data, issues: own })) };
    references.set(dir, cached);
  }
  const { data, issues: own } = await cached.data;
  if (data === null) {
    issues.push(...own);
    return null;
  }
  // The caller's issues (its fallbacks on the way here), then the reference's, read when asked: damage a lookup meets
  // later is pushed to the reference's own list (kernelData's text fallback) and must still show.
  const before = [...issues];
  return Object.defineProperty({ ...data }, 'issues', { get: () => [...before, ...own], enumerable: true }) as KernelData;
}

const BIN: Record<KernelTable, string> = {
  alias: 'modules.alias.bin',
  dep: 'modules.dep.bin',
  builtin: 'modules.builtin.bin',
  builtinAlias: 'modules.builtin.alias.bin',
};
const TEXT: Record<KernelTable, string> = {
  alias: 'modules.alias',
  dep: 'modules.dep',
  builtin: 'modules.builtin',
  builtinAlias: 'modules.builtin.modinfo',
};
/** The text files a table's text form reads: its own and the link order its matches are ranked by. */
const TEXT_NEEDS: Record<KernelTable, readonly string[]> = {
  alias: ['modules.alias', 'modules.order'],
  dep: ['modules.dep'],
  builtin: ['modules.builtin'],
  builtinAlias: ['modules.builtin.modinfo', 'modules.builtin'],
};
const TABLES = ['alias', 'dep', 'builtin', 'builtinAlias'] as const;
/** Without these (as .bin or text) a directory is not usable. */
const REQUIRED = ['alias', 'dep'] as const;

/** A table as the lookups see it, from an index or from text. */
interface Table {
  /** modules.dep: the rest of the module's line (its dependency paths); modules.builtin: ''; null if absent. */
  get(name: string): string | null;
  /** Alias tables: matching modules in kmod's order, each once. */
  lookup(query: string): string[];
}

type Texts = ReadonlyMap<string, string | null>;

/** Reads one module directory; null (with issues) when a required table can be read neither as .bin nor as text. */
async function readKernelDir(
  reader: Reader,
  dir: string,
  source: KernelSource,
  release: string,
  issues: ModaliasIssue[],
): Promise<KernelData | null> {
  const seen = reader.diagnostics.length;
  const indexes = new Map<KernelTable, KmodIndex>();
  const bins = await Promise.all(TABLES.map((t) => openIndex(reader, posix.join(dir, BIN[t]))));
  TABLES.forEach((t, i) => {
    const file = posix.join(dir, BIN[t]);
    const open = bins[i]!;
    if (open === null) return; // no index: the text file, silently, as for any directory depmod did not index
    if (typeof open === 'string') {
      issues.push({ file, line: null, message: `${open}; using ${TEXT[t]} instead` });
      return;
    }
    try {
      indexes.set(t, open(file));
    } catch (error) {
      if (!(error instanceof KmodIndexError)) throw error;
      issues.push({ file, line: null, message: `${error.detail}; using ${TEXT[t]} instead` });
    }
  });
  const fromText = TABLES.filter((t) => !indexes.has(t));
  const names = [...new Set(fromText.flatMap((t) => TEXT_NEEDS[t])), 'modules.softdep'];
  const read = await Promise.all(names.map((name) => reader.text(posix.join(dir, name), { cap: LARGE_FILE_CAP })));
  const texts: Texts = new Map(names.map((name, i) => [name, read[i]!]));
  for (const d of reader.diagnostics.slice(seen)) issues.push({ file: d.path, line: null, message: d.message });
  const missing = REQUIRED.filter((t) => !indexes.has(t) && texts.get(TEXT[t]) == null).map((t) => TEXT[t]);
  if (missing.length > 0) {
    issues.push({ file: dir, line: null, message: `cannot read ${missing.join(' and ')}` });
    return null;
  }
  const fromFiles = textTables(fromText, texts, dir, issues);
  const tables = {} as Record<KernelTable, Table>;
  const files = {} as Record<KernelTable, string>;
  for (const t of TABLES) {
    const index = indexes.get(t);
    tables[t] = index ? indexTable(t, index) : fromFiles[t]!;
    files[t] = index ? BIN[t] : TEXT[t];
  }
  const softdep = texts.get('modules.softdep');
  const fallback = indexes.size > 0 ? await textFallback(reader, dir, [...indexes.keys()], issues) : null;
  return kernelData({
    source,
    dir,
    release,
    tables,
    files,
    softdep: softdep == null ? null : { path: posix.join(dir, 'modules.softdep'), text: softdep },
    issues,
    fallback,
  });
}

/** A table answered by a .bin index, as libkmod answers it. */
function indexTable(table: KernelTable, index: KmodIndex): Table {
  return {
    get(name) {
      // modules.dep.bin holds the module's whole modules.dep line ("path.ko: dep.ko ..."), as the text table gives it.
      return index.search(name);
    },
    lookup: (query) => unique(index.searchWild(query)),
  };
}

/**
 * The text forms of `wanted` from the files in `texts`. A missing link order is assumed empty, with an issue;
 * malformed lines are issues too, and skipped.
 */
function textTables(wanted: readonly KernelTable[], texts: Texts, dir: string, issues: ModaliasIssue[]): Partial<Record<KernelTable, Table>> {
  const has = (t: KernelTable) => wanted.includes(t);
  for (const name of ['modules.order', 'modules.builtin']) {
    if (texts.has(name) && texts.get(name) == null) issues.push({ file: posix.join(dir, name), line: null, message: 'missing; assumed empty' });
  }
  const out: Partial<Record<KernelTable, Table>> = {};
  const builtin = has('builtin') || has('builtinAlias') ? parseModuleList(texts.get('modules.builtin') ?? '') : [];
  if (has('alias')) {
    const aliases = new AliasIndexBuilder();
    issues.push(...parseModulesAlias(texts.get('modules.alias') ?? '', posix.join(dir, 'modules.alias'), aliases));
    // depmod gives each module the priority of its (last) line in modules.order; modules that file does not
    // list come after, in the order depmod wrote them, which is their order in modules.alias.
    const position = new Map<string, number>();
    parseModuleList(texts.get('modules.order') ?? '').forEach((name, i) => position.set(name, i));
    let unlisted = position.size;
    for (const module of aliases.moduleNames()) if (!position.has(module)) position.set(module, unlisted++);
    out.alias = aliasTable(aliases.build((m) => position.get(m)!));
  }
  if (has('dep')) {
    const parsed = parseModulesDep(texts.get('modules.dep') ?? '', posix.join(dir, 'modules.dep'));
    issues.push(...parsed.issues);
    const line = (name: string) => {
      const rest = parsed.deps.get(name);
      return rest === undefined ? null : `${parsed.paths.get(name)}:${rest}`;
    };
    out.dep = { get: line, lookup: () => [] };
  }
  if (has('builtinAlias')) {
    const aliases = new AliasIndexBuilder();
    issues.push(...parseBuiltinModinfo(texts.get('modules.builtin.modinfo') ?? '', posix.join(dir, 'modules.builtin.modinfo'), aliases));
    const position = new Map<string, number>();
    builtin.forEach((name, i) => position.set(name, i));
    out.builtinAlias = aliasTable(aliases.build((m) => position.get(m) ?? builtin.length));
  }
  if (has('builtin')) {
    const set = new Set(builtin);
    out.builtin = { get: (name) => (set.has(name) ? '' : null), lookup: () => [] };
  }
  return out;
}

function aliasTable(index: AliasIndex): Table {
  return { get: () => null, lookup: (query) => index.lookup(query) };
}

interface Parts {
  source: KernelSource;
  dir: string;
  release: string;
  tables: Record<KernelTable, Table>;
  files: Record<KernelTable, string>;
  softdep: KernelData['softdep'];
  issues: ModaliasIssue[];
  /** Replaces a damaged index's table by its text form; null when every table is text already. */
  fallback: ((table: KernelTable, error: KmodIndexError) => Table) | null;
}

function kernelData({ tables, files, fallback, ...parts }: Parts): KernelData {
  // Damage deep in an index shows only when a lookup reaches it: that table then answers from text.
  const use = <T>(table: KernelTable, run: (t: Table) => T): T => {
    try {
      return run(tables[table]);
    } catch (error) {
      if (!(error instanceof KmodIndexError) || fallback === null || files[table] === TEXT[table]) throw error;
      tables[table] = fallback(table, error);
      files[table] = TEXT[table];
      return run(tables[table]);
    }
  };
  return {
    ...parts,
    files,
    lookupAlias: (query) => use('alias', (t) => t.lookup(query)),
    lookupBuiltinAlias: (query) => use('builtinAlias', (t) => t.lookup(query)),
    isModule: (name) => use('dep', (t) => t.get(name)) !== null,
    dependencies(name) {
      const line = use('dep', (t) => t.get(name));
      const rest = line?.slice(line.indexOf(':') + 1).trim();
      return rest ? rest.split(/\s+/).map(moduleName) : [];
    },
    modulePath(name) {
      const line = use('dep', (t) => t.get(name));
      return line === null ? null : line.slice(0, line.indexOf(':'));
    },
    isBuiltin: (name) => use('builtin', (t) => t.get(name)) !== null,
  };
}

/**
 * For tables answered by an index: their text files' real paths, found now (through the root, as every read),
 * so that a lookup that finds the index damaged can read them synchronously. Without a synchronous fs, or
 * when a text file cannot be read either, the table answers nothing from then on; the issues say so.
 */
async function textFallback(
  reader: Reader,
  dir: string,
  indexed: readonly KernelTable[],
  issues: ModaliasIssue[],
): Promise<(table: KernelTable, error: KmodIndexError) => Table> {
  const names = [...new Set(indexed.flatMap((t) => TEXT_NEEDS[t]))];
  const paths = await Promise.all(names.map((name) => reader.realPath(posix.join(dir, name)).catch(() => null)));
  const real = new Map(names.map((name, i) => [name, paths[i]!] as const));
  return (table, error) => {
    issues.push({ file: error.file, line: null, message: `${error.detail}; using ${TEXT[table]} instead` });
    const texts = new Map<string, string | null>();
    for (const name of TEXT_NEEDS[table]) {
      const path = real.get(name) ?? null;
      const bytes = path === null || !reader.fs.sync ? null : readWholeSyncOrNull(reader.fs.sync, path);
      texts.set(name, bytes === null ? null : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'));
    }
    if (texts.get(TEXT[table]) == null) {
      const why = reader.fs.sync ? 'cannot be read either' : 'cannot be read here (no synchronous fs)';
      issues.push({ file: posix.join(dir, TEXT[table]), line: null, message: `${why}: no answers from it` });
      return { get: () => null, lookup: () => [] };
    }
    return textTables([table], texts, dir, issues)[table]!;
  };
}

/**
 * A .bin index through the reader's root and fs: how to open it (naming it in errors), null when it does not
 * exist, else why not. With a synchronous fs the file stays open and is read a page at a time as lookups reach
 * it (the descriptor is closed when the index is collected); otherwise it is read whole.
 */
async function openIndex(reader: Reader, path: string, cap = LARGE_FILE_CAP): Promise<((file: string) => KmodIndex) | null | string> {
  const sync = reader.fs.sync;
  if (!sync) {
    const bytes = await readBytes(reader, path, cap);
    return bytes === null || typeof bytes === 'string' ? bytes : (file) => KmodIndex.open(bytes, file);
  }
  const resolved = await resolve(reader, path);
  if (typeof resolved !== 'object') return resolved;
  const { real } = resolved;
  let fd: number;
  let size: number;
  try {
    fd = openCheckedSync(sync, real);
  } catch (error) {
    return whyNot(error);
  }
  try {
    size = (sync.fstatSync?.(fd) ?? sync.statSync(real)).size;
    // The cap of a whole read, kept so that the same file is refused either way.
    if (size > cap) throw new RangeError(`larger than ${cap} bytes, not used`);
  } catch (error) {
    sync.closeSync(fd);
    return whyNot(error);
  }
  return (file) => {
    let index: KmodIndex;
    try {
      index = KmodIndex.openAt(size, (buffer, position) => sync.readSync(fd, buffer, 0, buffer.length, position), file);
    } catch (error) {
      sync.closeSync(fd);
      throw error;
    }
    closeWhenCollected.register(index, () => sync.closeSync(fd));
    return index;
  };
}

const closeWhenCollected = new FinalizationRegistry<() => void>((close) => {
  try {
    close();
  } catch {
    // Already closed, or the fs is gone: nothing to free.
  }
});

/** Where `path` is inside the reader's root (recorded as read: a snapshot keeps it), or why it cannot be resolved. */
async function resolve(reader: Reader, path: string): Promise<{ real: string } | string> {
  try {
    const real = await reader.realPath(path);
    reader.touched.add(path);
    return { real };
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

function whyNot(error: unknown): null | string {
  const code = errnoCode(error);
  if (code === 'ENOENT') return null;
  if (error instanceof NotRegularError) return `${error.kind}, not a regular file; not read`;
  return error instanceof RangeError ? error.message : (code ?? String(error));
}

/** A whole file through the reader's root and fs: its bytes, null when it does not exist, else why not. */
async function readBytes(reader: Reader, path: string, cap = LARGE_FILE_CAP): Promise<Uint8Array | null | string> {
  const resolved = await resolve(reader, path);
  if (typeof resolved !== 'object') return resolved;
  const { real } = resolved;
  try {
    const { fs } = reader;
    return fs.sync ? readWholeSync(fs.sync, real, cap) : await readWhole(fs, real, cap);
  } catch (error) {
    return whyNot(error);
  }
}

// Regular files only (a FIFO would block, a device read forever): stat's size is trusted for the first read, and
// reading goes on to EOF all the same.
function readWholeSync(fs: SyncFsLike, real: string, cap: number): Uint8Array {
  const fd = openCheckedSync(fs, real);
  try {
    const size = (fs.fstatSync?.(fd) ?? fs.statSync(real)).size;
    return fill(cap, size, (buffer, at) => fs.readSync(fd, buffer, at, buffer.length - at, at));
  } finally {
    fs.closeSync(fd);
  }
}

function readWholeSyncOrNull(fs: SyncFsLike, real: string): Uint8Array | null {
  try {
    return readWholeSync(fs, real, LARGE_FILE_CAP);
  } catch {
    return null;
  }
}

async function readWhole(fs: FsLike, real: string, cap: number): Promise<Uint8Array> {
  const handle = await openChecked(fs, real);
  try {
    const size = (await (handle.stat?.() ?? fs.stat(real))).size;
    let buffer: Buffer = Buffer.allocUnsafe(Math.min(size, cap) + 1);
    for (let total = 0; ; ) {
      if (total === buffer.length) buffer = grow(buffer, cap);
      const { bytesRead } = await handle.read(buffer, total, buffer.length - total, total);
      if (bytesRead === 0) return buffer.subarray(0, total);
      total += bytesRead;
    }
  } finally {
    await handle.close().catch(() => undefined);
  }
}

function fill(cap: number, size: number, read: (buffer: Buffer, at: number) => number): Uint8Array {
  // One byte more than the size, to see EOF in the same read.
  let buffer: Buffer = Buffer.allocUnsafe(Math.min(size, cap) + 1);
  for (let total = 0; ; ) {
    if (total === buffer.length) buffer = grow(buffer, cap);
    const bytesRead = read(buffer, total);
    if (bytesRead === 0) return buffer.subarray(0, total);
    total += bytesRead;
  }
}

function grow(buffer: Buffer, cap: number): Buffer {
  if (buffer.length > cap) throw new RangeError(`larger than ${cap} bytes, not used`);
  const bigger = Buffer.allocUnsafe(Math.min(buffer.length * 2, cap + 1));
  buffer.copy(bigger);
  return bigger;
}

function unique(names: readonly string[]): string[] {
  if (names.length < 2) return names as string[];
  return [...new Set(names)];
}

function emptyKernel(dir: string, release: string, issues: ModaliasIssue[]): KernelData {
  const none: Table = { get: () => null, lookup: () => [] };
  return kernelData({
    source: 'reference',
    dir,
    release,
    tables: { alias: none, dep: none, builtin: none, builtinAlias: none },
    files: { ...TEXT },
    softdep: null,
    issues,
    fallback: null,
  });
}

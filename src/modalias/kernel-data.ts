// Loads one kernel's module metadata (the depmod text files) and picks which kernel: the target root's own
// /lib/modules/<release> when it is there (the modules the machine will really run), else `--kernel DIR`,
// else the reference data shipped in data/kernel/. A directory that cannot be used falls back to the shipped
// reference with a warning: matching against some real kernel beats matching against none.
import { posix } from 'node:path';
import { dataDir } from '../data-dir.ts';
import { nodeFsPromises, type FsLike } from '../fs.ts';
import { LARGE_FILE_CAP, Reader } from '../probe/_reader.ts';
import {
  parseBuiltinModinfo,
  parseModuleList,
  parseModulesAlias,
  parseModulesDep,
  type ModaliasIssue,
} from './alias-file.ts';
import { AliasIndexBuilder, type AliasIndex } from './index-build.ts';

export type KernelSource = 'target' | 'option' | 'reference';

export interface KernelData {
  source: KernelSource;
  /** The module directory: a path on the target for 'target', a local path otherwise. */
  dir: string;
  release: string;
  /** Loadable modules (modules.dep): name -> dependency paths as written (see dependencies()). */
  deps: Map<string, string>;
  /** Built-in modules (modules.builtin), in link order. */
  builtin: string[];
  builtinSet: Set<string>;
  /** Link order of the loadable modules (modules.order); defines which of several matches comes first. */
  order: string[];
  /** modules.alias. */
  aliasIndex: AliasIndex;
  /** The `alias=` records of modules.builtin.modinfo. */
  builtinAliasIndex: AliasIndex;
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
}

const REQUIRED = ['modules.alias', 'modules.dep'] as const;

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
  const releases = (await packaged.list(referenceDir)) ?? [];
  // Newest release last in version order; the package ships one.
  const release = releases.sort((a, b) => a.localeCompare(b, 'en', { numeric: true })).at(-1);
  const dir = release === undefined ? referenceDir : posix.join(referenceDir, release);
  const data = release === undefined ? null : await readKernelDir(packaged, dir, 'reference', release, issues);
  if (data) return data;
  // Only a broken installation gets here; matching then finds nothing, and says why.
  issues.push({ file: dir, line: null, message: 'the shipped reference kernel data is missing' });
  return emptyKernel(dir, release ?? 'unknown', issues);
}

/** Reads and parses one module directory; null (with issues) when a required file is missing or unreadable. */
async function readKernelDir(
  reader: Reader,
  dir: string,
  source: KernelSource,
  release: string,
  issues: ModaliasIssue[],
): Promise<KernelData | null> {
  const names = ['modules.alias', 'modules.dep', 'modules.order', 'modules.builtin', 'modules.builtin.modinfo'];
  const seen = reader.diagnostics.length;
  const [alias, dep, order, builtin, modinfo, softdep] = await Promise.all(
    [...names, 'modules.softdep'].map((name) => reader.text(posix.join(dir, name), { cap: LARGE_FILE_CAP })),
  );
  for (const d of reader.diagnostics.slice(seen)) issues.push({ file: d.path, line: null, message: d.message });
  const missing = REQUIRED.filter((_, i) => [alias, dep][i] == null);
  if (missing.length > 0 || alias == null || dep == null) {
    issues.push({ file: dir, line: null, message: `cannot read ${missing.join(' and ')}` });
    return null;
  }
  for (const [name, text] of [
    ['modules.order', order],
    ['modules.builtin', builtin],
  ] as const) {
    if (text == null) issues.push({ file: posix.join(dir, name), line: null, message: 'missing; assumed empty' });
  }
  const aliases = new AliasIndexBuilder();
  const builtinAliases = new AliasIndexBuilder();
  issues.push(...parseModulesAlias(alias, posix.join(dir, 'modules.alias'), aliases));
  const parsedDep = parseModulesDep(dep, posix.join(dir, 'modules.dep'));
  issues.push(...parsedDep.issues);
  issues.push(...parseBuiltinModinfo(modinfo ?? '', posix.join(dir, 'modules.builtin.modinfo'), builtinAliases));
  return assemble({
    source,
    dir,
    release,
    deps: parsedDep.deps,
    order: parseModuleList(order ?? ''),
    builtin: parseModuleList(builtin ?? ''),
    aliases,
    builtinAliases,
    softdep: softdep == null ? null : { path: posix.join(dir, 'modules.softdep'), text: softdep },
    issues,
  });
}

export interface KernelParts extends Omit<KernelData, 'aliasIndex' | 'builtinAliasIndex' | 'builtinSet'> {
  aliases: AliasIndexBuilder;
  builtinAliases: AliasIndexBuilder;
}

/** Builds the indexes from parsed parts (also for callers that hold the files in memory). */
export function assemble({ aliases, builtinAliases, ...parts }: KernelParts): KernelData {
  // depmod gives each module the priority of its (last) line in modules.order; modules that file does not
  // list come after, in the order depmod wrote them, which is their order in modules.alias.
  const position = new Map<string, number>();
  parts.order.forEach((name, i) => position.set(name, i));
  let unlisted = parts.order.length;
  for (const module of aliases.moduleNames()) if (!position.has(module)) position.set(module, unlisted++);
  const builtinPosition = new Map<string, number>();
  parts.builtin.forEach((name, i) => builtinPosition.set(name, i));
  return {
    ...parts,
    builtinSet: new Set(parts.builtin),
    aliasIndex: aliases.build((m) => position.get(m)!),
    builtinAliasIndex: builtinAliases.build((m) => builtinPosition.get(m) ?? parts.builtin.length),
  };
}

function emptyKernel(dir: string, release: string, issues: ModaliasIssue[]): KernelData {
  const none = new AliasIndexBuilder();
  return assemble({
    source: 'reference',
    dir,
    release,
    deps: new Map(),
    order: [],
    builtin: [],
    aliases: none,
    builtinAliases: none,
    softdep: null,
    issues,
  });
}

// The machines of a corpus: every snapshot tree (a directory with autoconfig-snapshot.json), every fixture
// (fixtures/<name>/root) and every folder of published logs (../shared/corpus/<machine>) under the directories
// given, each with the folder its expect.yaml sits in. Published logs are imported in memory (src/import), never
// written anywhere; a folder the importer cannot make a machine of is kept with the reason, not dropped.
import { posix } from 'node:path';
import { AutoconfigError, errnoCode } from '../errors.ts';
import { nodeFsPromises, type FsLike } from '../fs.ts';
import { importLogs, type ImportIssue } from '../import/import.ts';
import { TreeFs } from './tree-fs.ts';

/** The snapshot manifest's name (snapshot.ts, import.ts). */
const MANIFEST = 'autoconfig-snapshot.json';
/** Our own file in a machine folder: not a log, hidden from the importer. */
export const EXPECT_FILE = 'expect.yaml';
/** Where imported trees appear in the in-memory filesystem (one mount per machine). */
const MOUNT = '/autoconfig-corpus';

export type MachineKind = 'snapshot' | 'fixture' | 'logs';

export interface MachineRef {
  /** The folder's name: "thinkpad-t60", "notebook-lenovo-thinkpad_l490-gh-alexberry". */
  id: string;
  kind: MachineKind;
  /** The machine's folder: where expect.yaml is looked for. */
  dir: string;
  /** The snapshot tree (snapshot, fixture) or the log folder (logs). */
  data: string;
}

export interface LoadedMachine {
  ref: MachineRef;
  fs: FsLike;
  root: string;
  /** The importer's issues (logs only): lines or files it could not read. */
  importIssues: ImportIssue[];
}

/** A machine that could not be read: the importer failed, or what it made holds no machine. */
export interface Unreadable {
  ref: MachineRef;
  reason: string;
  code: string | null;
}

async function isDir(path: string): Promise<boolean> {
  try {
    return (await nodeFsPromises.stat(path)).isDirectory();
  } catch {
    return false;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await nodeFsPromises.lstat(path);
    return true;
  } catch {
    return false;
  }
}

/** What `dir` itself is: a machine of some kind, or null (a directory of machines, or nothing). */
async function classify(dir: string): Promise<MachineRef | null> {
  const id = posix.basename(dir);
  if (await exists(posix.join(dir, MANIFEST))) return { id, kind: 'snapshot', dir, data: dir };
  if (await exists(posix.join(dir, 'root', MANIFEST))) return { id, kind: 'fixture', dir, data: posix.join(dir, 'root') };
  const names = await nodeFsPromises.readdir(dir);
  // A log folder holds files; a corpus holds folders (and its own README/INDEX, which are no machine).
  const subdirs = await Promise.all(names.map((n) => isDir(posix.join(dir, n))));
  if (subdirs.some(Boolean)) return null;
  return names.some((n) => n !== EXPECT_FILE) ? { id, kind: 'logs', dir, data: dir } : null;
}

/**
 * The machines under each directory, in the order given and then by name: the directory itself when it is one,
 * else each sub-folder that is (one level; folders starting with "_" or "." are the corpus's own, skipped). A
 * directory that does not exist, or holds no machine at all, is an E_USAGE error naming it.
 */
export async function findMachines(dirs: readonly string[]): Promise<MachineRef[]> {
  const out: MachineRef[] = [];
  for (const given of dirs) {
    const dir = posix.resolve(given);
    if (!(await isDir(dir))) throw new AutoconfigError('E_USAGE', `${given}: not a directory`, { path: given });
    const self = await classify(dir);
    if (self) {
      out.push(self);
      continue;
    }
    const found: MachineRef[] = [];
    for (const name of (await nodeFsPromises.readdir(dir)).sort()) {
      if (name.startsWith('_') || name.startsWith('.')) continue;
      const sub = posix.join(dir, name);
      if (!(await isDir(sub))) continue;
      const ref = await classify(sub);
      if (ref) found.push(ref);
    }
    if (found.length === 0) {
      throw new AutoconfigError('E_USAGE', `${given}: no machine here (no snapshot tree, fixture or log folder)`, { path: given });
    }
    out.push(...found);
  }
  // The same folder named twice (fixtures/ and fixtures/thinkpad-t60) is one machine.
  const seen = new Set<string>();
  return out.filter((m) => !seen.has(m.dir) && (seen.add(m.dir), true));
}

/** The log folder as the importer sees it: expect.yaml, ours, hidden. */
function withoutExpect(dir: string): FsLike {
  return {
    ...nodeFsPromises,
    sync: undefined,
    readdir: async (path: string) => {
      const names = await nodeFsPromises.readdir(path);
      return path === dir ? names.filter((n) => n !== EXPECT_FILE) : names;
    },
  } as FsLike;
}

let mounts = 0;

/** A machine ready to probe: snapshot trees in place; log folders imported into memory. */
export async function loadMachine(ref: MachineRef): Promise<LoadedMachine | Unreadable> {
  if (ref.kind !== 'logs') return { ref, fs: nodeFsPromises, root: ref.data, importIssues: [] };
  try {
    const { tree, issues } = await importLogs(ref.data, { fs: withoutExpect(ref.data), now: new Date(0) });
    const mount = `${MOUNT}/${++mounts}`;
    return { ref, fs: new TreeFs(tree, mount), root: mount, importIssues: issues };
  } catch (error) {
    return { ref, reason: error instanceof Error ? error.message : String(error), code: errnoCode(error) ?? null };
  }
}

export function isUnreadable(m: LoadedMachine | Unreadable): m is Unreadable {
  return 'reason' in m;
}

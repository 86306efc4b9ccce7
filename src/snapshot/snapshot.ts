// snapshot(): capture exactly what the probes read, as a directory tree that `--root DIR` reads back to the same
// profile. The probe runs once through a recording fs; every path it opened, listed, stat'ed or read as a link is
// then copied (symlinks kept as symlinks, file contents read to EOF with a cap, never trusting sysfs sizes), but
// only inside an allowlist of hardware sources. Device nodes (/dev/cpu/0/cpuid, msr) cannot be copied: their
// probed values are written as small text captures that the CPU probe reads back.
import { posix } from 'node:path';
import { nodeFsPromises, type FileHandleLike, type FsLike, type StatsLike, type WritableFsLike } from '../fs.ts';
import { LARGE_FILE_CAP, Reader } from '../probe/_reader.ts';
import { DMI_ENTRIES, withoutStrings } from '../probe/_smbios.ts';
import { formatCpuidCapture, formatMsrCapture } from '../probe/cpu.ts';
import { assertMachine, probeWith } from '../probe/probe.ts';
import type { HardwareProfile } from '../types.ts';
import { VERSION } from '../version.ts';
import { writeTree, type WritableTree } from '../import/tree.ts';
import { checkOutDir } from './out-dir.ts';

export const MANIFEST_NAME = 'autoconfig-snapshot.json';

/**
 * The only places a snapshot copies from: the hardware sources the probes use, nothing personal. A `*` matches within
 * one path component: of the SMBIOS structures only type 19 (Memory Array Mapped Address: address ranges, no
 * strings) and type 4 (Processor Information: its core counts, read in a Xen Dom0), never type 17 (Memory Device);
 * and of every one only its formatted area (withoutStrings): type 4's strings hold a serial number, an asset tag
 * and a part number. /sys/devices takes in a Dom0's /sys/devices/system/xen_cpu (Xen's PCPUs: the xen_cpuN
 * directories and their `online` files).
 */
export const SNAPSHOT_ALLOWLIST = [
  '/sys/bus/pci/devices',
  '/sys/bus/pci/drivers',
  '/sys/bus/usb/devices',
  '/sys/bus/usb/drivers',
  '/sys/devices',
  '/sys/class/dmi/id',
  '/sys/class/iommu',
  '/sys/kernel/iommu_groups',
  '/sys/firmware/efi/fw_platform_size',
  '/sys/firmware/acpi/tables',
  '/sys/firmware/dmi/entries/4-*',
  '/sys/firmware/dmi/entries/19-*',
  '/sys/hypervisor',
  '/proc/cpuinfo',
  '/proc/meminfo',
  '/proc/iomem',
  '/proc/cmdline',
  '/proc/sys/kernel/osrelease',
  '/proc/sys/kernel/arch',
  '/proc/xen/capabilities',
];
// Existence only (the probe asks whether it is there; its content is not needed).
const EXISTENCE_ONLY = ['/sys/firmware/efi', '/proc/xen', '/sys/firmware/acpi/tables'];
// Never copied even when inside the allowlist: serials and ids that identify a person's machine.
const DENIED = /\/(product_serial|product_uuid|board_serial|chassis_serial|serial|descriptors|config|rom|remove|reset)$/;
// The raw SMBIOS structures (relative to the root), copied without their strings.
const SMBIOS_RAW = new RegExp(`^${DMI_ENTRIES.slice(1)}/\\d+-\\d+/raw$`);

export interface SnapshotManifest {
  format: 1;
  kind: 'snapshot';
  created: string;
  tool: string;
  kernel: string | null;
  root: string;
  files: number;
  links: number;
  notes: string[];
  /**
   * Of a tree that did not tell which drivers are bound (an import's `pci.driver`/`usb.driver`, profile
   * `bindingUnknown`): the same entries, so that the snapshot reads back to the same profile. Absent otherwise.
   */
  absent?: string[];
}

export interface SnapshotOptions {
  /** The machine to capture: fs and root (node fs and "/" by default). */
  fs?: FsLike;
  root?: string;
  /** Output directory and the fs to write it with. */
  out: string;
  outFs?: WritableFsLike;
  /** Write into a non-empty directory. */
  force?: boolean;
  now?: Date;
  deviceTimeoutMs?: number;
}

export interface SnapshotResult {
  profile: HardwareProfile;
  manifest: SnapshotManifest;
  /** What was written; file contents are text, or bytes where the source is binary (raw SMBIOS structures). */
  tree: WritableTree;
  /** What the probes read that was not copied, and why (the manifest's notes say the same in words). */
  skipped: Array<{ path: string; reason: string }>;
}

type Op = 'open' | 'readdir' | 'readlink' | 'stat';

export async function snapshot(options: SnapshotOptions): Promise<SnapshotResult> {
  const fs = options.fs ?? nodeFsPromises;
  const outFs = options.outFs ?? nodeFsPromises;
  const out = posix.resolve('/', options.out);
  await checkOutDir(outFs, out, options.force === true);
  // A root that is relative, missing or holds no machine: E_ROOT, before anything is written.
  await assertMachine(fs, options.root ?? '/');
  const root = posix.resolve('/', options.root ?? '/');

  const recorded = new Map<string, Set<Op>>();
  const recording = recordingFs(fs, (op, realPath) => {
    const machine = toMachinePath(root, realPath);
    if (machine === null) return;
    let ops = recorded.get(machine);
    if (!ops) recorded.set(machine, (ops = new Set()));
    ops.add(op);
  });
  const reader = new Reader({
    fs: recording,
    root,
    ...(options.deviceTimeoutMs === undefined ? {} : { deviceTimeoutMs: options.deviceTimeoutMs }),
  });
  const profile = await probeWith(reader);

  const copier = new Copier(fs, root);
  for (const [path, ops] of [...recorded].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    await copier.capture(path, ops);
  }
  const tree = copier.tree;
  if (profile.cpu.cpuid.length > 0) tree.files['dev/cpu/0/cpuid'] = formatCpuidCapture(profile.cpu.cpuid);
  if (Object.keys(profile.cpu.msr).length > 0) tree.files['dev/cpu/0/msr'] = formatMsrCapture(profile.cpu.msr);

  const notes = [...copier.notes];
  const skipped = [...copier.skipped];
  if (profile.cpu.cpuid.length === 0) {
    notes.push('/dev/cpu/0/cpuid was not readable: raw CPUID not captured');
    skipped.push({ path: '/dev/cpu/0/cpuid', reason: 'not readable' });
  }
  const manifest: SnapshotManifest = {
    format: 1,
    kind: 'snapshot',
    created: (options.now ?? new Date()).toISOString(),
    tool: `xenoppix-autoconfig ${VERSION}`,
    kernel: profile.kernel.release,
    root,
    files: Object.keys(tree.files).length,
    links: Object.keys(tree.links).length,
    notes,
    ...(profile.bindingUnknown ? { absent: profile.bindingUnknown.map((bus) => `${bus}.driver`) } : {}),
  };
  tree.files[MANIFEST_NAME] = JSON.stringify(manifest, null, 2) + '\n';
  await writeTree(tree, out, outFs);
  return { profile, manifest, tree, skipped };
}

function toMachinePath(root: string, realPath: string): string | null {
  const path = posix.resolve('/', realPath);
  if (root === '/') return path;
  if (path === root) return '/';
  return path.startsWith(root + '/') ? path.slice(root.length) : null;
}

function recordingFs(fs: FsLike, record: (op: Op, path: string) => void): FsLike {
  const sync = fs.sync;
  return {
    ...(sync
      ? {
          sync: {
            openSync: (path: string, flags: string | number) => (record('open', path), sync.openSync(path, flags)),
            ...(sync.fstatSync ? { fstatSync: sync.fstatSync.bind(sync) } : {}),
            readSync: sync.readSync.bind(sync),
            closeSync: sync.closeSync.bind(sync),
            readdirSync: (path: string) => (record('readdir', path), sync.readdirSync(path)),
            readlinkSync: (path: string) => (record('readlink', path), sync.readlinkSync(path)),
            lstatSync: sync.lstatSync.bind(sync),
            statSync: (path: string) => (record('stat', path), sync.statSync(path)),
          },
        }
      : {}),
    open: (path: string, flags: string | number): Promise<FileHandleLike> => (record('open', path), fs.open(path, flags)),
    readdir: (path: string) => (record('readdir', path), fs.readdir(path)),
    readlink: (path: string) => (record('readlink', path), fs.readlink(path)),
    lstat: (path: string) => fs.lstat(path),
    stat: (path: string): Promise<StatsLike> => (record('stat', path), fs.stat(path)),
  };
}

const ALLOW_PARTS = SNAPSHOT_ALLOWLIST.map((p) => p.split('/').slice(1));

/** Component by component; a `*` in the allowlist matches any run of characters within one component. */
function componentMatches(pattern: string, name: string): boolean {
  if (!pattern.includes('*')) return pattern === name;
  const re = new RegExp(`^${pattern.split('*').map((x) => x.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('[^/]*')}$`);
  return re.test(name);
}

/** How `path` relates to one allowlist entry: inside it (or it), above it, or neither. */
function relation(path: string, entry: readonly string[]): 'inside' | 'above' | null {
  const parts = path.split('/').slice(1);
  const n = Math.min(parts.length, entry.length);
  for (let i = 0; i < n; i++) if (!componentMatches(entry[i]!, parts[i]!)) return null;
  return parts.length >= entry.length ? 'inside' : 'above';
}

function allowed(path: string): boolean {
  if (DENIED.test(path)) return false;
  return ALLOW_PARTS.some((entry) => relation(path, entry) !== null);
}

function inside(path: string): boolean {
  return ALLOW_PARTS.some((entry) => relation(path, entry) === 'inside');
}

class Copier {
  readonly tree: WritableTree = { files: {}, links: {}, dirs: [] };
  readonly notes: string[] = [];
  readonly skipped: Array<{ path: string; reason: string }> = [];
  private readonly dirs = new Set<string>();
  private readonly reader: Reader;

  constructor(
    private readonly fs: FsLike,
    private readonly root: string,
  ) {
    this.reader = new Reader({ fs, root });
  }

  async capture(path: string, ops: Set<Op>): Promise<void> {
    if (path.startsWith('/dev/')) return; // device nodes: written from the probed values
    if (path === `/${MANIFEST_NAME}`) return; // the tree's own manifest: the snapshot writes its own
    const existenceOnly = EXISTENCE_ONLY.includes(path);
    if (!existenceOnly && !inside(path) && !ops.has('readlink')) {
      // Intermediate components (/sys, /sys/bus ...) are created by what lies below them.
      if (!allowed(path)) this.skip(path, 'outside the allowlist');
      return;
    }
    const resolved = await this.walk(path, 0);
    if (resolved === null) return;
    const { rel, stats } = resolved;
    if (stats.isDirectory()) {
      this.dir(rel);
      if (ops.has('readdir')) await this.entries(rel);
    } else if (stats.isFile() && ops.has('open') && !existenceOnly) {
      // Byte for byte: the raw SMBIOS structures are binary (a text round trip would change bytes >= 0x80). Of
      // those only the formatted area, without the strings, which the probes never read (type 19 has none).
      const seen = this.reader.diagnostics.length;
      const read = await this.reader.bytes('/' + rel, { cap: LARGE_FILE_CAP });
      // One the probe read but the copy cannot (a FIFO, too large, unreadable) is said, not copied.
      for (const d of this.reader.diagnostics.slice(seen)) {
        this.skip(d.path, d.message.startsWith(`${d.path}: `) ? d.message.slice(d.path.length + 2) : d.code);
      }
      const bytes = read !== null && SMBIOS_RAW.test(rel) ? withoutStrings(read) : read;
      if (bytes !== null) this.tree.files[rel] = isText(bytes) ? Buffer.from(bytes).toString('utf8') : Uint8Array.from(bytes);
    } else if (stats.isFile() && !(rel in this.tree.files)) {
      this.tree.files[rel] = '';
    } else if (!stats.isFile()) {
      // A FIFO, socket or device node where the probe expected a file: never opened, nothing to copy.
      this.skip(path, 'not a regular file');
    }
  }

  private skip(path: string, reason: string): void {
    this.notes.push(`not captured (${reason}): ${path}`);
    this.skipped.push({ path, reason });
  }

  private dir(rel: string): void {
    if (rel !== '' && !this.dirs.has(rel)) {
      this.dirs.add(rel);
      this.tree.dirs.push(rel);
    }
  }

  /** Each entry of a listed directory, with its kind kept: symlinks as symlinks, files as empty placeholders. */
  private async entries(rel: string): Promise<void> {
    let names: string[];
    try {
      names = await this.fs.readdir(posix.join(this.root, rel));
    } catch {
      return;
    }
    for (const name of names.map(String)) {
      const childRel = `${rel}/${name}`;
      if (!allowed('/' + childRel)) continue;
      let stats: StatsLike;
      try {
        stats = await this.fs.lstat(posix.join(this.root, childRel));
      } catch {
        continue;
      }
      if (stats.isSymbolicLink()) {
        this.tree.links[childRel] = String(await this.fs.readlink(posix.join(this.root, childRel)));
      } else if (stats.isDirectory()) {
        this.dir(childRel);
      } else if (!(childRel in this.tree.files)) {
        this.tree.files[childRel] = '';
      }
    }
  }

  /**
   * Recreates the components of `path` (dirs and symlinks, following links the way the kernel does) and returns
   * the final resolved location. Links out of the allowlist are kept as links but not followed.
   */
  private async walk(path: string, depth: number): Promise<{ rel: string; stats: StatsLike } | null> {
    if (depth > 40) return null;
    const parts = path.split('/').filter((p) => p !== '' && p !== '.');
    const done: string[] = [];
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i]!;
      if (part === '..') {
        done.pop();
        continue;
      }
      done.push(part);
      const rel = done.join('/');
      if (!allowed('/' + rel)) return null;
      let stats: StatsLike;
      try {
        stats = await this.fs.lstat(posix.join(this.root, rel));
      } catch {
        return null;
      }
      if (stats.isSymbolicLink()) {
        const target = String(await this.fs.readlink(posix.join(this.root, rel)));
        this.tree.links[rel] = target;
        const base = target.startsWith('/') ? [] : done.slice(0, -1);
        const rest = parts.slice(i + 1);
        return this.walk('/' + [...base, ...target.split('/'), ...rest].join('/'), depth + 1);
      }
      if (i === parts.length - 1) return { rel, stats };
      if (stats.isDirectory()) this.dir(rel);
    }
    return null;
  }
}

/** Valid UTF-8 without NUL: kept as text (every kernel text file); anything else stays bytes. */
function isText(bytes: Uint8Array): boolean {
  if (bytes.includes(0)) return false;
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    return true;
  } catch {
    return false;
  }
}

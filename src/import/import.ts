// importLogs(): turn a directory of published hardware logs into a snapshot tree that `probe --root` reads like a
// machine. Every file is recognized by its content, never by its name (logs are named anything), except captured
// single values (/sys/hypervisor/type holds just "xen") whose path is their name, "/" written "__" as in the
// corpus. Each recognized file is parsed on its own; the results are merged (when logs disagree the more direct
// source wins and the disagreement is noted) and laid out as sysfs. The manifest says which file supplied what and
// which facts the probes read that no log stated.
import { posix } from 'node:path';
import { AutoconfigError, errnoCode } from '../errors.ts';
import { nodeFsPromises } from '../fs.ts';
import type { FsLike } from '../fs.ts';
import { INSTALLED_LINE } from '../probe/memory.ts';
import { VERSION } from '../version.ts';
import { addOnce, emptyParsed, toLines } from './_model.ts';
import type { ImportIssue, ImportManifest, ImportSource, Parsed, PciRecord, Tree, UsbDeviceRecord } from './_model.ts';
import { CPUID_CAPTURE, isCpuidSignatureFile, parseCpuidSignature } from './cpuid.ts';
import { detectCpuinfo, detectLscpu, parseCpuinfo, parseLscpu } from './cpuinfo.ts';
import { mergeCpuFacts } from './cpu-facts.ts';
import { detectDmesg, parseDmesg } from './dmesg.ts';
import { DMI_FILES, detectDmidecode, parseDmidecode } from './dmidecode.ts';
import { detectHwinfo, parseHwinfo } from './hwinfo.ts';
import { detectInxi, parseInxi } from './inxi.ts';
import { detectLspci, parseLspci, pciUsed } from './lspci.ts';
import { detectLsusb, parseLsusb } from './lsusb.ts';
import {
  CAPTURED_KERNEL_PATHS,
  detectMeminfo,
  detectUname,
  parseKernelCaptured,
  parseMeminfo,
  parseUname,
} from './proc.ts';
import { detectProcPci, parseProcPci } from './proc-pci.ts';
import { unknownResources } from './pci-resource.ts';
import { buildTree, mergePci, mergeUsb, pciModalias, usbModalias } from './tree.ts';
import type { RankedSource } from './tree.ts';
import { XEN_PATHS, detectXenDump, parseXenCaptured, parseXenDump } from './xen.ts';

export type { ImportIssue, ImportManifest, ImportSource, Tree } from './_model.ts';

/** Same name as the snapshot manifest (snapshot.ts MANIFEST_NAME): both kinds of tree are read the same way. */
const MANIFEST_FILE = 'autoconfig-snapshot.json';
const MAX_FILE_BYTES = 64 * 1024 * 1024;
const MAX_FILES = 5000;
const MAX_DEPTH = 8;

export interface ImportOptions {
  fs?: FsLike;
  /** Creation time written to the manifest (tests pin it). */
  now?: Date;
}

export interface ImportResult {
  tree: Tree;
  manifest: ImportManifest;
  issues: ImportIssue[];
}

interface Format {
  id: string;
  /** Lower wins when two files state the same fact differently: the more direct source first. */
  rank: number;
  detect: (lines: string[]) => boolean;
  parse: (text: string, file: string) => Parsed;
}

// Order matters where one format contains another's lines: hwinfo embeds cpuinfo and a kernel log; the kernel
// log, tried last, is recognized by its message prefixes, which other formats can share a few of.
const FORMATS: Format[] = [
  { id: 'dmidecode', rank: 0, detect: detectDmidecode, parse: parseDmidecode },
  { id: 'hwinfo', rank: 0, detect: detectHwinfo, parse: parseHwinfo },
  { id: 'lsusb', rank: 1, detect: (l) => detectLsusb(l) !== null, parse: parseLsusb },
  { id: 'lspci', rank: 1, detect: (l) => detectLspci(l) !== null, parse: parseLspci },
  { id: 'proc-pci', rank: 2, detect: detectProcPci, parse: parseProcPci },
  { id: 'lscpu', rank: 4, detect: detectLscpu, parse: parseLscpu },
  { id: 'cpuinfo', rank: 0, detect: detectCpuinfo, parse: parseCpuinfo },
  { id: 'meminfo', rank: 0, detect: detectMeminfo, parse: (t) => parseMeminfo(t) },
  { id: 'xen-dump', rank: 0, detect: detectXenDump, parse: parseXenDump },
  { id: 'uname', rank: 1, detect: detectUname, parse: (t) => parseUname(t) },
  // inxi prints what it read elsewhere, filtered (a few flags) and reworded: below the kernel's own log.
  { id: 'inxi', rank: 5, detect: detectInxi, parse: parseInxi },
  { id: 'dmesg', rank: 3, detect: detectDmesg, parse: parseDmesg },
];

/** The machine path a captured file stands for ("x/sys__hypervisor__type" or "x/sys/hypervisor/type"), if any. */
export function capturedPath(relPath: string): string | null {
  const path = relPath.split('/').join('__').split('__').join('/');
  for (const known of [...XEN_PATHS, ...CAPTURED_KERNEL_PATHS]) {
    if (path === known || path.endsWith(`/${known}`)) return known;
  }
  return null;
}

export async function importLogs(logDir: string, options: ImportOptions = {}): Promise<ImportResult> {
  const fs = options.fs ?? nodeFsPromises;
  const issues: ImportIssue[] = [];
  const notes: string[] = [];
  const files: string[] = [];
  await listFiles(fs, logDir, '', 0, files, notes);

  const sources: Array<RankedSource & { source: ImportSource }> = [];
  for (const rel of files) {
    const bytes = await readAll(fs, posix.join(logDir, rel), issues, rel);
    if (bytes === null) continue;
    let text = decode(bytes);
    if (text !== null && text.includes('\u00a0')) {
      // Logs copied from a web page carry no-break spaces where the tool printed spaces.
      notes.push(`${rel}: no-break spaces read as spaces`);
      text = text.replace(/\u00a0/g, ' ');
    }
    if (text === null) {
      issues.push({ file: rel, line: 0, message: 'binary data, not a text log; skipped' });
      sources.push(nothing(rel, 'binary'));
      continue;
    }
    if (/\r\n?/.test(text)) notes.push(`${rel}: CR/LF line ends read as LF`);
    if (text.trim() === '' && capturedPath(rel) === null && !isCpuidSignatureFile(rel)) {
      notes.push(`${rel}: empty`);
      sources.push(nothing(rel, 'empty'));
      continue;
    }
    const { parsed, rank } = parseOne(rel, text);
    issues.push(...parsed.issues);
    notes.push(...parsed.notes);
    if (parsed.format === 'unknown') {
      issues.push({ file: rel, line: 0, message: 'not a log format this importer reads; skipped' });
    }
    sources.push({ file: rel, rank, parsed, source: { file: rel, format: parsed.format, used: [...parsed.used] } });
  }

  const pci = mergePci(sources, notes);
  const { devices: usb, unnamed } = mergeUsb(sources, notes);
  const { files: wholeFiles, dirs, known, from } = mergeFiles(sources, notes);
  mergeCpuFacts(sources, wholeFiles, from.get('proc/cpuinfo'), notes);
  const tree = buildTree(pci, usb, wholeFiles, dirs);

  for (const s of sources) {
    const placed = s.parsed.pci.filter((r) => pci.some((p) => p.slot === r.slot));
    if (placed.length > 0) for (const u of pciUsed(placed, s.parsed.pciDriversStated)) addOnce(s.source.used, u);
    const wrote = (r: UsbDeviceRecord) =>
      usb.some((d) => (r.name !== undefined && r.name === d.name) || (r.bus === d.bus && r.devnum === d.devnum));
    if (s.parsed.usb.some(wrote)) addOnce(s.source.used, 'usb');
  }
  const absent = absentFacts(tree, pci, usb, unnamed, sources, known, notes);
  if (files.length === 0) notes.push(`${logDir}: no files to import`);

  const manifest: ImportManifest = {
    format: 1,
    kind: 'import',
    created: (options.now ?? new Date()).toISOString(),
    tool: `xenoppix-autoconfig ${VERSION}`,
    sources: sources.map((s) => s.source),
    absent,
    notes,
  };
  tree.files[MANIFEST_FILE] = JSON.stringify(manifest, null, 2) + '\n';
  return { tree, manifest, issues };
}

/** A file that gives nothing (binary, empty): listed in the manifest all the same. */
function nothing(rel: string, format: string): RankedSource & { source: ImportSource } {
  return { file: rel, rank: 9, parsed: emptyParsed(format), source: { file: rel, format, used: [] } };
}

function parseOne(rel: string, text: string): { parsed: Parsed; rank: number } {
  if (isCpuidSignatureFile(rel)) return { parsed: parseCpuidSignature(text, rel), rank: 0 };
  const captured = capturedPath(rel);
  if (captured !== null) {
    const xen = XEN_PATHS.includes(captured);
    const parsed = xen ? parseXenCaptured(captured, text) : parseKernelCaptured(captured, text);
    return { parsed, rank: 0 };
  }
  const other = /(?:^|\/)((?:sys\/hypervisor|proc\/xen)\/[\w/]+)$/.exec(rel.split('__').join('/'));
  if (other) {
    const parsed = emptyParsed(`captured /${other[1]}`);
    parsed.notes.push(`${rel}: not read by the probes; not taken`);
    return { parsed, rank: 9 };
  }
  const lines = toLines(text);
  for (const format of FORMATS) {
    if (format.detect(lines)) return { parsed: format.parse(text, rel), rank: format.rank };
  }
  return { parsed: emptyParsed('unknown'), rank: 9 };
}

/** Whole files (cpuinfo, DMI, cmdline ...): the best-ranked source of each path wins. */
function mergeFiles(
  sources: Array<RankedSource & { source: ImportSource }>,
  notes: string[],
): { files: Record<string, string>; dirs: string[]; known: string[]; from: Map<string, string> } {
  const files: Record<string, string> = {};
  const from = new Map<string, string>();
  const dirs: string[] = [];
  const known: string[] = [];
  for (const s of [...sources].sort((a, b) => a.rank - b.rank)) {
    const lost = new Set<string>();
    for (const [path, content] of Object.entries(s.parsed.files)) {
      if (files[path] === undefined) {
        files[path] = content;
        from.set(path, s.file);
      } else {
        if (files[path] !== content) {
          notes.push(`/${path}: taken from ${from.get(path)}; ${s.file} differs and was not used`);
        }
        lost.add(usedKey(path));
      }
    }
    // A source whose every file of a kind lost to a better one supplied nothing of that kind.
    for (const key of lost) {
      const kept = Object.keys(s.parsed.files).some((p) => usedKey(p) === key && from.get(p) === s.file);
      const gone = key === 'cpu' ? ['cpu', 'cpu.flags', 'cpu.topology'] : [key];
      if (!kept) s.source.used = s.source.used.filter((u) => !gone.includes(u));
    }
    for (const dir of s.parsed.dirs) addOnce(dirs, dir);
    for (const k of s.parsed.known) addOnce(known, k);
  }
  // What a source implies only indirectly fills what no source states.
  for (const s of [...sources].sort((a, b) => a.rank - b.rank)) {
    for (const [path, content] of Object.entries(s.parsed.weakFiles ?? {})) {
      if (files[path] === undefined) {
        files[path] = content;
        from.set(path, s.file);
        addOnce(s.source.used, usedKey(path, content));
      } else if (path === 'proc/meminfo' && content.startsWith(INSTALLED_LINE) && !files[path]!.includes(INSTALLED_LINE)) {
        // The installed memory (SMBIOS) beside a /proc/meminfo log: both, as a live probe reads MemTotal and the
        // SMBIOS tables both (src/probe/memory.ts).
        files[path] = files[path]!.replace(/\n?$/, '\n') + content;
        addOnce(s.source.used, 'memory.installed');
      } else if (files[path] !== content) {
        notes.push(`/${path}: taken from ${from.get(path)}; ${s.file} differs and was not used`);
      }
    }
  }
  return { files, dirs, known, from };
}

function usedKey(path: string, content = ''): string {
  if (path === 'proc/cpuinfo') return 'cpu';
  // dmidecode's installed memory (src/import/dmidecode.ts) is not MemTotal.
  if (path === 'proc/meminfo') return /^MemTotal:/m.test(content) || content === '' ? 'memory' : 'memory.installed';
  if (path === 'proc/iomem') return 'graphics.stolen';
  if (path === 'proc/cmdline') return 'kernel.cmdline';
  if (path === 'proc/sys/kernel/osrelease') return 'kernel.osrelease';
  if (path === 'proc/sys/kernel/arch') return 'cpu.arch';
  if (path === CPUID_CAPTURE) return 'cpu.cpuid.40000000';
  if (path.startsWith('sys/class/dmi/')) return 'dmi';
  if (path.startsWith('sys/firmware/acpi/')) return 'firmware.acpi';
  return 'xen';
}

/**
 * The facts the probes read that the logs left open. Never stated by any log: raw CPUID (but the hypervisor
 * signature leaf virt-what prints) and MSRs, the EFI word size, the IOMMU units the kernel drives.
 */
function absentFacts(
  tree: Tree,
  pci: PciRecord[],
  usb: UsbDeviceRecord[],
  unnamed: number,
  sources: RankedSource[],
  known: string[],
  notes: string[],
): string[] {
  const absent: string[] = [];
  const some = (n: number, of: number, what: string, why: string) => {
    if (n > 0) notes.push(`${what}: unknown for ${n} of ${of} devices (${why})`);
  };
  if (pci.length === 0) absent.push('pci');
  else {
    const count = (f: (r: PciRecord) => boolean) => pci.filter(f).length;
    const noClass = count((r) => r.class === undefined);
    const noSub = count((r) => r.subvendor === undefined);
    const noRev = count((r) => r.revision === undefined);
    const noAlias = count((r) => pciModalias(r) === undefined);
    if (noClass > 0) absent.push('pci.class');
    if (noSub > 0) absent.push('pci.subsystem');
    if (noRev > 0) absent.push('pci.revision');
    if (noAlias > 0) absent.push('pci.modalias');
    some(noClass, pci.length, 'pci.class', 'no prog-if in the logs');
    some(noSub, pci.length, 'pci.subsystem', 'lspci hides subsystem 0000 and ffff alike');
    some(noAlias, pci.length, 'pci.modalias', 'needs ids, subsystem and the full class');
    if (!sources.some((s) => s.parsed.pciDriversStated && s.parsed.pci.length > 0)) absent.push('pci.driver');
    if (!pci.some((r) => r.bootVga !== undefined)) absent.push('pci.boot_vga');
    const noResources = count((r) => unknownResources(r.resources).length > 0);
    if (noResources > 0) absent.push('pci.resources');
    // Only when some are known: with none, "absent" says it all.
    if (noResources < pci.length) {
      some(noResources, pci.length, 'pci.resources', 'no lspci -vv region list, or a region without address or size');
    }
    // lspci prints the group of every device that has one: a device without it is in none (the IOMMU itself).
    if (!pci.some((r) => r.iommuGroup !== undefined)) absent.push('pci.iommu_group');
  }
  const anyUsb = sources.some((s) => s.parsed.usb.length > 0);
  if (!anyUsb) absent.push('usb');
  else {
    if (unnamed > 0) absent.push('usb.port_path');
    const partial =
      sources.some((s) => s.parsed.usbInterfacesPartial) && !sources.some((s) => s.parsed.format === 'lsusb -v');
    if (partial || usb.some((d) => d.config === undefined || d.interfaces.length === 0)) absent.push('usb.interfaces');
    const noAlias = (d: UsbDeviceRecord) => d.interfaces.some((i) => i.modalias === undefined && !usbModalias(d, i));
    if (usb.some(noAlias)) absent.push('usb.modalias');
    if (!usb.some((d) => d.interfaces.some((i) => i.driver !== undefined))) absent.push('usb.driver');
    if (usb.some((d) => d.speed === undefined)) absent.push('usb.speed');
  }
  const cpuinfo = tree.files['proc/cpuinfo'];
  if (cpuinfo === undefined) absent.push('cpu');
  else {
    if (!/^flags\s*:/m.test(cpuinfo)) absent.push('cpu.flags');
    if (!/^physical id\s*:/m.test(cpuinfo)) absent.push('cpu.topology');
  }
  if (tree.files['proc/sys/kernel/arch'] === undefined) absent.push('cpu.arch');
  const cpuid = tree.files[CPUID_CAPTURE] === undefined ? '' : ' (except the hypervisor signature leaf)';
  absent.push(`cpu.cpuid${cpuid}`);
  absent.push('cpu.msr');
  // MemTotal; an import may hold only the installed memory instead (src/probe/memory.ts).
  if (!/^MemTotal:/m.test(tree.files['proc/meminfo'] ?? '')) absent.push('memory');
  const dmi = DMI_FILES.filter((f) => tree.files[`sys/class/dmi/id/${f}`] === undefined);
  if (dmi.length === DMI_FILES.length) absent.push('dmi');
  else absent.push(...dmi.map((f) => `dmi.${f}`));
  if (tree.files['proc/sys/kernel/osrelease'] === undefined) absent.push('kernel.osrelease');
  if (tree.files['proc/cmdline'] === undefined) absent.push('kernel.cmdline');
  if (!tree.dirs.includes('sys/firmware/acpi/tables')) absent.push('firmware.acpi');
  if (!tree.dirs.includes('sys/firmware/efi') && !known.includes('firmware.efi')) absent.push('firmware.efi');
  absent.push('firmware.efi_bits', 'firmware.iommu');
  const groups = tree.dirs.filter((d) => d.startsWith('sys/kernel/iommu_groups/')).length;
  if (groups > 0) {
    const what = `the ${groups} groups of the PCI devices listed`;
    notes.push(`sys/kernel/iommu_groups: ${what}; groups holding only other devices are unknown`);
  }
  const xen = Object.keys(tree.files).some((p) => p.startsWith('sys/hypervisor/') || p === 'proc/xen/capabilities');
  if (!xen) absent.push('xen');
  return absent;
}

async function listFiles(
  fs: FsLike,
  root: string,
  rel: string,
  depth: number,
  out: string[],
  notes: string[],
): Promise<void> {
  let names: string[];
  try {
    names = (await fs.readdir(rel === '' ? root : posix.join(root, rel))).map(String).sort();
  } catch (error) {
    const reason = errnoCode(error) ?? String(error);
    // The log directory itself must be readable; a subdirectory that is not is noted and skipped.
    if (rel === '')
      throw new AutoconfigError('E_IO', `cannot read the log directory ${root}: ${reason}`, { path: root });
    notes.push(`${rel}: cannot list (${reason})`);
    return;
  }
  for (const name of names) {
    const child = rel === '' ? name : `${rel}/${name}`;
    let stats;
    try {
      stats = await fs.lstat(posix.join(root, child));
    } catch (error) {
      notes.push(`${child}: cannot stat (${errnoCode(error) ?? String(error)})`);
      continue;
    }
    // A link could lead anywhere (even to this machine's own /sys): logs are read as the files they are.
    if (stats.isSymbolicLink()) notes.push(`${child}: symlink, not followed`);
    else if (stats.isDirectory()) {
      if (depth + 1 >= MAX_DEPTH) notes.push(`${child}: deeper than ${MAX_DEPTH} levels, not read`);
      else await listFiles(fs, root, child, depth + 1, out, notes);
    } else if (stats.isFile()) {
      if (out.length >= MAX_FILES) {
        notes.push(`${child}: more than ${MAX_FILES} files, the rest not read`);
        return;
      }
      out.push(child);
    }
  }
}

async function readAll(fs: FsLike, path: string, issues: ImportIssue[], rel: string): Promise<Uint8Array | null> {
  let handle;
  try {
    handle = await fs.open(path, 'r');
  } catch (error) {
    issues.push({ file: rel, line: 0, message: `cannot open: ${errnoCode(error) ?? String(error)}` });
    return null;
  }
  try {
    const chunks: Uint8Array[] = [];
    let total = 0;
    for (;;) {
      const buffer = new Uint8Array(1024 * 1024);
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, total);
      if (bytesRead === 0) break;
      chunks.push(buffer.subarray(0, bytesRead));
      total += bytesRead;
      if (total > MAX_FILE_BYTES) {
        issues.push({ file: rel, line: 0, message: `larger than ${MAX_FILE_BYTES} bytes; skipped` });
        return null;
      }
    }
    return Buffer.concat(chunks, total);
  } catch (error) {
    issues.push({ file: rel, line: 0, message: `cannot read: ${errnoCode(error) ?? String(error)}` });
    return null;
  } finally {
    await handle.close().catch(() => undefined);
  }
}

/** UTF-8 text, or null for binary data: a NUL byte, or more than 1% undecodable bytes. */
function decode(bytes: Uint8Array): string | null {
  if (bytes.includes(0)) return null;
  const text = new TextDecoder('utf-8').decode(bytes);
  let bad = 0;
  for (const ch of text) if (ch === '\uFFFD') bad++;
  return bad * 100 > text.length ? null : text;
}

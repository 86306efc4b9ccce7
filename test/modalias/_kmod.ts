// The real kmod as the oracle. libkmod resolves aliases only from depmod's binary indexes (modules.*.bin), which
// depmod makes from .ko files, so the shipped text files alone cannot feed it. Decision: the tests build a
// modprobe-ready tree from the Debian kernel package the shipped data came from, with the same script that
// regenerates data/ (scripts/update-kernel-data.sh --index-root: apt-get download, dpkg -x, depmod -b; ~6 s,
// 70 MB download), and keep only lib/modules/<release>/modules.* (5 MB) in node_modules/.cache for later runs.
// If that package has left the archive, the current linux-image-amd64 kernel is used instead, and both sides
// (our parser and modprobe) then read that tree's files. Tests skip, saying why, only without modprobe or apt.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { aptCommand, referenceKernel } from '../_support/shipped-kernels.ts';

export const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** The reference release autoconfig reads (the newest shipped), fetched from the suite its SOURCE names. */
export const shippedRelease = referenceKernel.release;
export const shippedDir = join(repo, 'data', 'kernel', shippedRelease);
/**
 * The release whose index values matching.md measured with `modprobe -R` (priorities, value order): the .bin format
 * tests read it, whichever release is the reference. Also shipped: Debian 12's kernel, the Xen 4.17 Dom0.
 */
export const measuredRelease = '6.1.0-56-amd64';
export const measuredDir = join(repo, 'data', 'kernel', measuredRelease);
const cacheRoot = join(repo, 'node_modules', '.cache', 'xenoppix-kmod');
/** What data/kernel/<release> ships: depmod's text files and the binary indexes libkmod reads. */
export const TEXT_FILES = ['modules.alias', 'modules.dep', 'modules.order', 'modules.builtin', 'modules.builtin.modinfo', 'modules.softdep'];
export const BIN_FILES = ['modules.alias.bin', 'modules.dep.bin', 'modules.builtin.bin', 'modules.builtin.alias.bin'];

export function findModprobe(): string | null {
  for (const dir of (process.env.PATH ?? '').split(':').concat(['/usr/sbin', '/sbin'])) {
    const path = join(dir, 'modprobe');
    if (dir !== '' && existsSync(path)) return path;
  }
  return null;
}

export interface KmodTree {
  modprobe: string;
  /** For `modprobe -d`. */
  root: string;
  release: string;
  /** root/lib/modules/<release>: the text files our loader reads. */
  dir: string;
  /** True when the tree is the shipped release (its text files equal data/kernel/<release>). */
  shipped: boolean;
}

let cached: Promise<KmodTree | string> | undefined;

/** The tree, or the reason there is none. */
export function kmodTree(): Promise<KmodTree | string> {
  return (cached ??= makeTree());
}

async function makeTree(): Promise<KmodTree | string> {
  const modprobe = findModprobe();
  if (modprobe === null) return 'modprobe is not installed (apt-get install -y kmod)';
  for (const release of [shippedRelease, null]) {
    const existing = release === null ? currentRelease() : release;
    if (existing === null) continue;
    const root = join(cacheRoot, existing);
    const dir = join(root, 'lib', 'modules', existing);
    if (!existsSync(join(dir, 'modules.alias.bin'))) {
      // Test files run in parallel workers: each builds in its own directory and renames it into place.
      const mine = `${root}.${process.pid}`;
      const suite = referenceKernel.suite === null ? [] : ['--suite', referenceKernel.suite];
      const r = spawnSync('bash', [join(repo, 'scripts', 'update-kernel-data.sh'), '--index-root', mine, '--no-data', ...suite, `linux-image-${existing}`], {
        encoding: 'utf8',
        timeout: 300_000,
      });
      if (r.status === 0) {
        mkdirSync(cacheRoot, { recursive: true });
        try {
          renameSync(mine, root);
        } catch {
          // another worker was first: its tree is the same
        }
      }
      rmSync(mine, { recursive: true, force: true });
      if (!existsSync(join(dir, 'modules.alias.bin'))) continue;
    }
    return { modprobe, root, release: existing, dir, shipped: existing === shippedRelease };
  }
  return 'cannot fetch a Debian kernel package to build modprobe indexes (apt-get download failed)';
}

function currentRelease(): string | null {
  try {
    const [cmd, args] = aptCommand(referenceKernel.suite, 'apt-cache', ['depends', 'linux-image-amd64']);
    const out = execFileSync(cmd, args, { encoding: 'utf8' });
    return /Depends: linux-image-(\S+)/.exec(out)?.[1] ?? null;
  } catch {
    return null;
  }
}

/**
 * `modprobe -d ROOT -S RELEASE -C CONF... -R QUERY` for each query, in a few shells running in parallel: the
 * printed module names, duplicates removed keeping the first (kmod prints a module once per matching pattern).
 */
export async function modprobeResolve(tree: KmodTree, queries: readonly string[], confs: readonly string[]): Promise<string[][]> {
  const lanes = 4;
  const results: string[][] = new Array(queries.length);
  const conf = confs.flatMap((c) => ['-C', c]);
  const script = `while IFS= read -r q; do printf '@@\\n'; "$0" -d "$1" -S "$2" ${conf.map((_, i) => `"\${${i + 3}}"`).join(' ')} -R -- "$q" 2>/dev/null; done`;
  await Promise.all(
    Array.from({ length: lanes }, async (_, lane) => {
      const mine = queries.map((q, i) => [q, i] as const).filter(([, i]) => i % lanes === lane);
      const out = await run('sh', ['-c', script, tree.modprobe, tree.root, tree.release, ...conf], mine.map(([q]) => q).join('\n') + '\n');
      const blocks = out.split('@@\n').slice(1);
      mine.forEach(([, i], k) => {
        const names = (blocks[k] ?? '').split('\n').filter((l) => l !== '');
        results[i] = [...new Set(names)];
      });
    }),
  );
  return results;
}

/** `modprobe -n -v` (dry run): the module names it would insmod, in order, and any `install` commands. */
export function modprobeDryRun(tree: KmodTree, query: string, confs: readonly string[]): { insmod: string[]; install: string[] } {
  const r = spawnSync(
    tree.modprobe,
    ['-d', tree.root, '-S', tree.release, ...confs.flatMap((c) => ['-C', c]), '-n', '-v', '--', query],
    { encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' } },
  );
  const insmod: string[] = [];
  const install: string[] = [];
  for (const line of r.stdout.split('\n')) {
    const m = /^insmod \S*\/([^/\s]+)\.ko(?:\.\w+)?\s*(.*)$/.exec(line.trim());
    if (m) insmod.push(m[1]!.replaceAll('-', '_') + (m[2] ? ` ${m[2]}` : ''));
    else if (line.startsWith('install ')) install.push(line.slice(8).trim());
  }
  return { insmod, install };
}

function run(cmd: string, args: string[], input: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: { ...process.env, LC_ALL: 'C' }, stdio: ['pipe', 'pipe', 'inherit'] });
    const chunks: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => chunks.push(c));
    child.on('error', reject);
    child.on('close', () => resolve(Buffer.concat(chunks).toString('utf8')));
    child.stdin.end(input, 'utf8');
  });
}

/** A modprobe.d tree in a temp dir: { 'etc/modprobe.d/a.conf': '...' } under `base`. */
export function writeTree(base: string, files: Record<string, string>): void {
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(base, path)), { recursive: true });
    writeFileSync(join(base, path), text);
  }
}

export function readText(path: string): string {
  return readFileSync(path, 'utf8');
}

function hex(value: string, width: number): string {
  return value.toUpperCase().padStart(width, '0');
}

/** Modaliases in the kernel's formats (drivers/pci/pci-sysfs.c, drivers/usb/core/sysfs.c) from real IDs. */
export function generatedModaliases(): string[] {
  const pciIds = readText(existsSync(join(repo, 'data', 'pci.ids')) ? join(repo, 'data', 'pci.ids') : join(repo, '..', 'shared', 'data', 'pci.ids'));
  const usbIds = readText(existsSync(join(repo, 'data', 'usb.ids')) ? join(repo, 'data', 'usb.ids') : join(repo, '..', 'shared', 'data', 'usb.ids'));
  // PCI: every device with its first subsystem (or none), classes taken in turn from the class section.
  const classes: string[] = [];
  const devices: Array<[string, string, string, string]> = [];
  let vendor = '';
  let cls = '';
  let sub = '';
  for (const line of pciIds.split('\n')) {
    let m;
    if ((m = /^C ([0-9a-f]{2})\s/.exec(line))) (cls = m[1]!), (vendor = ''), classes.push(`${cls}0000`);
    else if (cls && (m = /^\t([0-9a-f]{2})\s/.exec(line))) (sub = m[1]!), classes.push(`${cls}${sub}00`);
    else if (cls && (m = /^\t\t([0-9a-f]{2})\s/.exec(line))) classes.push(`${cls}${sub}${m[1]}`);
    else if ((m = /^([0-9a-f]{4})\s/.exec(line))) (vendor = m[1]!), (cls = '');
    else if (vendor && (m = /^\t([0-9a-f]{4})\s/.exec(line))) devices.push([vendor, m[1]!, '0000', '0000']);
    else if (vendor && (m = /^\t\t([0-9a-f]{4}) ([0-9a-f]{4})\s/.exec(line))) {
      const last = devices.at(-1)!;
      if (last[2] === '0000' && last[3] === '0000') (last[2] = m[1]!), (last[3] = m[2]!);
    }
  }
  const out: string[] = [];
  const pciStep = Math.max(1, Math.floor(devices.length / 3500));
  for (let i = 0; i < devices.length; i += pciStep) {
    const [v, d, sv, sd] = devices[i]!;
    const c = classes[(i / pciStep) % classes.length]!;
    out.push(`pci:v${hex(v, 8)}d${hex(d, 8)}sv${hex(sv, 8)}sd${hex(sd, 8)}bc${hex(c.slice(0, 2), 2)}sc${hex(c.slice(2, 4), 2)}i${hex(c.slice(4), 2)}`);
  }
  // USB interfaces: vendor:product from usb.ids, device and interface classes from its C section, bcdDevice
  // values covering the ranges drivers match on.
  const usbClasses: string[] = [];
  const products: Array<[string, string]> = [];
  vendor = '';
  cls = '';
  for (const line of usbIds.split('\n')) {
    let m;
    if ((m = /^C ([0-9a-f]{2})\s/.exec(line))) (cls = m[1]!), (vendor = ''), usbClasses.push(`${cls}0000`);
    else if (cls && (m = /^\t([0-9a-f]{2})\s/.exec(line))) (sub = m[1]!), usbClasses.push(`${cls}${sub}00`);
    else if (cls && (m = /^\t\t([0-9a-f]{2})\s/.exec(line))) usbClasses.push(`${cls}${sub}${m[1]}`);
    else if ((m = /^([0-9a-f]{4})\s/.exec(line))) (vendor = m[1]!), (cls = '');
    else if (vendor && (m = /^\t([0-9a-f]{4})\s/.exec(line))) products.push([vendor, m[1]!]);
    else if (/^[A-Z]+ /.test(line)) (vendor = ''), (cls = '');
  }
  const bcds = ['0000', '0100', '0110', '0200', '0310', '1000', '2000', '9999'];
  const usbStep = Math.max(1, Math.floor(products.length / 2500));
  for (let i = 0; i < products.length; i += usbStep) {
    const [v, p] = products[i]!;
    const k = i / usbStep;
    const dc = k % 3 === 0 ? usbClasses[k % usbClasses.length]! : '000000';
    const ic = usbClasses[(k * 7) % usbClasses.length]!;
    out.push(
      `usb:v${hex(v, 4)}p${hex(p, 4)}d${bcds[k % bcds.length]}dc${hex(dc.slice(0, 2), 2)}dsc${hex(dc.slice(2, 4), 2)}dp${hex(dc.slice(4), 2)}` +
        `ic${hex(ic.slice(0, 2), 2)}isc${hex(ic.slice(2, 4), 2)}ip${hex(ic.slice(4), 2)}in${hex(String(k % 4), 2)}`,
    );
  }
  return out;
}

/** Every modalias under a root's /sys/bus/<bus>/devices/<dev>/modalias, with the bus and device name. */
export function sysModaliases(root: string): Array<{ bus: string; id: string; modalias: string; bound: string | null }> {
  const found: Array<{ bus: string; id: string; modalias: string; bound: string | null }> = [];
  const busDir = join(root, 'sys', 'bus');
  if (!existsSync(busDir)) return found;
  for (const bus of readdirSync(busDir).sort()) {
    const devDir = join(busDir, bus, 'devices');
    if (!existsSync(devDir)) continue;
    for (const id of readdirSync(devDir).sort()) {
      try {
        const modalias = readFileSync(join(devDir, id, 'modalias'), 'utf8').trim();
        if (modalias !== '') found.push({ bus, id, modalias, bound: null });
      } catch {
        // no modalias attribute (USB devices as opposed to interfaces, bridges of some buses)
      }
    }
  }
  return found;
}

// Odd input: must never throw, and must still agree with kmod (which also takes these as lookup keys).
export const odd = [
  '',
  '-',
  'pci:',
  'pci:v*',
  'pci:v00008086d000010D3sv*sd*bc*sc*i*',
  'pci:v00008086d000010d3sv00008086sd0000a01fbc02sc00i00', // lower case: kmod finds nothing
  'xen-backend:vbd',
  'xen_backend:vif',
  'xen:vfb',
  'xen:vkbd',
  'e1000e',
  'crc32c',
  'xenbus',
  'fs-xenfs',
  'platform:rtc_cmos',
  'cxl:t6x',
  'virtio:d00000001v00001AF4',
  'acpi:PNP0A08:PNP0A03:',
  'dmi:bvnDell Inc.:bvr1.0:svnDell Inc.:pnOptiPlex 7010:',
  'pci:v[0]',
  'a]b',
  'a[b',
  'usb:v0D96p410Ad[1-9]',
  'naïve:é',
  'tab\there',
  'x'.repeat(5000),
  'cpu:type:x86,ven0000fam0006mod00A7:feature:,0000,0001,0002,0003,0004,00E2,0132',
  'usb:v0D96p410Ad1100dc00dsc00dp00ic08isc06ip50in00',
  'usb:v0781p5567d0100dc00dsc00dp00ic08isc06ip50in00',
  'pci:v00001002d00006798sv00001002sd00003000bc03sc00i00',
  'pci:v000010ECd00008139sv000010ECsd00008139bc02sc00i00',
];

/**
 * The queries the kmod cross-check uses: modaliases from pci.ids and usb.ids, every /sys device of every fixture
 * and of this machine, and the odd strings.
 */
export function oracleQueries(): { queries: string[]; generated: number; devices: number; fixtures: number } {
  const fixtures = existsSync(join(repo, 'fixtures')) ? readdirSync(join(repo, 'fixtures')).sort() : [];
  const devices = [...fixtures.flatMap((f) => sysModaliases(join(repo, 'fixtures', f, 'root'))), ...sysModaliases('/')];
  const generated = generatedModaliases();
  const queries = [...new Set([...generated, ...devices.map((d) => d.modalias), ...odd])];
  return { queries, generated: generated.length, devices: devices.length, fixtures: fixtures.length };
}

// Reading kmod's index format independently of src/modalias/kmod-index.ts, to damage real files on purpose.
const NODE_PREFIX = 0x80000000;
const NODE_CHILDS = 0x20000000;
const NODE_MASK = 0x0fffffff;

/** Where the node `ref` (flags | offset) keeps its child offset for `ch`; null when it has no such slot. */
export function childSlot(bytes: Buffer, ref: number, ch: number): number | null {
  let p = ref & NODE_MASK;
  if (ref & NODE_PREFIX) p = bytes.indexOf(0, p) + 1;
  if (!(ref & NODE_CHILDS)) return null;
  const [first, last] = [bytes[p]!, bytes[p + 1]!];
  return ch < first || ch > last ? null : p + 2 + 4 * (ch - first);
}

/** The reference of the node whose key ends exactly at `path`, descending from the root. */
export function nodeAt(bytes: Buffer, path: string): number {
  let ref = bytes.readUInt32BE(8);
  for (let i = 0; ; ) {
    if (ref & NODE_PREFIX) {
      const at = ref & NODE_MASK;
      const prefix = bytes.toString('latin1', at, bytes.indexOf(0, at));
      if (!path.startsWith(prefix, i)) throw new Error(`"${path}" does not end at a node boundary`);
      i += prefix.length;
    }
    if (i === path.length) return ref;
    const slot = childSlot(bytes, ref, path.charCodeAt(i++));
    if (slot === null) throw new Error(`no node for "${path}"`);
    ref = bytes.readUInt32BE(slot);
  }
}

/**
 * The shipped modules.alias.bin with one child offset under the `pci:v*` node (the class-wide PCI patterns)
 * rewritten to point back at `pci:v`: the header and root are intact, and only a PCI lookup meets the loop.
 */
export function loopedAliasIndex(): Buffer {
  const bytes = readFileSync(join(shippedDir, 'modules.alias.bin'));
  const pciV = nodeAt(bytes, 'pci:v');
  const star = bytes.readUInt32BE(childSlot(bytes, pciV, 0x2a)!);
  for (let ch = 0; ch < 128; ch++) {
    const slot = childSlot(bytes, star, ch);
    if (slot !== null && bytes.readUInt32BE(slot) !== 0) {
      bytes.writeUInt32BE(pciV >>> 0, slot);
      return bytes;
    }
  }
  throw new Error('the pci:v* node has no children');
}

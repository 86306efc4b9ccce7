// Which Xen the plan is for. In order: `--xen VERSION`; the last valid `xen=VERSION` cheatcode of the boot line;
// the Xen this system runs under (the probe's /sys/hypervisor/version); the newest hypervisor image in the target
// root's /boot (xen-4.17.3.gz, xen-3.0.3-1.gz, xen-4.17-amd64.efi, or xen.gz as a link to one; a Debian image,
// whose name holds only the series, gets its whole version from dpkg's database: debianImageVersion); else 4.20. A bad
// --xen is the caller's mistake and an error; a bad cheatcode, a running version or a file name of another shape is
// passed over, and `detail` says so. Versions older than the oldest this autoconfig knows (XEN_KNOWN) are refused
// the same way; a version newer than the newest known is planned with a `warning` (plan.warnings carries it).
import { posix } from 'node:path';
import { AutoconfigError } from '../errors.ts';
import { nodeFsPromises, type FsLike } from '../fs.ts';
import { LARGE_FILE_CAP, Reader } from '../probe/_reader.ts';
import { checkXenVersion, compareXenVersions, XEN_VERSION, XEN_VERSION_SHAPE } from '../rules/version.ts';
import type { HardwareProfile } from '../types.ts';

/** Without anything saying otherwise: what Debian 13 (trixie, the current stable) ships; 4.17 (Debian 12) is security-only. */
export const DEFAULT_XEN = '4.20';

const SHAPE = XEN_VERSION_SHAPE;

export type TargetSource = 'option' | 'cheatcode' | 'running' | 'installed' | 'default';

export interface TargetXen {
  version: string;
  source: TargetSource;
  /** Where the version came from, and what was passed over on the way, in words. */
  detail: string;
  /** Set when the version is newer than the newest this autoconfig knows: the plan's options are the newest's. */
  warning?: string;
}

export interface DetectTargetXenOptions {
  /** `--xen VERSION` from the command line. */
  option?: string | null;
  /** Boot-line cheatcodes; `xen=VERSION` is the one read here. */
  cheatcodes?: readonly { name: string; value: string | null }[];
  profile: Pick<HardwareProfile, 'hypervisor'>;
  /** The target root's filesystem, for /boot; node:fs by default. */
  fs?: FsLike;
  root?: string;
}

// Distribution suffixes that name the architecture, not the Xen version (Debian: /boot/xen-4.17-amd64.gz).
const ARCH_SUFFIX = /-(amd64|i386|arm64|armhf|x86_64|x86_32)$/;

/** The target a `--xen VERSION` names; E_USAGE when it is no Xen version. */
export function xenOption(option: string): TargetXen {
  const value = option.trim();
  const check = checkXenVersion(value);
  if (!check.ok) throw new AutoconfigError('E_USAGE', `--xen ${JSON.stringify(option)}: ${check.reason}`, { path: '--xen' });
  return withWarning({ version: value, source: 'option', detail: `--xen ${value}` }, check.warning);
}

function withWarning(target: TargetXen, warning: string | null): TargetXen {
  return warning === null ? target : { ...target, warning };
}

export async function detectTargetXen(options: DetectTargetXenOptions): Promise<TargetXen> {
  const notes: string[] = [];
  const withNotes = (detail: string) => (notes.length === 0 ? detail : `${detail}; ${notes.join('; ')}`);

  if (options.option !== undefined && options.option !== null) return xenOption(options.option);

  const cheat = [...(options.cheatcodes ?? [])].reverse().find((c) => {
    if (c.name !== 'xen') return false;
    if (c.value === null || c.value === '') notes.push('boot option "xen" without a version skipped');
    else {
      const check = checkXenVersion(c.value);
      if (check.ok) return true;
      notes.push(`boot option xen=${c.value} skipped: ${check.reason}`);
    }
    return false;
  });
  if (cheat !== undefined) {
    const { warning } = checkXenVersion(cheat.value!) as { warning: string | null };
    return withWarning(
      { version: cheat.value!, source: 'cheatcode', detail: withNotes(`boot option xen=${cheat.value!}`) },
      warning,
    );
  }

  const { hypervisor } = options.profile;
  const underXen = hypervisor.xen.present || hypervisor.role === 'dom0' || hypervisor.role.startsWith('xen-');
  const running = hypervisor.xen.version;
  if (underXen && running !== null) {
    const check = checkXenVersion(running);
    if (check.ok) {
      const detail = withNotes(`running under Xen ${running} (${hypervisor.role})`);
      return withWarning({ version: running, source: 'running', detail }, check.warning);
    }
    notes.push(`running Xen version ${JSON.stringify(running)} skipped: ${check.reason}`);
  } else if (underXen) {
    notes.push(`running under Xen (${hypervisor.role}) but its version is unknown`);
  }

  const root = posix.resolve('/', options.root ?? '/');
  const installed = await installedXen(options.fs ?? nodeFsPromises, root, notes);
  if (installed.length > 0) {
    const newest = installed[0]!;
    const others = installed.slice(1).map((i) => i.version);
    const also = others.length === 0 ? '' : ` (newest of ${[newest.version, ...others].join(', ')})`;
    const { warning } = checkXenVersion(newest.version) as { warning: string | null };
    return withWarning(
      { version: newest.version, source: 'installed', detail: withNotes(`${newest.file} in ${root}${also}`) },
      warning,
    );
  }

  return {
    version: DEFAULT_XEN,
    source: 'default',
    detail: withNotes(`no --xen, no xen= boot option, no running Xen, no Xen in ${posix.join(root, 'boot')}: default`),
  };
}

interface Installed {
  version: string;
  file: string;
}

/** Hypervisor images in /boot of the root, newest first, one entry per version. */
async function installedXen(fs: FsLike, root: string, notes: string[]): Promise<Installed[]> {
  const reader = new Reader({ fs, root });
  const names = await reader.list('/boot');
  const found = new Map<string, Installed>();
  const dpkg = dpkgDatabase(reader);
  for (const name of names ?? []) {
    if (!/^xen(-.*)?\.(gz|efi)$/.test(name) || name.startsWith('xen-syms-')) continue;
    const file = `/boot/${name}`;
    if (!(await reader.exists(file))) {
      notes.push(`${file} skipped: it does not resolve inside the root`);
      continue;
    }
    let versioned = name;
    if (name === 'xen.gz' || name === 'xen.efi') {
      // No version in the name: only a link to a versioned image says which Xen it is.
      const target = await reader.linkName(file);
      if (target === null || !/^xen-.*\.(gz|efi)$/.test(target)) {
        notes.push(`${file} skipped: its version is not in its name`);
        continue;
      }
      versioned = target;
    }
    const named = versionOfName(versioned);
    if (named === null) {
      notes.push(`${file} skipped: no Xen version (${SHAPE}) in its name`);
      continue;
    }
    const linked = versioned === name ? file : `${file} -> ${versioned}`;
    // Debian names the image by its series (xen-4.17-amd64.gz): the package that owns it knows the release (4.17.7),
    // which the rules' thresholds inside a series need (x2apic before 4.17.3), and which Xen itself reports once
    // running: without it the first boot into Xen would plan again with another version.
    const debian = await debianImageVersion(dpkg, versioned, named);
    const version = debian?.version ?? named;
    const shown = debian === null ? linked : `${linked} (${debian.package} ${debian.debianVersion})`;
    const check = checkXenVersion(version);
    if (!check.ok) {
      notes.push(`${shown} skipped: Xen ${version} is ${check.reason}`);
      continue;
    }
    if (!found.has(version)) found.set(version, { version, file: shown });
  }
  for (const d of reader.diagnostics) notes.push(d.message.startsWith(d.path) ? d.message : `${d.path}: ${d.message}`);
  return [...found.values()].sort((a, b) => compareXenVersions(b.version, a.version));
}

/** dpkg's database inside the root (dpkg --root/--admindir). */
const DPKG_STATUS = '/var/lib/dpkg/status';
const DPKG_INFO = '/var/lib/dpkg/info';
/** dpkg states in which a package's files are on disk (dpkg-query(1)): not not-installed, not config-files. */
const UNPACKED_STATES = new Set(['installed', 'unpacked', 'half-configured', 'half-installed', 'triggers-awaited', 'triggers-pending']);

/**
 * The release of a Debian hypervisor image named by its series (/boot/xen-4.17-amd64.gz): the package that owns it
 * (xen-hypervisor-4.17-amd64, its files list naming the image) and its Version in dpkg's status
 * (4.17.7+13-g2445b30a44-0+deb12u1 -> 4.17.7). null when the name is not of that shape, no package owns the file, or
 * the version is not of the same series: the name's version stands.
 */
async function debianImageVersion(
  dpkg: DpkgDatabase,
  image: string,
  series: string,
): Promise<{ version: string; package: string; debianVersion: string } | null> {
  const match = /^xen-(\d+\.\d+)-([a-z0-9]+)\.(gz|efi)$/.exec(image);
  if (match === null || match[1] !== series) return null;
  const pkg = `xen-hypervisor-${match[1]}-${match[2]}`;
  const files = await dpkg.list(pkg);
  if (files === null || !files.split('\n').includes(`/boot/${image}`)) return null;
  const status = await dpkg.status();
  const stanza = status === null ? null : dpkgStanza(status, pkg);
  if (stanza === null) return null;
  const state = stanza.get('Status')?.split(' ')[2];
  const debianVersion = stanza.get('Version');
  if (state === undefined || !UNPACKED_STATES.has(state) || debianVersion === undefined) return null;
  // [epoch:]upstream[-revision]; Debian's Xen upstream is the release, then +N-gHASH for the stable branch's commits.
  const noEpoch = debianVersion.replace(/^\d+:/, '');
  const upstream = noEpoch.includes('-') ? noEpoch.slice(0, noEpoch.lastIndexOf('-')) : noEpoch;
  const release = /^\d+\.\d+(\.\d+)?/.exec(upstream)?.[0];
  if (release === undefined || !(release === series || release.startsWith(`${series}.`))) return null;
  return checkXenVersion(release).ok ? { version: release, package: pkg, debianVersion } : null;
}

interface DpkgDatabase {
  list(pkg: string): Promise<string | null>;
  status(): Promise<string | null>;
}

/** dpkg's database in the root, each file read at most once (a package's .gz and .efi images ask the same). */
function dpkgDatabase(reader: Reader): DpkgDatabase {
  const read = new Map<string, Promise<string | null>>();
  const once = (path: string, cap: number): Promise<string | null> => {
    if (!read.has(path)) read.set(path, reader.text(path, { cap }));
    return read.get(path)!;
  };
  return { list: (pkg) => once(`${DPKG_INFO}/${pkg}.list`, LARGE_FILE_CAP), status: () => once(DPKG_STATUS, 64 * 1024 * 1024) };
}

/** One package's fields from dpkg's status (deb822 stanzas; continuation lines are not needed here). */
function dpkgStanza(status: string, pkg: string): Map<string, string> | null {
  // Found by its Package line rather than by splitting a status of thousands of packages.
  const head = `Package: ${pkg}\n`;
  let at = status.startsWith(head) ? 0 : status.indexOf(`\n${head}`);
  if (at < 0) return null;
  if (at > 0) at += 1;
  const end = status.slice(at).search(/\n[ \t]*\n/);
  const fields = new Map<string, string>();
  for (const line of (end < 0 ? status.slice(at) : status.slice(at, at + end)).split('\n')) {
    const colon = line.indexOf(':');
    if (colon > 0 && line[0] !== ' ' && line[0] !== '\t') fields.set(line.slice(0, colon), line.slice(colon + 1).trim());
  }
  return fields;
}

/** "xen-4.17.3.gz" -> "4.17.3"; "xen-4.17-amd64.efi" -> "4.17"; null when the name holds no version. */
export function versionOfName(name: string): string | null {
  const match = /^xen-(.+)\.(gz|efi)$/.exec(name);
  if (match === null) return null;
  const raw = match[1]!.replace(ARCH_SUFFIX, '');
  return XEN_VERSION.test(raw) ? raw : null;
}

// Which Xen the plan is for. In order: `--xen VERSION`; the last valid `xen=VERSION` cheatcode of the boot line;
// the Xen this system runs under (the probe's /sys/hypervisor/version); the newest hypervisor image in the target
// root's /boot (xen-4.17.3.gz, xen-3.0.3-1.gz, xen-4.17-amd64.efi, or xen.gz as a link to one); else 4.20. A bad
// --xen is the caller's mistake and an error; a bad cheatcode, a running version or a file name of another shape is
// passed over, and `detail` says so. Versions older than the oldest this autoconfig knows (XEN_KNOWN) are refused
// the same way; a version newer than the newest known is planned with a `warning` (plan.warnings carries it).
import { posix } from 'node:path';
import { AutoconfigError } from '../errors.ts';
import { nodeFsPromises, type FsLike } from '../fs.ts';
import { Reader } from '../probe/_reader.ts';
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
    const version = versionOfName(versioned);
    if (version === null) {
      notes.push(`${file} skipped: no Xen version (${SHAPE}) in its name`);
      continue;
    }
    const shown = versioned === name ? file : `${file} -> ${versioned}`;
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

/** "xen-4.17.3.gz" -> "4.17.3"; "xen-4.17-amd64.efi" -> "4.17"; null when the name holds no version. */
export function versionOfName(name: string): string | null {
  const match = /^xen-(.+)\.(gz|efi)$/.exec(name);
  if (match === null) return null;
  const raw = match[1]!.replace(ARCH_SUFFIX, '');
  return XEN_VERSION.test(raw) ? raw : null;
}

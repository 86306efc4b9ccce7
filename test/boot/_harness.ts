// The boot test's host side: Debian's own parts (the Xen hypervisor, the Dom0 kernel, xen-utils, GRUB, OVMF, QEMU),
// a root filesystem image that holds this package as npm would install it, a job disk, QEMU under TCG, and the serial
// log read back. Facts behind every choice here: ../shared/research/boot-test.md (measured on these machines).
//
// Each Debian release (DebianRelease: Debian 12 with Xen 4.17, Debian 13 with Xen 4.20) brings its own Xen, kernel
// and xen-utils. Downloads (apt-get download, no install) and what is made from them only once are cached per release
// in /var/cache/xenoppix-autoconfig/boot/<codename> (root) or ~/.cache/xenoppix-autoconfig/boot/<codename>: later
// runs reuse them. The tools (qemu-system-x86, grub-*-bin, xorriso, mtools, ovmf, busybox-static, e2fsprogs, kmod,
// dash) are installed by scripts/test.sh as root; without them, or without root and apt, the test is skipped and
// says why.
import { spawn, spawnSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
  createWriteStream,
} from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { aptCommand, shippedKernels } from '../_support/shipped-kernels.ts';

export const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const guestDir = join(repo, 'test', 'boot', 'guest');

/**
 * A Debian release the boot test boots: its Xen with its own kernel as Dom0 (issue #10: the default target is
 * Debian 13's Xen 4.20; Debian 12's 4.17 is still planned for). One per shipped reference kernel (data/kernel/<release>/SOURCE
 * names its suite and the Xen of the same release), so that autoconfig's reference data and the Dom0's module tree
 * are one kernel.
 */
export interface DebianRelease {
  /** The codename ("bookworm", "trixie"): titles and the cache directory. */
  name: string;
  /** The apt suite (scripts/apt-suite.sh), or null for the machine's own apt sources. */
  suite: string | null;
  /** The Xen series of xen-hypervisor-<series>-amd64 and xen-utils-<series>. */
  xenSeries: string;
  /** The Dom0 kernel's release (linux-image-<release>). */
  kernel: string;
}

/** The machine's own codename (/etc/os-release): the name of the release its apt sources give. */
function hostCodename(): string {
  const text = existsSync('/etc/os-release') ? readFileSync('/etc/os-release', 'utf8') : '';
  return /^VERSION_CODENAME=("?)([a-z0-9-]+)\1$/m.exec(text)?.[2] ?? 'default';
}

/** Oldest first: Debian 12 (the machine's suite here), then Debian 13. */
export const RELEASES: readonly DebianRelease[] = shippedKernels
  .filter((k) => k.xen !== null)
  .map((k) => ({ name: k.suite ?? hostCodename(), suite: k.suite, xenSeries: k.xen!, kernel: k.release }));

/** Bump when the cached root filesystem base or initramfs changes shape. */
const BASE_VERSION = 'v2';

export const CACHE =
  process.env.XENOPPIX_BOOT_CACHE ??
  (process.getuid?.() === 0 ? '/var/cache/xenoppix-autoconfig/boot' : join(homedir(), '.cache', 'xenoppix-autoconfig', 'boot'));

/** Each release's downloads and what is made of them: a package name means another version in each suite. */
const cacheOf = (r: DebianRelease) => join(CACHE, r.name);

const TOOLS: Record<string, string> = {
  'qemu-system-x86_64': 'qemu-system-x86',
  'grub-mkrescue': 'grub-common',
  xorriso: 'xorriso',
  mformat: 'mtools',
  busybox: 'busybox-static',
  'mke2fs': 'e2fsprogs',
  modprobe: 'kmod',
  depmod: 'kmod',
  dash: 'dash',
  cpio: 'cpio',
  'apt-get': 'apt',
  'dpkg-deb': 'dpkg',
};
const FILES: Record<string, string> = {
  '/usr/lib/grub/i386-pc/cdboot.img': 'grub-pc-bin',
  '/usr/lib/grub/x86_64-efi/modinfo.sh': 'grub-efi-amd64-bin',
  '/usr/share/OVMF/OVMF_CODE_4M.fd': 'ovmf',
  '/usr/share/OVMF/OVMF_VARS_4M.fd': 'ovmf',
};

export function which(tool: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(':').concat(['/usr/sbin', '/sbin', '/usr/bin', '/bin'])) {
    if (dir !== '' && existsSync(join(dir, tool))) return join(dir, tool);
  }
  return null;
}

/** Why the boot test cannot run here, or null. */
export function skipReason(): string | null {
  if (process.getuid?.() !== 0) return 'not root: the boot test needs apt-get and Debian packages (run scripts/test.sh as root)';
  const missing = new Set<string>();
  for (const [tool, pkg] of Object.entries(TOOLS)) if (which(tool) === null) missing.add(pkg);
  for (const [file, pkg] of Object.entries(FILES)) if (!existsSync(file)) missing.add(pkg);
  if (missing.size > 0) return `missing Debian packages: ${[...missing].join(' ')} (scripts/test.sh installs them as root)`;
  return null;
}

function run(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string } = {}): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 256 << 20, ...opts });
  if (r.status !== 0) {
    throw new Error(`${cmd} ${args.join(' ')} exited ${r.status ?? r.signal}: ${(r.stderr || r.stdout).slice(-2000)}`);
  }
  return r.stdout;
}

/** apt-get or apt-cache for the release's suite (the machine's apt, or scripts/apt-suite.sh for another suite). */
function apt(r: DebianRelease, tool: 'apt-get' | 'apt-cache', args: string[], cwd?: string) {
  const [cmd, argv] = aptCommand(r.suite, tool, args);
  return spawnSync(cmd, argv, { cwd, encoding: 'utf8', maxBuffer: 64 << 20 });
}

/** `apt-get download` into the release's cache (once); returns the .deb path. */
function debOf(r: DebianRelease, pkg: string): string {
  const dir = join(cacheOf(r), 'debs');
  mkdirSync(dir, { recursive: true });
  const find = () => readdirSync(dir).find((f) => f.startsWith(`${pkg}_`) && f.endsWith('.deb'));
  let found = find();
  if (found === undefined) {
    let d = apt(r, 'apt-get', ['download', '-q', pkg], dir);
    // The machine's own lists may be stale; apt-suite.sh refreshes its own.
    if (d.status !== 0 && r.suite === null) {
      spawnSync('apt-get', ['update', '-q'], { encoding: 'utf8' });
      d = apt(r, 'apt-get', ['download', '-q', pkg], dir);
    }
    found = find();
    if (d.status !== 0 || found === undefined) throw new Error(`apt-get download ${pkg} (${r.name}) failed: ${d.stderr}`);
  }
  return join(dir, found);
}

/**
 * Debian's merged /usr, as an installed system has it: a package that still ships /lib, /lib64, /bin or /sbin
 * (Debian 12's libc6) gets them under /usr, so that copying it over a root with those links changes no link.
 */
function mergeUsr(dir: string): void {
  for (const d of ['bin', 'sbin', 'lib', 'lib64']) {
    const top = join(dir, d);
    if (!existsSync(top) || lstatSync(top).isSymbolicLink()) continue;
    cpSync(top, join(dir, 'usr', d), { recursive: true, verbatimSymlinks: true, force: false });
    rmSync(top, { recursive: true, force: true });
  }
}

/** Extract packages into a cached directory once (made in a temporary directory, then renamed into place). */
function extracted(r: DebianRelease, name: string, pkgs: () => string[], after?: (dir: string) => void): string {
  const dir = join(cacheOf(r), name);
  if (existsSync(join(dir, '.complete'))) return dir;
  const tmp = `${dir}.${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  const list = pkgs();
  for (const pkg of list) run('dpkg-deb', ['-x', debOf(r, pkg), tmp]);
  after?.(tmp);
  writeFileSync(join(tmp, '.complete'), list.join('\n') + '\n');
  rmSync(dir, { recursive: true, force: true });
  renameSync(tmp, dir);
  return dir;
}

/**
 * xen-utils-<series> with what xl and xenstored need at run time, as apt resolves it in the release's suite:
 * xen-utils-common (scripts, /etc/xen) and the closure of the Depends that are shared libraries (Section: libs),
 * the C library included, so that the release's xl runs on the release's own glibc. Not python3 and the rest:
 * xl and xenstored are C programs (ldd over them, in buildBase, must find every library).
 */
function xenUtilsPackages(r: DebianRelease): string[] {
  const root = `xen-utils-${r.xenSeries}`;
  const flags = ['--no-recommends', '--no-suggests', '--no-conflicts', '--no-breaks', '--no-replaces', '--no-enhances'];
  const libs = new Set<string>();
  let queue = [root];
  const seen = new Set(queue);
  while (queue.length > 0) {
    const d = apt(r, 'apt-cache', ['depends', ...flags, ...queue]);
    if (d.status !== 0) throw new Error(`apt-cache depends ${queue.join(' ')} (${r.name}) failed: ${d.stderr}`);
    const deps = [...d.stdout.matchAll(/^\s*\|?(?:Pre)?Depends: ([a-z0-9][a-z0-9+.-]*)/gm)].map((m) => m[1]!.replace(/:any$/, ''));
    const fresh = [...new Set(deps)].filter((p) => !seen.has(p));
    for (const p of fresh) seen.add(p);
    if (fresh.length === 0) break;
    const show = apt(r, 'apt-cache', ['show', '--no-all-versions', ...fresh]);
    if (show.status !== 0) throw new Error(`apt-cache show ${fresh.join(' ')} (${r.name}) failed: ${show.stderr}`);
    queue = [];
    for (const stanza of show.stdout.split(/\n\n+/)) {
      const pkg = /^Package: (\S+)/m.exec(stanza)?.[1];
      if (pkg !== undefined && /^Section: (\S+\/)?libs$/m.test(stanza) && !libs.has(pkg)) {
        libs.add(pkg);
        queue.push(pkg);
      }
    }
  }
  return [root, 'xen-utils-common', ...[...libs].sort()];
}

export interface BootParts {
  release: DebianRelease;
  /** Debian's Xen (multiboot image, gzip). */
  xenGz: string;
  vmlinuz: string;
  /** The kernel package unpacked, with depmod's indexes. */
  kernelRoot: string;
  /** Cached root filesystem base (no package in it). */
  base: string;
  initrd: string;
  xenVersion: string;
  /** The Dom0 kernel's release. */
  kernelRelease: string;
}

/**
 * The Dom0 kernel: the shipped reference release, so that autoconfig's reference data and the Dom0's module tree
 * are one kernel; when Debian has dropped that package (a security update changes the ABI number), the release
 * linux-image-amd64 depends on now in the same suite (the Dom0 then matches against its own /lib/modules, as a
 * real one does).
 */
function dom0Release(r: DebianRelease): string {
  if (existsSync(join(cacheOf(r), `kernel-${r.kernel}`, '.complete'))) return r.kernel;
  try {
    debOf(r, `linux-image-${r.kernel}`);
    return r.kernel;
  } catch {
    const depends = apt(r, 'apt-cache', ['depends', 'linux-image-amd64']).stdout;
    const current = /Depends: linux-image-(\d\S*-amd64)/.exec(depends)?.[1];
    if (current === undefined) throw new Error(`no Debian kernel package (${r.name}): linux-image-${r.kernel} is gone and linux-image-amd64 names none`);
    return current;
  }
}

const partsOf = new Map<string, BootParts>();

/** Download and unpack the release's parts, and build its cached root filesystem base and initramfs. */
export function prepareParts(r: DebianRelease): BootParts {
  const done = partsOf.get(r.name);
  if (done) return done;
  const release = dom0Release(r);
  const kernelRoot = extracted(r, `kernel-${release}`, () => [`linux-image-${release}`], (dir) => {
    // Debian 13 ships the modules in /usr/lib/modules; depmod and modprobe -d (kmod 30) look in <dir>/lib/modules.
    if (existsSync(join(dir, 'usr', 'lib', 'modules')) && !existsSync(join(dir, 'lib', 'modules'))) {
      mkdirSync(join(dir, 'lib'), { recursive: true });
      renameSync(join(dir, 'usr', 'lib', 'modules'), join(dir, 'lib', 'modules'));
    }
    run('depmod', ['-b', dir, release]);
  });
  const xen = extracted(r, `xen-hypervisor-${r.xenSeries}`, () => [`xen-hypervisor-${r.xenSeries}-amd64`]);
  const xenGz = join(xen, 'boot', `xen-${r.xenSeries}-amd64.gz`);
  const utils = extracted(r, `xen-utils-${r.xenSeries}`, () => xenUtilsPackages(r), mergeUsr);
  const deb = readdirSync(join(cacheOf(r), 'debs')).find((f) => f.startsWith(`xen-hypervisor-${r.xenSeries}-amd64_`))!;
  const xenVersion = deb.split('_')[1]!.replace(/\+.*/, '');
  const base = buildBase(r, kernelRoot, release, xenGz, utils);
  const initrd = buildInitrd(r, kernelRoot, release);
  const parts = { release: r, xenGz, vmlinuz: join(kernelRoot, 'boot', `vmlinuz-${release}`), kernelRoot, base, initrd, xenVersion, kernelRelease: release };
  partsOf.set(r.name, parts);
  return parts;
}

/**
 * The shared libraries `binaries` load (what ldd prints), with `libPath` searched first. `loader`: the dynamic
 * loader to ask (the release's own, whose glibc may be newer than the machine's: the machine's ldd could not load
 * it); a library found nowhere is an error naming it.
 */
function librariesOf(binaries: string[], libPath: string[], loader?: string): Set<string> {
  const out = new Set<string>();
  for (const bin of binaries) {
    const text =
      loader === undefined
        ? run('ldd', [bin], { env: { ...process.env, LD_LIBRARY_PATH: libPath.join(':') } })
        : run(loader, ['--library-path', libPath.join(':'), '--list', bin]);
    const missing = text.split('\n').filter((l) => /not found/.test(l));
    if (missing.length > 0) throw new Error(`${bin}: libraries not found: ${missing.map((l) => l.trim()).join('; ')}`);
    for (const line of text.split('\n')) {
      const m = /=>\s*(\/\S+)/.exec(line) ?? /^\s*(\/\S+)\s+\(/.exec(line);
      if (m) out.add(m[1]!);
    }
  }
  return out;
}

function copyInto(root: string, path: string): void {
  const dest = join(root, path);
  if (existsSync(dest)) return;
  mkdirSync(dirname(dest), { recursive: true });
  copyFileSync(realpathSync(path), dest);
  chmodSync(dest, 0o755);
}

/** Root filesystem base: kernel modules, Xen and xen-utils, Node, kmod, dash and busybox, their libraries. */
function buildBase(r: DebianRelease, kernelRoot: string, release: string, xenGz: string, utils: string): string {
  const dir = join(cacheOf(r), `rootfs-base-${release}-${BASE_VERSION}`);
  if (existsSync(join(dir, '.complete'))) return dir;
  const tmp = `${dir}.${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  for (const d of ['proc', 'sys', 'dev', 'run', 'tmp', 'etc', 'var/lib', 'var/log', 'boot', 'usr/bin', 'usr/sbin', 'root', 'mnt']) {
    mkdirSync(join(tmp, d), { recursive: true });
  }
  // Debian's merged /usr.
  for (const d of ['bin', 'sbin', 'lib', 'lib64']) {
    mkdirSync(join(tmp, 'usr', d), { recursive: true });
    symlinkSync(`usr/${d}`, join(tmp, d));
  }
  cpSync(join(kernelRoot, 'lib', 'modules'), join(tmp, 'usr', 'lib', 'modules'), { recursive: true });
  copyFileSync(xenGz, join(tmp, 'boot', `xen-${r.xenSeries}-amd64.gz`));
  // xen-utils as dpkg would unpack them (without docs); xl and xenstored are called by their versioned paths.
  for (const entry of readdirSync(utils)) {
    if (entry === '.complete') continue;
    cpSync(join(utils, entry), join(tmp, entry), {
      recursive: true,
      filter: (src) => !/\/usr\/share\/(doc|man)\b/.test(src),
      verbatimSymlinks: true,
    });
  }
  const xenBin = join(utils, 'usr', 'lib', `xen-${r.xenSeries}`, 'bin');
  const xenLibs = [join(utils, 'usr', 'lib', 'x86_64-linux-gnu'), join(utils, 'usr', 'lib', `xen-${r.xenSeries}`, 'lib')];
  const node = realpathSync(process.execPath);
  const binaries: [string, string][] = [
    [node, '/usr/bin/node'],
    [which('kmod')!, '/usr/bin/kmod'],
    [which('dash')!, '/usr/bin/dash'],
    [which('busybox')!, '/usr/bin/busybox'],
  ];
  for (const [src, dest] of binaries) {
    copyFileSync(src, join(tmp, dest));
    chmodSync(join(tmp, dest), 0o755);
  }
  // The release's C library is in the root (from xen-utils' dependencies): the machine's Node, kmod and dash run
  // on a glibc as new as theirs or newer; the machine's libraries fill in only what the release's do not have.
  const loader = join(utils, 'usr', 'lib64', 'ld-linux-x86-64.so.2');
  const libs = new Set([
    ...librariesOf([join(xenBin, 'xl'), join(xenBin, 'xenstored')], xenLibs, existsSync(loader) ? loader : undefined),
    ...librariesOf([node, which('kmod')!, which('dash')!], []),
  ]);
  for (const lib of libs) if (!lib.startsWith(utils)) copyInto(tmp, lib.replace(/^\/lib/, '/usr/lib'));
  if (!existsSync(join(tmp, 'usr/lib64/ld-linux-x86-64.so.2'))) copyInto(tmp, '/usr/lib64/ld-linux-x86-64.so.2');
  for (const tool of ['modprobe', 'lsmod', 'insmod', 'rmmod', 'depmod', 'modinfo']) {
    symlinkSync('../bin/kmod', join(tmp, 'usr', 'sbin', tool));
  }
  symlinkSync('dash', join(tmp, 'usr', 'bin', 'sh'));
  // busybox for the rest of a minimal userland (mount, tar, awk, timeout, poweroff, ...), never over a real tool.
  for (const applet of run('busybox', ['--list-full']).split('\n').filter(Boolean)) {
    const dest = join(tmp, applet.replace(/^(s?bin)\//, 'usr/$1/'));
    if (existsSync(dest) || existsSync(dest.replace('/usr/sbin/', '/usr/bin/')) || existsSync(dest.replace('/usr/bin/', '/usr/sbin/'))) continue;
    mkdirSync(dirname(dest), { recursive: true });
    symlinkSync('/usr/bin/busybox', dest);
  }
  writeFileSync(join(tmp, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
  writeFileSync(join(tmp, 'etc', 'group'), 'root:x:0:\n');
  writeFileSync(join(tmp, '.complete'), '');
  rmSync(dir, { recursive: true, force: true });
  renameSync(tmp, dir);
  return dir;
}

/** The initramfs: busybox, the modules that reach the root disk, and guest/initrd-init. */
function buildInitrd(r: DebianRelease, kernelRoot: string, release: string): string {
  const out = join(cacheOf(r), `initrd-${release}-${BASE_VERSION}.gz`);
  const work = join(cacheOf(r), `initrd-${process.pid}`);
  rmSync(work, { recursive: true, force: true });
  mkdirSync(join(work, 'lib', 'modules'), { recursive: true });
  mkdirSync(join(work, 'bin'), { recursive: true });
  copyFileSync(which('busybox')!, join(work, 'bin', 'busybox'));
  const insmods = run(which('modprobe')!, ['-d', kernelRoot, '-S', release, '-a', '--show-depends', 'virtio_pci', 'virtio_blk', 'ext4', 'crc32c_generic', 'xenfs']);
  const order: string[] = [];
  for (const line of insmods.split('\n')) {
    const m = /^insmod (\S+)/.exec(line);
    if (!m) continue;
    // Debian 13's modules are xz-compressed (.ko.xz): busybox's insmod reads only plain ones, so the initramfs gets
    // them decompressed (busybox's own unxz).
    const file = m[1]!.slice(m[1]!.lastIndexOf('/') + 1);
    const name = file.replace(/\.ko\.xz$/, '.ko');
    if (order.includes(name)) continue;
    order.push(name);
    if (file === name) copyFileSync(m[1]!, join(work, 'lib', 'modules', name));
    else {
      const plain = spawnSync('busybox', ['unxz', '-c', m[1]!], { maxBuffer: 256 << 20 });
      if (plain.status !== 0) throw new Error(`busybox unxz ${m[1]} failed: ${plain.stderr}`);
      writeFileSync(join(work, 'lib', 'modules', name), plain.stdout);
    }
  }
  writeFileSync(join(work, 'lib', 'modules', 'order'), order.join('\n') + '\n');
  copyFileSync(join(guestDir, 'initrd-init'), join(work, 'init'));
  chmodSync(join(work, 'init'), 0o755);
  const list = run('find', ['.'], { cwd: work });
  const cpio = spawnSync('cpio', ['-o', '-H', 'newc', '--quiet'], { cwd: work, input: list, maxBuffer: 256 << 20 });
  if (cpio.status !== 0) throw new Error(`cpio failed: ${cpio.stderr}`);
  const gz = spawnSync('gzip', ['-1'], { input: cpio.stdout, maxBuffer: 256 << 20 });
  writeFileSync(`${out}.${process.pid}`, gz.stdout);
  renameSync(`${out}.${process.pid}`, out);
  rmSync(work, { recursive: true, force: true });
  return out;
}

/**
 * The package as `npm install -g` lays it out (npm pack of this checkout, unpacked into /usr/lib/node_modules, its
 * runtime dependency beside it, /usr/bin/autoconfig linked to its bin), the boot integration installed by
 * `autoconfig install-boot`, and the test's own init: a root filesystem image labelled xroot.
 */
export function buildRootImage(work: string, p: BootParts): { image: string; seconds: number } {
  const t0 = Date.now();
  const staging = join(work, 'rootfs');
  rmSync(staging, { recursive: true, force: true });
  // Hard links from the cache: fast, and every writer replaces files by rename, so the cache is never changed.
  // (A plain copy where the work directory is on another filesystem, e.g. a tmpfs /tmp.)
  if (spawnSync('cp', ['-al', p.base, staging]).status !== 0) {
    rmSync(staging, { recursive: true, force: true });
    run('cp', ['-a', p.base, staging]);
  }
  rmSync(join(staging, '.complete'));
  const packDir = join(work, 'pack');
  mkdirSync(packDir, { recursive: true });
  // The dist/ that scripts/test.sh built (prepack would rebuild it, and the bundle's code cache, for nothing); built
  // here when the test runs alone in a clone that has none.
  if (!existsSync(join(repo, 'dist', 'autoconfig.cjs'))) run(process.execPath, [join(repo, 'scripts', 'build.mjs')], { cwd: repo });
  const tgz = run('npm', ['pack', '--ignore-scripts', '--silent', '--pack-destination', packDir], { cwd: repo }).trim().split('\n').at(-1)!;
  const pkgDir = join(staging, 'usr', 'lib', 'node_modules', 'xenoppix-autoconfig');
  mkdirSync(pkgDir, { recursive: true });
  run('tar', ['xzf', join(packDir, tgz), '-C', pkgDir, '--strip-components=1']);
  cpSync(join(repo, 'node_modules', 'yaml'), join(pkgDir, 'node_modules', 'yaml'), { recursive: true });
  symlinkSync('../lib/node_modules/xenoppix-autoconfig/bin/autoconfig.cjs', join(staging, 'usr', 'bin', 'autoconfig'));
  const install = spawnSync(process.execPath, [join(repo, 'bin', 'autoconfig.cjs'), 'install-boot', '--target', staging, '--exec', '/usr/bin/autoconfig'], {
    encoding: 'utf8',
  });
  if (install.status !== 0) throw new Error(`autoconfig install-boot failed (${install.status}): ${install.stderr}${install.stdout}`);
  copyFileSync(join(guestDir, 'xtest-init'), join(staging, 'usr', 'sbin', 'xtest-init'));
  chmodSync(join(staging, 'usr', 'sbin', 'xtest-init'), 0o755);
  const image = join(work, 'root.img');
  rmSync(image, { force: true });
  run('mke2fs', ['-q', '-t', 'ext4', '-L', 'xroot', '-E', 'root_owner=0:0', '-d', staging, image, '2G']);
  rmSync(staging, { recursive: true, force: true });
  return { image, seconds: (Date.now() - t0) / 1000 };
}

/** A job disk: a tar archive of `files` (stage and inputs), padded to 64 MiB; the guest writes its results over it. */
export function makeJob(path: string, stage: string, files: Record<string, string> = {}): string {
  const dir = `${path}.d`;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'stage'), `${stage}\n`);
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), content);
  }
  run('tar', ['cf', path, '-C', dir, '.']);
  run('truncate', ['-s', '64M', path]);
  rmSync(dir, { recursive: true, force: true });
  return path;
}

/** The guest's results: the tar archive it wrote over the job disk, unpacked. */
export function readJob(path: string): string {
  const dir = `${path}.out`;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  run('tar', ['xf', path, '-C', dir]);
  return dir;
}

/** A hybrid BIOS+UEFI ISO of `tree` (grub-mkrescue): GRUB reads the tree's own /boot/grub/grub.cfg. */
export function makeIso(tree: string, out: string): number {
  const t0 = Date.now();
  run('grub-mkrescue', ['-o', out, tree]);
  return (Date.now() - t0) / 1000;
}

/** The emulated machine (boot-test.md): what gives driver matching real work, and an IOMMU for Xen to find. */
export const MACHINE_MIB = 3072;
export function machineArgs(): string[] {
  return [
    '-machine', 'q35',
    // TCG has no VMX; SVM it emulates, and Xen reports HVM with it. qemu64: TCG's SMAP breaks a PV Dom0 (max, EPYC).
    '-cpu', 'qemu64,+svm',
    '-m', String(MACHINE_MIB),
    '-smp', '2',
    '-nographic', '-no-reboot', '-monitor', 'none',
    '-device', 'intel-iommu',
    '-vga', 'std',
    '-device', 'e1000',
    '-device', 'e1000e',
    '-device', 'virtio-net-pci',
    '-audiodev', 'none,id=snd',
    '-device', 'ich9-intel-hda',
    '-device', 'hda-duplex,audiodev=snd',
    '-device', 'usb-ehci,id=ehci',
    '-device', 'qemu-xhci,id=xhci',
    '-device', 'usb-tablet,bus=xhci.0',
    '-device', 'usb-kbd,bus=ehci.0',
  ];
}

export interface BootOptions {
  /** The root filesystem image; `persist` false: QEMU discards the guest's writes (snapshot=on). */
  root: string;
  persist: boolean;
  job: string;
  /** GRUB from an ISO (BIOS or UEFI), or a Linux kernel started by QEMU itself (bare metal, no Xen). */
  from: { iso: string; firmware: 'bios' | 'uefi' } | { kernel: string; initrd: string; append: string };
  log: string;
  timeoutMs: number;
}

export interface BootResult {
  log: string;
  seconds: number;
  timedOut: boolean;
  code: number | null;
  /** Seconds from QEMU's start to the first line of each boot phase seen (host clock). */
  phases: Record<string, number>;
}

/** The first line of each phase of a boot, as seen on the serial console. */
const PHASES: [string, RegExp][] = [
  ['GRUB loads Xen', /Loading Xen /],
  ['Xen starts', /\(XEN\) Xen version/],
  ['Dom0 kernel starts', /\[\s*0\.000000\] Linux version/],
  ['initramfs', /XTEST initrd/],
  ['root filesystem init', /XTEST init /],
  ['autoconfig starts', /XTEST autoconfig-start/],
  ['autoconfig ends', /XTEST autoconfig-end/],
  ['results written', /XTEST done/],
  ['powered off', /Entering ACPI S5|reboot: Power down/],
];

/** A crash of the guest kernel itself (seen once in CI: an int3 Oops in 6.12's early SMP boot under TCG). */
const KERNEL_CRASH = /\] (Oops: |Kernel panic - not syncing)/;

/**
 * Run QEMU until the guest powers off (or the time limit), the serial console captured to `log`. A guest kernel
 * that crashes before its initramfs starts has run nothing of ours and touched no disk: that boot is said and run
 * once more; a crash after that, or a second one, is the result.
 */
export async function boot(o: BootOptions): Promise<BootResult> {
  const first = await bootOnce(o);
  if (!KERNEL_CRASH.test(first.log) || 'initramfs' in first.phases) return first;
  const crash = first.log.split('\n').find((l) => KERNEL_CRASH.test(l))!.trim();
  copyFileSync(o.log, `${o.log}.crashed`);
  console.log(`boot test: the guest kernel crashed before its initramfs ran (${crash}; ${o.log}.crashed): booted once more`);
  return bootOnce(o);
}

function bootOnce(o: BootOptions): Promise<BootResult> {
  const args = [...machineArgs()];
  args.push('-drive', `file=${o.root},if=none,id=root,format=raw${o.persist ? '' : ',snapshot=on'}`, '-device', 'virtio-blk-pci,drive=root');
  args.push('-drive', `file=${o.job},if=none,id=job,format=raw`, '-device', 'virtio-blk-pci,drive=job');
  if ('iso' in o.from) {
    args.push('-drive', `file=${o.from.iso},media=cdrom,if=ide,format=raw,readonly=on`, '-boot', 'd');
    if (o.from.firmware === 'uefi') {
      const vars = `${o.log}.vars.fd`;
      copyFileSync('/usr/share/OVMF/OVMF_VARS_4M.fd', vars);
      args.push('-drive', 'if=pflash,format=raw,unit=0,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.fd');
      args.push('-drive', `if=pflash,format=raw,unit=1,file=${vars}`);
    }
  } else {
    args.push('-kernel', o.from.kernel, '-initrd', o.from.initrd, '-append', o.from.append);
  }
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    const out = createWriteStream(o.log);
    const child = spawn(which('qemu-system-x86_64')!, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const phases: Record<string, number> = {};
    let partial = '';
    child.stdout.on('data', (chunk: Buffer) => {
      const lines = (partial + chunk.toString('latin1')).split(/\r?\n/);
      partial = lines.pop()!;
      for (const line of lines) {
        for (const [name, re] of PHASES) if (!(name in phases) && re.test(line)) phases[name] = (Date.now() - t0) / 1000;
      }
    });
    child.stdout.pipe(out);
    child.stderr.pipe(out);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, o.timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      out.end(() => {
        resolve({ log: readFileSync(o.log, 'latin1'), seconds: (Date.now() - t0) / 1000, timedOut, code, phases });
      });
    });
  });
}

/** The guest's `XTEST key value` lines, in order. */
export function markers(log: string): { key: string; value: string }[] {
  const out: { key: string; value: string }[] = [];
  for (const raw of log.split(/\r?\n/)) {
    const at = raw.indexOf('XTEST ');
    if (at < 0) continue;
    const line = raw.slice(at + 6).replace(/\r/g, '');
    const sp = line.indexOf(' ');
    out.push(sp < 0 ? { key: line, value: '' } : { key: line.slice(0, sp), value: line.slice(sp + 1) });
  }
  return out;
}

/** The guest's `key value` lines as it wrote them to the job disk (markers.txt): the ones the test asserts on. */
export function jobMarkers(out: string): (key: string) => string | undefined {
  const path = join(out, 'markers.txt');
  const text = existsSync(path) ? readFileSync(path, 'utf8') : '';
  return (key) => markers(text.split('\n').map((l) => `XTEST ${l}`).join('\n')).find((m) => m.key === key)?.value;
}

/** Lines Xen printed (its "(XEN) " prefix removed). */
export function xenLines(log: string): string[] {
  return log
    .split(/\r?\n/)
    .map((l) => /\(XEN\) (.*)$/.exec(l)?.[1])
    .filter((l): l is string => l !== undefined);
}

/** Run the CLI of this checkout as a process (the built bundle, as a user would). */
export function autoconfig(args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [join(repo, 'bin', 'autoconfig.cjs'), ...args], { encoding: 'utf8', maxBuffer: 64 << 20 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** "GRUB loads Xen 4.1 s, Xen starts 9.0 s, ..." */
export function formatPhases(phases: Record<string, number>): string {
  return Object.entries(phases)
    .sort((a, b) => a[1] - b[1])
    .map(([name, s]) => `${name} ${s.toFixed(1)} s`)
    .join(', ');
}

export function tail(text: string, n = 60): string {
  return text.split(/\r?\n/).slice(-n).join('\n');
}


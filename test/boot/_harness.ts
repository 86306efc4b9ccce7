// The boot test's host side: Debian's own parts (the Xen hypervisor, the Dom0 kernel, xen-utils, GRUB, OVMF, QEMU),
// a root filesystem image that holds this package as npm would install it, a job disk, QEMU under TCG, and the serial
// log read back. Facts behind every choice here: ../shared/research/boot-test.md (measured on these machines).
//
// Downloads (apt-get download, no install) and what is made from them only once are cached in
// /var/cache/xenoppix-autoconfig/boot (root) or ~/.cache/xenoppix-autoconfig/boot: later runs reuse them. The tools
// (qemu-system-x86, grub-*-bin, xorriso, mtools, ovmf, busybox-static, e2fsprogs, kmod, dash) are installed by
// scripts/test.sh as root; without them, or without root and apt, the boot test is skipped and says why.
import { spawn, spawnSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  cpSync,
  existsSync,
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
import { machineSuiteKernel, referenceKernel } from '../_support/shipped-kernels.ts';

export const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const guestDir = join(repo, 'test', 'boot', 'guest');
/**
 * The shipped module data from the machine's own suite (Debian 12: the Xen 4.17 booted here is Debian 12's): the
 * Dom0 kernel when Debian still has it.
 */
export const SHIPPED_RELEASE = machineSuiteKernel?.release ?? referenceKernel.release;
export const XEN_SERIES = '4.17';
/** Bump when the cached root filesystem base changes shape. */
const BASE_VERSION = 'v1';

export const CACHE =
  process.env.XENOPPIX_BOOT_CACHE ??
  (process.getuid?.() === 0 ? '/var/cache/xenoppix-autoconfig/boot' : join(homedir(), '.cache', 'xenoppix-autoconfig', 'boot'));

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

/** `apt-get download` into the cache (once); returns the .deb path. */
function debOf(pkg: string): string {
  const dir = join(CACHE, 'debs');
  mkdirSync(dir, { recursive: true });
  const find = () => readdirSync(dir).find((f) => f.startsWith(`${pkg}_`) && f.endsWith('.deb'));
  let found = find();
  if (found === undefined) {
    let r = spawnSync('apt-get', ['download', '-q', pkg], { cwd: dir, encoding: 'utf8' });
    if (r.status !== 0) {
      spawnSync('apt-get', ['update', '-q'], { encoding: 'utf8' });
      r = spawnSync('apt-get', ['download', '-q', pkg], { cwd: dir, encoding: 'utf8' });
    }
    found = find();
    if (r.status !== 0 || found === undefined) throw new Error(`apt-get download ${pkg} failed: ${r.stderr}`);
  }
  return join(dir, found);
}

/** Extract packages into a cached directory once (made in a temporary directory, then renamed into place). */
function extracted(name: string, pkgs: string[], after?: (dir: string) => void): string {
  const dir = join(CACHE, name);
  if (existsSync(join(dir, '.complete'))) return dir;
  const tmp = `${dir}.${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  for (const pkg of pkgs) run('dpkg-deb', ['-x', debOf(pkg), tmp]);
  after?.(tmp);
  writeFileSync(join(tmp, '.complete'), pkgs.join('\n') + '\n');
  rmSync(dir, { recursive: true, force: true });
  renameSync(tmp, dir);
  return dir;
}

const XEN_UTILS = [
  `xen-utils-${XEN_SERIES}`,
  'xen-utils-common',
  'libxencall1',
  'libxenevtchn1',
  'libxenforeignmemory1',
  'libxengnttab1',
  `libxenmisc${XEN_SERIES}`,
  'libxenstore4',
  'libxentoollog1',
  'libxentoolcore1',
  'libxendevicemodel1',
  'libxenhypfs1',
  'libyajl2',
];

export interface BootParts {
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
  release: string;
}

/**
 * The Dom0 kernel: the shipped reference release, so that autoconfig's reference data and the Dom0's module tree
 * are one kernel; when Debian has dropped that package (a security update changes the ABI number), the release
 * linux-image-amd64 depends on now (the Dom0 then matches against its own /lib/modules, as a real one does).
 */
function dom0Release(): string {
  if (existsSync(join(CACHE, `kernel-${SHIPPED_RELEASE}`, '.complete'))) return SHIPPED_RELEASE;
  try {
    debOf(`linux-image-${SHIPPED_RELEASE}`);
    return SHIPPED_RELEASE;
  } catch {
    const depends = run('apt-cache', ['depends', 'linux-image-amd64']);
    const current = /Depends: linux-image-(\d\S*-amd64)/.exec(depends)?.[1];
    if (current === undefined) throw new Error(`no Debian kernel package: linux-image-${SHIPPED_RELEASE} is gone and linux-image-amd64 names none`);
    return current;
  }
}

let parts: BootParts | undefined;

/** Download and unpack Debian's parts, and build the cached root filesystem base and the initramfs. */
export function prepareParts(): BootParts {
  if (parts) return parts;
  const release = dom0Release();
  const kernelRoot = extracted(`kernel-${release}`, [`linux-image-${release}`], (dir) => {
    run('depmod', ['-b', dir, release]);
  });
  const xen = extracted(`xen-hypervisor-${XEN_SERIES}`, [`xen-hypervisor-${XEN_SERIES}-amd64`]);
  const xenGz = join(xen, 'boot', `xen-${XEN_SERIES}-amd64.gz`);
  const utils = extracted(`xen-utils-${XEN_SERIES}`, XEN_UTILS);
  const deb = readdirSync(join(CACHE, 'debs')).find((f) => f.startsWith(`xen-hypervisor-${XEN_SERIES}-amd64_`))!;
  const xenVersion = deb.split('_')[1]!.replace(/\+.*/, '');
  const base = buildBase(kernelRoot, release, xenGz, utils);
  const initrd = buildInitrd(kernelRoot, release);
  parts = { xenGz, vmlinuz: join(kernelRoot, 'boot', `vmlinuz-${release}`), kernelRoot, base, initrd, xenVersion, release };
  return parts;
}

/** The shared libraries `binaries` load (ldd), with `libPath` searched first. */
function librariesOf(binaries: string[], libPath: string[]): Set<string> {
  const out = new Set<string>();
  for (const bin of binaries) {
    const text = run('ldd', [bin], { env: { ...process.env, LD_LIBRARY_PATH: libPath.join(':') } });
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
function buildBase(kernelRoot: string, release: string, xenGz: string, utils: string): string {
  const dir = join(CACHE, `rootfs-base-${release}-${BASE_VERSION}`);
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
  copyFileSync(xenGz, join(tmp, 'boot', `xen-${XEN_SERIES}-amd64.gz`));
  // xen-utils as dpkg would unpack them (without docs); xl and xenstored are called by their versioned paths.
  for (const entry of readdirSync(utils)) {
    if (entry === '.complete') continue;
    cpSync(join(utils, entry), join(tmp, entry), {
      recursive: true,
      filter: (src) => !/\/usr\/share\/(doc|man)\b/.test(src),
      verbatimSymlinks: true,
    });
  }
  const xenLibs = [join(utils, 'usr', 'lib', 'x86_64-linux-gnu'), join(utils, 'usr', 'lib', `xen-${XEN_SERIES}`, 'lib')];
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
  const libs = librariesOf(
    [node, which('kmod')!, which('dash')!, join(utils, 'usr', 'lib', `xen-${XEN_SERIES}`, 'bin', 'xl'), join(utils, 'usr', 'lib', `xen-${XEN_SERIES}`, 'bin', 'xenstored')],
    xenLibs,
  );
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
function buildInitrd(kernelRoot: string, release: string): string {
  const out = join(CACHE, `initrd-${release}-${BASE_VERSION}.gz`);
  const work = join(CACHE, `initrd-${process.pid}`);
  rmSync(work, { recursive: true, force: true });
  mkdirSync(join(work, 'lib', 'modules'), { recursive: true });
  mkdirSync(join(work, 'bin'), { recursive: true });
  copyFileSync(which('busybox')!, join(work, 'bin', 'busybox'));
  const insmods = run(which('modprobe')!, ['-d', kernelRoot, '-S', release, '-a', '--show-depends', 'virtio_pci', 'virtio_blk', 'ext4', 'crc32c_generic', 'xenfs']);
  const order: string[] = [];
  for (const line of insmods.split('\n')) {
    const m = /^insmod (\S+)/.exec(line);
    if (!m) continue;
    const name = m[1]!.slice(m[1]!.lastIndexOf('/') + 1);
    if (order.includes(name)) continue;
    order.push(name);
    copyFileSync(m[1]!, join(work, 'lib', 'modules', name));
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
  const tgz = run('npm', ['pack', '--silent', '--pack-destination', packDir], { cwd: repo }).trim().split('\n').at(-1)!;
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
  ['Dom0 kernel starts', /^\[\s*0\.000000\] Linux version/],
  ['initramfs', /XTEST initrd/],
  ['root filesystem init', /XTEST init /],
  ['autoconfig starts', /XTEST autoconfig-start/],
  ['autoconfig ends', /XTEST autoconfig-end/],
  ['results written', /XTEST done/],
  ['powered off', /Entering ACPI S5|reboot: Power down/],
];

/** Run QEMU until the guest powers off (or the time limit), the serial console captured to `log`. */
export function boot(o: BootOptions): Promise<BootResult> {
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


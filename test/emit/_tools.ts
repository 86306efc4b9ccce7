// The real tools the emitted files are checked with (grub-script-check, dash, modprobe, python3), found on PATH or
// in the sbin directories, and the Debian packages some are checked against; a test that needs a missing one is
// skipped and says so in its title.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function findTool(name: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(':').concat(['/usr/sbin', '/sbin', '/usr/bin', '/bin'])) {
    const path = join(dir, name);
    if (dir !== '' && existsSync(path)) return path;
  }
  return null;
}

/** " (skipped: NAME is not installed; apt-get install PACKAGE)" when the tool is missing, else "". */
export function skipNote(tool: string | null, name: string, aptPackage: string): string {
  return tool === null ? ` (skipped: ${name} is not installed; apt-get install ${aptPackage})` : '';
}

export interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function run(argv: string[], options: { input?: string; cwd?: string; env?: NodeJS.ProcessEnv } = {}): Run {
  const [cmd, ...args] = argv;
  const r = spawnSync(cmd!, args, { encoding: 'utf8', timeout: 20_000, ...options });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A scratch directory for one test file; remove() at the end. */
export function scratch(prefix: string): { dir: string; file(name: string, content: string): string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), `autoconfig-${prefix}-`));
  return {
    dir,
    file(name, content) {
      const path = join(dir, name);
      writeFileSync(path, content);
      return path;
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/**
 * Inside a test that `it.skipIf(tool === null)` skips without the tool: narrows its type. It throws only if the
 * skip condition and the test disagree, so a missing tool can never make a test pass without checking.
 */
export function assertTool<T>(tool: T | null): asserts tool is T {
  if (tool === null) throw new Error('the tool this test needs is missing, but the test was not skipped');
}

/**
 * Where the Debian packages the emitter tests check against are kept between runs (root), as the boot test keeps its
 * own (per release, under boot/): these are always this machine's suite, as apt-get downloads them.
 */
export const DEB_CACHE = '/var/cache/xenoppix-autoconfig/debs';

/**
 * A Debian package of this machine's suite, unpacked into `into` (dpkg-deb -x): from the cache, else `apt-get
 * download`ed into it once (then `apt-get update` and again, if the lists are stale). Throws saying what failed.
 */
export function unpackDebian(pkg: string, into: string): string {
  const deb = debianPackage(pkg);
  const r = run(['dpkg-deb', '-x', deb, into]);
  if (r.status !== 0) throw new Error(`dpkg-deb -x ${deb} failed: ${r.stderr.trim()}`);
  return deb;
}

/** A Debian package of this machine's suite: its .deb from the cache, else `apt-get download`ed into it once. */
export function debianPackage(pkg: string): string {
  const find = () => {
    const name = existsSync(DEB_CACHE) ? readdirSync(DEB_CACHE).find((f) => f.startsWith(`${pkg}_`) && f.endsWith('.deb')) : undefined;
    return name === undefined ? undefined : join(DEB_CACHE, name);
  };
  let deb = find();
  if (deb === undefined) {
    mkdirSync(DEB_CACHE, { recursive: true });
    let r = run(['apt-get', 'download', '-q', pkg], { cwd: DEB_CACHE });
    if (r.status !== 0) {
      run(['apt-get', 'update', '-q']);
      r = run(['apt-get', 'download', '-q', pkg], { cwd: DEB_CACHE });
    }
    deb = find();
    if (r.status !== 0 || deb === undefined) throw new Error(`apt-get download ${pkg} failed: ${r.stderr.trim()}`);
  }
  return deb;
}

/**
 * xl's own configuration parser, libxlutil (the library xl reads xl.conf and every domain file with), and libxenlight
 * beside it, unpacked from Debian's packages of `series` (Debian 12: 4.17) into `into`: the directory of the
 * libraries. xl itself cannot run outside a Xen Dom0 (every command first opens /dev/xen/privcmd: "cannot init xl
 * context"); its parser can.
 */
export function unpackXlutil(series: string, into: string): string {
  const packages = [`libxenmisc${series}`, 'libxentoollog1', 'libxenevtchn1', 'libxenstore4', 'libxenhypfs1', 'libyajl2',
    'libxencall1', 'libxendevicemodel1', 'libxenforeignmemory1', 'libxengnttab1', 'libxentoolcore1'];
  for (const pkg of packages) unpackDebian(pkg, into);
  return join(into, 'usr', 'lib', 'x86_64-linux-gnu');
}

/**
 * python3 ctypes over libxlutil (argv: library directory, Xen series, JSON list of {file, keys}): for each file,
 * xlu_cfg_readfile(), then each [key, kind] read back with xlu_cfg_get_string/_long/_list as xl reads it, and each
 * item of a `disk` list through xlu_disk_parse(), xl's disk-spec parser. Prints a JSON list; xlutil's own messages
 * go to stderr. One process for several files: loading libxenlight is most of its time.
 */
export const XLUTIL_PY = String.raw`
import ctypes, json, sys
lib_dir, series, requests = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
libc = ctypes.CDLL(None)
libc.fdopen.restype = ctypes.c_void_p
xl = ctypes.CDLL(lib_dir + '/libxenlight.so.' + series)
xlu = ctypes.CDLL(lib_dir + '/libxlutil.so.' + series)
xlu.xlu_cfg_init.restype = ctypes.c_void_p
xlu.xlu_cfg_get_listitem.restype = ctypes.c_char_p
report = ctypes.c_void_p(libc.fdopen(2, b'w'))
results = []
for req in requests:
    path = req['file'].encode()
    cfg = ctypes.c_void_p(xlu.xlu_cfg_init(report, path))
    out = {'readfile': xlu.xlu_cfg_readfile(cfg, path), 'values': {}, 'disks': []}
    for name, kind in (req['keys'] if out['readfile'] == 0 else []):
        key = name.encode()
        if kind == 'string':
            v = ctypes.c_char_p()
            rc = xlu.xlu_cfg_get_string(cfg, key, ctypes.byref(v), 0)
            value = v.value.decode() if rc == 0 else None
        elif kind == 'long':
            v = ctypes.c_long()
            rc = xlu.xlu_cfg_get_long(cfg, key, ctypes.byref(v), 0)
            value = v.value if rc == 0 else None
        else:
            lst, n = ctypes.c_void_p(), ctypes.c_int()
            rc = xlu.xlu_cfg_get_list(cfg, key, ctypes.byref(lst), ctypes.byref(n), 0)
            value = [xlu.xlu_cfg_get_listitem(lst, i).decode() for i in range(n.value)] if rc == 0 else None
        out['values'][name] = {'rc': rc, 'value': value}
    for spec in (out['values'].get('disk', {}).get('value') or []):
        disk = ctypes.create_string_buffer(4096)  # a libxl_device_disk, initialised by libxl as xl does
        xl.libxl_device_disk_init(disk)
        specs = (ctypes.c_char_p * 1)(spec.encode())
        out['disks'].append([spec, xlu.xlu_disk_parse(cfg, 1, specs, disk)])
        libc.fflush(report)
    libc.fflush(report)
    results.append(out)
print(json.dumps(results))
`;

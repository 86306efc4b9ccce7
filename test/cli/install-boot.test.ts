// `autoconfig install-boot`, run in-process on real temporary roots (memfs's rename follows symlinks, unlike
// rename(2), so the enabling link needs a real filesystem), checked with the programs that read what it writes:
// systemd-analyze verify --root on the installed unit, and the installed init script run by busybox sh chrooted
// into a minimal root, as the QEMU boot test's Dom0 runs it.
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { USAGE } from '../../src/cli/main.ts';
import { BOOT_PATHS, renderBootFiles } from '../../src/emit/boot.ts';
import { runCli } from '../_support/cli.ts';

const tmp = mkdtempSync(join(tmpdir(), 'autoconfig-install-boot-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
let rootNo = 0;

function newRoot(): string {
  const root = join(tmp, `root${rootNo++}`);
  mkdirSync(root);
  return root;
}

function which(command: string): string | null {
  const r = spawnSync('sh', ['-c', `command -v ${command}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

/** Everything under `dir`: path -> "file MODE sha-ish", "link -> TEXT", "dir"; with inode and mtime for files. */
function tree(dir: string, withStamps = false): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string) => {
    for (const name of readdirSync(join(dir, rel)).sort()) {
      const childRel = posix.join(rel, name);
      const abs = join(dir, childRel);
      const st = lstatSync(abs);
      if (st.isSymbolicLink()) out[childRel] = `link -> ${readlinkSync(abs)}`;
      else if (st.isDirectory()) {
        out[childRel] = 'dir';
        walk(childRel);
      } else {
        const stamp = withStamps ? ` ${st.ino} ${st.mtimeMs}` : '';
        out[childRel] = `file ${(st.mode & 0o7777).toString(8)} ${readFileSync(abs).toString('base64')}${stamp}`;
      }
    }
  };
  walk('');
  return out;
}

const EXEC = '/usr/bin/autoconfig';
const install = (root: string, ...more: string[]) => runCli(['install-boot', '--target', root, '--exec', EXEC, ...more]);

describe('autoconfig install-boot', () => {
  it('installs the unit, its enabling link and the init script (0755), exactly as rendered', async () => {
    const root = newRoot();
    const r = await install(root);
    expect(r.code).toBe(0);
    const files = renderBootFiles({ exec: EXEC });
    const t = tree(root);
    for (const f of files) {
      const rel = f.path.slice(1);
      if (f.kind === 'symlink') expect(t[rel]).toBe(`link -> ${f.symlink}`);
      else expect(t[rel]).toBe(`file ${f.mode.toString(8)} ${Buffer.from(f.content).toString('base64')}`);
    }
    expect(Object.keys(t).filter((p) => !t[p]!.startsWith('dir'))).toHaveLength(3);
    expect(r.stdout).toContain(`Boot files under ${root}, starting: /usr/bin/autoconfig --write --apply`);
    expect(r.stdout).toMatch(/ {2}written {3}\/etc\/init\.d\/autoconfig \(0755\)/);
    expect(r.stdout).toContain('  written   /etc/systemd/system/sysinit.target.wants/autoconfig.service -> ../autoconfig.service');
    expect(r.stdout).toContain('update-rc.d autoconfig defaults');
    // The executable is not in this empty root: said, not an error.
    expect(r.stderr).toBe(`autoconfig install-boot: warning: /usr/bin/autoconfig is not in ${root} (yet): the boot files start autoconfig by that path, so install it there\n`);
  });

  it('changes nothing the second time (not even a timestamp)', async () => {
    const root = newRoot();
    await install(root);
    const before = tree(root, true);
    const r = await install(root);
    expect(r.code).toBe(0);
    expect(r.stdout.match(/ {2}unchanged /g)).toHaveLength(3);
    expect(tree(root, true)).toEqual(before);
  });

  it('--dry-run shows diffs and the mode change, writes nothing, and says unchanged once installed', async () => {
    const root = newRoot();
    let r = await install(root, '--dry-run');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^autoconfig install-boot --dry-run: nothing is written\.\n/);
    expect(r.stdout).toContain('  new       /etc/systemd/system/autoconfig.service (0644)');
    expect(r.stdout).toContain('--- /dev/null\n+++ b/etc/init.d/autoconfig\n');
    expect(r.stdout).toContain('+ExecStart=/usr/bin/autoconfig --write --apply\n');
    expect(tree(root)).toEqual({});
    await install(root);
    chmodSync(join(root, 'etc/init.d/autoconfig'), 0o644);
    const script = readFileSync(join(root, 'etc/init.d/autoconfig'), 'utf8');
    writeFileSync(join(root, 'etc/init.d/autoconfig'), script.replace('LIMIT=180', 'LIMIT=60'));
    const before = tree(root, true);
    r = await install(root, '--dry-run');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('  unchanged /etc/systemd/system/autoconfig.service (0644)');
    expect(r.stdout).toContain('  changed   /etc/init.d/autoconfig (0755); mode 0644 -> 0755');
    expect(r.stdout).toContain('\n-LIMIT=60\n');
    expect(r.stdout).toContain('\n+LIMIT=180\n');
    expect(tree(root, true)).toEqual(before);
  });

  it('--json says what it did', async () => {
    const root = newRoot();
    const r = await install(root, '--json');
    const json = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(json).toMatchObject({ action: 'install', dryRun: false, target: root, exec: [EXEC] });
    expect(json['files']).toEqual([
      { path: BOOT_PATHS.unit, kind: 'file', mode: '0644', status: 'written' },
      { path: BOOT_PATHS.unitLink, kind: 'symlink', symlink: '../autoconfig.service', status: 'written' },
      { path: BOOT_PATHS.initScript, kind: 'file', mode: '0755', status: 'written' },
    ]);
    expect(json['warnings']).toEqual([expect.stringContaining('/usr/bin/autoconfig is not in')]);
  });

  it('--remove takes back exactly what it installed, then finds nothing to do', async () => {
    const root = newRoot();
    mkdirSync(join(root, 'usr/bin'), { recursive: true });
    writeFileSync(join(root, 'usr/bin/autoconfig'), '#!/bin/sh\n', { mode: 0o755 });
    const empty = tree(root);
    const installed = await install(root);
    expect(installed.stderr).toBe('');
    expect((await install(root, '--remove', '--dry-run')).stdout).toContain('  remove    /etc/init.d/autoconfig (0755)');
    let r = await install(root, '--remove');
    expect(r.code).toBe(0);
    expect(r.stdout.match(/ {2}removed /g)).toHaveLength(3);
    expect(r.stdout).toContain('update-rc.d autoconfig remove');
    // Only the directories the install created are left.
    const left = tree(root);
    expect(Object.entries(left).filter(([p]) => !(p in empty)).every(([, v]) => v === 'dir')).toBe(true);
    r = await install(root, '--remove');
    expect(r.code).toBe(0);
    expect(r.stdout.match(/ {2}absent /g)).toHaveLength(3);
  });

  it('puts back the file it replaced, with its mode, and keeps nothing of its own', async () => {
    const root = newRoot();
    mkdirSync(join(root, 'etc/init.d'), { recursive: true });
    writeFileSync(join(root, 'etc/init.d/autoconfig'), '#!/bin/sh\n# an older autoconfig script\n', { mode: 0o700 });
    chmodSync(join(root, 'etc/init.d/autoconfig'), 0o700);
    const r = await install(root);
    expect(r.stderr).toContain('kept the file it replaced as /etc/init.d/autoconfig.autoconfig-old');
    expect((await install(root, '--remove', '--dry-run')).stdout).toContain('  restore   /etc/init.d/autoconfig (0755)');
    expect((await install(root, '--remove')).stdout).toContain('  restored  /etc/init.d/autoconfig');
    expect(tree(root)['etc/init.d/autoconfig']).toBe(
      `file 700 ${Buffer.from('#!/bin/sh\n# an older autoconfig script\n').toString('base64')}`,
    );
    expect(existsSync(join(root, 'etc/init.d/autoconfig.autoconfig-old'))).toBe(false);
  });

  it('--remove refuses, removing nothing, when a file is not what it wrote (edited, or another --exec)', async () => {
    const root = newRoot();
    await install(root);
    const before = tree(root, true);
    let r = await runCli(['install-boot', '--target', root, '--exec', '/opt/autoconfig/bin/autoconfig', '--remove']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/\/etc\/systemd\/system\/autoconfig\.service: not what was written/);
    expect(tree(root, true)).toEqual(before);
    writeFileSync(join(root, 'etc/init.d/autoconfig'), '#!/bin/sh\n# edited\n');
    const edited = tree(root, true);
    r = await install(root, '--remove', '--dry-run');
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('  not ours  /etc/init.d/autoconfig (0755)');
    expect(r.stderr).toContain('/etc/init.d/autoconfig: not what install-boot writes with this --exec');
    r = await install(root, '--remove');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('autoconfig install-boot: /etc/init.d/autoconfig: not what was written');
    expect(tree(root, true)).toEqual(edited);
  });

  it('refuses a target whose /etc leads out of it, naming the path, writing nothing anywhere', async () => {
    const root = newRoot();
    const outside = newRoot();
    symlinkSync(outside, join(root, 'etc'));
    for (const extra of [[], ['--dry-run']]) {
      const r = await install(root, ...extra);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/\/etc\/systemd\/system\/autoconfig\.service: \/etc -> .* is a symlink/);
    }
    expect(tree(outside)).toEqual({});
    expect(tree(root)).toEqual({ etc: `link -> ${outside}` });
  });

  it('by default starts this Node with the real path of bin/autoconfig.cjs', async () => {
    const root = newRoot();
    const r = await runCli(['install-boot', '--target', root]);
    expect(r.code).toBe(0);
    const bin = realpathSync(join(__dirname, '../../bin/autoconfig.cjs'));
    const unit = readFileSync(join(root, 'etc/systemd/system/autoconfig.service'), 'utf8');
    expect(unit).toContain(`\nExecStart=${process.execPath} ${bin} --write --apply\n`);
    expect(r.stdout).toContain(`starting: ${process.execPath} ${bin} --write --apply`);
  });

  it.each([
    [['install-boot', '--exec', 'autoconfig'], 'must be an absolute path'],
    [['install-boot', '--bogus'], 'unknown option --bogus'],
    [['install-boot', 'extra'], 'unexpected argument "extra"'],
    [['install-boot', '--exec'], '--exec needs a value'],
  ])('%j is a usage error (exit 2)', async (argv, message) => {
    const r = await runCli(argv);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(message);
  });

  it('is in the usage text', () => {
    expect(USAGE).toMatch(/\n {2}install-boot +install the systemd unit/);
  });
});

const systemdAnalyze = which('systemd-analyze');
describe.skipIf(systemdAnalyze === null)(
  `the installed unit, read by systemd${systemdAnalyze === null ? ' (skipped: systemd-analyze is not installed; apt-get install systemd)' : ''}`,
  () => {
    it('systemd-analyze verify --root accepts it without a warning once the executable is in the root', async () => {
      const root = newRoot();
      expect((await install(root)).code).toBe(0);
      const verify = () =>
        spawnSync(systemdAnalyze!, ['verify', `--root=${root}`, BOOT_PATHS.unit], { encoding: 'utf8' });
      // Without /usr/bin/autoconfig in the root, systemd refuses the unit: the check looks inside the root.
      let r = verify();
      expect(r.status).not.toBe(0);
      expect(r.stdout + r.stderr).toContain('Command /usr/bin/autoconfig is not executable');
      mkdirSync(join(root, 'usr/bin'), { recursive: true });
      writeFileSync(join(root, 'usr/bin/autoconfig'), '#!/bin/sh\nexit 0\n', { mode: 0o755 });
      r = verify();
      expect(r.stdout + r.stderr).toBe('');
      expect(r.status).toBe(0);
    });
  },
);

// A minimal root with a static busybox as /bin/sh and every applet the script uses, and a fake autoconfig at
// /usr/bin/autoconfig: the installed script run by `chroot ROOT /bin/sh /etc/init.d/autoconfig start`, as the
// QEMU test's busybox init runs it. Needs root (chroot) and a statically linked busybox.
const busybox = which('busybox');
const staticBusybox =
  busybox !== null && /statically linked|static-pie/.test(spawnSync('file', ['-L', busybox], { encoding: 'utf8' }).stdout ?? '');
const isRoot = process.getuid?.() === 0;
const chroot = which('chroot');
const chrootWhy = !isRoot
  ? ' (skipped: chroot needs root)'
  : chroot === null
    ? ' (skipped: no chroot(8))'
  : !staticBusybox
    ? ' (skipped: no statically linked busybox; apt-get install busybox-static)'
    : '';

describe.skipIf(chrootWhy !== '')(`the installed init script in a busybox root${chrootWhy}`, () => {
  function busyboxRoot(exit: number): string {
    const root = newRoot();
    for (const dir of ['bin', 'dev', 'usr/bin', 'run', 'var/lib/autoconfig']) mkdirSync(join(root, dir), { recursive: true });
    // What a booted Dom0 has from devtmpfs; a plain file where mknod is not allowed (a container without CAP_MKNOD).
    if (spawnSync('mknod', ['-m', '666', join(root, 'dev/null'), 'c', '1', '3']).status !== 0) writeFileSync(join(root, 'dev/null'), '');
    copyFileSync(busybox!, join(root, 'bin/busybox'));
    chmodSync(join(root, 'bin/busybox'), 0o755);
    for (const applet of ['sh', 'sed', 'rm', 'cat', 'timeout', 'logger', 'sleep']) symlinkSync('busybox', join(root, 'bin', applet));
    writeFileSync(
      join(root, 'usr/bin/autoconfig'),
      `#!/bin/sh
echo "$@" > /argv
printf '{\\n  "format": 1,\\n  "startedAt": "2026-12-06T08:00:00.000Z",\\n  "exitCode": ${exit},\\n  "summary": "autoconfig: wrote 8 of 8 files, exit ${exit}"\\n}\\n' > /var/lib/autoconfig/last-run.json
exit ${exit}
`,
      { mode: 0o755 },
    );
    return root;
  }

  it.each([
    [0, 0],
    [4, 0],
    [1, 1],
  ])('autoconfig exiting %i: start exits %i, status reads the record', async (exit, code) => {
    const root = busyboxRoot(exit);
    expect((await install(root)).code).toBe(0);
    const sh = (...args: string[]) => spawnSync(chroot!, [root, '/bin/sh', ...args], { encoding: 'utf8', env: { PATH: '/bin' }, timeout: 20_000 });
    const r = sh('/etc/init.d/autoconfig', 'start');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(code);
    expect(readFileSync(join(root, 'argv'), 'utf8')).toBe('--write --apply\n');
    expect(r.stdout).toContain('Autoconfiguring Xen, Dom0 and its drivers (autoconfig --write --apply, at most 180 s)...');
    const status = sh('/etc/init.d/autoconfig', 'status');
    expect(status.stdout).toContain(`autoconfig: last run 2026-12-06T08:00:00.000Z, exit ${exit}`);
    expect(status.status).toBe(code === 0 ? 0 : 3);
  });
});

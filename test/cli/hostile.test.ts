// Hostile machine data and hostile output, through the real command as a process (issue #11): a FIFO where a file
// is read must be refused at once, never waited on; stdout that is closed or full must not stop the work. Each
// run is a separate `node` process with a kill timer, so that a hang fails the test instead of hanging vitest.
// The CLI is bundled from the sources into a temp dir (the same esbuild options as scripts/build.mjs) next to
// copies of bin/, so the process is bin/autoconfig.cjs as installed, running this checkout's code.
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const repo = join(dirname(fileURLToPath(import.meta.url)), '../..');
const work = mkdtempSync(join(tmpdir(), 'autoconfig-hostile-'));
const bin = join(work, 'pkg/bin/autoconfig.cjs');
/** A hang is this long at most, then the process is killed and the test fails. */
const KILL_MS = 15_000;
/** What "at once" means for a refused FIFO: the run's own time, far below any wait. */
const BOUNDED_MS = 8_000;

beforeAll(async () => {
  const pkg = join(work, 'pkg');
  mkdirSync(join(pkg, 'bin'), { recursive: true });
  for (const f of ['autoconfig.cjs', 'load-cli.cjs']) cpSync(join(repo, 'bin', f), join(pkg, 'bin', f));
  // data/ (pci.ids, rules, reference kernel) and node_modules (yaml) as the package has them.
  symlinkSync(join(repo, 'data'), join(pkg, 'data'));
  symlinkSync(join(repo, 'node_modules'), join(pkg, 'node_modules'));
  await build({
    entryPoints: [join(repo, 'src/cli/main.ts')],
    outfile: join(pkg, 'dist/autoconfig.cjs'),
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    external: ['yaml'],
    logLevel: 'warning',
    supported: { 'dynamic-import': false },
    define: { 'import.meta.url': '__bundle_url' },
    banner: { js: 'var __bundle_url=require("node:url").pathToFileURL(__filename).href;' },
  });
}, 60_000);
afterAll(() => rmSync(work, { recursive: true, force: true }), 120_000);

interface Run {
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs bin/autoconfig.cjs; SIGKILL after KILL_MS. `shell`: a sh command line with AUTOCONFIG in it. */
function run(args: string[], options: { shell?: string } = {}): Promise<Run> {
  const t0 = performance.now();
  const child = options.shell
    ? spawn('sh', ['-c', `AUTOCONFIG() { "$NODE" "$BIN" "$@"; }; ${options.shell}`], {
        env: { ...process.env, NODE: process.execPath, BIN: bin },
        detached: true,
      })
    : spawn(process.execPath, [bin, ...args], { detached: true });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  // The whole group: a shell pipeline's members too.
  const timer = setTimeout(() => process.kill(-child.pid!, 'SIGKILL'), KILL_MS);
  return new Promise((resolve) => {
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, ms: performance.now() - t0 });
    });
  });
}

/** A fresh copy of a fixture's snapshot tree. */
function tree(fixture: string): string {
  const dir = mkdtempSync(join(work, `${fixture}-`));
  cpSync(join(repo, 'fixtures', fixture, 'root'), dir, { recursive: true, verbatimSymlinks: true });
  return dir;
}

/** Replaces (or creates) `rel` under `dir` with a FIFO: nobody ever writes to it, so opening it to read blocks. */
function fifo(dir: string, rel: string): string {
  const path = join(dir, rel);
  mkdirSync(dirname(path), { recursive: true });
  rmSync(path, { recursive: true, force: true });
  execFileSync('mkfifo', [path]);
  return path;
}

const FIFO = /a FIFO, not a regular file; not read/;

describe('a FIFO where a file is read is refused at once, with a coded diagnostic (issue #11)', () => {
  // Every path the issue lists that the probe reads, in a copy of a real machine's tree (the ThinkPad T60: PCI,
  // DMI, cpuinfo; an imported tree has no cpuid/msr captures, so the FIFO is the only thing there).
  // [what, where the FIFO is, the path the probe reads it by]
  it.each([
    ['proc/cpuinfo', '/proc/cpuinfo', '/proc/cpuinfo'],
    ['proc/cmdline', '/proc/cmdline', '/proc/cmdline'],
    ['a PCI attribute', '/sys/devices/pci0000:00/0000:00:1b.0/vendor', '/sys/bus/pci/devices/0000:00:1b.0/vendor'],
    ['DMI', '/sys/class/dmi/id/product_name', '/sys/class/dmi/id/product_name'],
    ['dev/cpu/0/cpuid', '/dev/cpu/0/cpuid', '/dev/cpu/0/cpuid'],
    ['dev/cpu/0/msr', '/dev/cpu/0/msr', '/dev/cpu/0/msr'],
  ])('probe: %s', async (_name, where, path) => {
    const root = tree('thinkpad-t60');
    fifo(root, where.slice(1));
    const r = await run(['probe', '--root', root, '--no-names']);
    expect(r.signal, r.stderr).toBeNull();
    expect(r.ms).toBeLessThan(BOUNDED_MS);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`  not-regular: ${path}: a FIFO, not a regular file; not read\n`);
  });

  it('probe --json: the diagnostic has its code and path', async () => {
    const root = tree('thinkpad-t60');
    fifo(root, 'proc/cpuinfo');
    const r = await run(['probe', '--root', root, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const profile = JSON.parse(r.stdout) as { diagnostics: { code: string; path: string }[] };
    expect(profile.diagnostics).toContainEqual(expect.objectContaining({ code: 'not-regular', path: '/proc/cpuinfo' }));
  });

  it('--root that is a FIFO: an E_ROOT error, exit 1', async () => {
    const path = fifo(work, 'root-fifo');
    const r = await run(['probe', '--root', path]);
    expect(r.signal).toBeNull();
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(path);
  });

  it('--rules FILE: an error naming the file, exit 1', async () => {
    const root = tree('thinkpad-t60');
    const rules = fifo(work, 'rules-fifo.yaml');
    const r = await run(['explain', '--root', root, '--rules', rules]);
    expect(r.signal, r.stderr).toBeNull();
    expect(r.ms).toBeLessThan(BOUNDED_MS);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`${rules}: a FIFO, not a regular file; not read`));
  });

  it('--rules DIR holding a FIFO *.yaml: an error naming it', async () => {
    const root = tree('thinkpad-t60');
    const dir = mkdtempSync(join(work, 'rules-dir-'));
    fifo(dir, '10-site.yaml');
    const r = await run(['explain', '--root', root, '--rules', dir]);
    expect(r.signal, r.stderr).toBeNull();
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${join(dir, '10-site.yaml')}: a FIFO, not a regular file; not read`);
  });

  it.each([['etc/autoconfig/rules.d/10-site.yaml'], ['etc/autoconfig/rules.d']])(
    'the target root\'s %s: refused, the run ends',
    async (rel) => {
      const root = tree('thinkpad-t60');
      fifo(root, rel);
      const r = await run(['--dry-run', '--root', root]);
      expect(r.signal, r.stderr).toBeNull();
      expect(r.ms).toBeLessThan(BOUNDED_MS);
      expect(r.stdout + r.stderr).toMatch(FIFO);
    },
  );

  it('lib/modprobe.d/*.conf: a modprobe.d issue, the other files still read', async () => {
    const root = tree('thinkpad-t60');
    fifo(root, 'lib/modprobe.d/50-site.conf');
    const r = await run(['drivers', '--root', root]);
    expect(r.signal, r.stderr).toBeNull();
    expect(r.ms).toBeLessThan(BOUNDED_MS);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout + r.stderr).toContain('/lib/modprobe.d/50-site.conf: a FIFO, not a regular file; not read');
  });

  it.each([
    // The index: its text form is used instead.
    [['modules.alias.bin'], 'modules.alias.bin: a FIFO, not a regular file; not read; using modules.alias instead'],
    // Index and text: the directory is not usable, the reference answers.
    [['modules.dep.bin', 'modules.dep'], 'modules.dep: a FIFO, not a regular file; not read'],
  ])('--kernel DIR with %j as FIFOs: a kernel-data issue, a fallback', async (names, message) => {
    const root = tree('thinkpad-t60');
    const kernel = mkdtempSync(join(work, 'kernel-'));
    cpSync(join(repo, 'data/kernel/6.1.0-56-amd64'), kernel, { recursive: true });
    for (const name of names) fifo(kernel, name);
    const r = await run(['drivers', '--root', root, '--kernel', kernel]);
    expect(r.signal, r.stderr).toBeNull();
    expect(r.ms).toBeLessThan(BOUNDED_MS);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout + r.stderr).toContain(message);
  });

  it('the target root\'s /lib/modules/RELEASE/modules.dep: refused, the reference kernel answers', async () => {
    const root = tree('thinkpad-t60');
    const release = readFileSync(join(root, 'proc/sys/kernel/osrelease'), 'utf8').trim();
    cpSync(join(repo, 'data/kernel/6.1.0-56-amd64'), join(root, 'lib/modules', release), { recursive: true });
    fifo(root, `lib/modules/${release}/modules.dep.bin`);
    fifo(root, `lib/modules/${release}/modules.dep`);
    const r = await run(['drivers', '--root', root]);
    expect(r.signal, r.stderr).toBeNull();
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout + r.stderr).toContain(`/lib/modules/${release}/modules.dep: a FIFO, not a regular file; not read`);
  });

  it('--dry-run: a target file to be replaced that is a FIFO is not read', async () => {
    const root = tree('thinkpad-t60');
    const target = mkdtempSync(join(work, 'target-'));
    const first = await run(['--dry-run', '--root', root, '--target', target, '--json']);
    expect(first.code, first.stderr).toBe(0);
    const files = (JSON.parse(first.stdout) as { files: { path: string }[] }).files.map((f) => f.path);
    expect(files.length).toBeGreaterThan(0);
    for (const path of files) fifo(target, path.slice(1));
    const r = await run(['--dry-run', '--root', root, '--target', target]);
    expect(r.signal, r.stderr).toBeNull();
    expect(r.ms).toBeLessThan(BOUNDED_MS);
    expect(r.code, r.stderr).toBe(0);
  });

  it('--write: a target file to be replaced that is a FIFO is an error naming it, exit 1', async () => {
    const root = tree('thinkpad-t60');
    const target = mkdtempSync(join(work, 'target-'));
    fifo(target, 'etc/modprobe.d/autoconfig.conf');
    const r = await run(['--write', '--root', root, '--target', target]);
    expect(r.signal, r.stderr).toBeNull();
    expect(r.ms).toBeLessThan(BOUNDED_MS);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('/etc/modprobe.d/autoconfig.conf');
  });

  it.each([['proc/cpuinfo'], ['sys/class/dmi/id/product_name']])('snapshot --root with %s a FIFO', async (rel) => {
    const root = tree('thinkpad-t60');
    fifo(root, rel);
    const out = join(mkdtempSync(join(work, 'snap-')), 'out');
    const r = await run(['snapshot', '--root', root, '--out', out]);
    expect(r.signal, r.stderr).toBeNull();
    expect(r.ms).toBeLessThan(BOUNDED_MS);
    expect(r.code, r.stderr).toBe(0);
    // The FIFO is not copied as one, nor as content.
    expect(existsSync(join(out, rel)) ? readFileSync(join(out, rel), 'utf8') : '').toBe('');
  });
});

describe('stdout closed or full does not stop the work (issue #11)', () => {
  // A fake modprobe that logs each call: the modules attempted after the output failed.
  const fake = join(work, 'modprobe');
  const calls = join(work, 'modprobe.calls');
  writeFileSync(fake, `#!/bin/sh\necho "$@" >> '${calls}'\necho "insmod $*"\nexit 0\n`);
  chmodSync(fake, 0o755);

  const devFull = existsSync('/dev/full');
  it.each([
    ['piped into head -c1', 'AUTOCONFIG --write --apply --root "$ROOT" --target "$TARGET" --modprobe "$FAKE" | head -c1 >/dev/null'],
    ...(devFull ? [['to /dev/full', 'AUTOCONFIG --write --apply --root "$ROOT" --target "$TARGET" --modprobe "$FAKE" >/dev/full']] : []),
  ])('--write --apply %s: files written, modules attempted, the work\'s exit code, no stack trace', async (_name, line) => {
    const root = tree('thinkpad-t60');
    const target = mkdtempSync(join(work, 'target-'));
    rmSync(calls, { force: true });
    // The same run with its output kept: what the work's exit code and files are.
    const reference = mkdtempSync(join(work, 'target-'));
    const ok = await run(['--write', '--apply', '--root', root, '--target', reference, '--modprobe', fake]);
    const modules = readFileSync(calls, 'utf8').split('\n').filter(Boolean).length;
    rmSync(calls, { force: true });
    // A pipeline's status is head's: autoconfig's own is read from its run record.
    const r = await run([], { shell: `ROOT='${root}' TARGET='${target}' FAKE='${fake}'; ${line}` });
    expect(r.signal, r.stderr).toBeNull();
    expect(r.stderr).not.toMatch(/\n\s+at |internal error|EPIPE.*\n.*Error/);
    const record = JSON.parse(readFileSync(join(target, 'var/lib/autoconfig/last-run.json'), 'utf8')) as {
      exitCode: number;
      files: { written: string[] };
    };
    expect(record.exitCode).toBe(ok.code);
    const refRecord = JSON.parse(readFileSync(join(reference, 'var/lib/autoconfig/last-run.json'), 'utf8')) as {
      files: { written: string[] };
    };
    expect(record.files.written).toEqual(refRecord.files.written);
    expect(modules).toBeGreaterThan(0);
    expect(readFileSync(calls, 'utf8').split('\n').filter(Boolean)).toHaveLength(modules);
    expect(r.stderr).toMatch(/autoconfig: cannot write to stdout \((EPIPE|ENOSPC)\); the rest of its output is dropped, the work goes on/);
  });

  it.skipIf(!devFull)('the exit code is the work\'s when stdout is /dev/full', async () => {
    const root = tree('thinkpad-t60');
    const target = mkdtempSync(join(work, 'target-'));
    const r = await run([], { shell: `AUTOCONFIG --write --root '${root}' --target '${target}' >/dev/full` });
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('autoconfig: cannot write to stdout (ENOSPC); the rest of its output is dropped, the work goes on\n');
  });
});

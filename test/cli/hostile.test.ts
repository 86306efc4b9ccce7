// Hostile machine data and hostile output, through the real command as a process (issue #11): a FIFO where a file
// is read must be refused at once, never waited on; stdout that is closed or full must not stop the work. Each
// run is a separate `node` process with a kill timer, so that a hang fails the test instead of hanging vitest.
// The CLI is bundled from the sources into a temp dir (the same esbuild options as scripts/build.mjs) next to
// copies of bin/, so the process is bin/autoconfig.cjs as installed, running this checkout's code.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { cliOptions } from '../../scripts/bundle-options.mjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const repo = join(dirname(fileURLToPath(import.meta.url)), '../..');
const work = mkdtempSync(join(tmpdir(), 'autoconfig-hostile-'));
const bin = join(work, 'pkg/bin/autoconfig.cjs');
/** A hang is this long at most, then the process is killed and the test fails (signal SIGKILL). */
const KILL_MS = 20_000;
/** What "at once" means for a refused FIFO: the run's own time (seconds on a loaded 2-core VM), not a wait. */
const BOUNDED_MS = 12_000;
/** A test runs up to three processes. */
const TEST_MS = 3 * KILL_MS + 10_000;

beforeAll(async () => {
  const pkg = join(work, 'pkg');
  mkdirSync(join(pkg, 'bin'), { recursive: true });
  for (const f of ['autoconfig.cjs', 'load-cli.cjs']) cpSync(join(repo, 'bin', f), join(pkg, 'bin', f));
  // data/ (pci.ids, rules, reference kernel) and node_modules (yaml) as the package has them.
  symlinkSync(join(repo, 'data'), join(pkg, 'data'));
  symlinkSync(join(repo, 'node_modules'), join(pkg, 'node_modules'));
  await build(cliOptions(repo, join(pkg, 'dist/autoconfig.cjs')));
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

describe('a FIFO where a file is read is refused at once, with a coded diagnostic (issue #11)', { timeout: TEST_MS }, () => {
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

describe('stdout closed or full does not stop the work (issue #11)', { timeout: TEST_MS }, () => {
  // A fake modprobe that logs each call: the modules attempted after the output failed.
  const fake = join(work, 'modprobe');
  const calls = join(work, 'modprobe.calls');
  writeFileSync(fake, `#!/bin/sh\necho "$@" >> '${calls}'\necho "insmod $*"\nexit 0\n`);
  chmodSync(fake, 0o755);

  const devFull = existsSync('/dev/full');
  const writeApply = async (redirect: string) => {
    const root = tree('thinkpad-t60');
    const target = mkdtempSync(join(work, 'target-'));
    // The same run with its output kept: the work's exit code, files and modules.
    rmSync(calls, { force: true });
    const reference = mkdtempSync(join(work, 'target-'));
    const ok = await run(['--write', '--apply', '--root', root, '--target', reference, '--modprobe', fake]);
    // Each call names its target root (-d DIR): compared without it.
    const callsIn = (dir: string) => readFileSync(calls, 'utf8').split('\n').filter(Boolean).map((l) => l.replace(dir, 'TARGET'));
    const modules = callsIn(reference);
    rmSync(calls, { force: true });
    // A pipeline's status is head's: autoconfig's own is read from its run record.
    const r = await run([], { shell: `AUTOCONFIG --write --apply --root '${root}' --target '${target}' --modprobe '${fake}' ${redirect}` });
    expect(r.signal, r.stderr).toBeNull();
    expect(r.stderr).not.toMatch(/\n\s+at |internal error|Unhandled/);
    expect(r.stderr).toMatch(/autoconfig: cannot write to stdout \((EPIPE|ENOSPC)\); the rest of its output is dropped, the work goes on/);
    const recordOf = (dir: string) =>
      JSON.parse(readFileSync(join(dir, 'var/lib/autoconfig/last-run.json'), 'utf8')) as { exitCode: number; files: { written: string[] } };
    expect(recordOf(target).exitCode).toBe(ok.code);
    expect(recordOf(target).files.written).toEqual(recordOf(reference).files.written);
    expect(modules.length).toBeGreaterThan(0);
    expect(callsIn(target)).toEqual(modules);
    return { r, code: ok.code };
  };

  it('--write --apply piped into head -c1: files written, modules attempted, the work\'s exit code, no stack trace', async () => {
    await writeApply('| head -c1 >/dev/null');
  });

  it.skipIf(!devFull)('--write --apply to /dev/full: the same (no /dev/full: skipped)', async () => {
    const { r, code } = await writeApply('>/dev/full');
    // No pipeline: the process's own exit code, the work's.
    expect(r.code).toBe(code);
  });

  // A stdout left non-blocking by whoever opened it (a shared pipe): a write that finds the pipe full gets EAGAIN
  // and must wait for room, not drop the output. python3 sets O_NONBLOCK on the pipe and shrinks it to one page
  // (F_SETPIPE_SZ, 1031), then runs autoconfig in its place; the reader starts a second later.
  const python = spawnSync('python3', ['-c', 'pass']).status === 0;
  it.skipIf(!python)('a non-blocking stdout pipe that fills up: every byte arrives, nothing on stderr (no python3: skipped)', async () => {
    const root = join(repo, 'fixtures/server-iommu-bmc/root');
    const direct = await run(['probe', '--json', '--root', root]);
    const nonblock =
      'import fcntl, os, sys; fcntl.fcntl(1, 1031, 4096); fcntl.fcntl(1, fcntl.F_SETFL, fcntl.fcntl(1, fcntl.F_GETFL) | os.O_NONBLOCK); os.execv(sys.argv[1], sys.argv[1:])';
    const r = await run([], { shell: `python3 -c '${nonblock}' "$NODE" "$BIN" probe --json --root '${root}' | (sleep 1; cat)` });
    expect(r.stderr).toBe('');
    expect(direct.stdout.length).toBeGreaterThan(4096);
    expect(r.stdout).toBe(direct.stdout);
  });

  it.skipIf(!devFull)('stdout to /dev/full: the exit code is the work\'s, the run record says it (no /dev/full: skipped)', async () => {
    const root = tree('thinkpad-t60');
    const target = mkdtempSync(join(work, 'target-'));
    const r = await run([], { shell: `AUTOCONFIG --write --root '${root}' --target '${target}' >/dev/full` });
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('autoconfig: cannot write to stdout (ENOSPC); the rest of its output is dropped, the work goes on\n');
    // The run record says it, and the work's exit code.
    const record = JSON.parse(readFileSync(join(target, 'var/lib/autoconfig/last-run.json'), 'utf8')) as { exitCode: number; failures: string[] };
    expect(record).toMatchObject({ exitCode: 0, failures: ['output: stdout: ENOSPC, output to it dropped from then on'] });
  });
});

describe('control characters from the machine are shown escaped, never sent to the terminal (issue #11)', () => {
  // Clear the screen, retitle the window, ring the bell: what a hostile DMI string would do if printed raw.
  const HOSTILE = '\x1b[2J\x1b]0;x\x07';
  const SHOWN = '\\x1b[2J\\x1b]0;x\\x07';
  const RAW = /[\x00-\x08\x0b-\x1f\x7f\u0080-\u009f]/;

  /** A fixture with one machine file changed (`edit` gets its text, '' when absent), and more files if given. */
  function mutated(fixture: string, rel: string, edit: (text: string) => string, more: Record<string, string> = {}): string {
    const root = tree(fixture);
    for (const [file, text] of Object.entries({ ...more, [rel]: null })) {
      const path = join(root, file);
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, text ?? edit(existsSync(path) ? readFileSync(path, 'utf8') : ''));
    }
    return root;
  }

  const product = (t: string) => t.replace('1951BY8', `1951BY8${HOSTILE}`);
  // A rule of the machine's own rules.d that matches its DMI product name: explain's evidence quotes the value.
  const localRule = {
    'etc/autoconfig/rules.d/50-local.yaml':
      'rules:\n  - id: local-t60\n    source: "this site"\n    when:\n      dmi: { productName: "1951BY8*" }\n    then:\n      - note: "a local note"\n',
  };
  // [command, file, edit, more files, the text that shows the escaped value, whether --json holds the value]
  it.each([
    ['probe', 'sys/class/dmi/id/product_name', product, {}, `1951BY8${SHOWN}`, true],
    ['--dry-run', 'sys/class/dmi/id/product_name', product, {}, `1951BY8${SHOWN}`, false],
    ['explain', 'sys/class/dmi/id/product_name', product, localRule, `dmi productName "1951BY8${SHOWN}"`, true],
    // drivers shows no DMI; modprobe.d is the machine's text it quotes (a line it cannot parse).
    ['drivers', 'etc/modprobe.d/local.conf', () => `bogus${HOSTILE} line\n`, {}, `bogus${SHOWN}`, false],
  ])('%s (%s)', async (command, rel, edit, more, shown, jsonHas) => {
    const { runCli } = await import('../_support/cli.ts');
    const root = mutated('thinkpad-t60', rel, edit, more);
    const r = await runCli([command, '--root', root]);
    expect(r.code, r.stderr).toBe(0);
    const out = r.stdout + r.stderr;
    expect(out).toContain(shown);
    expect(out).not.toMatch(RAW);
    // --json stays JSON: JSON.stringify escapes the value, and a JSON reader gets it back exactly.
    const json = await runCli([command, '--root', root, '--json']);
    expect(json.code, json.stderr).toBe(0);
    expect(json.stdout).not.toMatch(RAW);
    if (jsonHas) expect(json.stdout).toContain(JSON.stringify(HOSTILE).slice(1, -1));
  });
});

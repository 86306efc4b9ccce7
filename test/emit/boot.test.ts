// The boot files, checked by the programs that consume them: systemd-analyze verify reads the unit, dash and
// busybox sh run the init script for real against a fake autoconfig that records its argv and exits as told.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BOOT_PATHS,
  DEFAULT_BOOT_TIMEOUT_SEC,
  execWords,
  renderBootFiles,
  systemdWord,
  type BootFile,
  type BootFilesOptions,
} from '../../src/emit/boot.ts';

const tmp = mkdtempSync(join(tmpdir(), 'autoconfig-boot-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function which(command: string): string | null {
  const r = spawnSync('sh', ['-c', `command -v ${command}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

const systemdAnalyze = which('systemd-analyze');
const shells: [string, string[], boolean][] = [
  ['dash', ['dash'], which('dash') !== null],
  ['busybox sh', ['busybox', 'sh'], which('busybox') !== null],
];
const checkbashisms = which('checkbashisms');

function file(files: BootFile[], path: string): string {
  const f = files.find((x) => x.path === path);
  if (f?.kind !== 'file') throw new Error(`no file ${path}`);
  return f.content;
}

describe('renderBootFiles', () => {
  const files = renderBootFiles({ exec: '/usr/bin/autoconfig' });

  it('renders the unit, its enabling link and the init script (0755), the same every time', () => {
    expect(files.map((f) => [f.kind, f.path, f.kind === 'file' ? f.mode.toString(8) : f.symlink])).toEqual([
      ['file', '/etc/systemd/system/autoconfig.service', '644'],
      ['symlink', '/etc/systemd/system/sysinit.target.wants/autoconfig.service', '../autoconfig.service'],
      ['file', '/etc/init.d/autoconfig', '755'],
    ]);
    expect(renderBootFiles({ exec: ['/usr/bin/autoconfig'] })).toEqual(files);
  });

  it('the unit: oneshot, early, before Xen, the network and X, exits 3 and 4 count as success', () => {
    const unit = file(files, BOOT_PATHS.unit);
    const settings = unit.split('\n').filter((l) => l !== '' && !l.startsWith('#'));
    for (const line of [
      'Type=oneshot',
      'RemainAfterExit=yes',
      'DefaultDependencies=no',
      'After=local-fs.target',
      'Before=xencommons.service xen.service xendomains.service xen-init-dom0.service',
      'Wants=network-pre.target',
      'Before=network-pre.target networking.service systemd-networkd.service',
      'Before=display-manager.service',
      'ExecStart=/usr/bin/autoconfig --write --apply',
      'SuccessExitStatus=3 4',
      `TimeoutStartSec=${DEFAULT_BOOT_TIMEOUT_SEC}s`,
      'StandardOutput=journal',
      'WantedBy=sysinit.target',
    ]) {
      expect(settings).toContain(line);
    }
    expect(settings.some((l) => l.includes('systemd-modules-load'))).toBe(false);
  });

  it('the init script: LSB header for rcS, before Xen and the network, after $local_fs', () => {
    const script = file(files, BOOT_PATHS.initScript);
    expect(script.startsWith('#!/bin/sh\n### BEGIN INIT INFO\n')).toBe(true);
    for (const line of [
      '# Provides:          autoconfig',
      '# Required-Start:    $local_fs',
      '# X-Start-Before:    xencommons xen xendomains networking',
      '# Default-Start:     S',
      "AUTOCONFIG='/usr/bin/autoconfig'",
      "\tset -- '/usr/bin/autoconfig' --write --apply",
    ]) {
      expect(script.split('\n')).toContain(line);
    }
  });

  it.each([
    [[], /empty/],
    [['autoconfig'], /absolute path/],
    [['bin/autoconfig'], /absolute path/],
    [['/usr/bin/node', ''], /empty or a control character/],
    [['/usr/bin/auto\nconfig'], /control character/],
  ])('refuses the command %j', (exec, message) => {
    expect(() => execWords(exec)).toThrow(message);
  });

  it.each([0, -1, 1.5, 100_000])('refuses the time limit %d', (timeoutSec) => {
    expect(() => renderBootFiles({ exec: '/usr/bin/autoconfig', timeoutSec })).toThrow(/whole number of seconds/);
  });

  it.each([
    ['/usr/bin/node', '/usr/bin/node'],
    ['/opt/my node/bin/node', '"/opt/my node/bin/node"'],
    ['/opt/100%/x', '"/opt/100%%/x"'],
    ['/opt/$HOME/"q"\\', '"/opt/$$HOME/\\"q\\"\\\\"'],
  ])('quotes the argument %j for ExecStart as %s', (word, quoted) => {
    expect(systemdWord(word)).toBe(quoted);
  });

  it('leaves a $ in the command itself alone (systemd expands variables only in arguments)', () => {
    expect(systemdWord('/opt/$x/node', 'command')).toBe('"/opt/$x/node"');
    const unit = file(renderBootFiles({ exec: ['/opt/$x/node', '/opt/$x/autoconfig.cjs'] }), BOOT_PATHS.unit);
    expect(unit).toContain('\nExecStart="/opt/$x/node" "/opt/$$x/autoconfig.cjs" --write --apply\n');
  });
});

describe.skipIf(systemdAnalyze === null)(
  `systemd-analyze verify${systemdAnalyze === null ? ' (skipped: systemd-analyze is not installed; apt-get install systemd)' : ''}`,
  () => {
    function verify(unitDir: string, options: BootFilesOptions): { status: number | null; output: string } {
      mkdirSync(unitDir, { recursive: true });
      const path = join(unitDir, 'autoconfig.service');
      writeFileSync(path, file(renderBootFiles(options), BOOT_PATHS.unit));
      const r = spawnSync(systemdAnalyze!, ['verify', path], { encoding: 'utf8' });
      return { status: r.status, output: r.stdout + r.stderr };
    }

    it('accepts the unit with this Node and bin/autoconfig.cjs, without a single warning', () => {
      const r = verify(join(tmp, 'unit-node'), { exec: [process.execPath, join(__dirname, '../../bin/autoconfig.cjs')] });
      expect(r.output).toBe('');
      expect(r.status).toBe(0);
    });

    it('finds an executable whose path has a space, a % and a $ (so the quoting is what systemd reads)', () => {
      const dir = join(tmp, 'odd dir %n $HOME');
      mkdirSync(dir, { recursive: true });
      const exe = join(dir, 'autoconfig');
      writeFileSync(exe, '#!/bin/sh\nexit 0\n');
      chmodSync(exe, 0o755);
      const r = verify(join(tmp, 'unit-odd'), { exec: exe });
      expect(r.output).toBe('');
      expect(r.status).toBe(0);
    });

    it('and does complain about a command that is not there (the check is real)', () => {
      const r = verify(join(tmp, 'unit-missing'), { exec: join(tmp, 'no', 'such', 'autoconfig') });
      expect(r.status).not.toBe(0);
      expect(r.output).toMatch(/is not executable/);
    });
  },
);

// ---- the init script, run for real ------------------------------------------------------------------------------

interface ScriptEnv {
  dir: string;
  script: string;
  argvFile: string;
  loggerFile: string;
  kmsg: string;
  record: string;
  runDir: string;
}

/**
 * A directory with a fake autoconfig (records its argv, writes a run record like the real one, sleeps
 * $FAKE_SLEEP, exits $FAKE_EXIT), a fake logger (records its argv), and the init script rendered to use them.
 */
function scriptEnv(name: string, options: { timeoutSec?: number; path?: (bin: string) => string; socket?: string } = {}): ScriptEnv {
  const dir = join(tmp, name);
  const bin = join(dir, 'bin');
  mkdirSync(bin, { recursive: true });
  const env: ScriptEnv = {
    dir,
    script: join(dir, 'autoconfig.init'),
    argvFile: join(dir, 'argv'),
    loggerFile: join(dir, 'logger.log'),
    kmsg: join(dir, 'kmsg'),
    record: join(dir, 'last-run.json'),
    runDir: join(dir, 'run'),
  };
  mkdirSync(env.runDir);
  writeFileSync(env.kmsg, '');
  const fake = join(dir, 'fake-autoconfig');
  writeFileSync(
    fake,
    `#!/bin/sh
for a in "$@"; do printf '%s\\n' "$a"; done > '${env.argvFile}'
echo "fake autoconfig: configuring"
[ -z "$FAKE_SLEEP" ] || exec sleep "$FAKE_SLEEP"
code=\${FAKE_EXIT:-0}
printf '{\\n  "format": 1,\\n  "startedAt": "2026-12-06T08:00:00.000Z",\\n  "exitCode": %s,\\n  "summary": "autoconfig: wrote 3 of 8 files, exit %s",\\n  "plan": {\\n    "exitCode": 99\\n  }\\n}\\n' "$code" "$code" > '${env.record}'
exit "$code"
`,
  );
  chmodSync(fake, 0o755);
  writeFileSync(join(bin, 'logger'), `#!/bin/sh\nfor a in "$@"; do printf '[%s]' "$a"; done >> '${env.loggerFile}'\necho >> '${env.loggerFile}'\n`);
  chmodSync(join(bin, 'logger'), 0o755);
  const files = renderBootFiles({
    exec: fake,
    ...(options.timeoutSec === undefined ? {} : { timeoutSec: options.timeoutSec }),
    initScript: {
      path: options.path ? options.path(bin) : `${bin}:/usr/sbin:/usr/bin:/sbin:/bin`,
      record: env.record,
      runDir: env.runDir,
      syslogSocket: options.socket ?? join(dir, 'no-syslog-here'),
      kmsg: env.kmsg,
    },
  });
  writeFileSync(env.script, file(files, BOOT_PATHS.initScript));
  chmodSync(env.script, 0o755);
  return env;
}

function runScript(shell: string[], env: ScriptEnv, args: string[], vars: Record<string, string> = {}) {
  const started = Date.now();
  const r = spawnSync(shell[0]!, [...shell.slice(1), env.script, ...args], {
    encoding: 'utf8',
    env: { PATH: '/usr/bin:/bin', ...vars },
    timeout: 30_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, ms: Date.now() - started };
}

const read = (path: string) => (existsSync(path) ? readFileSync(path, 'utf8') : '');

describe.each(shells)('the init script under %s', (label, shell, available) => {
  const skip = !available;
  const why = skip ? ` (skipped: ${label} is not installed; apt-get install ${label === 'dash' ? 'dash' : 'busybox-static'})` : '';

  it.skipIf(skip)(`parses${why}`, () => {
    const env = scriptEnv(`${label}-parse`);
    const r = spawnSync(shell[0]!, [...shell.slice(1), '-n', env.script], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it.skipIf(skip)(`start runs autoconfig --write --apply; exit 0 is success and noted for status${why}`, () => {
    const env = scriptEnv(`${label}-ok`);
    const r = runScript(shell, env, ['start']);
    expect(r.code).toBe(0);
    expect(read(env.argvFile)).toBe('--write\n--apply\n');
    expect(r.stdout).toContain('Autoconfiguring Xen, Dom0 and its drivers (autoconfig --write --apply, at most 180 s)...');
    expect(r.stdout).toContain('fake autoconfig: configuring');
    expect(read(join(env.runDir, 'autoconfig.done'))).toBe('0\n');
  });

  it.skipIf(skip).each([
    [3, 0, 'exit 3: something failed and the safe plan was written instead; the boot goes on'],
    [4, 0, 'exit 4: the files were written, but some modules failed to load or timed out; the boot goes on'],
    [1, 1, 'failed with exit 1: failed, nothing or not everything was written'],
    [2, 1, 'failed with exit 2: usage error'],
    [5, 1, 'failed with exit 5: files partly written: the record lists which are new and which as before'],
    [70, 1, 'failed with exit 70: unexpected exit code'],
  ])(`start maps autoconfig's exit %i to %i and says why${why}`, (exit, code, message) => {
    const env = scriptEnv(`${label}-exit-${exit}`);
    const r = runScript(shell, env, ['start'], { FAKE_EXIT: String(exit) });
    expect(r.code).toBe(code);
    expect(r.stdout).toContain(`autoconfig: ${message}`);
    // The kernel log has the lines when no syslog daemon listens (as in rcS).
    expect(read(env.kmsg)).toContain(`autoconfig: ${message}`);
    expect(existsSync(join(env.runDir, 'autoconfig.done'))).toBe(code === 0);
    if (code === 0) expect(read(env.kmsg)).toContain(`\nautoconfig: wrote 3 of 8 files, exit ${exit}\n`);
  });

  it.skipIf(skip)(`logs the summary only from a record this run wrote, not a stale one${why}`, () => {
    const env = scriptEnv(`${label}-stale`);
    expect(runScript(shell, env, ['start']).code).toBe(0);
    expect(read(env.kmsg)).toContain('\nautoconfig: wrote 3 of 8 files, exit 0\n');
    writeFileSync(env.kmsg, '');
    // The fake writes the same startedAt every time: to the script that is a record no newer than before the run
    // (as when autoconfig could not write one), whose summary is not this run's.
    expect(runScript(shell, env, ['start']).code).toBe(0);
    expect(read(env.kmsg)).toBe('autoconfig: starting\n');
  });

  it.skipIf(skip)(`stops a hung autoconfig at the time limit and fails, promptly${why}`, () => {
    const env = scriptEnv(`${label}-hang`, { timeoutSec: 1 });
    const r = runScript(shell, env, ['start'], { FAKE_SLEEP: '20' });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/autoconfig: stopped after the time limit of 1 s \(exit (124|143|137)\)/);
    expect(r.ms).toBeLessThan(10_000);
    expect(existsSync(join(env.runDir, 'autoconfig.done'))).toBe(false);
  });

  it.skipIf(skip)(`status reads the run record: 3 before a run and after stop, 0 after start${why}`, () => {
    const env = scriptEnv(`${label}-status`);
    let r = runScript(shell, env, ['status']);
    expect(r.code).toBe(3);
    expect(r.stdout).toContain(`autoconfig: no run record (${env.record})`);
    expect(r.stdout).toContain('autoconfig: not run since boot');
    expect(runScript(shell, env, ['start'], { FAKE_EXIT: '4' }).code).toBe(0);
    r = runScript(shell, env, ['status']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      'autoconfig: last run 2026-12-06T08:00:00.000Z, exit 4 (the files were written, but some modules failed to load or timed out)\n' +
        'autoconfig: wrote 3 of 8 files, exit 4\n' +
        'autoconfig: ran at this boot\n',
    );
    expect(runScript(shell, env, ['stop']).code).toBe(0);
    r = runScript(shell, env, ['status']);
    expect(r.code).toBe(3);
    expect(r.stdout).toContain('exit 4');
  });

  it.skipIf(skip)(`restart and force-reload run it again; reload is unimplemented (3), bad arguments 2${why}`, () => {
    const env = scriptEnv(`${label}-actions`);
    for (const action of ['restart', 'force-reload']) {
      rmSync(env.argvFile, { force: true });
      expect(runScript(shell, env, [action]).code).toBe(0);
      expect(read(env.argvFile)).toBe('--write\n--apply\n');
    }
    expect(runScript(shell, env, ['reload']).code).toBe(3);
    for (const args of [[], ['bogus'], ['start', 'extra']]) {
      const r = runScript(shell, env, args);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('{start|stop|restart|force-reload|status}');
    }
  });

  it.skipIf(skip)(`start exits 5 when autoconfig is not installed${why}`, () => {
    const env = scriptEnv(`${label}-missing`);
    rmSync(join(env.dir, 'fake-autoconfig'));
    const r = runScript(shell, env, ['start']);
    expect(r.code).toBe(5);
    expect(r.stdout).toContain('is missing or not executable: nothing configured');
  });
});

describe.skipIf(!shells[0]![2])(`the init script under dash${shells[0]![2] ? '' : ' (skipped: dash is not installed)'}`, () => {
  let server: Server;
  let socket: string;
  beforeAll(async () => {
    socket = join(tmp, 'syslog.sock');
    server = createServer();
    await new Promise<void>((resolve) => server.listen(socket, resolve));
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('logs with logger -t autoconfig when a syslog daemon listens, and not to the kernel log', () => {
    const env = scriptEnv('dash-syslog', { socket });
    const r = runScript(['dash'], env, ['start'], { FAKE_EXIT: '3' });
    expect(r.code).toBe(0);
    expect(read(env.loggerFile).split('\n')).toEqual([
      '[-t][autoconfig][starting]',
      '[-t][autoconfig][wrote 3 of 8 files, exit 3]',
      `[-t][autoconfig][exit 3: something failed and the safe plan was written instead; the boot goes on (details: ${env.record})]`,
      '',
    ]);
    expect(read(env.kmsg)).toBe('');
  });

  it('without timeout(1) it says so and runs autoconfig without a limit', () => {
    // A PATH with the fake logger and only what the script needs besides timeout.
    const env = scriptEnv('dash-no-timeout', {
      path: (bin) => {
        for (const tool of ['sed', 'rm', 'cat']) spawnSync('ln', ['-s', which(tool)!, join(bin, tool)]);
        return bin;
      },
    });
    const r = runScript(['dash'], env, ['start']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('autoconfig: no usable timeout(1): running without a time limit');
    expect(read(env.argvFile)).toBe('--write\n--apply\n');
  });

  it.skipIf(checkbashisms === null)(
    `has no bashisms (checkbashisms)${checkbashisms === null ? ' (skipped: checkbashisms is not installed; apt-get install devscripts)' : ''}`,
    () => {
      const env = scriptEnv('dash-bashisms');
      const r = spawnSync(checkbashisms!, ['--posix', '--extra', env.script], { encoding: 'utf8' });
      expect(r.stdout + r.stderr).toBe('');
      expect(r.status).toBe(0);
    },
  );
});

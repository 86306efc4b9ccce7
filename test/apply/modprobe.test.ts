import { spawnSync } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import {
  DEFAULT_PER_MODULE_MS,
  DEFAULT_TOTAL_MS,
  findModprobe,
  loadModules,
  splitModuleOptions,
  type LoadProgress,
  type SpawnLike,
} from '../../src/apply/modprobe.ts';
import { cgroup2Mount, ModprobeCgroup } from '../../src/apply/cgroup.ts';

const tmp = mkdtempSync(join(tmpdir(), 'autoconfig-modprobe-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const log = join(tmp, 'calls.log');

// One fake modprobe for every case, chosen by the module name ($2; $1 is the "--" before it). It logs its argv,
// one call per line, words separated by a | so that the test sees exactly what was passed.
const fake = join(tmp, 'modprobe');
writeFileSync(
  fake,
  `#!/bin/sh
words=""
for a in "$@"; do words="$words|$a"; done
echo "$words" >> '${log}'
[ "$1" = "--" ] || { echo "expected -- first, got $1" >&2; exit 64; }
case "$2" in
  hang) echo $$ > '${tmp}/hang.pid'; sleep 1000 & echo $! > '${tmp}/hang-child.pid'; wait ;;
  stubborn) trap '' TERM; echo $$ > '${tmp}/stubborn.pid'; while :; do sleep 0.05; done ;;
  fail) echo "modprobe: FATAL: Module $2 not found in directory /lib/modules/test" >&2; exit 1 ;;
  nodev*) echo "modprobe: ERROR: could not insert '$2': No such device" >&2; exit 1 ;;
  inval) echo "modprobe: ERROR: could not insert '$2': Invalid argument" >&2; exit 1 ;;
  noisy) i=0; while [ $i -lt 3000 ]; do echo "line $i of the noise on stderr" >&2; i=$((i+1)); done; exit 0 ;;
  escaped) rm -f '${tmp}/escaped.pid'
    # The pid is written from inside the new session: modprobe exits only once its child has escaped.
    setsid sh -c 'echo $$ > "$1"; exec sleep 1000' sh '${tmp}/escaped.pid' &
    while [ ! -s '${tmp}/escaped.pid' ]; do sleep 0.01; done
    echo "loaded, child left behind"; exit 0 ;;
  late) (sleep 0.2; echo late > '${tmp}/late.out'; echo "written after modprobe exited" >&2) & exit 0 ;;
  leaver*) sleep 1002 & echo $! > '${tmp}/'"$2.pid"; echo "loaded $2"; exit 0 ;;
  *) echo "insmod /lib/modules/test/$2.ko $3"; exit 0 ;;
esac
`,
);
chmodSync(fake, 0o755);

function calls(): string[][] {
  if (!existsSync(log)) return [];
  return readFileSync(log, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => l.split('|').slice(1));
}

function alive(pidFile: string): boolean {
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return false;
  }
  // "pid (comm) S ...": a zombie (Z) has exited and only waits to be reaped.
  return !/^\d+ \(.*\) Z/s.test(stat);
}

beforeEach(() => rmSync(log, { force: true }));

describe('splitModuleOptions', () => {
  it.each([
    ['', []],
    ['  ', []],
    ['foo=1', ['foo=1']],
    ['foo=1  bar=2\tbaz', ['foo=1', 'bar=2', 'baz']],
    ['bar="a b" c=d', ['bar="a b"', 'c=d']],
    ['"x=a b"', null],
    ['opt=a"b c"d e', ['opt=a"b c"d', 'e']],
    ['x.y-z=-1', ['x.y-z=-1']],
  ])('%j -> %j', (options, words) => {
    if (words === null) expect(() => splitModuleOptions(options)).toThrow(/not a module parameter/);
    else expect(splitModuleOptions(options)).toEqual(words);
  });

  it.each(['bar="a b', '-r', 'foo=1 --force', '=1', 'a;b=1'])('refuses %j', (options) => {
    expect(() => splitModuleOptions(options)).toThrow(/unbalanced|not a module parameter/);
  });
});

describe('findModprobe', () => {
  it('finds a bare name on PATH, skipping a directory where it is not executable', async () => {
    const noexec = join(tmp, 'noexec');
    rmSync(noexec, { recursive: true, force: true });
    mkdirSync(noexec);
    writeFileSync(join(noexec, 'modprobe'), '#!/bin/sh\n', { mode: 0o644 });
    expect(await findModprobe('modprobe', `relative/dir:${noexec}:${tmp}`)).toBe(fake);
  });

  it('takes a path as it is, and says null for a missing one', async () => {
    expect(await findModprobe(fake)).toBe(fake);
    expect(await findModprobe(join(tmp, 'missing'))).toBeNull();
    expect(await findModprobe('autoconfig-no-such-program', tmp)).toBeNull();
  });

  it('defaults to PATH, then /sbin/modprobe', async () => {
    const found = await findModprobe('modprobe', '');
    if (existsSync('/sbin/modprobe')) expect(found).toBe('/sbin/modprobe');
    else if (existsSync('/usr/sbin/modprobe')) expect(found).toBe('/usr/sbin/modprobe');
    else expect(found).toBeNull();
  });
});

describe('loadModules with a fake modprobe', () => {
  it('loads, fails, and passes argv without a shell', async () => {
    const result = await loadModules(
      [
        { name: 'snd-hda-intel', options: 'model=auto  power_save="1 2" $(touch x)' },
        { name: 'e1000e', options: null },
        { name: 'fail' },
      ],
      { modprobe: fake },
    );
    // '$(touch' is not a parameter word: that module was not run, the others were.
    expect(calls()).toEqual([['--', 'e1000e'], ['--', 'fail']]);
    expect(result.results[0]).toMatchObject({ status: 'failed', exitCode: null, argv: [] });
    expect(result.results[0]!.detail).toMatch(/not run: "\$\(touch" is not a module parameter/);
    rmSync(log);

    const ok = await loadModules(
      [
        { name: 'snd-hda-intel', options: 'model=auto  power_save="1 2" x=`id`;y' },
        { name: 'e1000e', options: null },
        { name: 'fail' },
      ],
      { modprobe: fake },
    );
    expect(calls()).toEqual([
      ['--', 'snd-hda-intel', 'model=auto', 'power_save="1 2"', 'x=`id`;y'],
      ['--', 'e1000e'],
      ['--', 'fail'],
    ]);
    expect(ok.timedOut).toBe(false);
    expect(ok.modprobe).toBe(fake);
    expect(ok.results.map((r) => [r.name, r.status, r.exitCode])).toEqual([
      ['snd-hda-intel', 'loaded', 0],
      ['e1000e', 'loaded', 0],
      ['fail', 'failed', 1],
    ]);
    expect(ok.results[0]!.stdout).toBe('insmod /lib/modules/test/snd-hda-intel.ko model=auto\n');
    expect(ok.results[2]!.stderr).toBe('modprobe: FATAL: Module fail not found in directory /lib/modules/test\n');
    expect(ok.results[2]!.detail).toBe('modprobe exited with 1');
  });

  it("a module marked optional where there is no device that fails with ENODEV is not-applicable, with why", async () => {
    const result = await loadModules(
      [
        { name: 'nodev_optional', optional: 'no-device' },
        { name: 'nodev', optional: null },
        { name: 'inval', optional: 'no-device' },
        { name: 'fail', optional: 'no-device' },
        { name: 'e1000e', optional: 'no-device' },
      ],
      { modprobe: fake },
    );
    expect(result.results.map((r) => [r.name, r.status, r.exitCode])).toEqual([
      ['nodev_optional', 'not-applicable', 1],
      // Unmarked, ENODEV is a failure as before; marked, only ENODEV is expected: another error or a missing module
      // still fails.
      ['nodev', 'failed', 1],
      ['inval', 'failed', 1],
      ['fail', 'failed', 1],
      ['e1000e', 'loaded', 0],
    ]);
    expect(result.results[0]!.detail).toBe(
      'not applicable: No such device (no device here for it to drive; the rule that loads it expects that where there is none)',
    );
    expect(result.results[0]!.stderr).toBe("modprobe: ERROR: could not insert 'nodev_optional': No such device\n");
  });

  it('collects all of a noisy stderr, capped, without hanging', async () => {
    const { results } = await loadModules([{ name: 'noisy' }], { modprobe: fake });
    expect(results[0]!.status).toBe('loaded');
    expect(results[0]!.stderr.length).toBeGreaterThan(60_000);
    expect(results[0]!.stderr.split('\n')[0]).toBe('line 0 of the noise on stderr');
    expect(results[0]!.stderr.endsWith('[output truncated]')).toBe(true);
  });

  it('ends what modprobe left running once it exits: output written later is not waited for (issue #11)', async () => {
    const { results } = await loadModules([{ name: 'late' }], { modprobe: fake });
    expect(results[0]).toMatchObject({ status: 'loaded', stderr: '' });
    await new Promise((resolve) => setTimeout(resolve, 400));
    // The background writer was killed with modprobe's group before it could write.
    expect(existsSync(join(tmp, 'late.out'))).toBe(false);
  });

  it('leaves no process behind and does not wait on the pipes a leftover child holds (issue #11)', async () => {
    // hwsetup's case: an install command that exits 0 but leaves `sleep &` running, holding stdout and stderr.
    const names = ['leaver1', 'leaver2', 'leaver3', 'leaver4', 'leaver5'];
    const t0 = performance.now();
    const { results } = await loadModules(
      names.map((name) => ({ name })),
      { modprobe: fake },
    );
    const elapsed = performance.now() - t0;
    expect(results.map((r) => [r.status, r.stdout])).toEqual(names.map((n) => ['loaded', `loaded ${n}\n`]));
    for (const name of names) expect(alive(join(tmp, `${name}.pid`)), name).toBe(false);
    // Each module took what the shell takes, not the 500 ms kill grace that waiting on the pipes used to cost.
    for (const r of results) expect(r.ms, r.name).toBeLessThan(400);
    expect(elapsed).toBeLessThan(5 * 400);
  });

  it('kills a hung modprobe and its children after the per-module limit (SIGTERM)', async () => {
    const perModuleMs = 800;
    const t0 = performance.now();
    const { results, timedOut } = await loadModules([{ name: 'hang' }, { name: 'after' }], {
      modprobe: fake,
      perModuleMs,
    });
    const elapsed = performance.now() - t0;
    expect(results.map((r) => r.status)).toEqual(['timeout', 'loaded']);
    expect(results[0]).toMatchObject({ exitCode: null, signal: 'SIGTERM' });
    expect(results[0]!.detail).toBe('killed after 800 ms with SIGTERM');
    expect(results[0]!.ms).toBeGreaterThanOrEqual(perModuleMs - 20);
    expect(results[0]!.ms).toBeLessThan(perModuleMs + 1000);
    expect(elapsed).toBeLessThan(perModuleMs + 1000 + 1500);
    expect(timedOut).toBe(false);
    // The whole process group went: the shell and the sleep it started.
    expect(alive(join(tmp, 'hang.pid'))).toBe(false);
    expect(alive(join(tmp, 'hang-child.pid'))).toBe(false);
  });

  it('ends a modprobe that ignores SIGTERM with SIGKILL 500 ms later', async () => {
    const perModuleMs = 600;
    const t0 = performance.now();
    const { results } = await loadModules([{ name: 'stubborn' }], { modprobe: fake, perModuleMs });
    const elapsed = performance.now() - t0;
    expect(results[0]).toMatchObject({ status: 'timeout', exitCode: null, signal: 'SIGKILL' });
    expect(results[0]!.detail).toBe('killed after 600 ms with SIGKILL (it ignored SIGTERM)');
    expect(results[0]!.ms).toBeGreaterThanOrEqual(perModuleMs + 500 - 20);
    expect(elapsed).toBeLessThan(perModuleMs + 1000 + 1500);
    expect(alive(join(tmp, 'stubborn.pid'))).toBe(false);
  });

  it('gives up on a modprobe that survives SIGKILL and goes on', async () => {
    // A process stuck in the kernel cannot be simulated from user space; a child that never reports its exit can.
    const never: SpawnLike = () => {
      const child = Object.assign(new EventEmitter(), {
        pid: undefined,
        stdout: null,
        stderr: null,
        kills: [] as string[],
        kill(signal: string) {
          child.kills.push(signal);
          return true;
        },
        unref() {},
      });
      spawned.push(child);
      return child;
    };
    const spawned: { kills: string[] }[] = [];
    const t0 = performance.now();
    const { results } = await loadModules([{ name: 'stuck' }, { name: 'next' }], {
      modprobe: fake,
      perModuleMs: 200,
      killGraceMs: 100,
      spawn: never,
    });
    expect(performance.now() - t0).toBeLessThan(2 * (200 + 200) + 1000);
    expect(spawned.map((c) => c.kills)).toEqual([
      ['SIGTERM', 'SIGKILL'],
      ['SIGTERM', 'SIGKILL'],
    ]);
    expect(results.map((r) => r.status)).toEqual(['timeout', 'timeout']);
    expect(results[0]!.detail).toMatch(/despite SIGTERM and SIGKILL .*left behind/);
    expect(results[0]!.ms).toBeGreaterThanOrEqual(400 - 20);
  });

  it('without a cgroup, does not wait for a child that escaped the process group and holds the pipes', async () => {
    const t0 = performance.now();
    const { results, containment } = await loadModules([{ name: 'escaped' }], { modprobe: fake, perModuleMs: 3000, cgroup: false });
    const pid = Number(readFileSync(join(tmp, 'escaped.pid'), 'utf8').trim());
    try {
      expect(containment).toBe('process group (no cgroup: not used)');
      expect(results[0]).toMatchObject({ status: 'loaded', exitCode: 0, stdout: 'loaded, child left behind\n' });
      expect(performance.now() - t0).toBeLessThan(3000);
      // setsid put it out of the process group's reach: it is still running (the limit docs/boot.md states).
      expect(alive(join(tmp, 'escaped.pid'))).toBe(true);
    } finally {
      process.kill(pid, 'SIGKILL');
    }
  });

  // A cgroup v2 hierarchy this process may write to (root, Linux 5.14+ for cgroup.kill): else skipped, saying so.
  const probe = ModprobeCgroup.open();
  probe.cgroup?.close();
  it.skipIf(probe.cgroup === null)(`in a transient cgroup, ends a child that escaped with setsid too (here: ${probe.why ?? 'available'})`, async () => {
    const t0 = performance.now();
    const { results, containment } = await loadModules([{ name: 'escaped' }, { name: 'leaver9' }], { modprobe: fake, perModuleMs: 3000 });
    const pid = Number(readFileSync(join(tmp, 'escaped.pid'), 'utf8').trim());
    const alsoKill = () => {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Gone, as it should be.
      }
    };
    try {
      expect(containment).toMatch(/^cgroup \/sys\/fs\/cgroup\/.*autoconfig-modprobe-\d+$/);
      expect(results.map((r) => [r.status, r.detail])).toEqual([
        ['loaded', 'loaded'],
        ['loaded', 'loaded'],
      ]);
      expect(results[0]!.stdout).toBe('loaded, child left behind\n');
      expect(alive(join(tmp, 'escaped.pid'))).toBe(false);
      expect(alive(join(tmp, 'leaver9.pid'))).toBe(false);
      expect(performance.now() - t0).toBeLessThan(2000);
      // The leaves and their parent are gone again; this process is back in its own cgroup.
      expect(existsSync(containment.slice('cgroup '.length))).toBe(false);
      expect(readFileSync('/proc/self/cgroup', 'utf8')).not.toContain('autoconfig-modprobe');
    } finally {
      alsoKill();
    }
  });

  it('skips the rest once the total budget is spent, and cuts the module running at that moment', async () => {
    const t0 = performance.now();
    const result = await loadModules([{ name: 'hang' }, { name: 'hang' }, { name: 'ok1' }, { name: 'ok2' }], {
      modprobe: fake,
      perModuleMs: 500,
      totalMs: 800,
    });
    const elapsed = performance.now() - t0;
    expect(result.timedOut).toBe(true);
    expect(result.results.map((r) => r.status)).toEqual(['timeout', 'timeout', 'skipped', 'skipped']);
    expect(result.results[1]!.detail).toMatch(/total budget of 800 ms left only \d+ ms/);
    expect(result.results[1]!.ms).toBeLessThan(500);
    expect(result.results[2]).toMatchObject({ exitCode: null, ms: 0, argv: [] });
    expect(result.results[2]!.detail).toBe('skipped: the total time budget of 800 ms is spent');
    expect(calls().map((c) => c[1])).toEqual(['hang', 'hang']);
    expect(elapsed).toBeLessThan(800 + 1000 + 1500);
  });

  it('says so when no modprobe is found, runs nothing and throws nothing', async () => {
    const missing = join(tmp, 'no-modprobe-here');
    const result = await loadModules([{ name: 'e1000e' }], { modprobe: missing });
    expect(result.modprobe).toBeNull();
    expect(result.results[0]).toMatchObject({ status: 'failed', exitCode: null });
    expect(result.results[0]!.detail).toBe(`not run: ${missing} not found or not executable`);
  });

  it('refuses module names modprobe would take for options, running nothing for them', async () => {
    const result = await loadModules(
      [{ name: '-r' }, { name: 'a b' }, { name: '' }, { name: '../x' }, { name: 'pci:v00008086d000010D3sv*' }],
      { modprobe: fake },
    );
    expect(result.results.map((r) => r.status)).toEqual(['failed', 'failed', 'failed', 'failed', 'failed']);
    expect(result.results[0]!.detail).toBe('not run: invalid module name "-r"');
    expect(calls()).toEqual([]);
  });

  it('accepts modprobe aliases and passes args and the root before the name', async () => {
    const result = await loadModules([{ name: 'pci:v00008086d000010D3sv00008086sd0000A01Fbc02sc00i00' }], {
      modprobe: fake,
      args: ['-n', '-v'],
      root: '/mnt/target/',
    });
    expect(result.results[0]!.argv).toEqual([
      '-n',
      '-v',
      '-d',
      '/mnt/target',
      '--',
      'pci:v00008086d000010D3sv00008086sd0000A01Fbc02sc00i00',
    ]);
    // The fake insists on "--" first: it reports the args it did not expect and exits 64.
    expect(result.results[0]).toMatchObject({ status: 'failed', exitCode: 64, stderr: 'expected -- first, got -n\n' });
  });

  it('reports a modprobe that cannot be started', async () => {
    const spawnFails: SpawnLike = () => {
      throw Object.assign(new Error('spawn EACCES'), { code: 'EACCES' });
    };
    const asyncError: SpawnLike = () => {
      const child = Object.assign(new EventEmitter(), {
        pid: undefined,
        stdout: null,
        stderr: null,
        kill: () => true,
        unref() {},
      });
      setImmediate(() => child.emit('error', Object.assign(new Error('spawn ENOENT'), { code: 'ENOENT' })));
      return child;
    };
    for (const [spawn, code] of [
      [spawnFails, 'EACCES'],
      [asyncError, 'ENOENT'],
    ] as const) {
      const { results, containment } = await loadModules([{ name: 'x' }], { modprobe: fake, spawn });
      expect(results[0]).toMatchObject({ status: 'failed', exitCode: null });
      expect(results[0]!.detail).toBe(`modprobe could not be started: ${code}`);
      // A spawn that throws inside the cgroup leaves no cgroup behind either.
      if (containment.startsWith('cgroup ')) expect(existsSync(containment.slice('cgroup '.length)), code).toBe(false);
    }
  });

  it('refuses bad limits and args as usage errors', async () => {
    await expect(loadModules([], { perModuleMs: -1 })).rejects.toMatchObject({ code: 'E_USAGE' });
    await expect(loadModules([], { totalMs: Number.NaN })).rejects.toMatchObject({ code: 'E_USAGE' });
    await expect(loadModules([], { args: ['--', 'x'] })).rejects.toMatchObject({ code: 'E_USAGE' });
    await expect(loadModules([], { args: ['x'] })).rejects.toMatchObject({ code: 'E_USAGE' });
  });

  it('reports progress: start before each modprobe runs, done with its result, for every module in order', async () => {
    const events: string[] = [];
    const onProgress = (e: LoadProgress) => {
      events.push(e.phase === 'start' ? `start ${e.index}/${e.total} ${e.name}` : `done ${e.index}/${e.total} ${e.result.name} ${e.result.status}`);
      // A start is reported before modprobe runs: the fake has not logged this module yet.
      if (e.phase === 'start') events.push(`calls so far ${calls().length}`);
    };
    const result = await loadModules([{ name: 'e1000e' }, { name: '-r' }, { name: 'fail' }, { name: 'hang' }, { name: 'late1' }], {
      modprobe: fake,
      // hang is cut by the total budget, so late1 is skipped without being started.
      perModuleMs: 2000,
      totalMs: 400,
      onProgress,
    });
    expect(result.results.map((r) => r.status)).toEqual(['loaded', 'failed', 'failed', 'timeout', 'skipped']);
    expect(events).toEqual([
      'start 1/5 e1000e',
      'calls so far 0',
      'done 1/5 e1000e loaded',
      'done 2/5 -r failed',
      'start 3/5 fail',
      'calls so far 1',
      'done 3/5 fail failed',
      'start 4/5 hang',
      'calls so far 2',
      'done 4/5 hang timeout',
      'done 5/5 late1 skipped',
    ]);
  });

  it('goes on loading when the progress callback throws', async () => {
    const result = await loadModules([{ name: 'a' }, { name: 'b' }], {
      modprobe: fake,
      onProgress: () => {
        throw new Error('display broke');
      },
    });
    expect(result.results.map((r) => r.status)).toEqual(['loaded', 'loaded']);
  });

  it('has hwsetup limits by default', () => {
    expect([DEFAULT_PER_MODULE_MS, DEFAULT_TOTAL_MS]).toEqual([4000, 120_000]);
  });
});

const realModprobe = ['/sbin/modprobe', '/usr/sbin/modprobe'].find((p) => existsSync(p)) ?? null;
describe.skipIf(realModprobe === null)(`the real ${realModprobe ?? 'modprobe (skipped: not installed)'}`, () => {
  it('dry run (-n -v) of a module that does not exist: failed, with its stderr', async () => {
    const name = 'autoconfig_no_such_module_xyz';
    const { results, modprobe } = await loadModules([{ name, options: 'debug=1' }], {
      modprobe: realModprobe!,
      args: ['-n', '-v'],
    });
    expect(modprobe).toBe(realModprobe);
    expect(results[0]).toMatchObject({ name, status: 'failed', exitCode: 1 });
    expect(results[0]!.stderr).toMatch(new RegExp(`${name}.*not found`));
  });
});

describe('cgroup2Mount', () => {
  // The real consumer of mountinfo: util-linux's findmnt, on this machine's own mount table.
  const findmnt = spawnSync('findmnt', ['-t', 'cgroup2', '-n', '-o', 'TARGET,FSROOT'], { encoding: 'utf8' });
  const rows = findmnt.status === 0 ? findmnt.stdout.trim().split('\n').map((l) => l.trim().split(/\s+/)) : [];
  it.skipIf(findmnt.error !== undefined)('finds the cgroup v2 hierarchy where findmnt does (no findmnt: skipped)', () => {
    const expected = rows.find(([, root]) => root === '/')?.[0] ?? null;
    expect(cgroup2Mount(readFileSync('/proc/self/mountinfo', 'utf8'))).toBe(expected);
  });

  it('reads octal escapes and passes over cgroup v1 and bind mounts of a subtree', () => {
    // Lines of this machine's mountinfo (a hybrid hierarchy), one with its mount point renamed to need escapes.
    const lines = [
      '35 30 0:32 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu',
      '41 30 0:37 /sub /mnt/sub rw,relatime - cgroup2 cgroup2 rw',
      '40 30 0:37 / /sys/fs/cgroup/uni\\040fied rw,relatime - cgroup2 cgroup2 rw',
    ];
    expect(cgroup2Mount(lines.join('\n'))).toBe('/sys/fs/cgroup/uni fied');
    expect(cgroup2Mount(lines.slice(0, 2).join('\n'))).toBeNull();
  });
});

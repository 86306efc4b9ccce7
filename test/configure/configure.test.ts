// configure() is the pipeline the CLI runs (issue #12): for every fixture at Xen 3.0.3 and 4.20, its dry run gives
// what `autoconfig --dry-run --json` gives and its write writes what `--write` writes. Beside it, the hand-made
// composition the README used to show (decide -> plan -> render), which differed: device modules of the reference
// kernel for a XenLinux Dom0, PCI ids for the network card's name, a throw where the CLI shows the safe plan.
import { chmodSync, constants, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { describe, expect, it } from 'vitest';
import { configure, CONFIGURE_EXIT, type ConfigureResult } from '../../src/configure/configure.ts';
import { currentHolder, LOCK_PATH } from '../../src/emit/lock.ts';
import { PATHS, render } from '../../src/emit/render.ts';
import { RUN_RECORD_PATH, type RunRecord } from '../../src/emit/run-record.ts';
import { AutoconfigError } from '../../src/errors.ts';
import { nodeFsPromises, type WritableFsLike } from '../../src/fs.ts';
import { PciNames } from '../../src/ids/pci-ids.ts';
import { moduleKey } from '../../src/modalias/module-name.ts';
import { decide } from '../../src/plan/decide.ts';
import { plan } from '../../src/plan/plan.ts';
import { runCli } from '../_support/cli.ts';
import { fixtureNames, loadFixture, repoRoot } from '../_support/memfs.ts';
import { findTool, run } from '../emit/_tools.ts';

const XENS = ['3.0.3', '4.20'] as const;
const cases = fixtureNames().flatMap((name) => XENS.map((xen) => [name, xen] as const));
const tmp = mkdtempSync(join(tmpdir(), 'autoconfig-configure-lib-'));
const dash = findTool('dash');
const { O_WRONLY, O_RDWR, O_CREAT, O_TRUNC, O_APPEND } = constants;

interface DryJson {
  files: { path: string; content: string }[];
  plan: unknown;
  failures: unknown[];
  fallback: unknown;
}

/** The plan as --json carries it (undefined keys dropped). */
const asJson = (value: unknown): unknown => JSON.parse(JSON.stringify(value));

/** A memfs that records every call that could change something; reads pass through. */
function recording(base: WritableFsLike): { fs: WritableFsLike; calls: string[] } {
  const calls: string[] = [];
  const b = base as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
  const note = (name: string) => async (...args: unknown[]) => {
    calls.push(`${name} ${String(args[0])}`);
    return b[name]!.apply(base, args);
  };
  const fs = Object.assign(Object.create(base) as object, {
    open: async (path: string, flags: string | number) => {
      const writes = typeof flags === 'number' ? (flags & (O_WRONLY | O_RDWR | O_CREAT | O_TRUNC | O_APPEND)) !== 0 : /[wa+]/.test(flags);
      if (writes) calls.push(`open ${path} ${String(flags)}`);
      return b['open']!.call(base, path, flags);
    },
    ...Object.fromEntries(['writeFile', 'mkdir', 'rename', 'unlink', 'symlink', 'link', 'rmdir'].map((n) => [n, note(n)])),
  }) as WritableFsLike;
  return { fs, calls };
}

/** Module names of a modules-load.d file, as systemd-modules-load reads it: one a line, '#' and ';' comments. */
function modulesLoadNames(text: string): string[] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#') && !l.startsWith(';'));
}

/** A run's record without what differs between two runs of one plan: the start time, durations and the target's name. */
function stable(record: RunRecord | null, target: string): unknown {
  expect(record).not.toBeNull();
  const { startedAt: _s, durationsMs: _d, summary, ...rest } = record!;
  return { ...(asJson(rest) as object), summary: summary.replace(/, [\d.]+ s; /, ', T s; ').replace(` ${target}/`, ' TARGET/') };
}

/** The files under `dir` in a memfs volume, relative to it, without the run record (its times differ). */
function treeUnder(vol: { toJSON(): Record<string, unknown> }, dir: string): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(vol.toJSON())
      .filter(([p]) => p.startsWith(`${dir}/`) && p !== `${dir}${RUN_RECORD_PATH}`)
      .map(([p, c]) => [p.slice(dir.length), c]),
  );
}

describe('configure() is what the CLI does, on every fixture at Xen 3.0.3 and 4.20', () => {
  it.each(cases)('%s at Xen %s: the dry run equals --dry-run --json (files, exit code, plan, failures) and writes nothing', async (name, xen) => {
    const { fs, vol, root } = loadFixture(name);
    const cli = await runCli(['--dry-run', '--json', '--root', root, '--xen', xen], fs);
    const json = JSON.parse(cli.stdout) as DryJson;
    const before = JSON.stringify(vol.toJSON());
    const watched = recording(fs);
    const lib = await configure({ fs: watched.fs, root, xen });
    expect(watched.calls).toEqual([]);
    expect(JSON.stringify(vol.toJSON())).toBe(before);
    expect(lib.exitCode).toBe(cli.code);
    expect(lib.files.map((f) => ({ path: f.path, content: f.content }))).toEqual(json.files);
    expect(asJson(lib.plan)).toEqual(json.plan);
    expect(lib.failures).toEqual(json.failures);
    expect(lib.fallback).toEqual(json.fallback);
    expect([lib.written, lib.loaded, lib.record, lib.error]).toEqual([null, null, null, null]);
    // The diff is the files that would change, each against what the target (here the machine's tree) has.
    for (const f of lib.files) {
      expect(f.state).toBe(f.current === f.content ? 'unchanged' : f.current === null ? 'new' : 'changed');
      if (f.state !== 'unchanged') expect(lib.diff).toContain(f.diff);
    }
  });

  it.each(cases)('%s at Xen %s: write: true into a target writes what --write writes, with the same record', async (name, xen) => {
    const { fs, vol, root } = loadFixture(name);
    await fs.mkdir('/by-cli', { recursive: true });
    await fs.mkdir('/by-lib', { recursive: true });
    const cli = await runCli(['--write', '--json', '--root', root, '--target', '/by-cli', '--xen', xen], fs);
    const lib = await configure({ fs, root, target: '/by-lib', xen, write: true });
    expect(lib.exitCode).toBe(cli.code);
    expect(treeUnder(vol, '/by-lib')).toEqual(treeUnder(vol, '/by-cli'));
    expect(Object.keys(treeUnder(vol, '/by-lib')).sort()).toEqual(lib.files.map((f) => f.path).sort());
    expect(lib.recorded).toBe(true);
    expect(stable(lib.record, '/by-lib')).toEqual(stable(JSON.parse(cli.stdout) as RunRecord, '/by-cli'));
    expect(JSON.parse(vol.toJSON()[`/by-lib${RUN_RECORD_PATH}`] as string)).toEqual(lib.record);
    expect(lib.written?.written.slice().sort()).toEqual(lib.files.map((f) => f.path).sort());
  });
});

describe('what the hand-made composition got wrong, configure() gets right (issue #12)', () => {
  const names = PciNames.load();

  it.each(fixtureNames())('%s at Xen 3.0.3 (a XenLinux Dom0): no module the reference kernel matched to a device is listed', async (name) => {
    const { fs, root } = loadFixture(name);
    const lib = await configure({ fs, root, xen: '3.0.3' });
    const d = await decide({ fs, root, xen: '3.0.3' });
    // The fixtures have no /lib/modules: the drivers were matched against autoconfig's reference kernel.
    expect(d.drivers.kernel.source).toBe('reference');
    const byHand = plan({ profile: d.profile, drivers: d.drivers.devices, target: d.target, outcome: d.outcome });
    const fromDevices = byHand.dom0.modules.filter((m) => /^(pci|usb) /.test(m.reason)).map((m) => moduleKey(m.name));
    const loaded = modulesLoadNames(lib.files.find((f) => f.path === PATHS.modulesLoad)!.content).map(moduleKey);
    const ruled = lib.plan.dom0.modules.map((m) => m.reason);
    expect(ruled.filter((r) => /^(pci|usb) /.test(r))).toEqual([]);
    expect(loaded.filter((m) => fromDevices.includes(m) && !d.outcome.modules.load.some((l) => moduleKey(l.name) === m))).toEqual([]);
    if (fromDevices.length > 0) expect(lib.plan.warnings.join('\n')).toContain(`No device modules listed: drivers were matched against autoconfig's reference kernel ${d.drivers.kernel.release}`);
  });

  it('the composition by hand did list reference-kernel device modules for most of those machines (what the test above guards)', async () => {
    let listed = 0;
    for (const name of fixtureNames()) {
      const { fs, root } = loadFixture(name);
      const d = await decide({ fs, root, xen: '3.0.3' });
      const byHand = plan({ profile: d.profile, drivers: d.drivers.devices, target: d.target, outcome: d.outcome });
      if (byHand.dom0.modules.some((m) => /^(pci|usb) /.test(m.reason))) listed++;
    }
    expect(listed).toBeGreaterThan(fixtureNames().length / 2);
  });

  it.skipIf(dash === null).each(cases)(`%s at Xen %s: /etc/sysconfig/netcard names the card as pci.ids does (read by dash)${dash ? '' : ' (skipped: dash is not installed; apt-get install dash)'}`, async (name, xen) => {
    const { fs, root } = loadFixture(name);
    const lib = await configure({ fs, root, xen });
    const card = lib.plan.netcards[0];
    const file = lib.files.find((f) => f.path === '/etc/sysconfig/netcard');
    if (card === undefined) {
      // No network card (the T42's log lists none on PCI): nothing to name, and the file names none.
      expect(file?.content ?? '').not.toMatch(/^FULLNAME=/m);
      return;
    }
    const expected = (await names).device(card.device.vendor!, card.device.device!);
    expect(expected, `pci.ids has ${card.device.vendor}:${card.device.device}`).not.toBeNull();
    const path = join(tmp, `${name}-${xen}-netcard`);
    writeFileSync(path, file!.content);
    const sourced = run([dash!, '-c', '. "$1" && printf %s "$FULLNAME"', 'dash', path]);
    expect(sourced.stderr).toBe('');
    expect(sourced.stdout).toBe(expected);
    // By hand, without the names: the ids.
    const d = await decide({ fs, root, xen });
    const byHand = render(plan({ profile: d.profile, drivers: d.drivers.devices, target: d.target, outcome: d.outcome }));
    expect(byHand.find((f) => f.path === '/etc/sysconfig/netcard')!.content).toContain(`${card.device.vendor}:${card.device.device}`);
  });

  it.each(cases)('%s at Xen %s: a --rules path that does not exist: exit 3 and the safe plan from both; decide() alone throws', async (name, xen) => {
    const { fs, root } = loadFixture(name);
    const cli = await runCli(['--dry-run', '--json', '--root', root, '--xen', xen, '--rules', '/no/such/rules'], fs);
    const logged: string[] = [];
    const lib = await configure({ fs, root, xen, rules: ['/no/such/rules'], log: (m) => logged.push(m) });
    expect([cli.code, lib.exitCode]).toEqual([CONFIGURE_EXIT.safePlan, CONFIGURE_EXIT.safePlan]);
    const json = JSON.parse(cli.stdout) as DryJson;
    expect(asJson(lib.plan)).toEqual(json.plan);
    expect(lib.files.map((f) => ({ path: f.path, content: f.content }))).toEqual(json.files);
    expect(lib.fallback).toEqual({ stage: 'planning', reason: expect.stringContaining('/no/such/rules'), file: '/no/such/rules', code: expect.any(String) });
    expect(lib.plan.decisions.every((x) => x.file === null || !x.file.includes('/no/such/'))).toBe(true);
    // The CLI's stderr is the log, with its "autoconfig: ".
    expect(cli.stderr).toBe(logged.map((m) => `autoconfig: ${m}\n`).join(''));
    await expect(decide({ fs, root, xen, rules: ['/no/such/rules'] })).rejects.toThrow('/no/such/rules');
  });
});

describe('configure() writing, loading and refusing', () => {
  it('a real directory as the target: written, then a second run changes nothing; the dry run after it finds every file unchanged', async () => {
    const machine = join(repoRoot, 'fixtures', 'thinkpad-t60', 'root');
    const target = mkdtempSync(join(tmp, 'target-'));
    const first = await configure({ root: machine, target, xen: '4.20', write: true });
    expect(first.exitCode).toBe(CONFIGURE_EXIT.ok);
    for (const f of first.files) expect(readFileSync(join(target, f.path), 'utf8'), f.path).toBe(f.content);
    const second = await configure({ root: machine, target, xen: '4.20', write: true });
    expect(second.written).toMatchObject({ written: [], unchanged: first.files.map((f) => f.path) });
    const dry = await configure({ fs: nodeFsPromises, root: machine, target, xen: '4.20' });
    expect(dry.files.map((f) => f.state)).toEqual(first.files.map(() => 'unchanged'));
    expect(dry.diff).toBe('');
  });

  it('apply: the modules load through the given modprobe, progress is reported, and the record equals the CLI\'s', async () => {
    // A modprobe that fails for blkbk and loads everything else; its argv ends "-- NAME".
    const picky = join(tmp, 'modprobe-picky');
    writeFileSync(picky, '#!/bin/sh\nfor a in "$@"; do name=$a; done\n[ "$name" != blkbk ] || { echo "modprobe: FATAL: Module blkbk not found" >&2; exit 1; }\n');
    chmodSync(picky, 0o755);
    const { fs, root } = loadFixture('xen-dom0');
    await fs.mkdir('/by-cli', { recursive: true });
    await fs.mkdir('/by-lib', { recursive: true });
    const cli = await runCli(['--apply', '--json', '--root', root, '--target', '/by-cli', '--modprobe', picky], fs);
    const events: string[] = [];
    let writtenFirst = false;
    const lib = await configure({
      fs,
      root,
      target: '/by-lib',
      write: true,
      apply: true,
      modprobe: picky,
      onWritten: () => (writtenFirst = events.length === 0),
      onProgress: (e) => events.push(`${e.phase} ${e.index}/${e.total}`),
    });
    expect([cli.code, lib.exitCode]).toEqual([CONFIGURE_EXIT.modules, CONFIGURE_EXIT.modules]);
    expect(writtenFirst).toBe(true);
    const n = lib.plan.dom0.modules.length;
    expect(events).toEqual(Array.from({ length: n }, (_, i) => [`start ${i + 1}/${n}`, `done ${i + 1}/${n}`]).flat());
    expect(lib.loaded!.results.find((r) => r.name === 'blkbk')).toMatchObject({ status: 'failed' });
    const cliRecord = JSON.parse(cli.stdout) as RunRecord;
    // Module times differ between two runs; everything else is the same.
    const strip = (r: RunRecord | null, target: string) => ({ ...(stable(r, target) as object), modules: r!.modules!.map(({ ms: _ms, ...m }) => m) });
    expect(strip(lib.record, '/by-lib')).toEqual(strip(cliRecord, '/by-cli'));
  });

  it('a write that fails: exit 1, the error naming the path, nothing changed, and the record says it (as the CLI\'s)', async () => {
    const { fs, vol, root } = loadFixture('thinkpad-t60');
    await fs.mkdir('/target', { recursive: true });
    await fs.symlink('/elsewhere', '/target/etc');
    const lib = await configure({ fs, root, target: '/target', write: true });
    expect(lib.exitCode).toBe(CONFIGURE_EXIT.error);
    expect(lib.error).toBeInstanceOf(AutoconfigError);
    expect(lib.error!.message).toContain('does not write through symlinks');
    expect(lib.written).toEqual({ written: [], unchanged: [], backups: [], removedTemps: [] });
    expect(lib.record).toMatchObject({ exitCode: 1, failures: [expect.stringMatching(/^writing failed: .*symlink/)] });
    expect(Object.keys(vol.toJSON()).filter((p) => p.startsWith('/target/') && p !== `/target${RUN_RECORD_PATH}`)).toEqual([]);
  });

  it('callbacks that throw (a display gone wrong) stop nothing: the files, the record and the exit code are the same', async () => {
    const { fs, vol, root } = loadFixture('thinkpad-t60');
    await fs.mkdir('/target', { recursive: true });
    const broken = () => {
      throw new Error('display gone');
    };
    // A missing rules path: the safe plan, said through log.
    const r = await configure({ fs, root, target: '/target', write: true, rules: ['/no/such/rules'], log: broken, onWritten: broken });
    expect(r.exitCode).toBe(CONFIGURE_EXIT.safePlan);
    expect(r.recorded).toBe(true);
    for (const f of r.files) expect(vol.toJSON()[`/target${f.path}`], f.path).toBe(f.content);
    expect(JSON.parse(vol.toJSON()[`/target${RUN_RECORD_PATH}`] as string)).toMatchObject({ exitCode: 3, fallback: { stage: 'planning' } });
  });

  it('another run holding the target: E_LOCKED thrown after lockTimeoutMs, nothing written', async () => {
    const { fs, vol, root } = loadFixture('thinkpad-t60');
    await fs.mkdir('/target/var/lib/autoconfig', { recursive: true });
    await fs.writeFile(`/target${LOCK_PATH}`, JSON.stringify(currentHolder('autoconfig --write')));
    const before = JSON.stringify(vol.toJSON());
    await expect(configure({ fs, root, target: '/target', write: true, lockTimeoutMs: 200 })).rejects.toMatchObject({ code: 'E_LOCKED' });
    expect(JSON.stringify(vol.toJSON())).toBe(before);
  });

  // Each refused before anything is read or written, with the option named.
  it.each([
    ['apply without write', { apply: true }, 'E_USAGE', /apply .*write: true/],
    ['moduleTimeoutMs 0', { write: true, moduleTimeoutMs: 0 }, 'E_USAGE', /^moduleTimeoutMs 0: not a whole number from 1 to 120000 ms$/],
    ['moduleTimeoutMs 1.5', { moduleTimeoutMs: 1.5 }, 'E_USAGE', /^moduleTimeoutMs 1\.5:/],
    ['lockTimeoutMs 600001', { write: true, lockTimeoutMs: 600_001 }, 'E_USAGE', /^lockTimeoutMs 600001: not a whole number from 1 to 600000 ms$/],
    ['a relative target', { target: 'target' }, 'E_USAGE', /^target "target": not an absolute path$/],
    ['a relative rules path', { rules: ['rules.d'] }, 'E_USAGE', /^rules "rules.d": not an absolute path$/],
    ['a Xen that is no version', { xen: 'four' }, 'E_USAGE', /four/],
    ['a root that does not exist', { root: '/missing' }, 'E_ROOT', /\/missing/],
  ] as const)('%s: thrown (%s), nothing written', async (_what, options, code, message) => {
    const { fs, vol, root } = loadFixture('thinkpad-t60');
    const before = JSON.stringify(vol.toJSON());
    const watched = recording(fs);
    const error = await configure({ fs: watched.fs, root, ...options }).then(
      (r: ConfigureResult) => r,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(AutoconfigError);
    expect(error).toMatchObject({ code, message: expect.stringMatching(message) });
    expect(watched.calls).toEqual([]);
    expect(JSON.stringify(vol.toJSON())).toBe(before);
  });
});

// The library is below the CLI (issue #12): src/cli is a client of src/configure, never the other way round, and
// nothing else under src/ reaches up into either (src/index.ts, the package's top, re-exports both).
describe('the module graph is one-way', () => {
  const src = join(repoRoot, 'src');
  const imports = readdirSync(src, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts'))
    .flatMap((file) =>
      [...readFileSync(join(src, file), 'utf8').matchAll(/^(?:import|export)\b[^;]*?\bfrom '(\.{1,2}\/[^']+)'/gm)].map((m) => ({
        file,
        to: posix.normalize(posix.join(posix.dirname(file), m[1]!)),
      })),
    );

  it.each([
    ['src/cli', (file: string) => file.startsWith('cli/') || file === 'index.ts'],
    ['src/configure', (file: string) => file.startsWith('cli/') || file.startsWith('configure/') || file === 'index.ts'],
  ] as const)('only the layers above import %s', (dir, above) => {
    const layer = `${dir.slice('src/'.length)}/`;
    expect(imports.filter((i) => i.to.startsWith(layer) && !above(i.file)).map((i) => `${i.file} -> ${i.to}`)).toEqual([]);
    expect(imports.filter((i) => i.file.startsWith(layer)).length).toBeGreaterThan(0);
  });
});

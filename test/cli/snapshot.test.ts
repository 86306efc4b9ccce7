// `autoconfig snapshot --json` over every fixture tree: what was captured (out, root, files, links, manifest), what
// was not and why, each key checked against what is on disk afterwards.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { SnapshotJson } from '../../src/cli/snapshot.ts';
import { LARGE_FILE_CAP } from '../../src/probe/_reader.ts';
import { probe } from '../../src/probe/probe.ts';
import { MANIFEST_NAME } from '../../src/snapshot/snapshot.ts';
import { runCli } from '../_support/cli.ts';
import { fixtureNames, fixturesDir, loadFixture } from '../_support/memfs.ts';
import { documentedKeys } from './_json-docs.ts';

const KEYS = documentedKeys('snapshot');


/** Regular files and symlinks under `dir` of a memfs volume, relative to it. */
function written(sync: ReturnType<typeof loadFixture>['sync'], dir: string) {
  const files: string[] = [];
  const links: Record<string, string> = {};
  const walk = (rel: string) => {
    for (const name of sync.readdirSync(posix.join(dir, rel)).map(String)) {
      const path = rel === '' ? name : `${rel}/${name}`;
      const stats = sync.lstatSync(posix.join(dir, path));
      if (stats.isSymbolicLink()) links[path] = String(sync.readlinkSync(posix.join(dir, path)));
      else if (stats.isDirectory()) walk(path);
      else files.push(path);
    }
  };
  walk('');
  return { files: files.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)), links };
}

describe('autoconfig snapshot --json', () => {
  it.each(fixtureNames())('%s: out, root, every file and link written, the manifest on disk, what was skipped and why', async (name) => {
    const { fs, sync, root } = loadFixture(name);
    const profile = await probe({ fs, root });
    const r = await runCli(['snapshot', '--root', root, '--out', '/out', '--json'], fs);
    expect(r.code).toBe(0);
    const json = JSON.parse(r.stdout) as SnapshotJson;
    expect(Object.keys(json)).toEqual(KEYS);
    expect(json).toMatchObject({ root, out: '/out' });
    const onDisk = written(sync, '/out');
    expect(json.files).toEqual(onDisk.files);
    expect(json.links).toEqual(onDisk.links);
    expect(json.manifest).toEqual(JSON.parse(String(sync.readFileSync(`/out/${MANIFEST_NAME}`, 'utf8'))));
    expect(json.manifest).toMatchObject({ kind: 'snapshot', files: json.files.length - 1, links: Object.keys(json.links).length });
    // A fixture without a CPUID capture has nothing to copy there: the one thing skipped, and said on stderr too.
    const cpuid = existsSync(join(fixturesDir, name, 'root', 'dev', 'cpu', '0', 'cpuid'));
    expect(json.skipped).toEqual(cpuid ? [] : [{ path: '/dev/cpu/0/cpuid', reason: 'not readable' }]);
    expect(r.stderr).toBe(json.manifest.notes.map((n) => `note: ${n}\n`).join(''));
    expect(json.devices).toEqual({ pci: profile.pci.length, usb: profile.usb.length });
    expect(json.diagnostics).toEqual(profile.diagnostics);
  });

  it('a tree whose PCI device link leads outside the hardware sources: each file read there skipped, with why', async () => {
    // The T60's graphics device moved under /home and its sysfs link pointed there (a tampered snapshot tree
    // given as --root): the probe follows the link, the snapshot copies nothing from outside its allowlist.
    const { fs, sync, root } = loadFixture('thinkpad-t60');
    const link = `${root}/sys/bus/pci/devices/0000:00:02.0`;
    sync.mkdirSync(`${root}/home/user`, { recursive: true });
    sync.renameSync(posix.resolve(posix.dirname(link), String(sync.readlinkSync(link))), `${root}/home/user/gpu`);
    sync.unlinkSync(link);
    sync.symlinkSync('../../../../home/user/gpu', link);
    const r = await runCli(['snapshot', '--root', root, '--out', '/out', '--json'], fs);
    expect(r.code).toBe(0);
    const json = JSON.parse(r.stdout) as SnapshotJson;
    expect(r.stderr).toBe(json.manifest.notes.map((n) => `note: ${n}\n`).join(''));
    const outside = json.skipped.filter((s) => s.reason === 'outside the allowlist');
    expect(outside.length).toBeGreaterThan(0);
    for (const s of outside) expect(s.path).toMatch(/^\/home\/user\/gpu(\/|$)/);
    expect(outside.map((s) => s.path)).toContain('/home/user/gpu/vendor');
    expect(json.files.filter((f) => f.startsWith('home/'))).toEqual([]);
    for (const s of outside) expect(json.manifest.notes).toContain(`not captured (outside the allowlist): ${s.path}`);
  });

  it.each([['proc/cpuinfo'], ['sys/class/dmi/id/product_name']])('a tree with %s a FIFO: skipped as not a regular file, nothing copied there', async (rel) => {
    // The T60 on disk with one file the probe reads replaced by a FIFO (a hostile or broken --root).
    const root = mkdtempSync(join(tmpdir(), 'autoconfig-snapshot-fifo-'));
    cpSync(join(fixturesDir, 'thinkpad-t60', 'root'), root, { recursive: true, verbatimSymlinks: true });
    rmSync(join(root, rel));
    execFileSync('mkfifo', [join(root, rel)]);
    const out = join(mkdtempSync(join(tmpdir(), 'autoconfig-snapshot-out-')), 'out');
    const r = await runCli(['snapshot', '--root', root, '--out', out, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const json = JSON.parse(r.stdout) as SnapshotJson;
    expect(json.skipped).toContainEqual({ path: `/${rel}`, reason: 'not a regular file' });
    expect(json.files).not.toContain(rel);
    expect(existsSync(join(out, rel))).toBe(false);
    expect(json.manifest.notes).toContain(`not captured (not a regular file): /${rel}`);
    expect(json.diagnostics).toContainEqual(expect.objectContaining({ code: 'not-regular', path: `/${rel}` }));
  });

  it('a tree whose /proc/cpuinfo is larger than any kernel writes: skipped with the read\'s own reason', async () => {
    // The T60's cpuinfo repeated past the 8 MiB cap every large file is read with (LARGE_FILE_CAP).
    const { fs, sync, root } = loadFixture('thinkpad-t60');
    const cpuinfo = String(sync.readFileSync(`${root}/proc/cpuinfo`, 'utf8'));
    sync.writeFileSync(`${root}/proc/cpuinfo`, cpuinfo.repeat(Math.ceil(LARGE_FILE_CAP / cpuinfo.length) + 1));
    const r = await runCli(['snapshot', '--root', root, '--out', '/out', '--json'], fs);
    expect(r.code, r.stderr).toBe(0);
    const json = JSON.parse(r.stdout) as SnapshotJson;
    expect(json.skipped).toContainEqual({ path: '/proc/cpuinfo', reason: `larger than ${LARGE_FILE_CAP} bytes, not used` });
    expect(json.files).not.toContain('proc/cpuinfo');
  });

  it('text without --json is unchanged: one line with the counts, then how to read it back', async () => {
    const { fs, root } = loadFixture('thinkpad-t60');
    const r = await runCli(['snapshot', '--root', root, '--out', '/out'], fs);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^snapshot of \/machine written to \/out: \d+ files, \d+ symlinks, \d+ PCI and \d+ USB devices\nread it back with: autoconfig probe --root \/out\n$/);
  });
});

// profile.bindingUnknown: which buses' driver binding a tree does not tell, from the import manifest's `absent`; and the
// `probe` listing that says "binding unknown" there instead of "no driver bound".
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TreeFs } from '../../src/corpus/tree-fs.ts';
import { nodeFsPromises } from '../../src/fs.ts';
import { importLogs } from '../../src/import/import.ts';
import { probe } from '../../src/probe/probe.ts';
import { snapshot } from '../../src/snapshot/snapshot.ts';
import { fixturesDir, loadFixture, volume } from '../_support/memfs.ts';
import { runCli } from '../_support/cli.ts';
import { corpusDir, hasCorpus } from '../corpus/_support.ts';

const MANIFEST = 'autoconfig-snapshot.json';

describe('profile.bindingUnknown', () => {
  it.each([
    // lspci -vnnk names the PCI drivers; lsusb -v names none (only -t does).
    ['amd-apu-laptop', ['usb']],
    ['thinkpad-t60', ['usb']],
    ['server-iommu-bmc', ['usb']],
    // /proc/bus/pci/devices has a driver column; no USB log at all: nothing to be unknown.
    ['virtualbox-guest', undefined],
    // Neither bus in the logs.
    ['kvm-guest', undefined],
    // A snapshot of a live system: sysfs tells.
    ['firecracker-vm', undefined],
  ])('fixture %s: %j', async (name, expected) => {
    const { fs, root } = loadFixture(name);
    expect((await probe({ fs, root })).bindingUnknown).toEqual(expected);
  });

  it.skipIf(!hasCorpus).each([
    // lspci -nn and plain lsusb: neither names a driver.
    ['minipc-amd-ryzen7_5700u-proxmox-gh-gammaman88', ['pci', 'usb']],
    // lsusb -t names the USB drivers (its lspci logs lack numeric ids: no PCI devices, nothing unknown).
    ['minipc-qotom-q1900g4-m-gh-manouchehri', undefined],
  ])('corpus %s, imported in memory: %j', async (machine, expected) => {
    const { tree } = await importLogs(join(corpusDir, machine));
    expect((await probe({ fs: new TreeFs(tree, '/m'), root: '/m' })).bindingUnknown).toEqual(expected);
  });

  it('a snapshot of an imported tree keeps it (and does not copy the import\'s manifest)', async () => {
    const { fs, root } = loadFixture('amd-apu-laptop');
    const result = await snapshot({ fs, root, out: '/out', outFs: fs, now: new Date(0) });
    expect(result.manifest.absent).toEqual(['usb.driver']);
    expect(result.skipped.map((s) => s.path)).not.toContain(`/${MANIFEST}`);
    expect((await probe({ fs, root: '/out' })).bindingUnknown).toEqual(['usb']);
  });

  const manifest = readFileSync(join(fixturesDir, 'amd-apu-laptop', 'root', MANIFEST), 'utf8');
  it.each([
    ['cut short', manifest.slice(0, manifest.length / 2), /autoconfig-snapshot\.json: not JSON/],
    ['of another kind', manifest.replace('"kind": "import"', '"kind": "backup"'), /not a snapshot or import manifest/],
    ['absent not a list', manifest.replace(/"absent": \[[^\]]*\]/, '"absent": "usb.driver"'), /"absent" is not a list of strings/],
  ])('a real import manifest %s: a diagnostic naming it, nothing taken from it', async (_what, text, message) => {
    const { fs, vol, root } = loadFixture('amd-apu-laptop');
    vol.writeFileSync(`${root}/${MANIFEST}`, text);
    const profile = await probe({ fs, root });
    expect(profile.bindingUnknown).toBeUndefined();
    const diagnostic = profile.diagnostics.find((d) => d.path === `/${MANIFEST}`);
    expect(diagnostic).toMatchObject({ code: 'malformed' });
    expect(diagnostic!.message).toMatch(message);
  });

  // A FIFO would block a plain read forever: the reader refuses it (real filesystem: memfs has no FIFOs).
  const mkfifo = spawnSync('mkfifo', ['--version']).status === 0;
  it.skipIf(!mkfifo)('a manifest that is a FIFO: a not-regular diagnostic, not a hang', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'autoconfig-binding-'));
    try {
      cpSync(join(fixturesDir, 'amd-apu-laptop', 'root'), dir, { recursive: true, verbatimSymlinks: true });
      rmSync(join(dir, MANIFEST));
      execFileSync('mkfifo', [join(dir, MANIFEST)]);
      const profile = await probe({ fs: nodeFsPromises, root: dir });
      expect(profile.bindingUnknown).toBeUndefined();
      expect(profile.diagnostics).toContainEqual(expect.objectContaining({ code: 'not-regular', path: `/${MANIFEST}` }));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a manifest that is a directory: a diagnostic naming it', async () => {
    const { fs } = volume({ files: { [`${MANIFEST}/x`]: '', 'proc/cpuinfo': 'processor\t: 0\n' } }, '/m');
    const profile = await probe({ fs, root: '/m' });
    expect(profile.diagnostics).toContainEqual(expect.objectContaining({ code: 'malformed', path: `/${MANIFEST}` }));
  });
});

describe('autoconfig probe: "no driver bound" only where that is known', () => {
  it.each(['amd-apu-laptop', 'thinkpad-t60', 'macbookpro5-5'])('%s (lsusb -v): "binding unknown"', async (name) => {
    const { fs, root } = loadFixture(name);
    const r = await runCli(['probe', '--root', root, '--no-names'], fs);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/\nUSB devices \(\d+, bound drivers unknown: the logs do not say\):\n/);
    expect(r.stdout).toMatch(/\t1-0:1\.0 class 09\/00\/00, binding unknown\n/);
    expect(r.stdout).not.toContain('no driver bound');
    // lspci -vnnk named the PCI drivers.
    expect(r.stdout).toMatch(/^PCI devices \(\d+\):\n/);
    expect(r.stdout).toContain('\tKernel driver in use: ');
  });

  it('a snapshot tells the binding: an interface without a driver has none', async () => {
    // The T60's tree as a snapshot would hold it: the same sysfs, a snapshot manifest.
    const { fs, vol, root } = loadFixture('thinkpad-t60');
    vol.writeFileSync(`${root}/${MANIFEST}`, JSON.stringify({ format: 1, kind: 'snapshot', created: '', tool: '', notes: [] }));
    const r = await runCli(['probe', '--root', root, '--no-names'], fs);
    expect(r.stdout).toMatch(/\t1-0:1\.0 class 09\/00\/00, no driver bound\n/);
    expect(r.stdout).not.toContain('binding unknown');
  });

  it.skipIf(!hasCorpus)('corpus machines imported in memory: said where the logs say, unknown where they do not', async () => {
    const listing = async (machine: string) => {
      const { tree } = await importLogs(join(corpusDir, machine));
      const r = await runCli(['probe', '--root', '/m', '--no-names'], new TreeFs(tree, '/m') as never);
      expect(r.code, r.stderr).toBe(0);
      return r.stdout;
    };
    // lsusb -t names the USB drivers: the hub driver on the root hubs. (Its lspci logs lack numeric ids: no PCI.)
    const known = await listing('minipc-qotom-q1900g4-m-gh-manouchehri');
    expect(known).toContain(', driver in use: hub');
    expect(known).not.toMatch(/unknown: the logs do not say|binding unknown/);
    // lspci -nn and plain lsusb: no driver line, and the headers say why.
    const unknown = await listing('minipc-amd-ryzen7_5700u-proxmox-gh-gammaman88');
    expect(unknown).toMatch(/^PCI devices \(\d+, bound drivers unknown: the logs do not say\):\n/);
    expect(unknown).toMatch(/\nUSB devices \(\d+, bound drivers unknown: the logs do not say\):\n/);
    expect(unknown).not.toMatch(/Kernel driver in use|no driver bound/);
  });
});

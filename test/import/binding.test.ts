// unknownBindings(): which buses' driver binding a tree does not tell, from the import manifest's `absent`; and the
// `probe` listing that says "binding unknown" there instead of "no driver bound".
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TreeFs } from '../../src/corpus/tree-fs.ts';
import { nodeFsPromises } from '../../src/fs.ts';
import { unknownBindings } from '../../src/import/binding.ts';
import { importLogs } from '../../src/import/import.ts';
import { fixturesDir, loadFixture, volume } from '../_support/memfs.ts';
import { runCli } from '../_support/cli.ts';
import { corpusDir, hasCorpus } from '../corpus/_support.ts';

const MANIFEST = 'autoconfig-snapshot.json';

describe('unknownBindings', () => {
  it.each([
    // lspci -vnnk names the PCI drivers; lsusb -v names none (only -t does).
    ['amd-apu-laptop', ['usb']],
    ['thinkpad-t60', ['usb']],
    ['server-iommu-bmc', ['usb']],
    // /proc/bus/pci/devices has a driver column; no USB log at all: nothing to be unknown.
    ['virtualbox-guest', []],
    // Neither bus in the logs.
    ['kvm-guest', []],
    // A snapshot of a live system: sysfs tells.
    ['firecracker-vm', []],
  ])('fixture %s: %j', async (name, expected) => {
    const { fs, root } = loadFixture(name);
    expect(await unknownBindings(fs, root)).toEqual(expected);
  });

  it.skipIf(!hasCorpus).each([
    // lspci -nn and plain lsusb: neither names a driver.
    ['minipc-amd-ryzen7_5700u-proxmox-gh-gammaman88', ['pci', 'usb']],
    // lsusb -t names the USB drivers (its lspci logs lack numeric ids: no PCI devices, nothing unknown).
    ['minipc-qotom-q1900g4-m-gh-manouchehri', []],
  ])('corpus %s, imported in memory: %j', async (machine, expected) => {
    const { tree } = await importLogs(join(corpusDir, machine));
    expect(await unknownBindings(new TreeFs(tree, '/m'), '/m')).toEqual(expected);
  });

  const manifest = readFileSync(join(fixturesDir, 'amd-apu-laptop', 'root', MANIFEST), 'utf8');
  it.each([
    ['cut short', manifest.slice(0, manifest.length / 2), 'E_PARSE', /autoconfig-snapshot\.json: not JSON/],
    ['of another kind', manifest.replace('"kind": "import"', '"kind": "backup"'), 'E_PARSE', /not a snapshot or import manifest/],
    ['absent not a list', manifest.replace(/"absent": \[[^\]]*\]/, '"absent": "usb.driver"'), 'E_PARSE', /"absent" is not a list of strings/],
  ])('a real import manifest %s: a coded error naming the file', async (_what, text, code, message) => {
    const { fs, vol, root } = loadFixture('amd-apu-laptop');
    vol.writeFileSync(`${root}/${MANIFEST}`, text);
    const error = await unknownBindings(fs, root).then(() => null, (e: unknown) => e);
    expect(error).toMatchObject({ code, path: `${root}/${MANIFEST}` });
    expect((error as Error).message).toMatch(message);
  });

  // A FIFO would block a plain read forever: the reader refuses it (real filesystem: memfs has no FIFOs).
  const mkfifo = spawnSync('mkfifo', ['--version']).status === 0;
  it.skipIf(!mkfifo)('a manifest that is a FIFO: E_IO naming it, not a hang', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'autoconfig-binding-'));
    try {
      execFileSync('mkfifo', [join(dir, MANIFEST)]);
      await expect(unknownBindings(nodeFsPromises, dir)).rejects.toMatchObject({ code: 'E_IO', path: join(dir, MANIFEST) });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a manifest that is a directory: a coded error naming it', async () => {
    const { fs } = volume({ files: { [`${MANIFEST}/x`]: '' } }, '/m');
    await expect(unknownBindings(fs, '/m')).rejects.toMatchObject({ code: 'E_PARSE', path: `/m/${MANIFEST}` });
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

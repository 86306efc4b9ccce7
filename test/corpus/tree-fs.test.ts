// TreeFs: the in-memory filesystem `corpus` imports published logs into. The proof that it reads like the snapshot
// tree on disk: every fixture made by `autoconfig import` (its sources/), imported in memory and probed through
// TreeFs, gives exactly the profile checked by hand (profile.json), as probing its root/ on disk does.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TreeFs } from '../../src/corpus/tree-fs.ts';
import { importLogs } from '../../src/import/import.ts';
import { probe } from '../../src/probe/probe.ts';
import { fixtureNames, fixturesDir, readExpected, repoRoot } from '../_support/memfs.ts';

const imported = fixtureNames().filter((n) => existsSync(join(fixturesDir, n, 'sources')));

describe('TreeFs over an imported tree', () => {
  it('covers the imported fixtures', () => {
    expect(imported.length).toBeGreaterThanOrEqual(12);
  });

  it.each(imported)('%s: imported in memory and probed through TreeFs = profile.json', async (name) => {
    const { tree } = await importLogs(join(fixturesDir, name, 'sources'));
    const fs = new TreeFs(tree, '/autoconfig-corpus/1');
    const profile = await probe({ fs, root: '/autoconfig-corpus/1', requireMachine: true });
    expect(profile).toEqual(readExpected(name, 'profile.json'));
  });

  it('answers as the kernel would: ENOENT, ENOTDIR, EINVAL on readlink of a file, EISDIR on open of a directory, links followed', async () => {
    const { tree } = await importLogs(join(fixturesDir, 'thinkpad-t60', 'sources'));
    const fs = new TreeFs(tree, '/m');
    const slot = '/m/sys/bus/pci/devices/0000:00:02.0';
    // sysfs's device links are relative links into /sys/devices, as in the tree.
    expect(tree.links['sys/bus/pci/devices/0000:00:02.0']).toMatch(/^\.\.\/\.\.\/\.\.\/devices\//);
    expect((await fs.lstat(slot)).isSymbolicLink()).toBe(true);
    expect((await fs.stat(slot)).isDirectory()).toBe(true);
    expect(await fs.readdir(slot)).toContain('vendor');
    const handle = await fs.open(`${slot}/vendor`, 'r');
    const buffer = new Uint8Array(16);
    const { bytesRead } = await handle.read(buffer, 0, 16, 0);
    expect(Buffer.from(buffer.subarray(0, bytesRead)).toString()).toBe('0x8086\n');
    expect(fs.sync.readlinkSync(slot)).toBe(tree.links['sys/bus/pci/devices/0000:00:02.0']);
    const codes = async (p: Promise<unknown>) => p.then(() => 'ok', (e: { code: string }) => e.code);
    expect(await codes(fs.stat('/m/sys/no-such'))).toBe('ENOENT');
    expect(await codes(fs.readdir(`${slot}/vendor`))).toBe('ENOTDIR');
    expect(await codes(fs.stat(`${slot}/vendor/x`))).toBe('ENOTDIR');
    expect(await codes(fs.readlink(`${slot}/vendor`))).toBe('EINVAL');
    expect(await codes(fs.open(slot, 'r'))).toBe('EISDIR');
  });

  it('a symlink loop is ELOOP, not a hang (a mutated real tree)', async () => {
    const { tree } = await importLogs(join(fixturesDir, 'thinkpad-t60', 'sources'));
    tree.links['sys/bus/pci/devices/0000:00:02.0'] = '0000:00:02.0';
    const fs = new TreeFs(tree, '/m');
    await expect(fs.stat('/m/sys/bus/pci/devices/0000:00:02.0/vendor')).rejects.toMatchObject({ code: 'ELOOP' });
  });

  it('paths outside the mount are the real filesystem (data/, --kernel DIR)', async () => {
    const { tree } = await importLogs(join(fixturesDir, 'thinkpad-t60', 'sources'));
    const fs = new TreeFs(tree, '/m');
    const pciIds = join(repoRoot, 'data', 'pci.ids');
    expect((await fs.stat(pciIds)).size).toBe(readFileSync(pciIds).length);
    expect(fs.sync.readdirSync(join(repoRoot, 'data'))).toContain('pci.ids');
  });
});

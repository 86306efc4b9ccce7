import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { nodeFsPromises } from '../../src/fs.ts';
import { probe } from '../../src/probe/probe.ts';
import { MANIFEST_NAME, snapshot } from '../../src/snapshot/snapshot.ts';
import { fixtureNames, loadFixture } from '../_support/memfs.ts';

const tmp = mkdtempSync(join(tmpdir(), 'autoconfig-snapshot-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('snapshot', () => {
  it.each(fixtureNames())('%s: probe(snapshot(machine)) equals probe(machine)', async (name) => {
    const { fs, vol, root } = loadFixture(name);
    const before = vol.toJSON();
    const direct = await probe({ fs, root });
    const result = await snapshot({ fs, root, out: '/out', outFs: fs, now: new Date(0) });
    expect(result.profile).toEqual(direct);
    expect(await probe({ fs, root: '/out' })).toEqual(direct);
    // The machine itself is left as it was: only /out was written.
    const after = vol.toJSON();
    for (const [path, content] of Object.entries(before)) expect(after[path]).toEqual(content);
    expect(Object.keys(after).filter((p) => !(p in before) && !p.startsWith('/out/'))).toEqual([]);
    const manifest = JSON.parse(after[`/out/${MANIFEST_NAME}`] as string);
    expect(manifest).toMatchObject({ format: 1, kind: 'snapshot', created: '1970-01-01T00:00:00.000Z' });
  });

  it('refuses a non-empty output directory without force, and writes nothing', async () => {
    const name = fixtureNames()[0]!;
    const { fs, vol, root } = loadFixture(name);
    fs.mkdir('/out', { recursive: true });
    await fs.writeFile('/out/keep', 'mine');
    await expect(snapshot({ fs, root, out: '/out', outFs: fs })).rejects.toMatchObject({ code: 'E_NOT_EMPTY' });
    expect(Object.keys(vol.toJSON()).filter((p) => p.startsWith('/out/'))).toEqual(['/out/keep']);
    await snapshot({ fs, root, out: '/out', outFs: fs, force: true });
    expect(vol.toJSON()['/out/keep']).toBe('mine');
  });

  it('copies nothing outside the allowlist, and no serial numbers', async () => {
    const name = fixtureNames()[0]!;
    const { fs, root } = loadFixture(name);
    const result = await snapshot({ fs, root, out: '/out', outFs: fs });
    const paths = [...Object.keys(result.tree.files), ...Object.keys(result.tree.links)];
    for (const path of paths) {
      expect(path).toMatch(/^(sys|proc|dev\/cpu\/0)\/|^autoconfig-snapshot\.json$/);
      expect(path).not.toMatch(/serial|uuid/);
    }
  });

  it.skipIf(!safeExists('/sys/bus/pci/devices'))('live: probe(snapshot(/)) equals probe(/)', async () => {
    const out = join(tmp, 'live');
    const live = await probe();
    const result = await snapshot({ out });
    expect(result.profile).toEqual(live);
    const back = await probe({ root: out });
    // Timing-dependent reads aside (none are recorded), the snapshot reads back to the same profile.
    expect(back).toEqual(result.profile);
    expect(readdirSync(out)).toContain(MANIFEST_NAME);
  });

  it('writes into a real directory through node fs and refuses it the second time', async () => {
    const name = fixtureNames()[0]!;
    const { fs, root } = loadFixture(name);
    const out = join(tmp, 'from-memfs');
    // Source memfs, target disk: the two fs are independent.
    await snapshot({ fs, root, out, outFs: nodeFsPromises });
    await expect(snapshot({ fs, root, out, outFs: nodeFsPromises })).rejects.toMatchObject({ code: 'E_NOT_EMPTY' });
  });
});

function safeExists(path: string): boolean {
  try {
    readdirSync(path);
    return true;
  } catch {
    return false;
  }
}

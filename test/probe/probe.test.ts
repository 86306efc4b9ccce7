import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { probe } from '../../src/probe/probe.ts';
import { fixtureNames, fixturesDir, loadFixture, readExpected, volume } from '../_support/memfs.ts';

describe('probe', () => {
  it('has at least 12 fixture machines', () => {
    expect(fixtureNames().length).toBeGreaterThanOrEqual(12);
  });

  it.each(fixtureNames())('%s: the profile equals the hand-checked expected profile', async (name) => {
    const { fs, root } = loadFixture(name);
    const profile = await probe({ fs, root });
    expect(existsSync(join(fixturesDir, name, 'profile.json'))).toBe(true);
    expect(profile).toEqual(readExpected(name, 'profile.json'));
  });

  it.each(fixtureNames())('%s: the same profile from memfs under /, under a subdirectory, and from disk', async (name) => {
    const atRoot = loadFixture(name, '/');
    const nested = loadFixture(name, '/deep/snap');
    const fromDisk = await probe({ root: join(fixturesDir, name, 'root') });
    const a = await probe({ fs: atRoot.fs, root: '/' });
    const b = await probe({ fs: nested.fs, root: nested.root });
    expect(b).toEqual(a);
    expect(fromDisk).toEqual(a);
  });
});

// A root that is not there, or holds no machine, is the caller's error, not data: an AutoconfigError E_ROOT naming it.
describe('the root', () => {
  it.each([
    ['does not exist', '/missing', /\/missing: no such directory/],
    ['is a file', '/machine/proc/cpuinfo', /\/machine\/proc\/cpuinfo: not a directory/],
    ['is relative', 'machine', /"machine": a relative root/],
  ])('%s: probe() throws E_ROOT with the path', async (_name, root, message) => {
    const { fs } = volume({ files: { 'proc/cpuinfo': 'processor\t: 0\n' } }, '/machine');
    await expect(probe({ fs, root })).rejects.toMatchObject({ name: 'AutoconfigError', code: 'E_ROOT', path: root, message: expect.stringMatching(message) });
  });

  it('a root that exists but holds no machine: an empty profile from probe(), E_ROOT with requireMachine', async () => {
    // An empty directory, and one like an offline system's mount points: /proc and /sys there, empty.
    const trees: Record<string, string | null>[] = [{ 'etc/hostname': 'x\n' }, { proc: null, sys: null }];
    for (const files of trees) {
      const { fs } = volume({ files }, '/machine');
      const profile = await probe({ fs, root: '/machine' });
      expect(profile.pci).toEqual([]);
      await expect(probe({ fs, root: '/machine', requireMachine: true })).rejects.toMatchObject({
        code: 'E_ROOT',
        path: '/machine',
        message: expect.stringMatching(/^\/machine holds no machine: none of \/proc\/cpuinfo, /),
      });
    }
  });

  it.each(fixtureNames())('%s holds a machine (whichever sources its logs gave)', async (name) => {
    const { fs, root } = loadFixture(name);
    await expect(probe({ fs, root, requireMachine: true })).resolves.toEqual(readExpected(name, 'profile.json'));
  });

  it('one unreadable source under an existing root stays a diagnostic', async () => {
    const { fs } = volume({ files: { 'proc/cpuinfo': 'processor\t: 0\n', 'proc/meminfo': 'MemTotal: 1 kB\n' } }, '/machine');
    const failing = { ...fs, open: (path: string, flags: string) => (path.endsWith('/meminfo') ? Promise.reject(Object.assign(new Error('EACCES'), { code: 'EACCES' })) : fs.open(path, flags)) };
    const profile = await probe({ fs: failing as typeof fs, root: '/machine', requireMachine: true });
    expect(profile.diagnostics.map((d) => [d.code, d.path])).toContainEqual(['unreadable', '/proc/meminfo']);
  });
});

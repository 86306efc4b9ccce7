import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { probe } from '../../src/probe/probe.ts';
import { fixtureNames, fixturesDir, loadFixture, readExpected } from '../_support/memfs.ts';

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

import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { WritableFsLike } from '../../src/fs.ts';
import { probe } from '../../src/probe/probe.ts';
import { fixturesDir, readTree, volume } from '../_support/memfs.ts';
import { runCli } from '../_support/cli.ts';

const run = runCli;

describe('autoconfig import', () => {
  it('turns published logs into a tree that probes to the committed fixture profile', async () => {
    // The fixture's own sources, in memfs at /logs: import, then probe the result.
    const { fs } = volume({ files: readTree(join(fixturesDir, 'thinkpad-t60', 'sources')).files ?? {} }, '/logs');
    const r = await run(['import', '/logs', '--out', '/snap'], fs);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('imported /logs into /snap');
    const profile = await probe({ fs, root: '/snap' });
    const gpu = profile.pci.find((d) => d.slot === '0000:00:02.0');
    expect(gpu).toMatchObject({ vendor: '8086', device: '27a2', class: '03', subclass: '00', driver: 'i915' });
    // vmx under kernel 4.9 (its root hubs' iManufacturer), which shows it even when firmware locked VT-x off.
    expect(profile.cpu).toMatchObject({ longMode: false, vt: { technology: 'vmx', state: 'unverified' } });
  });

  it('refuses a non-empty output directory and reports unusable lines with file:line', async () => {
    const { fs } = volume({ files: { 'logs/notes.txt': 'not a log\n', 'snap/keep': 'x' } });
    const refused = await run(['import', '/logs', '--out', '/snap'], fs);
    expect(refused).toMatchObject({ code: 1 });
    expect(refused.stderr).toContain('/snap is not empty');
    const r = await run(['import', '/logs', '--out', '/other'], fs);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/notes\.txt:\d+: /);
  });
});

import { describe, expect, it } from 'vitest';
import type { WritableFsLike } from '../../src/fs.ts';
import type { DriverMatch } from '../../src/modalias/index.ts';
import { loadFixture } from '../_support/memfs.ts';
import { runCli } from '../_support/cli.ts';
import { referenceKernel } from '../_support/shipped-kernels.ts';

const run = runCli;

describe('autoconfig drivers', () => {
  // Real devices of real machines against the shipped reference module data, the newest (Debian 13's 6.12): `drivers`
  // plans for no Xen (the fixtures carry no /lib/modules).
  it.each([
    ['thinkpad-t60', '0000:00:02.0', 'i915', ['i915']],
    ['thinkpad-t60', '0000:00:1b.0', 'snd_hda_intel', ['snd_hda_intel']],
    // Radeon HD 4850 (RV770): radeon's own id and amdgpu's catch-all for AMD display-class devices both match;
    // kmod returns both in modules.order order (choosing between them is rule policy).
    ['desktop-amd-gpu', '0000:01:00.0', null, ['radeon', 'amdgpu']],
  ])('%s %s: bound %s, candidates %j', async (name, slot, bound, candidates) => {
    const { fs, root } = loadFixture(name);
    const r = await run(['drivers', '--root', root, '--json'], fs);
    expect(r.code).toBe(0);
    const devices = JSON.parse(r.stdout) as DriverMatch[];
    const device = devices.find((d) => d.id === slot);
    expect(device).toMatchObject({ bus: 'pci', bound, candidates, chosen: candidates[0] });
    expect(Object.keys(device!).sort()).toEqual(
      ['blacklisted', 'bound', 'builtin', 'bus', 'candidates', 'chosen', 'id', 'modalias', 'paths', 'reason'].sort(),
    );
    expect(r.stderr).toContain(`kernel ${referenceKernel.release} (reference`);
  });

  it('says which kernel it matched against, in the readable listing', async () => {
    const { fs, root } = loadFixture('thinkpad-t60');
    const r = await run(['drivers', '--root', root], fs);
    expect(r.stdout.startsWith(`Kernel ${referenceKernel.release} modules: shipped reference data`)).toBe(true);
    expect(r.stdout).toContain('Kernel driver in use: i915');
    expect(r.stdout).toContain('Would load: i915');
  });

  it('rejects stray arguments', async () => {
    const { fs } = loadFixture('thinkpad-t60');
    expect((await run(['drivers', 'extra'], fs)).code).toBe(2);
  });
});

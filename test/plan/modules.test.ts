// Dom0's modules (src/plan/modules.ts) over real machines: the rules' loads and the devices' drivers, less the
// blacklisted and the skipped classes; a rule's preference; a kernel the Dom0 will not run; passthrough='s devices.
import { describe, expect, it } from 'vitest';
import { moduleKey } from '../../src/modalias/module-name.ts';
import { dom0Modules, foreignKernel, hiddenDevices, preferredDriver, skippedClasses } from '../../src/plan/modules.ts';
import { targetInfo } from '../../src/plan/plan.ts';
import { fixtureNames } from '../_support/memfs.ts';
import { decided } from './_decided.ts';

describe('dom0Modules', () => {
  it.each(fixtureNames().map((f) => [f] as const))("%s at 4.17: the rules' loads first, each module once, none blacklisted", async (fixture) => {
    const { profile, drivers, outcome } = await decided(fixture, '4.17');
    const modules = dom0Modules(profile, drivers.devices, outcome, new Set());
    const keys = modules.map((m) => moduleKey(m.name));
    expect(new Set(keys).size).toBe(keys.length);
    const blacklisted = new Set(outcome.modules.blacklist.map((b) => moduleKey(b.name)));
    expect(keys.filter((k) => blacklisted.has(k))).toEqual([]);
    const loads = outcome.modules.load.map((l) => moduleKey(l.name)).filter((k) => !blacklisted.has(k));
    expect(keys.slice(0, loads.length)).toEqual([...new Set(loads)]);
  });

  it('the NVIDIA laptop at 4.17: nvidia blacklisted by the PV Dom0 rule, nouveau listed', async () => {
    const { profile, drivers, outcome } = await decided('intel-nvidia-laptop', '4.17');
    const all = drivers.devices.map((m) => preferredDriver(m, outcome.modules.prefer));
    const names = dom0Modules(profile, all, outcome, new Set()).map((m) => m.name);
    expect(outcome.modules.blacklist.map((b) => b.name)).toContain('nvidia');
    expect(names).not.toContain('nvidia');
    expect(names).toContain('nouveau');
  });

  it("noaudio (skip.audio) leaves out exactly the drivers of the ProBook's audio functions (classes 0401, 0403)", async () => {
    const plain = await decided('amd-apu-laptop', '4.17');
    const quiet = await decided('amd-apu-laptop', '4.17', 'noaudio');
    const skipped = skippedClasses(quiet.outcome.facts);
    expect([...skipped].sort()).toEqual(['0401', '0403']);
    const audio = new Set(plain.profile.pci.filter((d) => d.class === '04' && (d.subclass === '01' || d.subclass === '03')).map((d) => d.slot));
    const audioDrivers = plain.drivers.devices.filter((m) => audio.has(m.id) && m.chosen !== null).map((m) => m.chosen!);
    expect(audioDrivers.length).toBeGreaterThan(0);
    const before = dom0Modules(plain.profile, plain.drivers.devices, plain.outcome, new Set()).map((m) => m.name);
    const after = dom0Modules(quiet.profile, quiet.drivers.devices, quiet.outcome, skipped).map((m) => m.name);
    expect(before.filter((n) => !after.includes(n)).sort()).toEqual([...new Set(audioDrivers)].sort());
  });
});

describe('preferredDriver', () => {
  it("the Radeon HD 4850 (radeon, amdgpu): a preference for a candidate replaces kmod's first, one for another module does not", async () => {
    const { drivers } = await decided('desktop-amd-gpu', '4.17');
    const gpu = drivers.devices.find((m) => m.id === '0000:01:00.0')!;
    expect(gpu.candidates).toEqual(['radeon', 'amdgpu']);
    const amdgpu = preferredDriver(gpu, [{ name: 'amdgpu', devices: [gpu.id], rule: 'local-amdgpu' }]);
    expect(amdgpu).toMatchObject({ chosen: 'amdgpu', reason: 'preferred by rule local-amdgpu over radeon' });
    expect(preferredDriver(gpu, [{ name: 'nouveau', devices: [gpu.id], rule: 'local-nouveau' }])).toBe(gpu);
    // Another device's preference does not apply.
    expect(preferredDriver(gpu, [{ name: 'amdgpu', devices: ['0000:02:00.0'], rule: 'local-amdgpu' }])).toBe(gpu);
  });
});

describe('foreignKernel', () => {
  it.each(fixtureNames().flatMap((f) => ['3.0.3', '4.17'].map((xen) => [f, xen] as const)))(
    "%s at Xen %s: matched against autoconfig's reference kernel, foreign to a XenLinux Dom0 only",
    async (fixture, xen) => {
      const d = await decided(fixture, xen);
      expect(d.drivers.kernel.source).toBe('reference');
      expect(foreignKernel(targetInfo(d.target), d.drivers.kernel)).toBe(xen === '3.0.3');
    },
  );
});

describe('hiddenDevices', () => {
  it.each([
    ['', { slots: [], rule: null }],
    ['passthrough=01:00.0', { slots: ['0000:01:00.0'], rule: 'cheatcode:passthrough=01:00.0' }],
    ['passthrough=01:00.0,02:00.0', { slots: ['0000:01:00.0', '0000:02:00.0'], rule: 'cheatcode:passthrough=01:00.0,02:00.0' }],
  ] as const)('the ProBook with %j', async (extra, hidden) => {
    const { outcome } = await decided('amd-apu-laptop', '4.17', extra);
    expect(hiddenDevices(outcome.decisions)).toEqual(hidden);
  });
});

import { describe, expect, it } from 'vitest';
import { isAutoconfigError } from '../../src/errors.ts';
import type { Tree } from '../../src/import/tree.ts';
import { writeTree } from '../../src/import/tree.ts';
import { probe } from '../../src/probe/probe.ts';
import { volume } from '../_support/memfs.ts';
import { importMachine } from './_support.ts';

const T60 = 'notebook-lenovo-thinkpad_t60-F815AEE35E';

async function written(tree: Tree) {
  const { fs, vol } = volume({ files: { out: null } });
  await writeTree(tree, '/out', fs);
  return { fs, vol };
}

async function refusal(tree: Tree, setup?: (v: ReturnType<typeof volume>) => void) {
  const v = volume({ files: { out: null, elsewhere: null } });
  setup?.(v);
  const before = JSON.stringify(v.vol.toJSON());
  const error = await writeTree(tree, '/out', v.fs).then(
    () => null,
    (e: unknown) => e,
  );
  // Checked before anything is written: the volume is untouched.
  expect(JSON.stringify(v.vol.toJSON())).toBe(before);
  return isAutoconfigError(error) ? { code: error.code, message: error.message } : error;
}

describe('writeTree', () => {
  it('writes an imported tree that the probes read back as the machine (ThinkPad T60)', async () => {
    const { tree } = await importMachine(T60);
    const { fs } = await written(tree);
    const profile = await probe({ fs, root: '/out' });
    expect(profile.pci.find((d) => d.slot === '0000:00:02.0')).toMatchObject({
      vendor: '8086',
      device: '27a2',
      subvendor: '17aa',
      subdevice: '201a',
      class: '03',
      subclass: '00',
      progIf: '00',
      revision: '03',
      modalias: 'pci:v00008086d000027A2sv000017AAsd0000201Abc03sc00i00',
      driver: 'i915',
    });
    expect(profile.dmi).toMatchObject({ sysVendor: 'LENOVO', productVersion: 'ThinkPad T60', chassisType: '10' });
    expect(profile.cpu).toMatchObject({
      vendor: 'GenuineIntel',
      family: 6,
      model: 14,
      stepping: 8,
      arch: 'i686',
      longMode: false,
    });
    expect(profile.cpu.flags).toContain('vmx');
  });

  it('keeps relative symlinks as they are', async () => {
    const { tree } = await importMachine(T60);
    const { fs } = await written(tree);
    expect(await fs.readlink('/out/sys/devices/pci0000:00/0000:00:02.0/driver')).toBe('../../../bus/pci/drivers/i915');
  });

  it.each([
    [
      'a path with ..',
      { files: { 'sys/../../etc/passwd': 'x' } },
      'file "sys/../../etc/passwd" is not a plain relative path',
    ],
    ['an absolute path', { files: { '/etc/passwd': 'x' } }, 'file "/etc/passwd" is not a plain relative path'],
    ['an empty segment', { dirs: ['sys//bus'] }, 'directory "sys//bus" is not a plain relative path'],
    [
      'a link that climbs out',
      { links: { 'sys/x': '../../../etc' } },
      'link sys/x -> ../../../etc leads outside the tree',
    ],
    ['an absolute link target', { links: { 'sys/x': '/etc' } }, 'link sys/x has target "/etc"'],
    [
      'a file below a link',
      {
        links: { 'sys/bus/pci/devices/0000:00:02.0': '../../../devices/pci0000:00/0000:00:02.0' },
        files: { 'sys/bus/pci/devices/0000:00:02.0/vendor': '0x8086\n' },
      },
      'file sys/bus/pci/devices/0000:00:02.0/vendor would be written through the link sys/bus/pci/devices/0000:00:02.0',
    ],
  ])('refuses %s before writing anything', async (_name, extra, message) => {
    const { tree } = await importMachine(T60);
    const bad: Tree = {
      files: { ...tree.files, ...('files' in extra ? extra.files : {}) },
      links: { ...tree.links, ...('links' in extra ? extra.links : {}) },
      dirs: [...tree.dirs, ...('dirs' in extra ? extra.dirs : [])],
    };
    expect(await refusal(bad)).toEqual({ code: 'E_OUTSIDE_ROOT', message });
  });

  it('refuses to write through a symlink already in the output directory', async () => {
    const { tree } = await importMachine(T60);
    const result = await refusal(tree, ({ sync }) => sync.symlinkSync('/elsewhere', '/out/sys'));
    expect(result).toEqual({ code: 'E_OUTSIDE_ROOT', message: 'sys already exists in /out as a symlink' });
  });
});

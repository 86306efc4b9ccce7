import { describe, expect, it } from 'vitest';
import { Reader } from '../../src/probe/_reader.ts';
import { volume } from '../_support/memfs.ts';

const base = '/snap';
function reader(tree: Parameters<typeof volume>[0], options: { attrCap?: number } = {}) {
  const { fs } = volume(tree, base);
  return new Reader({ fs, root: base, ...options });
}

describe('Reader', () => {
  const tree = {
    files: {
      'sys/devices/pci0000:00/0000:00:02.0/vendor': '0x8086\n',
      'sys/bus/pci/drivers/i915/bind': '',
      'etc/secret': 'inside',
    },
    links: {
      'sys/bus/pci/devices/0000:00:02.0': '../../../devices/pci0000:00/0000:00:02.0',
      'sys/devices/pci0000:00/0000:00:02.0/driver': '../../../bus/pci/drivers/i915',
      'sys/abs': '/etc/secret',
      'sys/escape': '../../../../../../etc/passwd',
      'sys/loop1': 'loop2',
      'sys/loop2': 'loop1',
    },
  };

  it('reads an attribute through relative links', async () => {
    const r = reader(tree);
    expect(await r.attr('/sys/bus/pci/devices/0000:00:02.0/vendor')).toBe('0x8086');
    expect(await r.linkName('/sys/bus/pci/devices/0000:00:02.0/driver')).toBe('i915');
    expect(r.diagnostics).toEqual([]);
  });

  it('anchors absolute link targets at the root', async () => {
    const r = reader(tree);
    expect(await r.attr('/sys/abs')).toBe('inside');
  });

  it.each([
    ['a link that climbs above the root', '/sys/escape', 'outside-root'],
    ['a symlink loop', '/sys/loop1', 'symlink-loop'],
    ['a path that climbs above the root', '/sys/../../etc/passwd', 'outside-root'],
  ])('refuses %s', async (_name, path, code) => {
    const r = reader(tree);
    expect(await r.text(path)).toBeNull();
    expect(r.diagnostics.map((d) => d.code)).toEqual([code]);
    expect(r.diagnostics[0]!.path).toBe(path);
  });

  it('gives null without a diagnostic for a missing optional file, with one when required', async () => {
    const r = reader(tree);
    expect(await r.attr('/sys/nothing')).toBeNull();
    expect(r.diagnostics).toEqual([]);
    expect(await r.attr('/sys/nothing', { required: true })).toBeNull();
    expect(r.diagnostics.map((d) => d.code)).toEqual(['missing']);
  });

  it('caps reads whatever stat says', async () => {
    const big = 'x'.repeat(10 * 1024 * 1024);
    const r = reader({ files: { 'sys/big': big } }, { attrCap: 4096 });
    expect(await r.attr('/sys/big')).toBeNull();
    expect(r.diagnostics.map((d) => d.code)).toEqual(['too-large']);
  });

  it('lists directories sorted and tells absent from present', async () => {
    const r = reader(tree);
    expect(await r.list('/sys/bus/pci/devices')).toEqual(['0000:00:02.0']);
    expect(await r.list('/sys/bus/usb/devices')).toBeNull();
  });

  it('works with root "/" through the fs itself', async () => {
    const { fs } = volume(tree, '/');
    const r = new Reader({ fs, root: '/' });
    expect(await r.attr('/sys/bus/pci/devices/0000:00:02.0/vendor')).toBe('0x8086');
  });
});

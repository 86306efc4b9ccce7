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

describe('Reader on a real tree: what is not a regular file is never opened (issue #11)', async () => {
  const { cpSync, mkdirSync, mkdtempSync, rmSync } = await import('node:fs');
  const { execFileSync } = await import('node:child_process');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { nodeFsPromises } = await import('../../src/fs.ts');
  const { watchedFifo } = await import('../_support/fifo.ts');
  const fixture = join(__dirname, '../../fixtures/thinkpad-t60/root');
  // The node fs as the CLI has it (synchronous reads), and the promise side alone (the async path).
  const { sync: _sync, ...asyncOnly } = nodeFsPromises;
  const filesystems = [
    ['sync', nodeFsPromises],
    ['async', asyncOnly],
  ] as const;
  const isRoot = process.getuid?.() === 0;

  // Machine paths of a real machine's tree, each replaced by a FIFO in turn.
  it.each(
    filesystems.flatMap(([mode, fs]) =>
      ['/proc/cpuinfo', '/sys/class/dmi/id/product_name', '/sys/devices/pci0000:00/0000:00:1b.0/vendor'].map((path) => [mode, path, fs] as const),
    ),
  )('%s: a FIFO at %s is refused with not-regular, at once', async (_mode, path, fs) => {
    const root = mkdtempSync(join(tmpdir(), 'autoconfig-reader-'));
    cpSync(fixture, root, { recursive: true, verbatimSymlinks: true });
    rmSync(join(root, path), { force: true });
    const fifo = watchedFifo(join(root, path));
    try {
      const r = new Reader({ fs, root });
      const t0 = performance.now();
      expect(await r.text(path)).toBeNull();
      expect(performance.now() - t0).toBeLessThan(1000);
      expect(r.diagnostics).toEqual([{ code: 'not-regular', path, message: `${path}: a FIFO, not a regular file; not read` }]);
    } finally {
      fifo.dispose();
      rmSync(root, { recursive: true, force: true });
    }
  });

  it.skipIf(!isRoot).each(filesystems)('%s: a character device where a file is read is refused; pread reads one (needs root for mknod)', async (_mode, fs) => {
    const root = mkdtempSync(join(tmpdir(), 'autoconfig-reader-'));
    try {
      mkdirSync(join(root, 'proc'), { recursive: true });
      mkdirSync(join(root, 'dev/cpu/0'), { recursive: true });
      // /dev/zero's numbers: reading it as a file would never end; as a device it answers at once.
      execFileSync('mknod', [join(root, 'proc/cpuinfo'), 'c', '1', '5']);
      execFileSync('mknod', [join(root, 'dev/cpu/0/cpuid'), 'c', '1', '5']);
      const r = new Reader({ fs, root });
      expect(await r.text('/proc/cpuinfo')).toBeNull();
      expect(r.diagnostics).toEqual([
        { code: 'not-regular', path: '/proc/cpuinfo', message: '/proc/cpuinfo: a character device, not a regular file; not read' },
      ]);
      expect(await r.pread('/dev/cpu/0/cpuid', 0, 16)).toEqual({ data: new Uint8Array(16) });
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it.each(filesystems)('%s: pread refuses a FIFO where a device node is read (not-regular), at once', async (_mode, fs) => {
    const root = mkdtempSync(join(tmpdir(), 'autoconfig-reader-'));
    mkdirSync(join(root, 'dev/cpu/0'), { recursive: true });
    const fifo = watchedFifo(join(root, 'dev/cpu/0/msr'));
    try {
      const r = new Reader({ fs, root, deviceTimeoutMs: 5000 });
      const t0 = performance.now();
      expect(await r.pread('/dev/cpu/0/msr', 0x3a, 8)).toEqual({ data: null, error: 'E_NOT_REGULAR' });
      expect(performance.now() - t0).toBeLessThan(1000);
      expect(r.diagnostics).toEqual([
        { code: 'not-regular', path: '/dev/cpu/0/msr', message: '/dev/cpu/0/msr: a FIFO, not a character device; not read' },
      ]);
    } finally {
      fifo.dispose();
      rmSync(root, { recursive: true, force: true });
    }
  });
});

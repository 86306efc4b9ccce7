import { describe, expect, it } from 'vitest';
import { loadModprobeConfig, moduleConfig, parseModprobeConfig } from '../../src/modalias/modprobe-d.ts';
import { volume } from '../_support/memfs.ts';

describe('modprobe.d parsing (kmod 30)', () => {
  it('records every command, joins continued lines, drops other backslashes, reports bad lines', () => {
    // The first lines are Debian kmod's /lib/modprobe.d/aliases.conf.
    const text = [
      'options snd-pcsp index=-2',
      'softdep uhci-hcd pre: ehci-hcd',
      'alias pci:v00001002d*bc03* amd\\',
      'gpu',
      'blacklist radeon',
      'install e1000e /bin/true',
      'remove e1000e echo bye',
      'softdep cifs gcm',
      '# a comment',
      '  # an indented one is a bad line for kmod',
      'options lonely',
      'alias a[b x',
      'frobnicate x',
    ].join('\n');
    const c = parseModprobeConfig([{ path: '/etc/modprobe.d/x.conf', text }]);
    expect(c.options).toEqual([{ file: '/etc/modprobe.d/x.conf', line: 1, module: 'snd_pcsp', options: 'index=-2' }]);
    expect(c.softdeps.map((s) => [s.module, s.pre, s.post])).toEqual([['uhci_hcd', ['ehci-hcd'], []], ['cifs', [], []]]);
    expect(c.aliases).toEqual([{ file: '/etc/modprobe.d/x.conf', line: 3, pattern: 'pci:v00001002d*bc03*', module: 'amdgpu' }]);
    expect([...c.blacklist.keys()]).toEqual(['radeon']);
    expect(c.install[0]).toMatchObject({ module: 'e1000e', command: '/bin/true' });
    expect(c.remove[0]).toMatchObject({ module: 'e1000e', command: 'echo bye' });
    expect(c.issues.map((i) => i.line)).toEqual([10, 11, 12, 13]);
  });

  it('takes the kernel command line as kmod 30 does', () => {
    const c = parseModprobeConfig([], ['BOOT_IMAGE=/boot/vmlinuz-6.1.0-56-amd64', 'modprobe.blacklist=nouveau,radeon', 'i915.modeset=0', 'quiet']);
    expect([...c.blacklist.keys()]).toEqual(['nouveau', 'radeon']);
    expect(c.options.map((o) => [o.module, o.options])).toEqual([['i915', 'modeset=0']]);
    expect(moduleConfig(c, 'i915').options).toBe('modeset=0');
  });

  it('lets /etc hide the same file name in /lib and reads all names in one order', async () => {
    const { fs } = volume({
      files: {
        '/r/etc/modprobe.d/b.conf': 'blacklist from_etc\n',
        '/r/lib/modprobe.d/b.conf': 'blacklist from_lib\n',
        '/r/lib/modprobe.d/a.conf': 'alias x y\n',
        '/r/run/modprobe.d/c.alias': 'alias z w\n',
        '/r/etc/modprobe.d/.hidden.conf': 'blacklist hidden\n',
        '/r/etc/modprobe.d/notes.txt': 'blacklist notes\n',
      },
    });
    const c = await loadModprobeConfig({ fs, root: '/r', kernelSoftdep: { path: '/k/modules.softdep', text: 'softdep ext4 pre: crypto-crc32c\n' } });
    expect(c.files).toEqual(['/lib/modprobe.d/a.conf', '/etc/modprobe.d/b.conf', '/run/modprobe.d/c.alias', '/k/modules.softdep']);
    expect([...c.blacklist.keys()]).toEqual(['from_etc']);
    expect(moduleConfig(c, 'ext4').softdep?.pre).toEqual(['crypto-crc32c']);
  });
});

describe('loadModprobeConfig on a real directory: what is not a regular file (issue #11)', () => {
  it('a file linked to /dev/null is a silent mask, a FIFO an issue naming it (never opened), the rest read', async () => {
    const { watchedFifo } = await import('../_support/fifo.ts');
    const { mkdtempSync, rmSync, symlinkSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dir = mkdtempSync(join(tmpdir(), 'autoconfig-modprobe-d-'));
    const fifo = watchedFifo(join(dir, 'b-fifo.conf'));
    try {
      symlinkSync('/dev/null', join(dir, 'a-masked.conf'));
      // A line of Debian kmod's /lib/modprobe.d/aliases.conf.
      writeFileSync(join(dir, 'c-real.conf'), 'options snd-pcsp index=-2\n');
      const c = await loadModprobeConfig({ root: '/', dirs: [dir] });
      expect(c.options.map((o) => [o.file, o.module])).toEqual([[join(dir, 'c-real.conf'), 'snd_pcsp']]);
      expect(c.issues).toEqual([
        { file: join(dir, 'b-fifo.conf'), line: null, message: `${join(dir, 'b-fifo.conf')}: a FIFO, not a regular file; not read` },
      ]);
    } finally {
      fifo.dispose();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

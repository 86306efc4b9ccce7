import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { WritableFsLike } from '../../src/fs.ts';
import { loadFixture, repoRoot } from '../_support/memfs.ts';
import { runCli } from '../_support/cli.ts';

const run = runCli;

const tmp = mkdtempSync(join(tmpdir(), 'autoconfig-configure-'));

describe('autoconfig --dry-run', () => {
  it.each([
    ['thinkpad-t60', '3.0.2', ['HVM guests: yes (vmx), unreliable', '64-bit: no', 'UMA graphics: yes (0000:00:02.0)', 'Xen command line: dom0_mem=524288', '+++ b/boot/grub/menu.lst']],
    ['thinkpad-t60', '3.0.3', ['HVM guests: yes (vmx) —', '+++ b/etc/xen/xend-config.sxp']],
    ['desktop-amd-gpu', '4.17', ['HVM guests: yes (vmx)', '64-bit: yes', '+++ b/boot/grub/grub.cfg', '+++ b/etc/xen/xl.conf']],
    ['vt-disabled', '4.17', ['HVM guests: no', 'BIOS']],
    ['thinkpad-t42', '4.17', ['Xen cannot run here: the plain kernel boots by default', 'IOMMU: unknown (no ACPI table list)']],
    ['thinkpad-t60', '4.17', ['; 3072 MiB installed; 20 PCI']],
  ])('%s on Xen %s: verdicts and diffs, and the machine tree is byte-for-byte unchanged', async (name, xen, expected) => {
    const { fs, vol, root } = loadFixture(name);
    const before = JSON.stringify(vol.toJSON());
    const r = await run(['--dry-run', '--root', root, '--xen', xen], fs);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    for (const line of expected) expect(r.stdout).toContain(line);
    expect(JSON.stringify(vol.toJSON())).toBe(before);
  });

  it('prints the stable JSON keys', async () => {
    const { fs, root } = loadFixture('macbookpro5-5');
    const r = await run(['--dry-run', '--json', '--root', root], fs);
    const json = JSON.parse(r.stdout) as Record<string, unknown>;
    for (const key of ['target', 'hvm', 'longMode', 'uma', 'xen', 'dom0', 'grub', 'drivers', 'files', 'decisions', 'warnings']) {
      expect(json).toHaveProperty(key);
    }
    expect(json['hvm']).toMatchObject({ available: true, technology: 'vmx' });
    expect((json['files'] as { path: string }[]).map((f) => f.path)).toContain('/etc/sysconfig/xen');
  });

  it('--rules naming the shipped rules adds nothing (not every id twice, which would be the safe plan)', async () => {
    const { fs, root } = loadFixture('thinkpad-t60');
    const plain = await run(['--dry-run', '--root', root], fs);
    const r = await run(['--dry-run', '--root', root, '--rules', join(repoRoot, 'data', 'rules')], fs);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(plain.stdout);
  });

  it("says how much memory UMA graphics takes where the machine tells (amdgpu's carve-out), in the report and JSON", async () => {
    const { fs, root } = loadFixture('amd-apu-laptop');
    // A carve-out a real APU reported (corpus desktop-asrock-x670e_taichi: 512M), at the Renoir's slot.
    await fs.writeFile(`${root}/sys/devices/pci0000:00/0000:05:00.0/mem_info_vram_total`, `${512 << 20}\n`);
    expect((await run(['--dry-run', '--root', root], fs)).stdout).toContain('UMA graphics: yes (0000:05:00.0), takes 512 MiB of main memory');
    const json = JSON.parse((await run(['--dry-run', '--json', '--root', root], fs)).stdout) as { uma: unknown };
    expect(json.uma).toEqual({ present: true, device: '0000:05:00.0', stolenMiB: 512 });
  });

  it('falls back to the safe plan, says so and exits 3 when deciding fails', async () => {
    const { fs, root } = loadFixture('thinkpad-t60');
    const r = await run(['--dry-run', '--root', root, '--rules', '/no/such/rules'], fs);
    expect(r.code).toBe(3);
    expect(r.stdout).toContain('FAILED: planning failed:');
    expect(r.stdout).toContain('This is the SAFE plan');
  });

  it('falls back to the safe plan when a rule asks for an option no boot loader can carry', async () => {
    const { fs, root } = loadFixture('thinkpad-t60');
    await fs.mkdir('/rules', { recursive: true });
    await fs.writeFile(
      '/rules/90-bad.yaml',
      'rules:\n  - id: bad-option\n    source: test\n    then:\n      - xen: { add: "console=\\x01" }\n',
    );
    const r = await run(['--dry-run', '--root', root, '--rules', '/rules'], fs);
    expect(r.code).toBe(3);
    expect(r.stdout).toContain('FAILED: rendering failed:');
    expect(r.stdout).toContain('This is the SAFE plan');
  });

  it.each([[['--dry-run', '--write']], [['--dry-run', 'extra']], [['--dry-run', '--xen', 'four']]])(
    'refuses %j',
    async (argv) => {
      const { fs } = loadFixture('thinkpad-t60');
      expect((await run(argv, fs)).code).toBe(2);
    },
  );
});

describe('autoconfig --write', () => {
  it('writes inside the target, then a second run changes nothing', async () => {
    const { fs, vol, root } = loadFixture('amd-apu-laptop');
    fs.mkdir('/target', { recursive: true });
    const first = await run(['--write', '--root', root, '--target', '/target'], fs);
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/^wrote \d+ file\(s\) under \/target, 0 unchanged/);
    const after = JSON.stringify(vol.toJSON());
    expect(Object.keys(vol.toJSON()).filter((p) => p.startsWith('/target/')).sort()).toContain('/target/etc/sysconfig/xen');
    const second = await run(['--write', '--root', root, '--target', '/target'], fs);
    expect(second.stdout).toMatch(/^wrote 0 file\(s\) under \/target, \d+ unchanged/);
    expect(JSON.stringify(vol.toJSON())).toBe(after);
    // Nothing outside the target besides what was there.
    expect(Object.keys(vol.toJSON()).every((p) => p.startsWith('/target/') || p.startsWith(root))).toBe(true);
  });
});

describe('autoconfig --apply', () => {
  it('returns within the module time limit when modprobe hangs, and exits 4', async () => {
    const hang = join(tmp, 'modprobe-hang');
    writeFileSync(hang, '#!/bin/sh\nexec sleep 60\n');
    chmodSync(hang, 0o755);
    const { fs, root } = loadFixture('xen-dom0');
    fs.mkdir('/target', { recursive: true });
    const started = Date.now();
    const r = await run(['--apply', '--root', root, '--target', '/target', '--modprobe', hang, '--module-timeout', '300'], fs);
    const elapsed = Date.now() - started;
    expect(r.code).toBe(4);
    expect(r.stdout).toMatch(/timeout +netbk/);
    // 4 backends x (300 ms + 500 ms kill grace) at most, with slack for a loaded machine; a hang would be 60 s each.
    expect(elapsed).toBeLessThan(15_000);
  });
});

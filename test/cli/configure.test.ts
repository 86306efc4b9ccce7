import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { WritableFsLike } from '../../src/fs.ts';
import { loadFixture, repoRoot } from '../_support/memfs.ts';
import { runCli } from '../_support/cli.ts';
import { RUN_RECORD_PATH } from '../../src/emit/run-record.ts';
import { VERSION } from '../../src/version.ts';

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

  it.each([
    ['--dry-run', '/missing', [], /^autoconfig configure: \/missing: no such directory$/m],
    ['--write', '/missing', [], /^autoconfig configure: \/missing: no such directory$/m],
    ['--write', '/empty', ['/empty/home'], /\/empty holds no machine/],
    ['--apply', '/empty', ['/empty/home'], /\/empty holds no machine/],
  ])('%s with a root that is missing or holds no machine: exit 1, the path named, nothing written', async (mode, root, dirs, message) => {
    const { fs, vol } = loadFixture('thinkpad-t60');
    for (const dir of dirs) await fs.mkdir(dir, { recursive: true });
    await fs.mkdir('/t', { recursive: true });
    const before = JSON.stringify(vol.toJSON());
    const r = await run([mode, '--root', root, '--target', '/t', '--modprobe', '/bin/false'], fs);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(message);
    expect(r.stdout).toBe('');
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

  it('shows the serial console of the boot line in one line, also in the safe plan, and no line without one', async () => {
    // firecracker-vm's own boot line has console=ttyS0 (Linux's 9600 8n1).
    const { fs, root } = loadFixture('firecracker-vm');
    const r = await run(['--dry-run', '--root', root, '--xen', '4.17'], fs);
    const line = 'Serial console: ttyS0 at 9600 8n1: Xen com1 and the screen, Dom0 hvc0, GRUB serial unit 0 (cheatcode:console=ttyS0)';
    expect(r.stdout.split('\n').filter((l) => l.startsWith('Serial console:'))).toEqual([line]);
    const safe = await run(['--dry-run', '--root', root, '--xen', '4.17', '--rules', '/no/such/rules'], fs);
    expect(safe.code).toBe(3);
    expect(safe.stdout).toContain(`${line}\n`);
    expect(safe.stdout).toContain('+serial --unit=0 --speed=9600\n');
    const t60 = loadFixture('thinkpad-t60');
    expect((await run(['--dry-run', '--root', t60.root], t60.fs)).stdout).not.toContain('Serial console:');
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
    // The configuration is untouched; only the run record (times) is new.
    const withoutRecord = (json: Record<string, unknown>) =>
      JSON.stringify(Object.fromEntries(Object.entries(json).filter(([p]) => p !== `/target${RUN_RECORD_PATH}`)));
    expect(withoutRecord(vol.toJSON())).toBe(withoutRecord(JSON.parse(after) as Record<string, unknown>));
    // Nothing outside the target besides what was there.
    expect(Object.keys(vol.toJSON()).every((p) => p.startsWith('/target/') || p.startsWith(root))).toBe(true);
  });

  it('removes the stale temporary files a killed --write left in the directories it writes to, and says so', async () => {
    const { fs, vol, root } = loadFixture('amd-apu-laptop');
    await fs.mkdir('/target/etc/sysconfig', { recursive: true });
    await fs.writeFile('/target/etc/sysconfig/.xen.autoconfig-deadbeef.tmp', 'half');
    await fs.writeFile('/target/etc/sysconfig/.xen.autoconfig-old', 'not ours');
    const r = await run(['--write', '--root', root, '--target', '/target'], fs);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^wrote \d+ file\(s\) under \/target, 0 unchanged, removed 1 stale temporary file\(s\)\n/);
    expect(r.stdout).toContain('\n  removed stale /etc/sysconfig/.xen.autoconfig-deadbeef.tmp\n');
    const paths = Object.keys(vol.toJSON());
    expect(paths).not.toContain('/target/etc/sysconfig/.xen.autoconfig-deadbeef.tmp');
    expect(paths).toContain('/target/etc/sysconfig/.xen.autoconfig-old');
  });

  it('leaves a run record with the plan --dry-run --json shows, and ends with a one-line summary', async () => {
    const { fs, vol, root } = loadFixture('thinkpad-t60');
    await fs.mkdir('/target', { recursive: true });
    const dry = JSON.parse((await run(['--dry-run', '--json', '--root', root, '--xen', '3.0.3'], fs)).stdout) as { plan: unknown; files: unknown[] };
    expect(Object.keys(vol.toJSON()).some((p) => p.includes('last-run'))).toBe(false);
    const r = await run(['--write', '--root', root, '--target', '/target', '--xen', '3.0.3'], fs);
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines.at(-1)).toMatch(
      new RegExp(`^autoconfig: wrote ${dry.files.length} of ${dry.files.length} files, exit 0, \\d+\\.\\d s; record /target/var/lib/autoconfig/last-run\\.json$`),
    );
    const text = vol.toJSON()[`/target${RUN_RECORD_PATH}`] as string;
    const record = JSON.parse(text) as Record<string, unknown>;
    expect(Object.keys(record)).toEqual([
      'format', 'version', 'startedAt', 'mode', 'exitCode', 'summary', 'durationsMs', 'failures', 'fallback', 'files', 'modules', 'modulesTimedOut', 'plan',
    ]);
    expect(record).toMatchObject({ format: 1, version: VERSION, mode: 'write', exitCode: 0, summary: lines.at(-1), failures: [], modules: null });
    expect(Date.parse(record['startedAt'] as string)).not.toBeNaN();
    expect(record['durationsMs']).toEqual({
      decide: expect.any(Number),
      render: expect.any(Number),
      write: expect.any(Number),
      apply: null,
      total: expect.any(Number),
    });
    expect((record['files'] as { written: string[] }).written).toContain('/etc/sysconfig/xen');
    expect(record['files']).toMatchObject({ unchanged: [], backups: [], partial: null });
    expect(record['fallback']).toBeNull();
    expect(record['plan']).toEqual(dry.plan);
    // One top-level key per line, as the init script's sed reads them.
    expect(text).toContain('\n  "exitCode": 0,\n');
  });

  it('a record that cannot be written is said on stderr and changes neither the exit code nor the files', async () => {
    const { fs, vol, root } = loadFixture('thinkpad-t60');
    await fs.mkdir('/target/var/lib', { recursive: true });
    await fs.writeFile('/target/var/lib/autoconfig', 'a file where the directory should be');
    const r = await run(['--write', '--root', root, '--target', '/target'], fs);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/^autoconfig: cannot write the run record \/target\/var\/lib\/autoconfig\/last-run\.json: .*\/var\/lib\/autoconfig/m);
    expect(r.stdout.trimEnd().split('\n').at(-1)).toMatch(/, exit 0, [\d.]+ s; no record$/);
    expect(vol.toJSON()['/target/etc/sysconfig/xen']).toBeDefined();
  });

  it('a write that fails is recorded (exit 1, what failed), then reported as the error it is', async () => {
    const { fs, vol, root } = loadFixture('thinkpad-t60');
    await fs.mkdir('/target', { recursive: true });
    await fs.symlink('/elsewhere', '/target/etc');
    const r = await run(['--write', '--root', root, '--target', '/target'], fs);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('does not write through symlinks');
    const record = JSON.parse(vol.toJSON()[`/target${RUN_RECORD_PATH}`] as string) as { exitCode: number; failures: string[] };
    expect(record.exitCode).toBe(1);
    expect(record.failures.at(-1)).toMatch(/^writing failed: .*symlink/);
    expect(r.stdout).toMatch(/autoconfig: wrote 0 of \d+ files, exit 1, /);
  });
});

// A modprobe that fails for blkbk and loads everything else; its argv ends "-- NAME".
const picky = join(tmp, 'modprobe-picky');
writeFileSync(picky, '#!/bin/sh\nfor a in "$@"; do name=$a; done\n[ "$name" != blkbk ] || { echo "modprobe: FATAL: Module blkbk not found" >&2; exit 1; }\n');
chmodSync(picky, 0o755);

describe('autoconfig --apply', () => {
  it('not on a terminal: one plain line per module as it ends, the summary, and the record with each result', async () => {
    const { fs, vol, root } = loadFixture('xen-dom0');
    await fs.mkdir('/target', { recursive: true });
    const r = await run(['--apply', '--root', root, '--target', '/target', '--modprobe', picky], fs, { isTTY: false });
    expect(r.code).toBe(4);
    expect(r.stdout).not.toContain('\r');
    const moduleLines = r.stdout.split('\n').filter((l) => /^autoconfig: (loaded|failed|timeout|skipped) /.test(l));
    expect(moduleLines.length).toBeGreaterThan(1);
    moduleLines.forEach((line, i) => expect(line).toMatch(new RegExp(`\\(${i + 1}/${moduleLines.length}, \\d+ ms\\)`)));
    expect(moduleLines).toContainEqual(expect.stringMatching(/^autoconfig: failed blkbk \(\d+\/\d+, \d+ ms\): modprobe exited with 1$/));
    expect(moduleLines).toContainEqual(expect.stringMatching(/^autoconfig: loaded netbk \(\d+\/\d+, \d+ ms\)$/));
    expect(r.stdout.trimEnd().split('\n').at(-1)).toMatch(
      new RegExp(`^autoconfig: wrote \\d+ of \\d+ files, loaded ${moduleLines.length - 1}/${moduleLines.length} modules \\(1 failed: blkbk\\), exit 4, [\\d.]+ s; record /target/var/lib/autoconfig/last-run\\.json$`),
    );
    const record = JSON.parse(vol.toJSON()[`/target${RUN_RECORD_PATH}`] as string) as {
      mode: string;
      exitCode: number;
      modules: { name: string; status: string; ms: number; detail: string }[];
      durationsMs: { apply: number | null };
    };
    expect(record).toMatchObject({ mode: 'apply', exitCode: 4 });
    expect(record.durationsMs.apply).toEqual(expect.any(Number));
    expect(record.modules).toContainEqual({ name: 'blkbk', status: 'failed', ms: expect.any(Number), detail: 'modprobe exited with 1' });
    expect(record.modules).toHaveLength(moduleLines.length);
  });

  it('on a terminal: hwsetup-style progress redrawn in place with \\r, cleared, then the listing', async () => {
    const { fs, root } = loadFixture('xen-dom0');
    await fs.mkdir('/target', { recursive: true });
    const r = await run(['--apply', '--root', root, '--target', '/target', '--modprobe', picky], fs, { isTTY: true });
    expect(r.code).toBe(4);
    const drawn = [...r.stdout.matchAll(/\r(Loading modules: \[(\d+)\/(\d+)\] ([\w-]+)) */g)];
    expect(drawn.length).toBeGreaterThan(1);
    drawn.forEach((m, i) => expect([Number(m[2]), Number(m[3])]).toEqual([i + 1, drawn.length]));
    expect(drawn.map((m) => m[4])).toContain('blkbk');
    // Cleared: the last \r-drawn text is blanked and the cursor is back at the start of the line.
    const clear = r.stdout.indexOf('\r' + ' '.repeat(drawn.at(-1)![1]!.length) + '\r');
    expect(clear).toBeGreaterThan(r.stdout.lastIndexOf('Loading modules:'));
    expect(r.stdout.slice(clear)).toMatch(/^\r +\rmodprobe \(\d+\/\d+ loaded\):\n/);
    expect(r.stdout).toMatch(/ {2}failed +blkbk: modprobe exited with 1/);
    expect(r.stdout).not.toMatch(/^autoconfig: loaded /m);
  });

  it("xen-acpi-processor's ENODEV where there is no ACPI processor data (QEMU) is not-applicable: exit 0, listed so", async () => {
    // modprobe as under QEMU: xen_acpi_processor finds no ACPI processor data Xen can use; everything else loads.
    const nodev = join(tmp, 'modprobe-nodev');
    writeFileSync(
      nodev,
      '#!/bin/sh\nfor a in "$@"; do name=$a; done\n[ "$name" != xen-acpi-processor ] || ' +
        '{ echo "modprobe: ERROR: could not insert \'xen_acpi_processor\': No such device" >&2; exit 1; }\n',
    );
    chmodSync(nodev, 0o755);
    const { fs, vol, root } = loadFixture('xen-dom0');
    await fs.mkdir('/target', { recursive: true });
    const r = await run(['--apply', '--xen', '4.17', '--root', root, '--target', '/target', '--modprobe', nodev], fs, { isTTY: false });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^autoconfig: not-applicable xen-acpi-processor \(\d+\/\d+, \d+ ms\): not applicable: No such device/m);
    expect(r.stdout.trimEnd().split('\n').at(-1)).toMatch(/ \(1 not applicable: xen-acpi-processor\), exit 0, /);
    const record = JSON.parse(vol.toJSON()[`/target${RUN_RECORD_PATH}`] as string) as { exitCode: number; modules: { name: string; status: string }[] };
    expect(record.exitCode).toBe(0);
    expect(record.modules).toContainEqual(expect.objectContaining({ name: 'xen-acpi-processor', status: 'not-applicable' }));
    // On a terminal, the listing says it too.
    const tty = await run(['--apply', '--xen', '4.17', '--root', root, '--target', '/target', '--modprobe', nodev], fs, { isTTY: true });
    expect(tty.code).toBe(0);
    expect(tty.stdout).toMatch(/ {2}not-applicable xen-acpi-processor: not applicable: No such device/);
  });

  it.each(['abc', '-1', '0', '', 'Infinity', '0x10', '1e3', '120001'])(
    '--module-timeout %j: a usage error (exit 2) naming the option and value, before anything is written',
    async (value) => {
      const { fs, vol, root } = loadFixture('xen-dom0');
      await fs.mkdir('/target', { recursive: true });
      const before = JSON.stringify(vol.toJSON());
      const r = await run(['--apply', '--root', root, '--target', '/target', '--modprobe', '/bin/false', '--module-timeout', value], fs);
      expect(r.code).toBe(2);
      expect(r.stderr).toBe(
        `autoconfig configure: --module-timeout ${JSON.stringify(value)}: not a whole number from 1 to 120000 ms (plain decimal digits)\n`,
      );
      expect(r.stdout).toBe('');
      expect(JSON.stringify(vol.toJSON())).toBe(before);
    },
  );

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

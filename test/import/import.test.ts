import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { importLogs } from '../../src/import/import.ts';
import { writeTree } from '../../src/import/tree.ts';
import { probe } from '../../src/probe/probe.ts';
import packageJson from '../../package.json' with { type: 'json' };
import { volume } from '../_support/memfs.ts';
import { NOW, corpusDir, corpusFile, dataDir, dataFile, importFiles, importMachine, pciSlots } from './_support.ts';

const T60 = 'notebook-lenovo-thinkpad_t60-F815AEE35E';
const t60Files = () => ({
  'lspci.excerpt.txt': dataFile(T60, 'lspci.excerpt.txt'),
  'lscpu.txt': dataFile(T60, 'lscpu.txt'),
  'dmidecode.txt': dataFile(T60, 'dmidecode.txt'),
});
// drivers/usb/core/sysfs.c modalias_show() of an interface.
const USB_MODALIAS = new RegExp(
  '^usb:v[0-9A-F]{4}p[0-9A-F]{4}d[0-9A-F]{4}dc[0-9A-F]{2}dsc[0-9A-F]{2}dp[0-9A-F]{2}' +
    'ic[0-9A-F]{2}isc[0-9A-F]{2}ip[0-9A-F]{2}in[0-9A-F]{2}\n$',
);
const withoutManifest = (files: Record<string, string>) =>
  Object.fromEntries(Object.entries(files).filter(([p]) => p !== 'autoconfig-snapshot.json'));

describe('importLogs: the manifest', () => {
  it('says where everything came from and what no log said (ThinkPad T60)', async () => {
    const result = await importMachine(T60);
    expect(result.manifest).toEqual({
      format: 1,
      kind: 'import',
      created: NOW.toISOString(),
      tool: `xenoppix-autoconfig ${packageJson.version}`,
      sources: [
        { file: 'dmidecode.txt', format: 'dmidecode', used: ['dmi', 'memory.installed'] },
        { file: 'lscpu.txt', format: 'lscpu', used: ['cpu.arch', 'cpu', 'cpu.flags', 'cpu.topology'] },
        {
          file: 'lspci.excerpt.txt',
          format: 'lspci -vnnk',
          used: ['pci.ids', 'pci.class', 'pci.subsystem', 'pci.revision', 'pci.driver'],
        },
      ],
      absent: [
        ...['pci.subsystem', 'pci.modalias', 'pci.boot_vga', 'pci.resources', 'pci.iommu_group', 'usb'],
        ...['cpu.cpuid', 'cpu.msr', 'memory', 'kernel.osrelease', 'kernel.cmdline'],
        ...['firmware.acpi', 'firmware.efi', 'firmware.efi_bits', 'firmware.iommu', 'xen'],
      ],
      notes: [
        'dmidecode.txt: installed memory 3072 MiB in 1 memory array mapped ranges (type 19), not MemTotal',
        'lscpu.txt: /proc/cpuinfo synthesized from lscpu (2 CPUs = 1 sockets x 2 cores x 1 threads; which CPU is ' +
          'which core of which package is synthesized, only the counts come from the log)',
        'pci.subsystem: unknown for 5 of 20 devices (lspci hides subsystem 0000 and ffff alike)',
        'pci.modalias: unknown for 5 of 20 devices (needs ids, subsystem and the full class)',
      ],
    });
    expect(result.issues).toEqual([]);
    expect(JSON.parse(result.tree.files['autoconfig-snapshot.json']!)).toEqual(result.manifest);
  });

  it('refuses a log directory it cannot read', async () => {
    const error = await importLogs('/nowhere', { fs: volume().fs }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'E_IO', message: 'cannot read the log directory /nowhere: ENOENT' });
  });

  it('gives an empty directory an empty tree, absent everything', async () => {
    const result = await importFiles({});
    expect(result.tree).toEqual({ files: { 'autoconfig-snapshot.json': expect.any(String) }, links: {}, dirs: [] });
    expect(result.manifest.sources).toEqual([]);
    expect(result.manifest.notes).toEqual(['/logs: no files to import']);
    expect(result.manifest.absent).toEqual(
      expect.arrayContaining(['pci', 'usb', 'cpu', 'memory', 'dmi', 'kernel.osrelease', 'firmware.acpi', 'xen']),
    );
    expect(result.issues).toEqual([]);
  });
});

describe('importLogs: recognizing files by content', () => {
  it('does not care what the files are called', async () => {
    const named = await importFiles(t60Files());
    const files = t60Files();
    const anonymous = await importFiles({
      a: files['dmidecode.txt'],
      b: files['lscpu.txt'],
      c: files['lspci.excerpt.txt'],
    });
    expect(withoutManifest(anonymous.tree.files)).toEqual(withoutManifest(named.tree.files));
    expect(anonymous.tree.links).toEqual(named.tree.links);
    expect(anonymous.manifest.sources.map((s) => s.format)).toEqual(['dmidecode', 'lscpu', 'lspci -vnnk']);
  });

  it('reads subdirectories and does not follow symlinks out of the log directory', async () => {
    const files = t60Files();
    const { fs } = volume({
      files: {
        'logs/pci/lspci.txt': files['lspci.excerpt.txt'],
        'etc/cpuinfo': dataFile('notebook-dell-latitude_e4310-ul', 'proc__cpuinfo'),
      },
      links: { 'logs/cpuinfo': '../etc/cpuinfo' },
    });
    const result = await importLogs('/logs', { fs, now: NOW });
    expect(result.manifest.sources.map((s) => s.file)).toEqual(['pci/lspci.txt']);
    expect(result.manifest.notes).toContain('cpuinfo: symlink, not followed');
    expect(result.tree.files['proc/cpuinfo']).toBeUndefined();
    expect(pciSlots(result)).toHaveLength(20);
  });

  it('skips binary data with an issue (a gzip of a real log)', async () => {
    const result = await importFiles({ 'lspci.gz': gzipSync(t60Files()['lspci.excerpt.txt']), ...t60Files() });
    expect(result.issues).toEqual([{ file: 'lspci.gz', line: 0, message: 'binary data, not a text log; skipped' }]);
    expect(result.manifest.sources.find((s) => s.file === 'lspci.gz')).toEqual({
      file: 'lspci.gz',
      format: 'binary',
      used: [],
    });
    expect(pciSlots(result)).toHaveLength(20);
  });

  it('reports a text file that is no log it knows', async () => {
    const result = await importFiles({ 'README.md': readFileSync(join(dataDir, 'SOURCES.md'), 'utf8') });
    expect(result.issues).toEqual([
      { file: 'README.md', line: 0, message: 'not a log format this importer reads; skipped' },
    ]);
    expect(result.manifest.sources).toEqual([{ file: 'README.md', format: 'unknown', used: [] }]);
  });

  it('reads logs copied from a web page, whose spaces became no-break spaces (shared corpus, in place)', async () => {
    const result = await importFiles({ 'lspci.txt': corpusFile('notebook-dell-inspiron_3442-gh-leegb', 'lspci.txt') });
    expect(result.manifest.notes).toContain('lspci.txt: no-break spaces read as spaces');
    expect(result.manifest.sources[0]!.format).toBe('lspci -vnn');
    expect(pciSlots(result)).toHaveLength(15);
  });
});

describe('importLogs over the whole shared corpus (read in place)', () => {
  const machines = existsSync(corpusDir)
    ? readdirSync(corpusDir, { withFileTypes: true })
        .filter((d) => d.isDirectory() && !d.name.startsWith('_'))
        .map((d) => d.name)
    : [];

  it('finds the corpus', () => {
    expect(machines.length).toBeGreaterThan(100);
  });

  it.each(machines)('%s: writes a tree the probes read without a malformed value', async (machine) => {
    const result = await importLogs(join(corpusDir, machine), { now: NOW });
    const { fs } = volume({ files: { out: null } });
    await writeTree(result.tree, '/out', fs);
    const profile = await probe({ fs, root: '/out', deviceTimeoutMs: 100 });
    const bad = profile.diagnostics.filter((d) => d.code !== 'missing');
    expect(bad).toEqual([]);
    for (const [path, content] of Object.entries(result.tree.files)) {
      if (path.endsWith('/modalias') && path.startsWith('sys/devices/pci'))
        expect(content).toMatch(
          /^pci:v[0-9A-F]{8}d[0-9A-F]{8}sv[0-9A-F]{8}sd[0-9A-F]{8}bc[0-9A-F]{2}sc[0-9A-F]{2}i[0-9A-F]{2}\n$/,
        );
      if (path.endsWith('/modalias') && path.startsWith('sys/devices/usb')) expect(content).toMatch(USB_MODALIAS);
    }
    expect(profile.pci.length).toBe(pciSlots(result).length);
  });
});

import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { nodeFsPromises } from '../../src/fs.ts';
import { probe } from '../../src/probe/probe.ts';
import { MANIFEST_NAME, snapshot } from '../../src/snapshot/snapshot.ts';
import { fixtureNames, loadFixture } from '../_support/memfs.ts';
import { dataFile } from '../probe/_corpus.ts';
import { qemuDom0Tree, SMBIOS_KIB, TYPE19_RAW, TYPE4_RAW } from '../_support/qemu-xen.ts';
import { volume } from '../_support/memfs.ts';

const tmp = mkdtempSync(join(tmpdir(), 'autoconfig-snapshot-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('snapshot', () => {
  it.each(fixtureNames())('%s: probe(snapshot(machine)) equals probe(machine)', async (name) => {
    const { fs, vol, root } = loadFixture(name);
    const before = vol.toJSON();
    const direct = await probe({ fs, root });
    const result = await snapshot({ fs, root, out: '/out', outFs: fs, now: new Date(0) });
    expect(result.profile).toEqual(direct);
    expect(await probe({ fs, root: '/out' })).toEqual(direct);
    // The machine itself is left as it was: only /out was written.
    const after = vol.toJSON();
    for (const [path, content] of Object.entries(before)) expect(after[path]).toEqual(content);
    expect(Object.keys(after).filter((p) => !(p in before) && !p.startsWith('/out/'))).toEqual([]);
    const manifest = JSON.parse(after[`/out/${MANIFEST_NAME}`] as string);
    expect(manifest).toMatchObject({ format: 1, kind: 'snapshot', created: '1970-01-01T00:00:00.000Z' });
  });

  it('captures /proc/iomem and amdgpu mem_info_vram_total, and reads them back to the same graphics memory', async () => {
    const { fs, root } = loadFixture('amd-apu-laptop');
    // This machine's /proc/iomem with the region i915 requests (r_show() format, the Legion Y520's range), and a
    // carve-out a real APU reported (the Raphael of corpus desktop-asrock-x670e_taichi: 512M) at the Renoir's slot.
    const iomem = `${dataFile('this-machine-firecracker-kvm', 'proc__iomem')}  7e000000-7fffffff : Graphics Stolen Memory\n`;
    await fs.writeFile(`${root}/proc/iomem`, iomem);
    await fs.writeFile(`${root}/sys/devices/pci0000:00/0000:05:00.0/mem_info_vram_total`, `${512 << 20}\n`);
    const direct = await probe({ fs, root });
    expect(direct.graphicsMemory).toEqual({
      stolen: { start: '7e000000', end: '7fffffff', bytes: 32 << 20 },
      vram: [{ slot: '0000:05:00.0', bytes: 512 << 20 }],
    });
    const result = await snapshot({ fs, root, out: '/out', outFs: fs });
    expect(result.tree.files['proc/iomem']).toBe(iomem);
    expect(result.tree.files['sys/devices/pci0000:00/0000:05:00.0/mem_info_vram_total']).toBe(`${512 << 20}\n`);
    expect(await probe({ fs, root: '/out' })).toEqual(direct);
  });

  it('keeps /sys/firmware of a BIOS machine without ACPI tables: the copy still tells BIOS, not unknown', async () => {
    const { fs, vol, root } = loadFixture('thinkpad-t60');
    // The T60 as a machine whose kernel shows no ACPI tables: /sys/firmware stays, empty of efi/ and acpi/.
    for (const path of Object.keys(vol.toJSON())) if (path.startsWith(`${root}/sys/firmware/`)) vol.unlinkSync(path);
    vol.rmSync(`${root}/sys/firmware`, { recursive: true, force: true });
    vol.mkdirSync(`${root}/sys/firmware`, { recursive: true });
    const direct = await probe({ fs, root });
    expect(direct.firmware.efi).toBe(false);
    await snapshot({ fs, root, out: '/out', outFs: fs });
    expect((await probe({ fs, root: '/out' })).firmware.efi).toBe(false);
  });

  it('refuses a non-empty output directory without force, and writes nothing', async () => {
    const name = fixtureNames()[0]!;
    const { fs, vol, root } = loadFixture(name);
    fs.mkdir('/out', { recursive: true });
    await fs.writeFile('/out/keep', 'mine');
    await expect(snapshot({ fs, root, out: '/out', outFs: fs })).rejects.toMatchObject({ code: 'E_NOT_EMPTY' });
    expect(Object.keys(vol.toJSON()).filter((p) => p.startsWith('/out/'))).toEqual(['/out/keep']);
    await snapshot({ fs, root, out: '/out', outFs: fs, force: true });
    expect(vol.toJSON()['/out/keep']).toBe('mine');
  });

  it('copies the SMBIOS type 19 structures byte for byte, type 4 without strings, and no other (type 17 holds serials)', async () => {
    const tree = qemuDom0Tree();
    // A Memory Device (type 17) beside them, whose strings would hold a serial number; and the directory's other files.
    tree.files!['sys/firmware/dmi/entries/17-0/raw'] = new Uint8Array([0x11, 0x28, 0, 0x11, 0xff, 0xfe]);
    tree.files!['sys/firmware/dmi/entries/19-0/type'] = '19\n';
    const { fs, sync } = volume(tree, '/machine');
    const direct = await probe({ fs, root: '/machine' });
    expect(direct.memory).toEqual({ totalKiB: 1938596, installedKiB: SMBIOS_KIB });
    const result = await snapshot({ fs, root: '/machine', out: '/out', outFs: fs });
    const dmi = Object.keys(result.tree.files).filter((p) => p.startsWith('sys/firmware/dmi/')).sort();
    expect(dmi).toEqual(['sys/firmware/dmi/entries/19-0/raw', 'sys/firmware/dmi/entries/19-1/raw', 'sys/firmware/dmi/entries/4-0/raw']);
    expect(result.tree.files['sys/firmware/dmi/entries/19-0/raw']).toEqual(TYPE19_RAW['19-0']);
    expect(new Uint8Array(sync.readFileSync('/out/sys/firmware/dmi/entries/19-1/raw') as Buffer)).toEqual(TYPE19_RAW['19-1']);
    expect(await probe({ fs, root: '/out' })).toEqual(direct);
  });

  it("a Dom0's SMBIOS type 4 without its strings (no serial number), and Xen's PCPU list: read back to the same counts", async () => {
    const tree = qemuDom0Tree();
    // QEMU's type 4 with its Serial Number, Asset Tag and Part Number strings set (string numbers 4-6 at 20h-22h).
    const formatted = TYPE4_RAW.slice(0, TYPE4_RAW[1]!);
    formatted.set([4, 5, 6], 0x20);
    const strings = 'CPU 0\0QEMU\0pc-q35-7.2\0SN-4711-0815\0ASSET-42\0PART-99\0\0';
    tree.files!['sys/firmware/dmi/entries/4-0/raw'] = Buffer.concat([formatted, Buffer.from(strings, 'latin1')]);
    const { fs, sync } = volume(tree, '/machine');
    const direct = await probe({ fs, root: '/machine' });
    expect(direct.cpu).toMatchObject({ logicalCpus: 2, cores: 2, packages: 1 });
    const result = await snapshot({ fs, root: '/machine', out: '/out', outFs: fs });
    const kept = new Uint8Array(sync.readFileSync('/out/sys/firmware/dmi/entries/4-0/raw') as Buffer);
    // The formatted area, then the two NULs of an empty string set: the string numbers stay, the strings do not.
    expect(kept).toEqual(new Uint8Array([...formatted, 0, 0]));
    const everything = Object.values(result.tree.files).map((c) => Buffer.from(c).toString('latin1')).join('\n');
    for (const secret of ['SN-4711-0815', 'ASSET-42', 'PART-99', 'QEMU\0', 'CPU 0']) expect(everything).not.toContain(secret);
    // Xen's PCPUs: the xen_cpuN directories and their online files.
    expect(Object.keys(result.tree.files).filter((p) => p.startsWith('sys/devices/system/xen_cpu/')).sort()).toEqual([
      'sys/devices/system/xen_cpu/uevent',
      'sys/devices/system/xen_cpu/xen_cpu0/online',
      'sys/devices/system/xen_cpu/xen_cpu1/online',
    ]);
    expect(result.tree.files['sys/devices/system/xen_cpu/xen_cpu1/online']).toBe('1\n');
    expect(await probe({ fs, root: '/out' })).toEqual(direct);
  });

  it.each<[string, Uint8Array, Uint8Array]>([
    ['a structure without strings (type 19): byte for byte', TYPE19_RAW['19-0'], TYPE19_RAW['19-0']],
    ['its length byte beyond the file: nothing', new Uint8Array([4, 0x2a, 0, 4, 0x41]), new Uint8Array(0)],
    ['its length byte below the header: nothing', new Uint8Array([4, 2, 0x53, 0x4e, 0, 0]), new Uint8Array(0)],
  ])('SMBIOS raw files are cut to their formatted area: %s', async (_name, raw, kept) => {
    const tree = qemuDom0Tree();
    tree.files!['sys/firmware/dmi/entries/4-0/raw'] = raw;
    const { fs, sync } = volume(tree, '/machine');
    await snapshot({ fs, root: '/machine', out: '/out', outFs: fs });
    expect(new Uint8Array(sync.readFileSync('/out/sys/firmware/dmi/entries/4-0/raw') as Buffer)).toEqual(kept);
  });

  it('copies nothing outside the allowlist, and no serial numbers', async () => {
    const name = fixtureNames()[0]!;
    const { fs, root } = loadFixture(name);
    const result = await snapshot({ fs, root, out: '/out', outFs: fs });
    const paths = [...Object.keys(result.tree.files), ...Object.keys(result.tree.links)];
    for (const path of paths) {
      expect(path).toMatch(/^(sys|proc|dev\/cpu\/0)\/|^autoconfig-snapshot\.json$/);
      expect(path).not.toMatch(/serial|uuid/);
    }
  });

  it.skipIf(!safeExists('/sys/bus/pci/devices'))('live: probe(snapshot(/)) equals probe(/)', async () => {
    const out = join(tmp, 'live');
    const live = await probe();
    const result = await snapshot({ out });
    expect(result.profile).toEqual(live);
    const back = await probe({ root: out });
    // Timing-dependent reads aside (none are recorded), the snapshot reads back to the same profile.
    expect(back).toEqual(result.profile);
    expect(readdirSync(out)).toContain(MANIFEST_NAME);
  });

  it('writes into a real directory through node fs and refuses it the second time', async () => {
    const name = fixtureNames()[0]!;
    const { fs, root } = loadFixture(name);
    const out = join(tmp, 'from-memfs');
    // Source memfs, target disk: the two fs are independent.
    await snapshot({ fs, root, out, outFs: nodeFsPromises });
    await expect(snapshot({ fs, root, out, outFs: nodeFsPromises })).rejects.toMatchObject({ code: 'E_NOT_EMPTY' });
  });
});

function safeExists(path: string): boolean {
  try {
    readdirSync(path);
    return true;
  } catch {
    return false;
  }
}

describe('snapshot --root with a FIFO where a file is read (issue #11)', () => {
  it.each([['/proc/cpuinfo'], ['/sys/class/dmi/id/product_name']])('%s: not-regular in the profile, not copied, at once', async (path) => {
    const { cpSync, existsSync, readFileSync } = await import('node:fs');
    const { watchedFifo } = await import('../_support/fifo.ts');
    const root = mkdtempSync(join(tmpdir(), 'autoconfig-snap-root-'));
    cpSync(join(__dirname, '../../fixtures/thinkpad-t60/root'), root, { recursive: true, verbatimSymlinks: true });
    rmSync(join(root, path));
    const fifo = watchedFifo(join(root, path));
    const out = join(mkdtempSync(join(tmpdir(), 'autoconfig-snap-out-')), 'out');
    try {
      const t0 = performance.now();
      const result = await snapshot({ root, out });
      // The diagnostic tells a refused FIFO from one opened (the watchdog would let that open return, empty).
      expect(performance.now() - t0).toBeLessThan(20_000);
      expect(result.profile.diagnostics).toContainEqual({ code: 'not-regular', path, message: `${path}: a FIFO, not a regular file; not read` });
      // The copy holds no FIFO: a later --root on it cannot block either.
      expect(existsSync(join(out, path)) ? readFileSync(join(out, path), 'utf8') : '').toBe('');
    } finally {
      fifo.dispose();
      rmSync(root, { recursive: true, force: true });
      rmSync(dirname(out), { recursive: true, force: true });
    }
  });
});

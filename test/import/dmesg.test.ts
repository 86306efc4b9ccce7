import { describe, expect, it } from 'vitest';
import { parseDmesg } from '../../src/import/dmesg.ts';
import { corpusFile, dataFile, importFiles, importMachine, pciDevice, probeImport, usbEntry, usbNames } from './_support.ts';

const LEGION = 'notebook-lenovo-legion_y520-15ikbn-gh-sergeyklay';
const Z510 = 'notebook-lenovo-ideapad_z510-gh-xakrume';
const legion = () => parseDmesg(dataFile(LEGION, 'dmesg'), 'dmesg');
const tables = (files: Record<string, string>) =>
  Object.keys(files)
    .filter((p) => p.startsWith('sys/firmware/acpi/tables/'))
    .map((p) => p.slice('sys/firmware/acpi/tables/'.length));

describe('dmesg: kernel, firmware', () => {
  it('gives the release, the command line and the EFI boot of the Legion Y520 (kernel 6.19)', () => {
    const parsed = legion();
    expect(parsed.files['proc/sys/kernel/osrelease']).toBe('6.19.4-gentoo\n');
    expect(parsed.files['proc/cmdline']).toBe(
      'BOOT_IMAGE=/boot/kernel-6.19.4-gentoo root=UUID=2ae9dfd2-1cc4-4a3e-bcc1-7a0e9425aeb2 ro ' +
        'init=/usr/lib/systemd/systemd resume=UUID=e1a4240c-fa4d-4033-814a-4e02f88b85ae\n',
    );
    expect(parsed.dirs).toContain('sys/firmware/efi');
  });

  it('lists the boot-time ACPI tables as sysfs names them, repeated signatures numbered', () => {
    expect(tables(legion().files)).toEqual([
      ...['FACP', 'DSDT', 'FACS', 'UEFI1', 'UEFI2', 'POAT', 'SSDT1', 'SSDT2', 'TPM2', 'SSDT3', 'ASF!', 'ASPT', 'BOOT'],
      ...['DBGP1', 'HPET', 'APIC', 'MCFG', 'LPIT', 'WSMT', 'SSDT4', 'SSDT5', 'SSDT6', 'SSDT7', 'DBGP2', 'DBG2'],
      ...['SSDT8', 'SSDT9', 'SSDT10', 'DMAR', 'FPDT', 'BGRT'],
    ]);
  });

  it('leaves out SSDTs a 3.13 kernel loads later; a full log without EFI line is a BIOS boot (IdeaPad Z510)', () => {
    const parsed = parseDmesg(dataFile(Z510, 'dmesg.txt'), 'dmesg.txt');
    expect(tables(parsed.files)).toEqual([
      ...['FACP', 'DSDT', 'FACS', 'SLIC', 'UEFI', 'FPDT', 'MSDM', 'ASF!', 'HPET', 'APIC', 'MCFG', 'SSDT1', 'BOOT'],
      ...['LPIT', 'ASPT', 'DBGP', 'SSDT2', 'SSDT3', 'SSDT4'],
    ]);
    expect(parsed.dirs).not.toContain('sys/firmware/efi');
    expect(parsed.known).toEqual(['firmware.efi']);
    expect(parsed.files['proc/sys/kernel/osrelease']).toBe('3.13.0-32-generic\n');
  });

  it('the probe reads the Z510 as booted by BIOS, with its tables and no IOMMU table', async () => {
    const profile = await probeImport(await importFiles({ 'dmesg.txt': dataFile(Z510, 'dmesg.txt') }));
    expect(profile.firmware).toMatchObject({ efi: false, iommu: { dmar: false, ivrs: false } });
    expect(profile.firmware.acpiTables).toContain('MCFG');
  });

  it('a log cut after its start (the Z510 from line 50 on): EFI or BIOS unknown, so no table is written', async () => {
    const cut = dataFile(Z510, 'dmesg.txt').split('\n').slice(49).join('\n');
    const parsed = parseDmesg(cut, 'dmesg.txt');
    expect(tables(parsed.files)).toEqual([]);
    expect(parsed.dirs.filter((d) => d.startsWith('sys/firmware'))).toEqual([]);
    expect(parsed.notes).toContain(
      'dmesg.txt: ACPI tables listed but the log does not start at boot (no "Linux version" line): EFI or BIOS ' +
        'unknown, so the tables are not written (they would say BIOS)',
    );
    const profile = await probeImport(await importFiles({ 'dmesg.txt': cut }));
    expect(profile.firmware).toMatchObject({ efi: null, iommu: { dmar: null, ivrs: null } });
  });
});

describe('dmesg: PCI', () => {
  it('gives ids and the full class, and boot_vga to VGA-class devices only', async () => {
    const result = await importFiles({ dmesg: dataFile(LEGION, 'dmesg') });
    expect(pciDevice(result, '0000:00:02.0')).toEqual({
      vendor: '0x8086',
      device: '0x591b',
      class: '0x030000',
      boot_vga: '1',
    });
    // The GeForce is a 3D controller (0302): no boot_vga attribute at all.
    expect(pciDevice(result, '0000:01:00.0')).toEqual({ vendor: '0x10de', device: '0x1c8c', class: '0x030200' });
    expect(result.manifest.absent).toEqual(
      expect.arrayContaining(['pci.subsystem', 'pci.revision', 'pci.modalias', 'pci.driver']),
    );
  });

  it('joins the revision and driver of an lspci without -nn by slot', async () => {
    const result = await importFiles({ dmesg: dataFile(LEGION, 'dmesg'), lspci: dataFile(LEGION, 'lspci') });
    expect(pciDevice(result, '0000:00:02.0')).toEqual({
      vendor: '0x8086',
      device: '0x591b',
      class: '0x030000',
      revision: '0x04',
      boot_vga: '1',
      driver: 'i915',
    });
    // lspci -v also gives the IOMMU groups, and the resources of the devices it shows without any region.
    expect(result.manifest.sources.find((s) => s.file === 'lspci')?.used).toEqual([
      'pci.revision',
      'pci.iommu_group',
      'pci.resources',
      'pci.driver',
    ]);
  });
});

describe('dmesg: USB', () => {
  it('names devices by port path with their number, speed, ids and strings (Legion Y520)', async () => {
    const result = await importFiles({ dmesg: dataFile(LEGION, 'dmesg') });
    expect(usbNames(result)).toEqual(['1-6', '1-11', 'usb1', 'usb2']);
    expect(usbEntry(result, '1-6')).toEqual({
      idVendor: '04f2',
      idProduct: 'b57e',
      bcdDevice: '8740',
      busnum: '1',
      devnum: '2',
      speed: '480',
      manufacturer: 'Chicony Electronics Co.,Ltd.',
      product: 'EasyCamera',
    });
    expect(usbEntry(result, '1-11')).toEqual({
      idVendor: '8087',
      idProduct: '0a2b',
      bcdDevice: '0010',
      busnum: '1',
      devnum: '3',
      speed: '12',
    });
  });

  it('reads the 3.13 lines that have no bcdDevice (IdeaPad Z510)', async () => {
    const result = await importMachine(Z510);
    expect(usbNames(result)).toEqual(['1-1', '2-1', '3-1', '3-2', '3-3', '3-7', 'usb1', 'usb2', 'usb3', 'usb4']);
    expect(usbEntry(result, '3-2')).toEqual({
      idVendor: '046d',
      idProduct: 'c52b',
      busnum: '3',
      devnum: '3',
      speed: '12',
      manufacturer: 'Logitech',
      product: 'USB Receiver',
    });
  });
});

// Real kernel logs: the Legion Y520's (test/import/data, Unlicense), the others read in place from the shared corpus.
const M11X = () => corpusFile('notebook-alienware-m11x-autoport-gh-cmotc', 'dmesg.log');
const EXTENSA = () => corpusFile('notebook-acer-extensa_5630-autoport-gh-filipleple', 'dmesg.log');
const X670E = () => corpusFile('desktop-asrock-x670e_taichi-gh-lattrommi', 'dmesg28Jul2023.txt');
const JETWAY = () => corpusFile('embedded-jetway-amd-fam14h-autoport-gh-alterapraxis', 'dmesg.log');
const MiB = 1048576;

describe('dmesg: graphics memory', () => {
  it('Intel stolen memory: the early quirk\'s "[mem ...]" range becomes the Graphics Stolen Memory line of /proc/iomem (6.19)', async () => {
    const parsed = legion();
    expect(parsed.files['proc/iomem']).toBe('7e000000-7fffffff : Graphics Stolen Memory\n');
    expect(parsed.used).toContain('graphics.stolen');
    const profile = await probeImport(await importMachine(LEGION));
    expect(profile.graphicsMemory).toEqual({ stolen: { start: '7e000000', end: '7fffffff', bytes: 32 * MiB }, vram: [] });
  });

  it('the 3.16 form "stolen memory at 0x%x-0x%x"; intel-gtt agrees, so no note (Alienware M11x, GM45)', () => {
    const parsed = parseDmesg(M11X(), 'dmesg.log');
    expect(parsed.files['proc/iomem']).toBe('9c000000-9fffffff : Graphics Stolen Memory\n');
    expect(parsed.notes.filter((n) => n.includes('stolen'))).toEqual([]);
  });

  it('intel-gtt printed by the host bridge without a driver (Acer Extensa 5630, 5.15): agrees with the range', () => {
    const parsed = parseDmesg(EXTENSA(), 'dmesg.log');
    expect(parsed.files['proc/iomem']).toBe('b8000000-bfffffff : Graphics Stolen Memory\n');
    expect(parsed.notes.filter((n) => n.includes('stolen'))).toEqual([]);
  });

  it('intel-gtt alone gives a size without an address: noted, no /proc/iomem', () => {
    // The Extensa's log without its early-quirk line, as a kernel before the quirk would print it.
    const log = EXTENSA().replace(/^.*Reserving Intel graphics memory at .*\n/m, '');
    const parsed = parseDmesg(log, 'dmesg.log');
    expect(parsed.files['proc/iomem']).toBeUndefined();
    expect(parsed.used).not.toContain('graphics.stolen');
    expect(parsed.notes).toContain(
      'dmesg.log:804: intel-gtt detected 131072K stolen memory but no log line gives its address; /proc/iomem not written',
    );
  });

  it('intel-gtt disagreeing with the reserved range: the range is kept and the difference noted', () => {
    // Two machines' real lines in one log, only to exercise the check: the M11x's intel-gtt line in the Extensa's log.
    const gtt = /^.*agpgart-intel 0000:00:00.0: detected 65536K stolen memory$/m.exec(M11X())![0];
    const log = EXTENSA().replace(/^.*pci 0000:00:00.0: detected 131072K stolen memory$/m, gtt);
    const parsed = parseDmesg(log, 'dmesg.log');
    expect(parsed.files['proc/iomem']).toBe('b8000000-bfffffff : Graphics Stolen Memory\n');
    expect(parsed.notes).toContain(
      'dmesg.log:805: intel-gtt detected 65536K stolen memory, the early quirk reserved 131072K (line 87); the reserved range was taken',
    );
  });

  it('amdgpu VRAM of two devices, each from the "[drm] amdgpu: NM of VRAM memory ready" after its own device lines', async () => {
    // ASRock X670E Taichi (6.1): a discrete Radeon at 03:00.0 and the Ryzen 7950X's Raphael graphics at 59:00.0.
    const result = await importFiles({ 'dmesg.txt': X670E() });
    expect(pciDevice(result, '0000:03:00.0')).toMatchObject({ device: '0x73a5', mem_info_vram_total: String(16368 * MiB) });
    expect(pciDevice(result, '0000:59:00.0')).toMatchObject({ device: '0x164e', mem_info_vram_total: String(512 * MiB) });
    expect(result.manifest.sources[0]!.used).toContain('graphics.vram');
    const profile = await probeImport(result);
    expect(profile.graphicsMemory.vram).toEqual([
      { slot: '0000:03:00.0', bytes: 16368 * MiB },
      { slot: '0000:59:00.0', bytes: 512 * MiB },
    ]);
  });

  it('the dev_info form names its device; a DRM_INFO line with no amdgpu device before it is not used', () => {
    // The Raphael's line as amdgpu prints it since the 2025 conversion to dev_info(adev->dev, ...).
    const named = parseDmesg(
      X670E().replace('[    9.898215] [drm] amdgpu: 512M of VRAM memory ready', '[    9.898215] amdgpu 0000:59:00.0: amdgpu: 512M of VRAM memory ready'),
      'dmesg.txt',
    );
    expect(named.pci.find((r) => r.slot === '0000:59:00.0')!.vramTotal).toBe(String(512 * MiB));
    const lines = X670E().split('\n');
    const orphan = parseDmesg([lines[0], ...lines.filter((l) => l.includes('of VRAM memory ready'))].join('\n'), 'dmesg.txt');
    expect(orphan.pci.some((r) => r.vramTotal !== undefined)).toBe(false);
    expect(orphan.notes).toEqual(['dmesg.txt:2: amdgpu VRAM of no known device; not used', 'dmesg.txt:3: amdgpu VRAM of no known device; not used']);
  });

  it('radeon prints the same line but has no sysfs file for it: noted only (Jetway, AMD Palm APU, 3.10)', () => {
    const parsed = parseDmesg(JETWAY(), 'dmesg.log');
    expect(parsed.pci.find((r) => r.slot === '0000:00:01.0')).toMatchObject({ device: '9806' });
    expect(parsed.pci.some((r) => r.vramTotal !== undefined)).toBe(false);
    expect(parsed.notes).toContain('dmesg.log:666: radeon 0000:00:01.0: 384M of VRAM (radeon has no sysfs file for it; not written)');
  });
});

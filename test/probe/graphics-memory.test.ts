import { describe, expect, it } from 'vitest';
import { probeGraphicsMemory } from '../../src/probe/graphics-memory.ts';
import type { PciDevice } from '../../src/types.ts';
import { dataFile, failingOpen, readerFor } from './_corpus.ts';

// This machine's /proc/iomem, read as root: no graphics at all.
const iomem = dataFile('this-machine-firecracker-kvm', 'proc__iomem');

// The region i915 requests, in kernel/resource.c r_show()'s format ("%*s%0*llx-%0*llx : %s", two spaces per level),
// nested in the e820 "Reserved" region the early quirk made, at the range the Legion Y520's 6.19 kernel reserved
// ("Reserving Intel graphics memory at [mem 0x7e000000-0x7fffffff]", test/import/data). Added after this machine's
// regions: only the line is parsed, not the map around it.
const withStolen = (range: string) => `${iomem}7e000000-7fffffff : Reserved\n  ${range} : Graphics Stolen Memory\n`;

function display(slot: string, cls = '03'): PciDevice {
  return {
    slot,
    vendor: '1002',
    device: '164e',
    subvendor: null,
    subdevice: null,
    class: cls,
    subclass: '00',
    progIf: '00',
    revision: null,
    modalias: null,
    driver: 'amdgpu',
    bootVga: null,
    bars: [],
    iommuGroup: null,
  };
}

// Byte counts as amdgpu prints them ("%llu\n" of real_vram_size). 512M is what the Raphael APU of corpus
// desktop-asrock-x670e_taichi reported ("amdgpu: 512M of VRAM memory ready"), 16368M its discrete Radeon's.
const RAPHAEL = `${512 * 1048576}\n`;
const DISCRETE = `${16368 * 1048576}\n`;
const vramFile = (slot: string) => `sys/bus/pci/devices/${slot}/mem_info_vram_total`;

describe('probeGraphicsMemory', () => {
  it('this machine: no Graphics Stolen Memory region, no display function', async () => {
    const reader = readerFor({ files: { 'proc/iomem': iomem } });
    expect(await probeGraphicsMemory(reader, [])).toEqual({ stolen: null, vram: [] });
    expect(reader.diagnostics).toEqual([]);
  });

  it('Intel stolen memory: the region i915 requested, at any nesting level', async () => {
    const reader = readerFor({ files: { 'proc/iomem': withStolen('7e000000-7fffffff') } });
    expect((await probeGraphicsMemory(reader, [])).stolen).toEqual({ start: '7e000000', end: '7fffffff', bytes: 32 << 20 });
    expect(reader.diagnostics).toEqual([]);
  });

  it("the BIOS off-by-one retry (start + 1, size - 2) is taken as i915 requested it; the plan rounds up", async () => {
    const reader = readerFor({ files: { 'proc/iomem': withStolen('7e000001-7ffffffe') } });
    expect((await probeGraphicsMemory(reader, [])).stolen).toEqual({ start: '7e000001', end: '7ffffffe', bytes: (32 << 20) - 2 });
  });

  it('addresses hidden from a reader without CAP_SYS_ADMIN: unknown, with a diagnostic', async () => {
    // r_show() prints start = end = 0 for every region then.
    const hidden = withStolen('7e000000-7fffffff').replace(/[0-9a-f]+-[0-9a-f]+ :/g, (r) => r.replace(/[0-9a-f]/g, '0'));
    expect(hidden).toContain('  00000000-00000000 : Graphics Stolen Memory\n');
    const reader = readerFor({ files: { 'proc/iomem': hidden } });
    expect((await probeGraphicsMemory(reader, [])).stolen).toBeNull();
    expect(reader.diagnostics.map((d) => [d.code, d.path])).toEqual([['unreadable', '/proc/iomem']]);
  });

  it('no /proc/iomem: unknown, no diagnostic; an unreadable one: a diagnostic', async () => {
    const none = readerFor({ files: {} });
    expect(await probeGraphicsMemory(none, [])).toEqual({ stolen: null, vram: [] });
    expect(none.diagnostics).toEqual([]);
    const failing = readerFor({ files: { 'proc/iomem': iomem } }, { wrap: failingOpen('/proc/iomem', 'EACCES') });
    expect((await probeGraphicsMemory(failing, [])).stolen).toBeNull();
    expect(failing.diagnostics.map((d) => [d.code, d.path])).toEqual([['unreadable', '/proc/iomem']]);
  });

  it('amdgpu mem_info_vram_total of each display function, by slot, in profile order', async () => {
    const reader = readerFor({
      files: {
        [vramFile('0000:03:00.0')]: DISCRETE,
        [vramFile('0000:59:00.0')]: RAPHAEL,
        // Not a display function: never read.
        [vramFile('0000:59:00.1')]: RAPHAEL,
      },
    });
    const pci = [display('0000:03:00.0'), display('0000:59:00.0'), display('0000:59:00.1', '04'), display('0000:5a:00.0')];
    expect((await probeGraphicsMemory(reader, pci)).vram).toEqual([
      { slot: '0000:03:00.0', bytes: 16368 * 1048576 },
      { slot: '0000:59:00.0', bytes: 512 * 1048576 },
    ]);
    expect(reader.diagnostics).toEqual([]);
  });

  it('a mem_info_vram_total that is not a byte count is malformed and left out', async () => {
    const reader = readerFor({ files: { [vramFile('0000:59:00.0')]: '512M\n' } });
    expect((await probeGraphicsMemory(reader, [display('0000:59:00.0')])).vram).toEqual([]);
    expect(reader.diagnostics.map((d) => [d.code, d.path])).toEqual([['malformed', `/${vramFile('0000:59:00.0')}`]]);
  });
});

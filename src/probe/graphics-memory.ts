// Main memory that graphics takes, as the running kernel tells it (xen.md §5):
// - Intel stolen memory: the "Graphics Stolen Memory" region of /proc/iomem. The x86 early quirk
//   (arch/x86/kernel/early-quirks.c intel_graphics_stolen()) reserves the range in e820 and keeps it in
//   intel_graphics_stolen_res; i915 then requests that range under this name (gem/i915_gem_stolen.c
//   i915_adjust_stolen(), retrying with start + 1 and size - 2 where a BIOS put it off by one). The region is there
//   only while i915 drives the IGD (not on Meteor Lake and later, whose stolen memory is behind a BAR, nor on gen < 8
//   with VT-d active, where i915 leaves stolen memory alone). /proc/iomem shows addresses to CAP_SYS_ADMIN only
//   (kernel/resource.c r_show() prints 0-0 otherwise): then the size is unknown.
// - amdgpu's mem_info_vram_total (amdgpu_vram_mgr.c: "%llu\n" of gmc.real_vram_size, in bytes), an attribute of
//   the PCI device itself, so /sys/class/drm/card*/device/mem_info_vram_total is this same file; it is read through
//   /sys/bus/pci/devices/<slot>/ so that each value keeps its slot. On an APU it is the BIOS carve-out from main
//   memory; on a discrete card it is the card's own VRAM (the plan takes it only for the UMA device).
import type { GraphicsMemory, PciDevice } from '../types.ts';
import { LARGE_FILE_CAP, type Reader } from './_reader.ts';

const IOMEM = '/proc/iomem';
// r_show(): "%*s%0*llx-%0*llx : %s\n", indented two spaces per nesting level.
const STOLEN_RE = /^ *([0-9a-f]+)-([0-9a-f]+) : Graphics Stolen Memory$/m;

export async function probeGraphicsMemory(reader: Reader, pci: readonly PciDevice[]): Promise<GraphicsMemory> {
  const display = pci.filter((d) => d.class === '03');
  const [iomem, vram] = await Promise.all([
    reader.text(IOMEM, { cap: LARGE_FILE_CAP }),
    Promise.all(display.map((d) => vramOf(reader, d.slot))),
  ]);
  return { stolen: iomem === null ? null : stolen(reader, iomem), vram: vram.filter((v) => v !== null) };
}

function stolen(reader: Reader, iomem: string): GraphicsMemory['stolen'] {
  const m = STOLEN_RE.exec(iomem);
  if (!m) return null;
  const start = BigInt(`0x${m[1]}`);
  const end = BigInt(`0x${m[2]}`);
  if (start === 0n && end === 0n) {
    reader.diag('unreadable', IOMEM, `${IOMEM}: addresses hidden (reading them needs CAP_SYS_ADMIN); the size of Graphics Stolen Memory is unknown`);
    return null;
  }
  if (end < start) return reader.malformed(IOMEM, m[0].trim(), 'a range "start-end : Graphics Stolen Memory"');
  return { start: start.toString(16), end: end.toString(16), bytes: Number(end - start + 1n) };
}

async function vramOf(reader: Reader, slot: string): Promise<GraphicsMemory['vram'][number] | null> {
  const path = `/sys/bus/pci/devices/${slot}/mem_info_vram_total`;
  const text = await reader.attr(path);
  if (text === null) return null;
  if (!/^[0-9]+$/.test(text)) return reader.malformed(path, text, 'a number of bytes');
  return { slot, bytes: Number(text) };
}

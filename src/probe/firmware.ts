// Firmware facts that decide the boot path and passthrough: EFI or BIOS, the ACPI tables, and whether an IOMMU
// is described (DMAR/IVRS) and driven (/sys/class/iommu, iommu_groups). Under Xen, dom0 finds the DMAR table
// renamed RMAD (xen.md §4.1, acpi_dmar_zap()): Xen keeps VT-d for itself, so RMAD counts as DMAR.
//
// A running kernel always has /sys/firmware (the driver core creates it), so a tree without it did not capture the
// firmware: an import whose logs do not tell EFI from BIOS. There efi is null (unknown), not false; likewise DMAR and
// IVRS are null when the ACPI table listing is missing, not "no IOMMU".
import type { Firmware } from '../types.ts';
import type { Reader } from './_reader.ts';

const TABLES = '/sys/firmware/acpi/tables';
// The only subdirectories the kernel creates among the tables (drivers/acpi/sysfs.c): not tables themselves.
const TABLE_SUBDIRS = new Set(['data', 'dynamic']);

export async function probeFirmware(reader: Reader): Promise<Firmware> {
  const [efi, firmware, size, tables, units, groups] = await Promise.all([
    reader.exists('/sys/firmware/efi'),
    reader.exists('/sys/firmware'),
    reader.attr('/sys/firmware/efi/fw_platform_size'),
    reader.list(TABLES),
    reader.list('/sys/class/iommu'),
    reader.list('/sys/kernel/iommu_groups'),
  ]);
  // Names as listed (SSDT1, SSDT2 ... when a signature repeats), sorted by Reader.list.
  const acpiTables = (tables ?? []).filter((name) => !TABLE_SUBDIRS.has(name));
  const listed = tables !== null;
  return {
    efi: efi ? true : firmware ? false : null,
    efiBits: efiBits(reader, size),
    acpiTables,
    iommu: {
      dmar: listed ? acpiTables.includes('DMAR') || acpiTables.includes('RMAD') : null,
      ivrs: listed ? acpiTables.includes('IVRS') : null,
      units: units ?? [],
      groups: groups?.length ?? 0,
    },
  };
}

function efiBits(reader: Reader, size: string | null): 32 | 64 | null {
  if (size === null) return null;
  const value = size.trim();
  if (value === '64') return 64;
  if (value === '32') return 32;
  reader.diag('malformed', '/sys/firmware/efi/fw_platform_size', `fw_platform_size ${JSON.stringify(value)}`);
  return null;
}

import { existsSync, readdirSync, statSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { nodeFsPromises } from '../../src/fs.ts';
import { Reader } from '../../src/probe/_reader.ts';
import { probeFirmware } from '../../src/probe/firmware.ts';
import type { Firmware } from '../../src/types.ts';
import type { Tree } from '../_support/memfs.ts';
import { dataFile, readerFor } from './_corpus.ts';

const TABLES = 'sys/firmware/acpi/tables';

/** A /sys/firmware/acpi/tables tree with these table files plus the kernel's data/ and dynamic/ directories. */
function tablesTree(names: string[]): Tree {
  const files: Record<string, string | null> = { [`${TABLES}/data`]: null, [`${TABLES}/dynamic`]: null };
  for (const name of names) files[`${TABLES}/${name}`] = '';
  return { files };
}

// `ls /sys/firmware/acpi/tables` on this machine (a Firecracker microVM): APIC DSDT FACP MCFG data dynamic.
const thisMachine = tablesTree(['APIC', 'DSDT', 'FACP', 'MCFG']);

// The Legion Y520 (Kaby Lake, VT-d), from its dmesg: the firmware tables it lists at boot (not RSDP and XSDT,
// which sysfs does not show; not the SSDTs loaded later, which go to dynamic/), named as drivers/acpi/sysfs.c
// names them: a signature that occurs more than once gets instance numbers 1..n. DMAR units and IOMMU groups
// from its DMAR and "Adding to iommu group" lines.
const legion = dataFile('notebook-lenovo-legion_y520-15ikbn-gh-sergeyklay', 'dmesg.excerpt');
function legionTree(rename: (signature: string) => string = (s) => s, withUnits = true): Tree {
  const signatures = [...legion.matchAll(/ACPI: ([A-Z0-9]{4}) 0x(?!FFFF)/g)]
    .map((m) => rename(m[1]!))
    .filter((s) => s !== 'RSDP' && s !== 'XSDT');
  const count = (s: string) => signatures.filter((x) => x === s).length;
  const seen = new Map<string, number>();
  const names = signatures.map((s) => {
    const n = (seen.get(s) ?? 0) + 1;
    seen.set(s, n);
    return count(s) > 1 ? `${s}${n}` : s;
  });
  const tree = tablesTree(names);
  tree.files!['sys/firmware/efi/systab'] = ''; // "efi: EFI v2.5 by INSYDE Corp."
  const units = withUnits ? [...legion.matchAll(/DMAR: (dmar\d+): reg_base_addr/g)].map((m) => m[1]!) : [];
  for (const unit of units) tree.files![`sys/class/iommu/${unit}`] = null;
  const groups = withUnits ? new Set([...legion.matchAll(/Adding to iommu group (\d+)/g)].map((m) => m[1]!)) : [];
  for (const group of groups) tree.files![`sys/kernel/iommu_groups/${group}/type`] = 'DMA\n';
  return tree;
}

const LEGION_TABLES = [
  ['APIC', 'ASPT', 'BGRT', 'BOOT', 'DBG2', 'DBGP1', 'DBGP2', 'DMAR', 'DSDT', 'FACP', 'FACS', 'FPDT', 'HPET'],
  ['LPIT', 'MCFG', 'POAT', 'SSDT1', 'SSDT10', 'SSDT2', 'SSDT3', 'SSDT4', 'SSDT5', 'SSDT6', 'SSDT7', 'SSDT8'],
  ['SSDT9', 'TPM2', 'UEFI1', 'UEFI2', 'WSMT'],
].flat();

describe('probeFirmware', () => {
  it.each<[string, Tree, Firmware]>([
    [
      'this machine: BIOS boot, no IOMMU',
      { files: { ...thisMachine.files, 'sys/class/iommu': null, 'sys/kernel/iommu_groups': null } },
      {
        efi: false,
        efiBits: null,
        acpiTables: ['APIC', 'DSDT', 'FACP', 'MCFG'],
        iommu: { dmar: false, ivrs: false, units: [], groups: 0 },
      },
    ],
    [
      'Legion Y520: EFI, a DMAR table, two VT-d units, 15 groups',
      legionTree(),
      {
        efi: true,
        efiBits: null,
        acpiTables: LEGION_TABLES,
        iommu: { dmar: true, ivrs: false, units: ['dmar0', 'dmar1'], groups: 15 },
      },
    ],
    [
      // Xen's acpi_dmar_zap() renames the signature in place; dom0 gets no VT-d units of its own.
      'the same machine as a Xen dom0 sees it: DMAR renamed RMAD',
      legionTree((s) => (s === 'DMAR' ? 'RMAD' : s), false),
      {
        efi: true,
        efiBits: null,
        acpiTables: LEGION_TABLES.map((t) => (t === 'DMAR' ? 'RMAD' : t)).sort(),
        iommu: { dmar: true, ivrs: false, units: [], groups: 0 },
      },
    ],
    [
      // A tree that did not capture the firmware (an imported log that does not tell): unknown, not "BIOS, no IOMMU".
      'nothing under /sys',
      { files: {} },
      { efi: null, efiBits: null, acpiTables: [], iommu: { dmar: null, ivrs: null, units: [], groups: 0 } },
    ],
    [
      // What the import writes for a kernel log read from its start with no EFI line: /sys/firmware. Without a table
      // listing under it the ACPI tables stay unknown (a live kernel that read none: acpi=off, or no ACPI).
      'an empty /sys/firmware: BIOS, the ACPI tables unknown',
      { files: { 'sys/firmware': null } },
      { efi: false, efiBits: null, acpiTables: [], iommu: { dmar: null, ivrs: null, units: [], groups: 0 } },
    ],
    [
      // IOMMU groups without the table listing (the amd-apu-laptop's lspci lists them): groups known, tables not.
      'IOMMU groups only',
      { files: { 'sys/kernel/iommu_groups/0/type': 'DMA\n' } },
      { efi: null, efiBits: null, acpiTables: [], iommu: { dmar: null, ivrs: null, units: [], groups: 1 } },
    ],
  ])('%s', async (_name, tree, expected) => {
    const reader = readerFor(tree);
    expect(await probeFirmware(reader)).toEqual(expected);
    expect(reader.diagnostics).toEqual([]);
  });

  it.each<[string, 32 | 64 | null, string[]]>([
    ['64\n', 64, []],
    ['32\n', 32, []],
    ['16\n', null, ['malformed']],
  ])('fw_platform_size %j', async (content, bits, codes) => {
    const reader = readerFor({ files: { 'sys/firmware/efi/fw_platform_size': content } });
    const firmware = await probeFirmware(reader);
    expect(firmware).toMatchObject({ efi: true, efiBits: bits });
    expect(reader.diagnostics.map((d) => d.code)).toEqual(codes);
  });
});

describe('probeFirmware on this machine', () => {
  const dir = '/sys/firmware/acpi/tables';
  it.skipIf(!existsSync(dir))('lists the ACPI table files of /sys/firmware/acpi/tables', async () => {
    const firmware = await probeFirmware(new Reader({ fs: nodeFsPromises, root: '/' }));
    const files = readdirSync(dir).filter((name) => !statSync(`${dir}/${name}`).isDirectory());
    expect(firmware.acpiTables).toEqual(files.sort());
    expect(firmware.efi).toBe(existsSync('/sys/firmware/efi'));
  });
});

// SMBIOS strings from /sys/class/dmi/id. Only the world-readable attributes: product_serial, product_uuid,
// board_serial and chassis_serial identify a person's machine and are never read.
import type { Dmi } from '../types.ts';
import type { Reader } from './_reader.ts';

const DMI_DIR = '/sys/class/dmi/id';

const ATTRIBUTES: Record<keyof Dmi, string> = {
  sysVendor: 'sys_vendor',
  productName: 'product_name',
  productVersion: 'product_version',
  productFamily: 'product_family',
  boardVendor: 'board_vendor',
  boardName: 'board_name',
  boardVersion: 'board_version',
  biosVendor: 'bios_vendor',
  biosVersion: 'bios_version',
  biosDate: 'bios_date',
  chassisVendor: 'chassis_vendor',
  chassisType: 'chassis_type',
};

export async function probeDmi(reader: Reader): Promise<Dmi> {
  const entries = await Promise.all(
    Object.entries(ATTRIBUTES).map(async ([key, file]) => {
      // Firmware pads strings with spaces; an empty string is SMBIOS's "not set".
      const value = (await reader.attr(`${DMI_DIR}/${file}`))?.trim();
      return [key, value ? value : null] as const;
    }),
  );
  return Object.fromEntries(entries) as unknown as Dmi;
}

// The raw SMBIOS structures of /sys/firmware/dmi/entries/<type>-<instance>/raw (root-only files): what the kernel's
// dmi-sysfs.c copies of one structure, its formatted area (raw[1] bytes: type, length, handle, then the fields) and
// its string set (NUL-terminated strings after it, ended by a second NUL; two NULs where there are none). The probes
// read fields of the formatted area only; the strings (serial numbers, asset tags, part numbers) are never parsed.
export const DMI_ENTRIES = '/sys/firmware/dmi/entries';

/**
 * The structure without its strings, as a snapshot keeps it: the formatted area followed by the two NULs of an empty
 * string set. A structure without strings (type 19) comes back byte for byte. A structure that does not hold its own
 * formatted area (length byte below the 4-byte header, or more than the file) is not a structure any probe can use:
 * nothing of it is kept (an empty file), so that no string can come along.
 */
export function withoutStrings(raw: Uint8Array): Uint8Array {
  const length = raw[1];
  if (length === undefined || length < 4 || length > raw.length) return new Uint8Array(0);
  const out = new Uint8Array(length + 2);
  out.set(raw.subarray(0, length));
  return out;
}

// Text for a terminal from strings the machine supplied (DMI names, sysfs values, file names under --root, rule
// and modprobe.d text): a control character there would be obeyed by the terminal, not shown (an ESC[2J clears
// the screen, an ESC]0;...BEL retitles the window, a CR overwrites the line before it). JSON output needs none
// of this: JSON.stringify writes C0 controls as \uXXXX escapes already.

import type { Dmi } from '../types.ts';

// C0 controls but TAB and LF (the listings' own layout), DEL, and the C1 controls U+0080-U+009F (U+009B is CSI
// on terminals that take 8-bit controls).
const CONTROLS = /[\x00-\x08\x0b-\x1f\x7f\u0080-\u009f]/g;

/** `text` with every control character but TAB and newline shown as \xNN (two hex digits), nothing else changed. */
export function forDisplay(text: string): string {
  return text.replace(CONTROLS, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

// Template strings firmware vendors leave in SMBIOS type 1 when the OEM never filled it in: systemd's list
// (hwdb.d/20-dmi-id.hwdb, ID_SYS_VENDOR_IS_RUBBISH / ID_PRODUCT_NAME_IS_RUBBISH / ID_PRODUCT_VERSION_IS_RUBBISH),
// which matches the DMI modalias, where spaces are dropped: compared here the same way, and case-insensitively.
const PLACEHOLDERS = {
  vendor: ['defaultstring', 'n/a', 'o.e.m.', 'oem', 'systemmanufacturer', 'tobefilledbyo.e.m.'],
  product: ['defaultstring', 'n/a', 'o.e.m.', 'oem', 'systemproductname', 'systemname', 'tobefilledbyo.e.m.'],
  version: ['defaultstring', 'n/a', 'o.e.m.', 'oem', 'tobefilledbyo.e.m.'],
} as const;

/** `value`, or null when it is absent, blank or one of the firmware's template strings for that field. */
export function dmiString(value: string | null | undefined, field: keyof typeof PLACEHOLDERS): string | null {
  const text = value?.trim();
  if (!text) return null;
  return (PLACEHOLDERS[field] as readonly string[]).includes(text.replace(/\s+/g, '').toLowerCase()) ? null : text;
}

/**
 * The machine's name for people: DMI's system vendor and product name ("HP ProBook 455 G7", not "HP HP ProBook 455
 * G7": many vendors start the product name with their own name), the vendor left out when the product name starts
 * with it as a whole word, in any case ("Bochs"/"Bochs" is "Bochs"). Where the product name is missing or a template
 * string ("To Be Filled By O.E.M."), the mainboard's vendor and name instead, as a desktop built from a retail board
 * has only those ("ASRock X399 Taichi"); a template vendor is left out. null when DMI names nothing.
 */
export function machineName(
  dmi: Partial<Pick<Dmi, 'sysVendor' | 'productName' | 'boardVendor' | 'boardName'>>,
): string | null {
  let vendor = dmiString(dmi.sysVendor, 'vendor');
  let product = dmiString(dmi.productName, 'product');
  if (product === null) {
    const board = dmiString(dmi.boardName, 'product');
    if (board !== null) [vendor, product] = [dmiString(dmi.boardVendor, 'vendor'), board];
  }
  if (vendor === null || product === null) return vendor ?? product;
  const lower = product.toLowerCase();
  const v = vendor.toLowerCase();
  if (lower === v || (lower.startsWith(v) && /\s/.test(product.charAt(vendor.length)))) return product;
  return `${vendor} ${product}`;
}

/**
 * A CPU's model name as people write it: /proc/cpuinfo's "model name" is the CPUID brand string verbatim, which Intel
 * pads to a fixed layout ("Intel(R) Core(TM)2 CPU         T7600  @ 2.33GHz"); runs of white space become one space,
 * and the ends are trimmed. null stays null.
 */
export function cpuModelName(modelName: string | null | undefined): string | null {
  const text = modelName?.replace(/\s+/g, ' ').trim();
  return text ? text : null;
}

// Whether a machine's tree tells which driver is bound to each device. sysfs always does: a device has a `driver`
// link exactly when a driver is bound, so on a live system or a snapshot of one a device without a link has none.
// An imported tree tells it only where its logs did (lspci -k, lsusb -t, hwinfo, /proc/bus/pci/devices): published
// `lsusb` or `lsusb -v`, `lspci -nn` or `-vnn` never say, and the import writes no link, so there `driver: null`
// means "unknown", not "none bound". The import's manifest (autoconfig-snapshot.json) records it among the facts
// the logs left open: `pci.driver`, `usb.driver` in `absent` (src/import/import.ts absentFacts); a snapshot of an
// imported tree carries the same entries over (src/snapshot/snapshot.ts).
import type { Reader } from '../probe/_reader.ts';

/** The manifest an import or a snapshot leaves at the root of its tree (snapshot.ts MANIFEST_NAME). */
export const MANIFEST_PATH = '/autoconfig-snapshot.json';
/** A manifest of an import of the largest published logs is a few KiB; a megabyte is not one. */
const MANIFEST_CAP = 1024 * 1024;

export type Bus = 'pci' | 'usb';
const BUSES: readonly Bus[] = ['pci', 'usb'];

/**
 * The buses whose driver binding the tree under the reader's root does not tell: those whose `<bus>.driver` its
 * manifest lists as absent. Empty without a manifest (a live system) and for a tree whose sources named the drivers.
 * A manifest that cannot be used (not JSON, not an import's or snapshot's, `absent` not a list of strings; a FIFO,
 * too large) is a diagnostic naming it, and tells nothing: the probe never fails on data under the root.
 */
export async function readUnknownBindings(reader: Reader): Promise<Bus[]> {
  const text = await reader.text(MANIFEST_PATH, { cap: MANIFEST_CAP });
  if (text === null) return []; // absent (a live system), or unusable: the reader's diagnostic says which
  let manifest: unknown;
  try {
    manifest = JSON.parse(text);
  } catch (error) {
    reader.diag('malformed', MANIFEST_PATH, `${MANIFEST_PATH}: not JSON (${(error as Error).message})`);
    return [];
  }
  const m = manifest as { kind?: unknown; absent?: unknown };
  if (typeof manifest !== 'object' || manifest === null || (m.kind !== 'import' && m.kind !== 'snapshot')) {
    reader.diag('malformed', MANIFEST_PATH, `${MANIFEST_PATH}: not a snapshot or import manifest (its "kind" is neither)`);
    return [];
  }
  if (m.absent === undefined) return []; // a snapshot of a live system: everything it read, it has
  if (!Array.isArray(m.absent) || !m.absent.every((f) => typeof f === 'string')) {
    reader.diag('malformed', MANIFEST_PATH, `${MANIFEST_PATH}: "absent" is not a list of strings`);
    return [];
  }
  const absent = m.absent as string[];
  // A bus with no devices at all is absent as a whole ("usb"): nothing to show, so nothing unknown either.
  return BUSES.filter((bus) => absent.includes(`${bus}.driver`));
}

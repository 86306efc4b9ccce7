// Whether a machine's tree tells which driver is bound to each device. sysfs always does: a device has a `driver`
// link exactly when a driver is bound, so on a live system or a snapshot a device without one has none. An
// imported tree tells it only where its logs did (lspci -k, lsusb -t, hwinfo, /proc/bus/pci/devices): published
// `lsusb` or `lsusb -v`, `lspci -nn` or `-vnn` never say, and the import writes no link, so the profile's
// `driver: null` there means "unknown", not "none bound". The import's manifest (autoconfig-snapshot.json) records
// it among the facts the logs left open: `pci.driver`, `usb.driver` in `absent` (src/import/import.ts absentFacts).
import { AutoconfigError } from '../errors.ts';
import type { FsLike } from '../fs.ts';
import { Reader } from '../probe/_reader.ts';

/** The manifest an import or a snapshot leaves at the root of its tree (snapshot.ts MANIFEST_NAME). */
const MANIFEST = '/autoconfig-snapshot.json';
/** A manifest of an import of the largest published logs is a few KiB; a megabyte is not one. */
const MANIFEST_CAP = 1024 * 1024;

export type Bus = 'pci' | 'usb';
const BUSES: readonly Bus[] = ['pci', 'usb'];

/**
 * The buses whose driver binding the tree under `root` does not tell: those whose `<bus>.driver` an import's
 * manifest lists as absent. Empty for a live system and a snapshot (no manifest, or one of kind "snapshot"), and
 * for an import whose logs named the drivers. A manifest that cannot be read or is not an import's or snapshot's
 * manifest is an AutoconfigError (E_PARSE, or E_IO) naming it.
 */
export async function unknownBindings(fs: FsLike, root: string): Promise<Bus[]> {
  const reader = new Reader({ fs, root });
  const text = await reader.text(MANIFEST, { cap: MANIFEST_CAP });
  const where = `${reader.root === '/' ? '' : reader.root}${MANIFEST}`;
  const fail = (code: 'E_PARSE' | 'E_IO', why: string, cause?: unknown) =>
    new AutoconfigError(code, `${where}: ${why}`, { path: where, ...(cause === undefined ? {} : { cause }) });
  if (text === null) {
    const problem = reader.diagnostics[0];
    if (problem === undefined) return []; // no manifest: a live system, or a tree someone copied by hand
    // The reader's message names the machine path; ours names the file under the root.
    throw fail(problem.code === 'malformed' ? 'E_PARSE' : 'E_IO', problem.message.replace(`${MANIFEST}: `, ''));
  }
  let manifest: unknown;
  try {
    manifest = JSON.parse(text);
  } catch (error) {
    throw fail('E_PARSE', `not JSON (${(error as Error).message})`, error);
  }
  const m = manifest as { kind?: unknown; absent?: unknown };
  if (typeof manifest !== 'object' || manifest === null || (m.kind !== 'import' && m.kind !== 'snapshot')) {
    throw fail('E_PARSE', 'not a snapshot or import manifest (its "kind" is neither)');
  }
  if (m.kind === 'snapshot') return [];
  if (!Array.isArray(m.absent) || !m.absent.every((f) => typeof f === 'string')) {
    throw fail('E_PARSE', 'an import manifest whose "absent" is not a list of strings');
  }
  const absent = m.absent as string[];
  // A bus with no devices at all is absent as a whole ("usb"): nothing to show, so nothing unknown either.
  return BUSES.filter((bus) => absent.includes(`${bus}.driver`));
}

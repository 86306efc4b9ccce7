import { posix } from 'node:path';
import { PciNames } from '../ids/pci-ids.ts';
import { UsbNames } from '../ids/usb-ids.ts';
import { probe } from '../probe/probe.ts';
import { AutoconfigError } from '../errors.ts';
import { parseArgs, parsePositiveInt } from './_args.ts';
import { forDisplay } from './_display.ts';
import { EXIT, type CliIO } from './_io.ts';
import { formatProfile } from './format-profile.ts';

/** The largest probe --timeout (per device-node read). */
export const PROBE_TIMEOUT_MAX_MS = 60_000;

export async function runProbe(argv: readonly string[], io: CliIO): Promise<number> {
  const { options, positionals } = parseArgs(argv, {
    root: { type: 'string' },
    json: { type: 'boolean' },
    'no-names': { type: 'boolean' },
    timeout: { type: 'string' },
  });
  if (positionals.length > 0) throw new AutoconfigError('E_USAGE', `unexpected argument "${positionals[0]}" (the machine is --root DIR)`);
  const root = posix.resolve(io.cwd, (options.root as string | undefined) ?? '/');
  const timeout = parsePositiveInt('timeout', options.timeout, { max: PROBE_TIMEOUT_MAX_MS, fallback: 2000, unit: 'ms' });
  const profile = await probe({
    fs: io.fs,
    root,
    requireMachine: true,
    deviceTimeoutMs: timeout,
  });
  if (options.json) {
    io.stdout(JSON.stringify(profile, null, 2) + '\n');
    return EXIT.ok;
  }
  // pci.ids and usb.ids are read only here, when names are printed; a missing file just means no names.
  const names = options['no-names'] ? {} : { pci: await PciNames.load(), usb: await UsbNames.load() };
  io.stdout(forDisplay(formatProfile(profile, names)));
  return EXIT.ok;
}

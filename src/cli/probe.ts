import { posix } from 'node:path';
import { PciNames } from '../ids/pci-ids.ts';
import { UsbNames } from '../ids/usb-ids.ts';
import { probe } from '../probe/probe.ts';
import { parseArgs } from './_args.ts';
import { EXIT, type CliIO } from './_io.ts';
import { formatProfile } from './format-profile.ts';

export async function runProbe(argv: readonly string[], io: CliIO): Promise<number> {
  const { options } = parseArgs(argv, {
    root: { type: 'string' },
    json: { type: 'boolean' },
    'no-names': { type: 'boolean' },
    timeout: { type: 'string' },
  });
  const root = posix.resolve(io.cwd, (options.root as string | undefined) ?? '/');
  const timeout = options.timeout === undefined ? undefined : Number(options.timeout);
  const profile = await probe({
    fs: io.fs,
    root,
    requireMachine: true,
    ...(timeout !== undefined && Number.isFinite(timeout) ? { deviceTimeoutMs: timeout } : {}),
  });
  if (options.json) {
    io.stdout(JSON.stringify(profile, null, 2) + '\n');
    return EXIT.ok;
  }
  // pci.ids and usb.ids are read only here, when names are printed; a missing file just means no names.
  const names = options['no-names'] ? {} : { pci: await PciNames.load(), usb: await UsbNames.load() };
  io.stdout(formatProfile(profile, names));
  return EXIT.ok;
}

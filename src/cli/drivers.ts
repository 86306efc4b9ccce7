import { posix } from 'node:path';
import { AutoconfigError } from '../errors.ts';
import { PciNames } from '../ids/pci-ids.ts';
import { UsbNames } from '../ids/usb-ids.ts';
import { driversReport, formatDriversReport, type DriverMatch } from '../modalias/index.ts';
import { probe } from '../probe/probe.ts';
import type { HardwareProfile } from '../types.ts';
import { parseArgs } from './_args.ts';
import { forDisplay } from './_display.ts';
import { EXIT, type CliIO } from './_io.ts';
import { pciLabel, usbInterfaceClass, usbLabel, type Names } from './format-profile.ts';

export async function runDrivers(argv: readonly string[], io: CliIO): Promise<number> {
  const { options, positionals } = parseArgs(argv, {
    root: { type: 'string' },
    kernel: { type: 'string' },
    json: { type: 'boolean' },
    'no-names': { type: 'boolean' },
  });
  if (positionals.length > 0) throw new AutoconfigError('E_USAGE', `unexpected argument "${positionals[0]}"`);
  const root = posix.resolve(io.cwd, (options.root as string | undefined) ?? '/');
  const kernelDir = typeof options.kernel === 'string' ? posix.resolve(io.cwd, options.kernel) : null;
  const profile = await probe({ fs: io.fs, root, requireMachine: true });
  const report = await driversReport(profile, { fs: io.fs, root, kernelDir });
  if (options.json) {
    io.stdout(JSON.stringify(report.devices, null, 2) + '\n');
    // The array stays the stable --json shape; which kernel answered still goes to the person running it.
    io.stderr(forDisplay(`kernel ${report.kernel.release} (${report.kernel.source}: ${report.kernel.dir})\n`));
    return EXIT.ok;
  }
  // As `probe`: names from pci.ids and usb.ids, read only for this listing; ids alone with --no-names.
  const names = options['no-names'] ? {} : { pci: await PciNames.load(), usb: await UsbNames.load() };
  const label = deviceLabels(profile, names);
  io.stdout(forDisplay(formatDriversReport(report, { label, unknownBindings: profile.bindingUnknown ?? [] })));
  return EXIT.ok;
}

/**
 * Each device's name as `probe` prints it, by the id the report uses: a PCI function by its slot ("VGA compatible
 * controller [0300]: Intel Corporation ... [8086:27a2] (rev 03)"), a USB interface by its path (its device's
 * "ID 046d:c52b Logitech, Inc. Unifying Receiver" and its own class).
 */
export function deviceLabels(profile: Pick<HardwareProfile, 'pci' | 'usb'>, names: Names): (d: DriverMatch) => string | null {
  const labels = new Map<string, string>();
  for (const d of profile.pci) labels.set(`pci ${d.slot}`, pciLabel(d, names.pci ?? null));
  for (const device of profile.usb) {
    for (const i of device.interfaces) {
      labels.set(`usb ${i.path}`, `${usbLabel(device, names.usb ?? null)}, ${usbInterfaceClass(i, names.usb ?? null)}`);
    }
  }
  return (d) => labels.get(`${d.bus} ${d.id}`) ?? null;
}

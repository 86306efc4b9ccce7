import { posix } from 'node:path';
import { AutoconfigError } from '../errors.ts';
import { driversReport, formatDriversReport } from '../modalias/index.ts';
import { probe } from '../probe/probe.ts';
import { parseArgs } from './_args.ts';
import { forDisplay } from './_display.ts';
import { EXIT, type CliIO } from './_io.ts';

export async function runDrivers(argv: readonly string[], io: CliIO): Promise<number> {
  const { options, positionals } = parseArgs(argv, {
    root: { type: 'string' },
    kernel: { type: 'string' },
    json: { type: 'boolean' },
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
  io.stdout(forDisplay(formatDriversReport(report)));
  return EXIT.ok;
}

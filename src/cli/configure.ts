// `autoconfig --dry-run | --write | --apply`: a thin client of configure() (src/configure/configure.ts), which does
// the work. Here: the options (declared once, CONFIGURE_OPTIONS), and what is printed: the text report or --json of a
// dry run, the write listing, the modules' progress, the summary line or, with --write --json, the run record.
import { posix } from 'node:path';
import type { LoadResult } from '../apply/modprobe.ts';
import {
  CONFIGURE_EXIT,
  configure,
  DEFAULT_LOCK_TIMEOUT_MS,
  DEFAULT_MODULE_TIMEOUT_MS,
  failureText,
  LOCK_TIMEOUT_MAX_MS,
  MODULE_TIMEOUT_MAX_MS,
  partialListing,
  type ConfigureResult,
} from '../configure/configure.ts';
import { renderRunRecord } from '../emit/run-record.ts';
import { WriteFilesError } from '../emit/write.ts';
import { AutoconfigError } from '../errors.ts';
import { describeSerialConsole } from '../plan/console.ts';
import type { HardwareProfile } from '../types.ts';
import { VERSION } from '../version.ts';
import { parseArgs, parsePositiveInt, type OptionSpec } from './_args.ts';
import { cpuModelName, forDisplay, machineName } from './_display.ts';
import type { CliIO } from './_io.ts';
import { describeAction, formatVerdicts } from './format-decisions.ts';
import { moduleProgress } from './progress.ts';

// The library's, under the names the CLI has always exported.
export { CONFIGURE_EXIT, LOCK_TIMEOUT_MAX_MS, MODULE_TIMEOUT_MAX_MS };

export const CONFIGURE_FLAGS = ['--dry-run', '--write', '--apply'];

/** The options of `autoconfig --dry-run | --write [--apply]`, declared once: the parser and the help read them. */
export const CONFIGURE_OPTIONS: Record<string, OptionSpec> = {
  'dry-run': { type: 'boolean' },
  write: { type: 'boolean' },
  apply: { type: 'boolean' },
  root: { type: 'string' },
  target: { type: 'string' },
  xen: { type: 'string' },
  rules: { type: 'string', multiple: true },
  kernel: { type: 'string' },
  json: { type: 'boolean' },
  'module-timeout': { type: 'string' },
  modprobe: { type: 'string' },
  'lock-timeout': { type: 'string' },
};

export async function runConfigure(argv: readonly string[], io: CliIO): Promise<number> {
  const { options, positionals } = parseArgs(argv, CONFIGURE_OPTIONS);
  if (positionals.length > 0) throw new AutoconfigError('E_USAGE', `unexpected argument "${positionals[0]}"`);
  const dryRun = options['dry-run'] === true;
  const apply = options.apply === true;
  const write = options.write === true || apply;
  if (dryRun === write) throw new AutoconfigError('E_USAGE', 'give --dry-run, or --write (and/or --apply)');
  // Checked before anything is read or written: a bad value is a usage error, never a silent default.
  const moduleTimeout = parsePositiveInt('module-timeout', options['module-timeout'], {
    max: MODULE_TIMEOUT_MAX_MS,
    fallback: DEFAULT_MODULE_TIMEOUT_MS,
    unit: 'ms',
  });
  const lockTimeout = parsePositiveInt('lock-timeout', options['lock-timeout'], {
    max: LOCK_TIMEOUT_MAX_MS,
    fallback: DEFAULT_LOCK_TIMEOUT_MS,
    unit: 'ms',
  });
  const root = posix.resolve(io.cwd, (options.root as string | undefined) ?? '/');
  const target = posix.resolve(io.cwd, (options.target as string | undefined) ?? root);
  const json = options.json === true;
  // --write --json: the run record is all there is on stdout (errors still go to stderr).
  const out: Pick<CliIO, 'stdout' | 'isTTY'> = { stdout: json && write ? () => undefined : io.stdout, isTTY: io.isTTY };
  // On a terminal one line redrawn in place, then the listing; elsewhere one line per module as it ends.
  const progress = moduleProgress(out);
  const result = await configure({
    fs: io.fs,
    root,
    target,
    xen: (options.xen as string | undefined) ?? null,
    rules: ((options.rules as string[] | undefined) ?? []).map((r) => posix.resolve(io.cwd, r)),
    kernel: typeof options.kernel === 'string' ? posix.resolve(io.cwd, options.kernel) : null,
    write,
    apply,
    moduleTimeoutMs: moduleTimeout,
    lockTimeoutMs: lockTimeout,
    ...(typeof options.modprobe === 'string' ? { modprobe: options.modprobe } : {}),
    command: ['autoconfig', ...argv].join(' '),
    log: (message) => io.stderr(forDisplay(`autoconfig: ${message}\n`)),
    onWritten: (written) => {
      out.stdout(
        `wrote ${written.written.length} file(s) under ${target}, ${written.unchanged.length} unchanged` +
          (written.backups.length ? `, kept ${written.backups.length} backup(s)` : '') +
          (written.removedTemps.length ? `, removed ${written.removedTemps.length} stale temporary file(s)` : '') +
          '\n',
      );
      for (const path of written.written) out.stdout(`  ${path}\n`);
      for (const path of written.removedTemps) out.stdout(`  removed stale ${path}\n`);
    },
    onProgress: (event) => progress.onProgress(event),
    ...(io.outputFailures === undefined ? {} : { outputFailures: io.outputFailures }),
  });

  if (!write) {
    if (json) io.stdout(JSON.stringify(jsonReport(result), null, 2) + '\n');
    else io.stdout(forDisplay(textReport(result)));
    return result.exitCode;
  }
  progress.end();
  if (result.error instanceof WriteFilesError && result.error.code === 'E_PARTIAL') {
    out.stdout(`PARTLY WRITTEN under ${result.target}: ${result.error.message}\n${partialListing(result.error.partial)}\n`);
  }
  if (result.loaded !== null && io.isTTY) out.stdout(forDisplay(formatLoad(result.loaded)));
  out.stdout(`${result.record!.summary}\n`);
  if (json) io.stdout(renderRunRecord(result.record!));
  // Exit 1: the write failed and nothing was changed; main says why, as for any error.
  if (result.exitCode === CONFIGURE_EXIT.error && result.error !== null) throw result.error;
  return result.exitCode;
}

/** In a Xen Dom0, where the machine's CPU counts came from (its own cpuinfo lists only its vCPUs); '' elsewhere. */
function cpuCountsFrom(profile: HardwareProfile): string {
  const from = profile.cpu.countsFrom;
  if (from.evidence.length === 0) return '';
  const cores = profile.cpu.cores === null ? 'cores unknown' : `${profile.cpu.cores} cores (SMBIOS)`;
  return ` (${from.logicalCpus === 'xen' ? "Xen's PCPUs" : "unknown: not Dom0's vCPUs"}), ${cores}`;
}

function yesNo(value: boolean | null): string {
  return value === null ? 'unknown' : value ? 'yes' : 'no';
}

function textReport(result: ConfigureResult): string {
  const { plan: p, profile, files, target } = result;
  const failures = result.failures.map(failureText);
  const out: string[] = [];
  const d = profile.dmi;
  out.push(`autoconfig ${VERSION} --dry-run: nothing is written.`, '');
  for (const failure of failures) out.push(`FAILED: ${failure}`);
  if (failures.length > 0) out.push('This is the SAFE plan: conservative options only.', '');
  out.push(
    `Machine: ${machineName(d) ?? 'unknown'}; ` +
      `${cpuModelName(profile.cpu.modelName) ?? 'unknown CPU'}, ${profile.cpu.logicalCpus ?? '?'} logical CPUs${cpuCountsFrom(profile)}; ` +
      `${p.memory.totalMiB !== null ? `${p.memory.totalMiB} MiB` : p.memory.installedMiB !== null ? `${p.memory.installedMiB} MiB installed` : 'memory unknown'}; ` +
      `${profile.pci.length} PCI, ${profile.usb.length} USB devices; ${profile.hypervisor.role}`,
  );
  out.push(
    `Target: Xen ${p.target.version} (${p.target.source}), ${p.target.toolstack}, ` +
      `${p.grub.flavor === 'grub2' ? 'GRUB 2' : 'GRUB legacy'} (${p.grub.variant.toUpperCase()})` +
      (p.xenDisabled ? '; Xen cannot run here: the plain kernel boots by default' : ''),
    '',
  );
  out.push(...formatVerdicts(p));
  const stolen = p.uma.stolenMiB === null ? 'main memory' : `${p.uma.stolenMiB} MiB of main memory`;
  out.push(`UMA graphics: ${p.uma.present ? `yes${p.uma.device ? ` (${p.uma.device})` : ''}, takes ${stolen}` : 'no'}`);
  out.push(`IOMMU: ${p.iommu.available === null ? 'unknown (no ACPI table list)' : p.iommu.available ? 'yes' : 'no'}${p.iommu.hidden.length ? `; hidden from Dom0: ${p.iommu.hidden.join(' ')}` : ''}`);
  out.push(
    `Memory: Dom0 ${p.memory.dom0 ?? "Xen's default"}${p.memory.guestsMiB !== null ? `, about ${p.memory.guestsMiB} MiB left for guests` : ''}; ` +
      `vCPUs: Dom0 ${p.vcpus.dom0 ?? 'default'}, guests ${p.vcpus.guests ?? 'default'}`,
  );
  out.push(`Xen command line: ${p.xen.cmdline || '(none)'}`);
  out.push(`Dom0 command line: ${p.dom0.cmdline || '(none)'}`);
  if (p.console.serial) out.push(`Serial console: ${describeSerialConsole(p.console.serial)}`);
  out.push(`Dom0 modules: ${p.dom0.modules.map((m) => m.name).join(' ') || '(none)'}`);
  if (p.dom0.blacklist.length) out.push(`Blacklisted: ${p.dom0.blacklist.map((b) => b.name).join(' ')}`);
  if (p.xserver.module) out.push(`X: ${p.xserver.server ?? 'X'} with ${p.xserver.module}${p.xserver.description ? ` for ${p.xserver.description}` : ''}`);
  for (const w of p.warnings) out.push(`WARNING: ${w}`);
  for (const n of p.notes) out.push(`note: ${n}`);
  const live = p.decisions.filter((x) => !x.overriddenBy);
  out.push('', `Decisions (${live.length}; \`autoconfig explain\` shows each with its evidence):`);
  for (const x of live) out.push(`  ${x.rule}: ${describeAction(x.action)}`);
  const changed = files.filter((f) => f.state !== 'unchanged');
  out.push('', `Files under ${target} (${changed.length} would change, ${files.length - changed.length} unchanged):`);
  for (const f of files) out.push(`  ${f.state.padEnd(9)} ${f.path}`);
  for (const f of changed) out.push('', f.diff.trimEnd());
  return out.join('\n') + '\n';
}

function jsonReport(result: ConfigureResult) {
  const { plan: p, files } = result;
  return {
    target: p.target,
    hvm: { available: p.hvm.available, technology: p.hvm.technology, reason: p.hvm.reason },
    longMode: p.longMode,
    uma: { present: p.uma.present, device: p.uma.device, stolenMiB: p.uma.stolenMiB },
    xen: { cmdline: p.xen.cmdline },
    dom0: { cmdline: p.dom0.cmdline, modules: p.dom0.modules.map((m) => m.name) },
    grub: { variant: p.grub.variant, entries: p.grub.entries },
    drivers: p.drivers,
    files: files.map((f) => ({ path: f.path, content: f.content })),
    decisions: p.decisions,
    warnings: p.warnings,
    // Exit 3: what failed (stage, reason, file, code); `fallback` is the failure that made this the safe plan.
    failures: result.failures,
    fallback: result.fallback,
    plan: p,
  };
}

function formatLoad(loaded: LoadResult): string {
  const lines = loaded.results.map(
    (r) => `  ${r.status.padEnd(8)} ${r.name}${r.status === 'loaded' ? '' : `: ${r.detail ?? r.stderr.trim()}`}`,
  );
  return `modprobe (${loaded.results.filter((r) => r.status === 'loaded').length}/${loaded.results.length} loaded)${loaded.timedOut ? ', total time limit reached' : ''}:\n${lines.join('\n')}\n`;
}

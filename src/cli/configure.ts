// `autoconfig --dry-run | --write | --apply`: the product. Probe, match, decide, plan, render; then show (dry run),
// write atomically inside the target root, and load the modules with time limits. Nothing here may hang or abort a
// boot: any failure before the files are rendered falls back to the safe plan, which is still written (exit 3).
import { posix } from 'node:path';
import { loadModules, type LoadResult } from '../apply/modprobe.ts';
import { render } from '../emit/render.ts';
import { acquireLock } from '../emit/lock.ts';
import { renderRunRecord, type RunFailure } from '../emit/run-record.ts';
import { WriteFilesError, writeFiles, type WriteFsLike, type WriteResult } from '../emit/write.ts';
import { AutoconfigError } from '../errors.ts';
import type { FsLike } from '../fs.ts';
import { PciNames } from '../ids/pci-ids.ts';
import { describeSerialConsole } from '../plan/console.ts';
import { decide, planDecided } from '../plan/decide.ts';
import { safePlan } from '../plan/plan.ts';
import { DEFAULT_XEN, detectTargetXen } from '../plan/target.ts';
import type { Plan } from '../plan/types.ts';
import { Reader, LARGE_FILE_CAP } from '../probe/_reader.ts';
import { probe } from '../probe/probe.ts';
import type { HardwareProfile } from '../types.ts';
import { VERSION } from '../version.ts';
import { parseArgs, parsePositiveInt, type OptionSpec } from './_args.ts';
import { forDisplay } from './_display.ts';
import { EXIT, type CliIO } from './_io.ts';
import { unifiedDiff } from '../emit/diff.ts';
import { describeAction, formatVerdicts } from './format-decisions.ts';
import { moduleProgress } from './progress.ts';
import { recordRun, type RunFacts } from './run-record.ts';

/** Exit codes of the configure modes (README "Exit codes"). */
export const CONFIGURE_EXIT = {
  ...EXIT,
  /** Something failed; the safe plan was shown or written instead. */
  safePlan: 3,
  /** Files written, but some modules failed to load or timed out. */
  modules: 4,
  /** A write failed half-way and not every file already replaced could be put back: the listing says which. */
  partial: 5,
} as const;

/** The longest --lock-timeout: 10 minutes. */
export const LOCK_TIMEOUT_MAX_MS = 600_000;

/** The largest --module-timeout: all modules together get 120 s. */
export const MODULE_TIMEOUT_MAX_MS = 120_000;

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
    fallback: 4000,
    unit: 'ms',
  });
  const lockTimeout = parsePositiveInt('lock-timeout', options['lock-timeout'], {
    max: LOCK_TIMEOUT_MAX_MS,
    fallback: 5000,
    unit: 'ms',
  });
  const root = posix.resolve(io.cwd, (options.root as string | undefined) ?? '/');
  const target = posix.resolve(io.cwd, (options.target as string | undefined) ?? root);
  const xen = (options.xen as string | undefined) ?? null;
  // For the run record: when it started and how long each stage took.
  const startedAt = new Date();
  const t0 = performance.now();

  const failures: string[] = [];
  // The same, with the file and error code each names (--json, stderr, the record): why the plan is not the rules'.
  const causes: RunFailure[] = [];
  let thePlan: Plan;
  let profile: HardwareProfile;
  try {
    const decided = await decide({
      fs: io.fs,
      root,
      xen,
      rules: ((options.rules as string[] | undefined) ?? []).map((r) => posix.resolve(io.cwd, r)),
      kernelDir: typeof options.kernel === 'string' ? posix.resolve(io.cwd, options.kernel) : null,
    });
    for (const issue of decided.ruleIssues.filter((i) => i.severity === 'error')) {
      failures.push(`rule file ${issue.file}:${issue.line}: ${issue.code}: ${issue.message}`);
      causes.push({ stage: 'rules', reason: issue.message, file: `${issue.file}:${issue.line}`, code: issue.code });
    }
    profile = decided.profile;
    const names = await PciNames.load();
    thePlan = planDecided(decided, (v, d) => names.device(v, d));
  } catch (error) {
    // A bad --xen is the user's mistake, not the machine's: a usage error, not a safe plan.
    // Nor is a root that is missing or holds no machine (E_ROOT): exit 1, naming it, and nothing written.
    if (error instanceof AutoconfigError && (error.code === 'E_USAGE' || error.code === 'E_ROOT')) throw error;
    failures.push(`planning failed: ${error instanceof Error ? error.message : String(error)}`);
    causes.push(failureOf('planning', error));
    profile = await probe({ fs: io.fs, root });
    const targetXen = await detectTargetXen({ option: xen, profile, fs: io.fs, root }).catch(() => ({
      version: DEFAULT_XEN,
      source: 'default' as const,
      detail: 'default (target detection failed too)',
    }));
    thePlan = safePlan(profile, targetXen);
  }
  // Rule-file errors leave the bad rules out; the plan from the good ones stands, but say so and exit 3. The
  // emitters refuse values they cannot write safely (a control character from a rule): then the safe plan.
  const tDecided = performance.now();
  let files: ReturnType<typeof render>;
  try {
    files = render(thePlan);
  } catch (error) {
    failures.push(`rendering failed: ${error instanceof Error ? error.message : String(error)}`);
    causes.push(failureOf('rendering', error));
    thePlan = safePlan(profile, thePlan.target);
    files = render(thePlan);
  }
  const current = await readCurrent(io.fs, target, files.map((f) => f.path));

  if (dryRun) {
    // Exit 3 says why on stderr too, so that a script that keeps only stderr (or --json) still knows.
    for (const cause of causes) io.stderr(`autoconfig: ${describeFailure(cause)}; ${cause.stage === 'rules' ? 'that rule is left out' : 'the safe plan is shown'}\n`);
    if (options.json) io.stdout(JSON.stringify(jsonReport(thePlan, files, causes), null, 2) + '\n');
    else io.stdout(forDisplay(textReport(thePlan, profile, files, current, failures, target)));
    return failures.length > 0 ? CONFIGURE_EXIT.safePlan : CONFIGURE_EXIT.ok;
  }

  const tRendered = performance.now();
  // The record and the summary line end every --write run, a failed write too (then main reports it, exit 1).
  const ms = (from: number, to: number) => Math.round(to - from);
  const facts = (exitCode: number, written: WriteResult, loaded: LoadResult | null, tWritten: number, tApplied: number | null, more: string[] = []): RunFacts => ({
    startedAt,
    apply,
    exitCode,
    durationsMs: {
      decide: ms(t0, tDecided),
      render: ms(tDecided, tRendered),
      write: ms(tRendered, tWritten),
      apply: tApplied === null ? null : ms(tWritten, tApplied),
      total: ms(t0, performance.now()),
    },
    // Output that could not be written (stdout closed or full) is no failure of the work, but the record says it.
    failures: [...failures, ...more, ...(io.outputFailures ?? []).map((f) => `output: ${f}`)],
    fileCount: files.length,
    files: written,
    loaded,
    plan: thePlan,
    target,
  });
  // --write --json: the run record is all there is on stdout (errors still go to stderr).
  const jsonOut = options.json === true ? io.stdout : null;
  if (jsonOut !== null) io = Object.create(io, { stdout: { value: () => undefined } }) as CliIO;
  const fallback = causes.find((c) => c.stage !== 'rules') ?? null;
  const finish = async (f: RunFacts): Promise<void> => {
    const { record } = await recordRun({ ...f, fallback }, io);
    jsonOut?.(renderRunRecord(record));
  };
  // One run at a time per target (issue #11): taken before the first file is written, released after the record;
  // a live holder is waited for --lock-timeout ms, then E_LOCKED names it (exit 1, nothing written, no record).
  // A run that dies holding it leaves a lock whose pid is gone: the next run takes it over. A lock that cannot be
  // made at all (its directory is a file, the target is read-only) must not stop the boot: said, then written.
  const lock = await acquireLock({
    target,
    fs: io.fs as unknown as WriteFsLike,
    command: ['autoconfig', ...argv].join(' '),
    waitMs: lockTimeout,
  }).catch((error: unknown) => {
    if (!(error instanceof AutoconfigError) || error.code === 'E_LOCKED') throw error;
    io.stderr(`autoconfig: cannot take the lock: ${error.message}; writing without it\n`);
    return { release: async () => undefined };
  });
  let result: WriteResult;
  try {
    result = await writeFiles(files, { target, fs: io.fs as unknown as WriteFsLike });
  } catch (error) {
    const why = `writing failed: ${error instanceof Error ? error.message : String(error)}`;
    if (error instanceof WriteFilesError && error.code === 'E_PARTIAL') {
      // Not every replaced file could be put back: say which files are in which state, everywhere.
      const p = error.partial;
      const states = [
        `  new (this run's, could not be put back): ${p.written.join(' ') || '(none)'}`,
        `  as before: ${p.old.join(' ') || '(none)'}`,
        ...(p.backups.length > 0 ? [`  backups made: ${p.backups.join(' ')}`] : []),
      ].join('\n');
      io.stdout(`PARTLY WRITTEN under ${target}: ${error.message}\n${states}\n`);
      io.stderr(`autoconfig: files partly written under ${target} (${p.written.length} new, ${p.old.length} as before): ${error.message}\n${states}\n`);
      await finish(facts(CONFIGURE_EXIT.partial, p, null, performance.now(), null, [why]));
      await lock.release();
      return CONFIGURE_EXIT.partial;
    }
    await finish(facts(CONFIGURE_EXIT.error, { written: [], unchanged: [], backups: [], removedTemps: [] }, null, performance.now(), null, [why]));
    await lock.release();
    throw error;
  }
  const tWritten = performance.now();
  let loaded: LoadResult | null = null;
  io.stdout(
    `wrote ${result.written.length} file(s) under ${target}, ${result.unchanged.length} unchanged` +
      (result.backups.length ? `, kept ${result.backups.length} backup(s)` : '') +
      (result.removedTemps.length ? `, removed ${result.removedTemps.length} stale temporary file(s)` : '') +
      '\n',
  );
  for (const path of result.written) io.stdout(`  ${path}\n`);
  for (const path of result.removedTemps) io.stdout(`  removed stale ${path}\n`);
  for (const failure of failures) io.stderr(forDisplay(`autoconfig: ${failure}; the safe plan was written\n`));
  let code: number = failures.length > 0 ? CONFIGURE_EXIT.safePlan : CONFIGURE_EXIT.ok;
  if (apply) {
    // On a terminal one line redrawn in place, then the listing; elsewhere one line per module as it ends.
    const progress = moduleProgress(io);
    loaded = await loadModules(
      thePlan.dom0.modules.map((m) => ({ name: m.name, options: m.options, optional: m.optional })),
      {
        perModuleMs: moduleTimeout,
        ...(target === '/' ? {} : { root: target }),
        ...(typeof options.modprobe === 'string' ? { modprobe: options.modprobe } : {}),
        onProgress: (event) => progress.onProgress(event),
      },
    );
    progress.end();
    if (io.isTTY) io.stdout(forDisplay(formatLoad(loaded)));
    // A module marked optional where there is no device that found none (not-applicable) is no failure.
    const failed = loaded.results.some((r) => r.status !== 'loaded' && r.status !== 'not-applicable');
    if (code === CONFIGURE_EXIT.ok && failed) code = CONFIGURE_EXIT.modules;
  }
  await finish(facts(code, result, loaded, tWritten, apply ? performance.now() : null));
  await lock.release();
  return code;
}

/** A failure as the record and --json give it: what failed, the file and the error code where the error names them. */
function failureOf(stage: RunFailure['stage'], error: unknown): RunFailure {
  const e = (typeof error === 'object' && error !== null ? error : {}) as { path?: unknown; code?: unknown };
  return {
    stage,
    reason: error instanceof Error ? error.message : String(error),
    file: typeof e.path === 'string' && e.path !== '' ? e.path : null,
    code: typeof e.code === 'string' ? e.code : null,
  };
}

/** "planning failed (E_IO, /no/such/rules): MESSAGE", control characters escaped: a reason may quote a rule. */
function describeFailure(f: RunFailure): string {
  const where = [f.code, f.file].filter((x) => x !== null).join(', ');
  const text = `${f.stage === 'rules' ? 'rule file error' : `${f.stage} failed`}${where ? ` (${where})` : ''}: ${f.reason}`;
  return text.replace(/[\x00-\x1f\x7f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

async function readCurrent(fs: FsLike, target: string, paths: string[]): Promise<Map<string, string | null>> {
  const reader = new Reader({ fs, root: target });
  const out = new Map<string, string | null>();
  for (const path of paths) out.set(path, await reader.text(path, { cap: LARGE_FILE_CAP }));
  return out;
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

function textReport(
  p: Plan,
  profile: HardwareProfile,
  files: { path: string; content: string }[],
  current: Map<string, string | null>,
  failures: string[],
  target: string,
): string {
  const out: string[] = [];
  const d = profile.dmi;
  out.push(`autoconfig ${VERSION} --dry-run: nothing is written.`, '');
  for (const failure of failures) out.push(`FAILED: ${failure}`);
  if (failures.length > 0) out.push('This is the SAFE plan: conservative options only.', '');
  out.push(
    `Machine: ${[d.sysVendor, d.productName].filter(Boolean).join(' ') || 'unknown'}; ` +
      `${profile.cpu.modelName ?? 'unknown CPU'}, ${profile.cpu.logicalCpus ?? '?'} logical CPUs${cpuCountsFrom(profile)}; ` +
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
  const changed = files.filter((f) => current.get(f.path) !== f.content);
  out.push('', `Files under ${target} (${changed.length} would change, ${files.length - changed.length} unchanged):`);
  for (const f of files) out.push(`  ${current.get(f.path) === f.content ? 'unchanged' : current.get(f.path) === null ? 'new      ' : 'changed  '} ${f.path}`);
  for (const f of changed) out.push('', unifiedDiff(f.path, current.get(f.path) ?? null, f.content).trimEnd());
  return out.join('\n') + '\n';
}

function jsonReport(p: Plan, files: { path: string; content: string }[], causes: RunFailure[]) {
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
    failures: causes,
    fallback: causes.find((c) => c.stage !== 'rules') ?? null,
    plan: p,
  };
}

function formatLoad(loaded: LoadResult): string {
  const lines = loaded.results.map(
    (r) => `  ${r.status.padEnd(8)} ${r.name}${r.status === 'loaded' ? '' : `: ${r.detail ?? r.stderr.trim()}`}`,
  );
  return `modprobe (${loaded.results.filter((r) => r.status === 'loaded').length}/${loaded.results.length} loaded)${loaded.timedOut ? ', total time limit reached' : ''}:\n${lines.join('\n')}\n`;
}

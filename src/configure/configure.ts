// configure(): the product, exactly as `autoconfig --dry-run | --write | --apply` runs it (src/cli/configure.ts is a
// thin client of it, as lspci is of libpci). Probe, match drivers, decide, plan with the PCI names, render; then
// compare with the target (a dry run), or take the target's lock, write the set atomically, load the Dom0 modules
// with time limits and leave the run record. Nothing here may hang or abort a boot: any failure before the files are
// rendered falls back to the safe plan, which is still written (exit 3). A library user composing decide() -> plan()
// -> render() -> writeFiles() by hand gets none of that (no names, no safe plan, no lock, no record): this is the
// one pipeline.
import { posix } from 'node:path';
import { DEFAULT_PER_MODULE_MS, loadModules, type LoadProgress, type LoadResult } from '../apply/modprobe.ts';
import { unifiedDiff } from '../emit/diff.ts';
import { acquireLock } from '../emit/lock.ts';
import { render, type RenderedFile } from '../emit/render.ts';
import type { RunFailure, RunRecord } from '../emit/run-record.ts';
import { WriteFilesError, writeFiles, type PartialWrite, type WriteFsLike, type WriteResult } from '../emit/write.ts';
import { AutoconfigError } from '../errors.ts';
import { nodeFsPromises, type FsLike, type WritableFsLike } from '../fs.ts';
import { PciNames } from '../ids/pci-ids.ts';
import { decide, planDecided } from '../plan/decide.ts';
import { safePlan } from '../plan/plan.ts';
import { DEFAULT_XEN, detectTargetXen } from '../plan/target.ts';
import type { Plan } from '../plan/types.ts';
import { LARGE_FILE_CAP, Reader } from '../probe/_reader.ts';
import { probe } from '../probe/probe.ts';
import type { HardwareProfile } from '../types.ts';
import { recordRun, type RunFacts } from './run-record.ts';
import type { RulesCacheFile } from '../rules/cache.ts';

/** The exit status of a run (README "Exit codes"); the CLI exits with it. */
export const CONFIGURE_EXIT = {
  ok: 0,
  /** The write failed; nothing was changed (what it had replaced was put back). `error` says why. */
  error: 1,
  /** The command line was wrong (the CLI's; configure() throws E_USAGE instead). */
  usage: 2,
  /** Something failed; the safe plan was shown or written instead. */
  safePlan: 3,
  /** Files written, but some modules failed to load or timed out. */
  modules: 4,
  /** A write failed half-way and not every file already replaced could be put back: `written` says which. */
  partial: 5,
} as const;

export type ConfigureExitCode = (typeof CONFIGURE_EXIT)[keyof typeof CONFIGURE_EXIT];

/** The longest lock wait: 10 minutes. */
export const LOCK_TIMEOUT_MAX_MS = 600_000;
/** The largest per-module time limit: all modules together get 120 s. */
export const MODULE_TIMEOUT_MAX_MS = 120_000;
export const DEFAULT_LOCK_TIMEOUT_MS = 5000;
export const DEFAULT_MODULE_TIMEOUT_MS = DEFAULT_PER_MODULE_MS;

export interface ConfigureOptions {
  /** The machine to plan for: `/`, a mounted system or a snapshot tree (absolute). Default `/`. */
  root?: string;
  /** The root the files are compared with and written under (absolute). Default: `root`. */
  target?: string;
  /** The target Xen ("4.17", "3.0.3"); default: a `xen=` cheatcode, the running Xen, the target's /boot, else 4.20. */
  xen?: string | null;
  /** More rule files or directories (absolute), after the shipped rules and the target's /etc/autoconfig/rules.d. */
  rules?: readonly string[];
  /** A kernel's module directory (absolute, /lib/modules/RELEASE) to match drivers against. */
  kernel?: string | null;
  /** true: write the files (atomically, as one set) and the run record. Default false: a dry run, which writes nothing anywhere. */
  write?: boolean;
  /** Also load the Dom0 modules after writing (needs `write: true`). */
  apply?: boolean;
  /** Time limit per module, ms, 1 to 120000 (all modules together get 120 s). Default 4000. */
  moduleTimeoutMs?: number;
  /** How long to wait for another run holding the target's lock, ms, 1 to 600000. Default 5000. */
  lockTimeoutMs?: number;
  /** The modprobe to run: a path, or a name looked up on PATH. Default modprobe on PATH, else /sbin/modprobe. */
  modprobe?: string;
  /** The filesystem everything is read from and written to. Default node's. */
  fs?: WritableFsLike;
  /** Each module as it starts and ends loading (`apply`); an exception it throws is ignored. */
  onProgress?: (event: LoadProgress) => void;
  /** Called once the files are written, before any module is loaded (the CLI lists them then); an exception it throws is ignored. */
  onWritten?: (written: WriteResult) => void;
  /**
   * Messages about the run a person should see (the CLI's stderr, without its "autoconfig: "): why the plan is the
   * safe one, a lock that cannot be taken, a record that cannot be written, a half-done write. Default: none. An
   * exception it throws is ignored.
   */
  log?: (message: string) => void;
  /** What this run is, for the message another run shows while this one holds the lock. Default: this process's argv. */
  command?: string;
  /** Output of the caller's that failed (`stdout: EPIPE ...`), read when the record is made: it lists them as `output: ...`. */
  outputFailures?: readonly string[];
}

export type FileState = 'new' | 'changed' | 'unchanged';

/** A file of the plan against the target. */
export interface ConfiguredFile extends RenderedFile {
  /** What the target has now, against what the plan writes. */
  state: FileState;
  /** The target's file before this run (null: there is none, or it cannot be read as a file). */
  current: string | null;
  /** `diff -u` of current against content ('' when unchanged). */
  diff: string;
}

export interface ConfigureResult {
  plan: Plan;
  profile: HardwareProfile;
  /** The absolute target the files are under. */
  target: string;
  /** Every file of the plan, sorted by path, with its state as the run found the target. */
  files: ConfiguredFile[];
  /** The unified diff of every file that is new or changed, as the dry run prints it. */
  diff: string;
  exitCode: ConfigureExitCode;
  /** Why the plan is not the rules' own: rule-file errors (those rules left out), or the failure that made it safe. */
  failures: RunFailure[];
  /** The failure that made this the safe plan (planning or rendering), or null. */
  fallback: RunFailure | null;
  /** What the write did (a PartialWrite when it failed half-way, exit 5); null in a dry run. */
  written: WriteResult | PartialWrite | null;
  /** The modules' results (`apply`), else null. */
  loaded: LoadResult | null;
  /** The run record as written to /var/lib/autoconfig/last-run.json; null in a dry run. Its `summary` is the last line to print. */
  record: RunRecord | null;
  /** The record was written (false: it could not be, and `log` said why). */
  recorded: boolean;
  /** Exit 1 and 5: the write's error (an AutoconfigError naming the file, unless something unforeseen broke). */
  error: Error | null;
}

/** The rules, plan, files and, with `write`, the written set, modules and record: `autoconfig --dry-run | --write | --apply`. */
export async function configure(options: ConfigureOptions = {}): Promise<ConfigureResult> {
  const fs = options.fs ?? nodeFsPromises;
  // The caller's callbacks are its display: one that throws must not stop a boot half-way (loadModules's rule).
  const log = (message: string): void => quietly(() => options.log?.(message));
  const write = options.write === true;
  const apply = options.apply === true;
  // Checked before anything is read: a bad option is the caller's mistake, never a silent default.
  if (apply && !write) throw new AutoconfigError('E_USAGE', 'apply loads the modules after writing the files: give write: true too');
  const moduleTimeout = limit('moduleTimeoutMs', options.moduleTimeoutMs, MODULE_TIMEOUT_MAX_MS, DEFAULT_MODULE_TIMEOUT_MS);
  const lockTimeout = limit('lockTimeoutMs', options.lockTimeoutMs, LOCK_TIMEOUT_MAX_MS, DEFAULT_LOCK_TIMEOUT_MS);
  const root = options.root ?? '/';
  const target = absolute('target', options.target ?? root);
  const rules = (options.rules ?? []).map((r) => absolute('rules', r));
  const kernelDir = options.kernel === undefined || options.kernel === null ? null : absolute('kernel', options.kernel);
  const xen = options.xen ?? null;
  // For the run record: when it started and how long each stage took.
  const startedAt = new Date();
  const t0 = performance.now();

  // Why the plan is not the rules' (the record, --json and the log say it with the file and code each names).
  const failures: RunFailure[] = [];
  let thePlan: Plan;
  let profile: HardwareProfile;
  // Local rules compiled once: the cache is read from the target; a write leaves it there after the files.
  let rulesCacheFile: RulesCacheFile | null = null;
  try {
    const decided = await decide({ fs, root, xen, rules, kernelDir, rulesCache: { target } });
    rulesCacheFile = decided.rulesCacheFile;
    for (const issue of decided.ruleIssues.filter((i) => i.severity === 'error')) {
      failures.push({ stage: 'rules', reason: issue.message, file: `${issue.file}:${issue.line}`, code: issue.code });
    }
    profile = decided.profile;
    const names = await PciNames.load();
    thePlan = planDecided(decided, (v, d) => names.device(v, d));
  } catch (error) {
    // A bad xen is the caller's mistake, not the machine's: thrown, not a safe plan. So is a root that is missing
    // or holds no machine (E_ROOT): nothing written.
    if (error instanceof AutoconfigError && (error.code === 'E_USAGE' || error.code === 'E_ROOT')) throw error;
    failures.push(failureOf('planning', error));
    profile = await probe({ fs, root });
    const targetXen = await detectTargetXen({ option: xen, profile, fs, root }).catch(() => ({
      version: DEFAULT_XEN,
      source: 'default' as const,
      detail: 'default (target detection failed too)',
    }));
    thePlan = safePlan(profile, targetXen);
  }
  // Rule-file errors leave the bad rules out; the plan from the good ones stands, but it says so and exits 3. The
  // emitters refuse values they cannot write safely (a control character from a rule): then the safe plan.
  const tDecided = performance.now();
  let rendered: RenderedFile[];
  try {
    rendered = render(thePlan);
  } catch (error) {
    failures.push(failureOf('rendering', error));
    thePlan = safePlan(profile, thePlan.target);
    rendered = render(thePlan);
  }
  const files = await compare(fs, target, rendered);
  const fallback = failures.find((c) => c.stage !== 'rules') ?? null;
  const base = {
    plan: thePlan,
    profile,
    target,
    files,
    diff: files.map((f) => f.diff).join(''),
    failures,
    fallback,
  };

  if (!write) {
    for (const f of failures) log(`${describeFailure(f)}; ${f.stage === 'rules' ? 'that rule is left out' : 'the safe plan is shown'}`);
    return {
      ...base,
      exitCode: failures.length > 0 ? CONFIGURE_EXIT.safePlan : CONFIGURE_EXIT.ok,
      written: null,
      loaded: null,
      record: null,
      recorded: false,
      error: null,
    };
  }

  const tRendered = performance.now();
  const ms = (from: number, to: number) => Math.round(to - from);
  const lines = failures.map(failureText);
  // The record ends every run that writes, a failed write too.
  const finish = async (
    exitCode: ConfigureExitCode,
    written: WriteResult | PartialWrite,
    loaded: LoadResult | null,
    tWritten: number,
    tApplied: number | null,
    error: Error | null,
  ): Promise<ConfigureResult> => {
    const facts: RunFacts = {
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
      failures: [
        ...lines,
        ...(error === null ? [] : [`writing failed: ${error.message}`]),
        ...(options.outputFailures ?? []).map((f) => `output: ${f}`),
      ],
      fileCount: files.length,
      files: written,
      fallback,
      loaded,
      plan: thePlan,
      target,
    };
    const { record, recorded } = await recordRun(facts, { fs, log });
    return { ...base, exitCode, written, loaded, record, recorded, error };
  };

  // One run at a time per target (issue #11): taken before the first file is written, released after the record;
  // a live holder is waited for lockTimeoutMs, then E_LOCKED names it (thrown: nothing written, no record). A run
  // that dies holding it leaves a lock whose pid is gone: the next run takes it over. A lock that cannot be made at
  // all (its directory is a file, the target is read-only) must not stop the boot: logged, then written.
  const lock = await acquireLock({
    target,
    fs: fs as unknown as WriteFsLike,
    command: options.command ?? process.argv.join(' '),
    waitMs: lockTimeout,
  }).catch((error: unknown) => {
    if (!(error instanceof AutoconfigError) || error.code === 'E_LOCKED') throw error;
    log(`cannot take the lock: ${error.message}; writing without it`);
    return { release: async () => undefined };
  });
  try {
    let written: WriteResult;
    try {
      written = await writeFiles(files.map(({ path, content, mode }) => (mode === undefined ? { path, content } : { path, content, mode })), {
        target,
        fs: fs as unknown as WriteFsLike,
      });
    } catch (thrown) {
      const error = thrown instanceof Error ? thrown : new Error(String(thrown));
      if (error instanceof WriteFilesError && error.code === 'E_PARTIAL') {
        // Not every replaced file could be put back: say which files are in which state, everywhere.
        const p = error.partial;
        log(`files partly written under ${target} (${p.written.length} new, ${p.old.length} as before): ${error.message}\n${partialListing(p)}`);
        return await finish(CONFIGURE_EXIT.partial, p, null, performance.now(), null, error);
      }
      return await finish(CONFIGURE_EXIT.error, { written: [], unchanged: [], backups: [], removedTemps: [] }, null, performance.now(), null, error);
    }
    if (rulesCacheFile !== null) await writeRulesCache(rulesCacheFile, target, fs, log);
    const tWritten = performance.now();
    quietly(() => options.onWritten?.(written));
    for (const line of lines) log(`${line}; the safe plan was written`);
    let code: ConfigureExitCode = failures.length > 0 ? CONFIGURE_EXIT.safePlan : CONFIGURE_EXIT.ok;
    let loaded: LoadResult | null = null;
    if (apply) {
      loaded = await loadModules(
        thePlan.dom0.modules.map((m) => ({ name: m.name, options: m.options, optional: m.optional })),
        {
          perModuleMs: moduleTimeout,
          ...(target === '/' ? {} : { root: target }),
          ...(options.modprobe === undefined ? {} : { modprobe: options.modprobe }),
          ...(options.onProgress === undefined ? {} : { onProgress: options.onProgress }),
        },
      );
      // A module marked optional where there is no device that found none (not-applicable) is no failure.
      const failed = loaded.results.some((r) => r.status !== 'loaded' && r.status !== 'not-applicable');
      if (code === CONFIGURE_EXIT.ok && failed) code = CONFIGURE_EXIT.modules;
    }
    return await finish(code, written, loaded, tWritten, apply ? performance.now() : null, null);
  } finally {
    await lock.release();
  }
}

/** A failure as the record and the log give it: the stage, its message, the file and error code it names. */
export function failureText(f: RunFailure): string {
  return f.stage === 'rules' ? `rule file ${f.file}: ${f.code}: ${f.reason}` : `${f.stage} failed: ${f.reason}`;
}

/** "planning failed (E_IO, /no/such/rules): MESSAGE", control characters escaped: a reason may quote a rule. */
export function describeFailure(f: RunFailure): string {
  const where = [f.code, f.file].filter((x) => x !== null).join(', ');
  const text = `${f.stage === 'rules' ? 'rule file error' : `${f.stage} failed`}${where ? ` (${where})` : ''}: ${f.reason}`;
  return text.replace(/[\x00-\x1f\x7f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/**
 * The compiled-rules cache (rules/cache.ts), after the plan's files and under the same lock: a file of its own
 * (no backup: it is rewritten whenever the rules change), whose failure is said and changes nothing else, since
 * the next run then reads the rule files again.
 */
async function writeRulesCache(file: RulesCacheFile, target: string, fs: FsLike, log: (line: string) => void): Promise<void> {
  try {
    await writeFiles([{ path: file.path, content: file.content, mode: 0o644 }], { target, fs: fs as unknown as WriteFsLike, backup: false });
  } catch (error) {
    log(`the compiled-rules cache ${posix.join(target, file.path)} could not be written (${error instanceof Error ? error.message : String(error)}): the next run reads the rule files again`);
  }
}

/** The files of a half-done write, by state, one indented line each (exit 5). */
export function partialListing(p: PartialWrite): string {
  return [
    `  new (this run's, could not be put back): ${p.written.join(' ') || '(none)'}`,
    `  as before: ${p.old.join(' ') || '(none)'}`,
    ...(p.backups.length > 0 ? [`  backups made: ${p.backups.join(' ')}`] : []),
  ].join('\n');
}

function quietly(call: () => void): void {
  try {
    call();
  } catch {
    // Ignored: see configure()'s log.
  }
}

function failureOf(stage: RunFailure['stage'], error: unknown): RunFailure {
  const e = (typeof error === 'object' && error !== null ? error : {}) as { path?: unknown; code?: unknown };
  return {
    stage,
    reason: error instanceof Error ? error.message : String(error),
    file: typeof e.path === 'string' && e.path !== '' ? e.path : null,
    code: typeof e.code === 'string' ? e.code : null,
  };
}

function limit(name: string, value: number | undefined, max: number, fallback: number): number {
  if (value === undefined) return fallback;
  if (!(Number.isSafeInteger(value) && value >= 1 && value <= max)) {
    throw new AutoconfigError('E_USAGE', `${name} ${String(value)}: not a whole number from 1 to ${max} ms`, { path: name });
  }
  return value;
}

function absolute(name: string, path: string): string {
  if (!posix.isAbsolute(path)) throw new AutoconfigError('E_USAGE', `${name} ${JSON.stringify(path)}: not an absolute path`, { path });
  return posix.normalize(path);
}

/** Each rendered file against what the target has now (read as the probes read: no FIFO or device blocks it). */
async function compare(fs: FsLike, target: string, rendered: readonly RenderedFile[]): Promise<ConfiguredFile[]> {
  const reader = new Reader({ fs, root: target });
  const out: ConfiguredFile[] = [];
  for (const f of rendered) {
    const current = await reader.text(f.path, { cap: LARGE_FILE_CAP });
    const state: FileState = current === f.content ? 'unchanged' : current === null ? 'new' : 'changed';
    out.push({ ...f, state, current, diff: state === 'unchanged' ? '' : unifiedDiff(f.path, current, f.content) });
  }
  return out;
}

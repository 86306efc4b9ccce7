// Loads kernel modules one at a time with modprobe, so that a module that hangs cannot hang the boot. hwsetup
// waited at most 4 s per module and 120 s in all, but never killed a hung modprobe and ended the whole run with
// exit(1) when the 120 s alarm fired. Here a modprobe that outlives its limit gets SIGTERM, then SIGKILL 500 ms
// later (its whole process group: modprobe.d `install` commands run children), and after every modprobe, timely or
// not, what it left running in its group is killed (nothing outlives the run); one that is stuck in the kernel
// and survives even SIGKILL is left behind after another 500 ms, said so, and the next module goes on. When the
// total budget is spent the remaining modules are skipped, each with the reason. Nothing here throws for a
// module: every outcome is a result.
//
// modprobe runs without a shell: argv is `modprobe [args] [-d ROOT] -- NAME PARAM...`, the options string split
// into param=value words as the kernel splits them (whitespace outside double quotes; quotes kept for the kernel).
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { posix } from 'node:path';
import { splitCmdline } from '../cmdline.ts';
import { AutoconfigError } from '../errors.ts';
import { ModprobeCgroup, type Contained } from './cgroup.ts';

export interface ModuleToLoad {
  name: string;
  /** Module parameters as in modprobe.d `options` lines: 'foo=1 bar="a b"'. */
  options?: string | null;
  /**
   * 'no-device': the module may find nothing to drive here (the plan's module entry, from the rule that loads it:
   * xen-acpi-processor where the firmware offers no ACPI processor data Xen can use). Its failure with "No such
   * device" (ENODEV, in modprobe's stderr) is then the status 'not-applicable', not 'failed'.
   */
  optional?: 'no-device' | null;
}

/** not-applicable: a module marked optional where there is no device failed with ENODEV, as expected (not a failure). */
export type LoadStatus = 'loaded' | 'failed' | 'timeout' | 'skipped' | 'not-applicable';

export interface ModuleResult {
  name: string;
  status: LoadStatus;
  /** modprobe's exit code; null when it was not run, was killed, or did not exit. */
  exitCode: number | null;
  /** The signal that ended it, if one did. */
  signal: string | null;
  stderr: string;
  stdout: string;
  /** Wall time spent on this module (0 when skipped). */
  ms: number;
  /** The argv run (without the modprobe path), empty when nothing was run. */
  argv: string[];
  /** What happened, in words: why it failed, was killed or skipped. */
  detail: string;
}

export interface LoadResult {
  results: ModuleResult[];
  /** The total budget ran out: a module was cut short by it or the rest were skipped. */
  timedOut: boolean;
  /** The modprobe used, or null when none was found. */
  modprobe: string | null;
  /**
   * What ended what each modprobe left running: 'cgroup DIR' (everything, escaped processes too), or 'process
   * group (why no cgroup)' (a process that left the group with setsid is out of reach).
   */
  containment: string;
}

/** The part of a child process this module uses; node's ChildProcess satisfies it. */
export interface ChildLike {
  readonly pid?: number | undefined;
  readonly stdout: NodeJS.ReadableStream | null;
  readonly stderr: NodeJS.ReadableStream | null;
  kill(signal: NodeJS.Signals): boolean;
  unref(): void;
  once(event: 'exit', listener: (code: number | null, signal: NodeJS.Signals | null) => void): unknown;
  once(event: 'error', listener: (error: Error) => void): unknown;
}

export type SpawnLike = (
  command: string,
  args: readonly string[],
  options: { stdio: ['ignore', 'pipe', 'pipe']; detached: boolean },
) => ChildLike;

/**
 * Progress of loadModules(), for a display: 'start' when modprobe is started for a module, 'done' when its result is
 * in (every module gets one, also those skipped or refused without running anything). `index` counts from 1.
 */
export type LoadProgress =
  | { phase: 'start'; index: number; total: number; name: string }
  | { phase: 'done'; index: number; total: number; result: ModuleResult };

export interface LoadOptions {
  /** A path, or a name looked up on PATH. Default: 'modprobe' on PATH, else /sbin/modprobe, /usr/sbin/modprobe. */
  modprobe?: string;
  /** Time limit per module, ms (hwsetup: 4 s). */
  perModuleMs?: number;
  /** Time limit for all modules together, ms (hwsetup: 120 s); the call returns within totalMs + 2 killGraceMs. */
  totalMs?: number;
  /** Time between SIGTERM and SIGKILL, and after SIGKILL before giving up on the process, ms. */
  killGraceMs?: number;
  /** Root of /lib/modules, passed as `-d ROOT` when it is not "/". */
  root?: string;
  /** modprobe options placed before the module name, e.g. ['-n', '-v'] for a dry run. */
  args?: readonly string[];
  spawn?: SpawnLike;
  /** PATH used to find a bare modprobe name; default process.env.PATH. */
  path?: string;
  /** Called as each module starts and ends; an exception it throws is ignored (a display must not stop loading). */
  onProgress?: (event: LoadProgress) => void;
  /** Each modprobe in a transient cgroup v2 where one can be made (default true); false: the process group only. */
  cgroup?: boolean;
}

export const DEFAULT_PER_MODULE_MS = 4000;
export const DEFAULT_TOTAL_MS = 120_000;
export const DEFAULT_KILL_GRACE_MS = 500;
const OUTPUT_CAP = 64 * 1024;
/**
 * After modprobe exits and its group is killed, how long its pipes may take to end. Its own output is already in
 * the pipe buffers; only a process that escaped the group (setsid) keeps them open, and is not waited for.
 */
const DRAIN_MS = 50;
const FALLBACK_MODPROBES = ['/sbin/modprobe', '/usr/sbin/modprobe'];

// Module names and aliases as modprobe takes them (snd-hda-intel, nvidia_drm, char-major-10-135, pci:v...);
// never starting with "-", which modprobe would read as an option.
const MODULE_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.:+,=-]*$/;
// A kernel module parameter word: name, or name=value (the value may hold anything, quoted spaces included).
const PARAM_WORD = /^[A-Za-z0-9_][A-Za-z0-9_.-]*(=[\s\S]*)?$/;

/**
 * Splits an options string into param words as the kernel's next_arg() does: whitespace separates words except
 * inside double quotes; the quotes stay in the word for the kernel to remove. Throws (a plain Error, turned into a
 * failed result) on an unbalanced quote or a word that is not a parameter.
 */
export function splitModuleOptions(options: string): string[] {
  if ((options.match(/"/g) ?? []).length % 2 === 1) {
    throw new Error(`unbalanced double quote in options ${JSON.stringify(options)}`);
  }
  const words = splitCmdline(options);
  for (const w of words) {
    if (!PARAM_WORD.test(w) || w.includes('\0')) {
      throw new Error(`${JSON.stringify(w)} is not a module parameter (name or name=value)`);
    }
  }
  return words;
}

/** The modprobe to run: the given path, a bare name found on PATH, or the fallbacks. Null when none is found. */
export async function findModprobe(name = 'modprobe', path = process.env.PATH ?? ''): Promise<string | null> {
  const candidates = name.includes('/')
    ? [name]
    : [
        ...path
          .split(':')
          .filter((dir) => dir.startsWith('/'))
          .map((dir) => posix.join(dir, name)),
        ...(name === 'modprobe' ? FALLBACK_MODPROBES : []),
      ];
  for (const candidate of candidates) {
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // Not there or not executable: try the next one.
    }
  }
  return null;
}

function checkMs(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value < 0) {
    throw new AutoconfigError('E_USAGE', `${name} must be a number of milliseconds >= 0, not ${String(value)}`);
  }
  return value;
}

export async function loadModules(modules: readonly ModuleToLoad[], options: LoadOptions = {}): Promise<LoadResult> {
  const start = performance.now();
  const perModuleMs = checkMs('perModuleMs', options.perModuleMs, DEFAULT_PER_MODULE_MS);
  const totalMs = checkMs('totalMs', options.totalMs, DEFAULT_TOTAL_MS);
  const graceMs = checkMs('killGraceMs', options.killGraceMs, DEFAULT_KILL_GRACE_MS);
  const extra = [...(options.args ?? [])];
  for (const arg of extra) {
    if (!arg.startsWith('-') || arg === '--') {
      throw new AutoconfigError('E_USAGE', `modprobe args must be options, not ${JSON.stringify(arg)}`);
    }
  }
  const root = options.root === undefined ? '/' : posix.resolve('/', options.root);
  if (root !== '/') extra.push('-d', root);
  // Loaded here, not at the top: node:child_process costs ~2 ms to load and --dry-run never spawns.
  const spawn = options.spawn ?? ((await import('node:child_process')).spawn as unknown as SpawnLike);
  const modprobe = await findModprobe(options.modprobe ?? 'modprobe', options.path);

  // Only when something will run: creating a cgroup is a write to the system.
  const runnable = modprobe !== null && modules.length > 0;
  const { cgroup, why } = options.cgroup === false || !runnable ? { cgroup: null, why: 'not used' } : ModprobeCgroup.open();
  const containment = cgroup ? `cgroup ${cgroup.dir}` : `process group (no cgroup: ${why})`;
  const results: ModuleResult[] = [];
  const total = modules.length;
  const report = (event: LoadProgress) => {
    try {
      options.onProgress?.(event);
    } catch {
      // A broken display is not a reason to leave modules unloaded.
    }
  };
  const push = (result: ModuleResult) => {
    results.push(result);
    report({ phase: 'done', index: results.length, total, result });
  };
  let timedOut = false;
  for (const module of modules) {
    const base = { name: String(module.name), exitCode: null, signal: null, stderr: '', stdout: '', ms: 0, argv: [] };
    const remaining = totalMs - (performance.now() - start);
    if (remaining <= 0) {
      timedOut = true;
      push({ ...base, status: 'skipped', detail: `skipped: the total time budget of ${totalMs} ms is spent` });
      continue;
    }
    let params: string[];
    try {
      if (!MODULE_NAME.test(base.name)) throw new Error(`invalid module name ${JSON.stringify(base.name)}`);
      params = module.options == null ? [] : splitModuleOptions(module.options);
    } catch (error) {
      push({ ...base, status: 'failed', detail: `not run: ${(error as Error).message}` });
      continue;
    }
    if (modprobe === null) {
      const where = options.modprobe ?? `modprobe (PATH, ${FALLBACK_MODPROBES.join(', ')})`;
      push({ ...base, status: 'failed', detail: `not run: ${where} not found or not executable` });
      continue;
    }
    const argv = [...extra, '--', base.name, ...params];
    const limit = Math.min(perModuleMs, Math.ceil(remaining));
    const cutByTotal = limit < perModuleMs;
    report({ phase: 'start', index: results.length + 1, total, name: base.name });
    const outcome = await runOne(spawn, modprobe, argv, limit, graceMs, cgroup);
    const result: ModuleResult = { ...base, ...outcome, argv };
    // modprobe's "could not insert 'NAME': No such device" (strerror(ENODEV)): the module found nothing to drive.
    if (module.optional === 'no-device' && result.status === 'failed' && result.exitCode !== null && /: No such device$/m.test(result.stderr)) {
      result.status = 'not-applicable';
      result.detail =
        'not applicable: No such device (no device here for it to drive; the rule that loads it expects that where there is none)';
    }
    if (result.status === 'timeout' && cutByTotal) {
      timedOut = true;
      result.detail += ` (the total budget of ${totalMs} ms left only ${limit} ms)`;
    }
    push(result);
  }
  cgroup?.close();
  return { results, timedOut, modprobe, containment };
}

type Outcome = Pick<ModuleResult, 'status' | 'exitCode' | 'signal' | 'stderr' | 'stdout' | 'ms' | 'detail'>;

interface Collected {
  text(): string;
  /** Resolves when the stream has ended (or there is none). */
  ended: Promise<void>;
  stop(): void;
}

function collect(stream: NodeJS.ReadableStream | null): Collected {
  const chunks: Buffer[] = [];
  let size = 0;
  let truncated = false;
  const onData = (chunk: Buffer | string) => {
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    const room = OUTPUT_CAP - size;
    if (buffer.length > room) truncated = true;
    if (room <= 0) return;
    chunks.push(buffer.subarray(0, room));
    size += Math.min(buffer.length, room);
  };
  const ended = new Promise<void>((resolve) => {
    if (stream === null) return resolve();
    stream.once('end', () => resolve());
    stream.once('close', () => resolve());
    stream.once('error', () => resolve());
  });
  stream?.on('data', onData);
  return {
    text: () => Buffer.concat(chunks).toString('utf8') + (truncated ? '\n[output truncated]' : ''),
    ended,
    stop: () => {
      stream?.removeListener('data', onData);
      // A grandchild may hold the pipe open; do not let it keep this process alive or waiting.
      (stream as { destroy?: () => void } | null)?.destroy?.();
    },
  };
}

type Ending = Pick<ModuleResult, 'status' | 'exitCode' | 'signal' | 'detail'>;

function runOne(
  spawn: SpawnLike,
  modprobe: string,
  argv: string[],
  limit: number,
  graceMs: number,
  cgroup: ModprobeCgroup | null,
): Promise<Outcome> {
  const started = performance.now();
  // Nothing may take longer than this: the limit, SIGTERM's grace, SIGKILL's grace.
  const hardDeadline = started + limit + 2 * graceMs;
  return new Promise<Outcome>((resolve) => {
    let child: ChildLike;
    let contained: Contained<ChildLike> | null = null;
    try {
      // Its own process group, so the kill reaches what modprobe started (install commands) too; and its own
      // cgroup where there is one, which reaches what left the group.
      const start = () => spawn(modprobe, argv, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
      contained = cgroup?.spawnInside(start) ?? null;
      child = contained ? contained.child : start();
    } catch (error) {
      resolve({ ...notStarted(error), stdout: '', stderr: '', ms: Math.round(performance.now() - started) });
      return;
    }
    const stdout = collect(child.stdout);
    const stderr = collect(child.stderr);
    const timers = new Set<NodeJS.Timeout>();
    const later = (ms: number, run: () => void) => {
      const timer = setTimeout(() => {
        timers.delete(timer);
        run();
      }, ms);
      timers.add(timer);
    };
    const clearTimers = () => {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
    };
    let phase: 'running' | 'term' | 'kill' | 'exited' = 'running';
    let done = false;
    const finish = (ending: Ending) => {
      if (done) return;
      done = true;
      clearTimers();
      stdout.stop();
      stderr.stop();
      const ms = Math.round(performance.now() - started);
      const outcome = { ...ending, stdout: stdout.text(), stderr: stderr.text(), ms };
      if (!contained) return resolve(outcome);
      // Whatever is still in its cgroup goes now; the leaf is removed once empty (a process stuck in the kernel
      // keeps it: then it stays, and the result says so).
      contained.kill();
      void contained.remove(graceMs).then((notRemoved) =>
        resolve(notRemoved === null ? outcome : { ...outcome, detail: `${outcome.detail}; ${notRemoved}` }),
      );
    };
    // `leaderToo`: when the group cannot be signalled, the child alone (not once it has exited: its pid is free).
    const signalGroup = (signal: NodeJS.Signals, leaderToo = true) => {
      const pid = child.pid;
      try {
        if (pid === undefined) throw new Error('no pid');
        process.kill(-pid, signal);
      } catch {
        if (!leaderToo) return;
        try {
          child.kill(signal);
        } catch {
          // Already gone.
        }
      }
    };
    child.once('error', (error) => {
      // Spawning failed (ENOENT, EACCES): no 'exit' follows.
      if (phase === 'running') finish(notStarted(error));
    });
    child.once('exit', (code, signal) => {
      let ending: Ending;
      if (phase === 'term' || phase === 'kill') {
        const how = phase === 'term' ? 'SIGTERM' : 'SIGKILL (it ignored SIGTERM)';
        const detail = `killed after ${limit} ms with ${how}`;
        ending = { status: 'timeout', exitCode: null, signal: signal ?? null, detail };
      } else if (code === 0) {
        ending = { status: 'loaded', exitCode: 0, signal: null, detail: 'loaded' };
      } else {
        const detail = code === null ? `modprobe ended by ${String(signal)}` : `modprobe exited with ${code}`;
        ending = { status: 'failed', exitCode: code, signal: signal ?? null, detail };
      }
      phase = 'exited';
      clearTimers();
      // modprobe is done; whatever it left running in its group (an install command's `sleep &`) is ended now,
      // so that nothing outlives the run and nothing holds the pipes (issue #11).
      signalGroup('SIGKILL', false);
      contained?.kill();
      // Its last output is in the pipes: their end comes as soon as the group is gone. A process that escaped
      // the group (setsid) may hold them open: read what is there, but do not wait for it.
      later(Math.max(0, Math.min(DRAIN_MS, hardDeadline - performance.now())), () => finish(ending));
      void Promise.all([stdout.ended, stderr.ended]).then(() => finish(ending));
    });
    later(limit, () => {
      phase = 'term';
      signalGroup('SIGTERM');
      later(graceMs, () => {
        phase = 'kill';
        signalGroup('SIGKILL');
        contained?.kill();
        later(graceMs, () => {
          // Still there after SIGKILL: stuck in the kernel (uninterruptible sleep). hwsetup left such a modprobe
          // behind too; going on is the only way not to hang the boot.
          child.unref();
          finish({
            status: 'timeout',
            exitCode: null,
            signal: null,
            detail:
              `still running ${limit + 2 * graceMs} ms after its start despite SIGTERM and SIGKILL ` +
              `(stuck in the kernel?); left behind as pid ${String(child.pid)}`,
          });
        });
      });
    });
  });
}

function notStarted(error: unknown): Ending {
  const code = (error as { code?: unknown }).code;
  const why = typeof code === 'string' ? code : (error as Error).message;
  return { status: 'failed', exitCode: null, signal: null, detail: `modprobe could not be started: ${why}` };
}

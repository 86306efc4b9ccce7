// One `--write` at a time per target (issue #11 item 6): two runs at once could each rename some of their files
// into place and leave a set mixed from both plans. The lock is a file inside the target,
// /var/lib/autoconfig/lock, created in one step (written under a temporary name, fsynced, then hard-linked to the
// lock's name, which fails if it exists: the lock never exists half-written), reached through the same
// symlink-safe walk as the files (src/emit/write.ts), and removed at the end.
//
// It says who holds it: pid, the process's start time (field 22 of /proc/PID/stat, so a reused pid is not taken
// for the holder), the boot it was taken in (/proc/sys/kernel/random/boot_id: a lock a power cut left in the
// target is stale at the next boot), when, and the command. A holder that is gone is taken over; a live one is
// waited for a bounded time, then E_LOCKED names it. The liveness is this machine's (/proc, kill(pid, 0)), never
// the injected fs's: the runs are processes here, whatever the target is.
import { readFileSync } from 'node:fs';
import { posix } from 'node:path';
import { AutoconfigError, errnoCode } from '../errors.ts';
import { TargetDirs, nodeWriteFs, readAll, removeQuietly, writeTemp, type Dir, type WriteFsLike } from './write.ts';

export const LOCK_PATH = '/var/lib/autoconfig/lock';

export interface LockHolder {
  pid: number;
  /** /proc/PID/stat's start time (clock ticks since boot), or null where /proc does not tell. */
  startTicks: string | null;
  /** /proc/sys/kernel/random/boot_id, or null. */
  bootId: string | null;
  /** ISO 8601. */
  startedAt: string;
  command: string;
}

export interface LockOptions {
  target: string;
  fs?: WriteFsLike;
  /** What the holder runs, for the message another run shows: "autoconfig --write --apply". */
  command: string;
  /** How long to wait for a live holder, ms; default 5000. */
  waitMs?: number;
  /** Poll interval while waiting, ms; default 100. */
  pollMs?: number;
  /** Tests: who this process is, and whether a holder is alive (default: this machine's /proc and kill(pid, 0)). */
  self?: LockHolder;
  isAlive?: (holder: LockHolder) => boolean;
}

export interface TargetLock {
  holder: LockHolder;
  /** The holder found stale and taken over, if any. */
  tookOver: LockHolder | null;
  /** Removes the lock if it is still this run's; never throws. */
  release(): Promise<void>;
}

function procText(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

/** Field 22 of /proc/PID/stat (after the parenthesised command, which may itself hold spaces and parentheses). */
function startTicks(pid: number): string | null {
  const stat = procText(`/proc/${pid}/stat`);
  if (stat === null) return null;
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return fields[19] ?? null;
}

export function currentHolder(command: string): LockHolder {
  return {
    pid: process.pid,
    startTicks: startTicks(process.pid),
    bootId: procText('/proc/sys/kernel/random/boot_id')?.trim() ?? null,
    startedAt: new Date().toISOString(),
    command,
  };
}

/** Alive: this boot, the pid exists (EPERM is someone else's live process) and started when the lock says. */
export function holderAlive(holder: LockHolder): boolean {
  const boot = procText('/proc/sys/kernel/random/boot_id')?.trim() ?? null;
  if (holder.bootId !== null && boot !== null && holder.bootId !== boot) return false;
  try {
    process.kill(holder.pid, 0);
  } catch (error) {
    if (errnoCode(error) !== 'EPERM') return false;
  }
  const ticks = startTicks(holder.pid);
  return holder.startTicks === null || ticks === null || ticks === holder.startTicks;
}

function parseHolder(text: string): LockHolder | null {
  try {
    const v = JSON.parse(text) as Partial<LockHolder>;
    if (typeof v.pid !== 'number' || !Number.isInteger(v.pid) || v.pid <= 0) return null;
    return {
      pid: v.pid,
      startTicks: typeof v.startTicks === 'string' ? v.startTicks : null,
      bootId: typeof v.bootId === 'string' ? v.bootId : null,
      startedAt: typeof v.startedAt === 'string' ? v.startedAt : '?',
      command: typeof v.command === 'string' ? v.command : '?',
    };
  } catch {
    return null;
  }
}

export function describeHolder(holder: LockHolder): string {
  return `pid ${holder.pid}, started ${holder.startedAt}, ${JSON.stringify(holder.command)}`;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Takes the target's lock, waiting up to `waitMs` for a live holder; E_LOCKED (naming the holder) when it is still
 * held then, E_IO when the lock cannot be made at all (a read-only target: nothing could be written anyway).
 */
export async function acquireLock(options: LockOptions): Promise<TargetLock> {
  const fs = options.fs ?? nodeWriteFs;
  const target = posix.resolve('/', options.target);
  const waitMs = options.waitMs ?? 5000;
  const pollMs = options.pollMs ?? 100;
  const alive = options.isAlive ?? holderAlive;
  const self = options.self ?? currentHolder(options.command);
  const text = `${JSON.stringify(self)}\n`;
  const where = posix.join(target, LOCK_PATH);
  const name = posix.basename(LOCK_PATH);
  const dirs = await TargetDirs.open(fs, target);
  try {
    const dir = (await dirs.dir(posix.dirname(LOCK_PATH), true, LOCK_PATH))!;
    const deadline = Date.now() + waitMs;
    let tookOver: LockHolder | null = null;
    for (;;) {
      if (await tryCreate(fs, dir, name, text, where)) {
        const lock: TargetLock = {
          holder: self,
          tookOver,
          release: async () => {
            try {
              if ((await readText(fs, dir, name)) === text) await fs.unlink(dir.entry(name));
            } catch {
              // Gone already, or the target went read-only: a lock whose holder is gone is stale for the next run.
            } finally {
              await dirs.close();
            }
          },
        };
        return lock;
      }
      const current = await readText(fs, dir, name);
      if (current === null) {
        // Released meanwhile, or our temporary file was swept by the holder's write (it has the name of a stale
        // temporary file): try again, but not forever (a directory removed under us).
        if (Date.now() < deadline) continue;
        throw new AutoconfigError('E_IO', `${where}: cannot create the lock (it vanishes as it is made)`, { path: where });
      }
      const holder = parseHolder(current);
      // A lock that is not ours to read (no pid) is not taken over: a person or another tool put it there.
      if (holder !== null && !alive(holder)) {
        if (await takeOver(fs, dir, name, current)) tookOver = holder;
        continue;
      }
      if (Date.now() >= deadline) {
        const who = holder === null ? `unreadable: ${JSON.stringify(current.slice(0, 80))}` : describeHolder(holder);
        throw new AutoconfigError(
          'E_LOCKED',
          `${where}: another autoconfig run holds the target (${who}); waited ${(waitMs / 1000).toFixed(1)} s, nothing was written`,
          { path: where },
        );
      }
      await sleep(Math.min(pollMs, Math.max(deadline - Date.now(), 1)));
    }
  } catch (error) {
    await dirs.close();
    throw error;
  }
}

/** Creates the lock with its whole content in one step; false when it exists (or the attempt was undone). */
async function tryCreate(fs: WriteFsLike, dir: Dir, name: string, text: string, where: string): Promise<boolean> {
  const bytes = Buffer.from(text, 'utf8');
  let temp: string;
  try {
    temp = await writeTemp(fs, dir, name, bytes, 0o644);
  } catch (error) {
    throw new AutoconfigError('E_IO', `${where}: cannot create the lock (${errnoCode(error) ?? String(error)})`, {
      path: where,
      cause: error,
    });
  }
  try {
    if (fs.link !== undefined) {
      await fs.link(dir.entry(temp), dir.entry(name));
      return true;
    }
    // No hard links (memfs without them): exclusive create, the content following (a reader sees it whole or
    // unparseable, which is never taken over).
    const handle = await fs.open(dir.entry(name), 'wx', 0o644);
    try {
      await handle.write(bytes, 0, bytes.length, null);
      await handle.sync();
    } finally {
      await handle.close();
    }
    return true;
  } catch (error) {
    // EEXIST: held. ENOENT: the temporary file was removed before the link (another run sweeping stale ones).
    if (errnoCode(error) === 'EEXIST' || errnoCode(error) === 'ENOENT') return false;
    throw new AutoconfigError('E_IO', `${where}: cannot create the lock (${errnoCode(error) ?? String(error)})`, {
      path: where,
      cause: error,
    });
  } finally {
    await removeQuietly(fs, dir.entry(temp));
  }
}

async function readText(fs: WriteFsLike, dir: Dir, name: string): Promise<string | null> {
  try {
    const stats = await fs.lstat(dir.entry(name));
    if (!stats.isFile()) return `(${stats.isSymbolicLink() ? 'a symlink' : 'not a regular file'})`;
    return Buffer.from(await readAll(fs, dir.entry(name), stats.size)).toString('utf8');
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return null;
    throw error;
  }
}

/**
 * Moves a stale lock out of the way: renamed to a temporary name of ours first, so that of two runs taking over
 * the same stale lock only one gets it; if what was moved is not the stale lock (another run's new one, taken in
 * between), it is put back. True when the stale lock is gone.
 */
async function takeOver(fs: WriteFsLike, dir: Dir, name: string, stale: string): Promise<boolean> {
  const aside = `.${name}.autoconfig-${Math.floor(Math.random() * 0x100000000).toString(16).padStart(8, '0')}.tmp`;
  try {
    await fs.rename(dir.entry(name), dir.entry(aside));
  } catch {
    return false; // gone already: someone else took it over or released it
  }
  const moved = await readText(fs, dir, aside).catch(() => null);
  if (moved === stale) {
    await removeQuietly(fs, dir.entry(aside));
    return true;
  }
  try {
    if (fs.link !== undefined) await fs.link(dir.entry(aside), dir.entry(name));
  } catch {
    // A third run took the lock meanwhile: both are left to it; ours is not touched.
  }
  await removeQuietly(fs, dir.entry(aside));
  return false;
}

// A transient cgroup (v2) per modprobe, so that what it leaves running can be ended even when it left its process
// group: `setsid sleep &` in an install command starts a new session and group, which kill(-pgid) cannot reach,
// but a process cannot leave its cgroup (moving needs write access to cgroup.procs of a common ancestor, i.e.
// root and intent), and cgroup.kill (Linux 5.14) SIGKILLs every process in it at once, without the races of
// walking a process list. Used only where the cgroup v2 hierarchy is mounted, this process's own cgroup is
// writable and has cgroup.kill; everywhere else the process group is the limit (docs/boot.md).
//
// Node cannot start a child inside a given cgroup (no CLONE_INTO_CGROUP), and a child inherits its parent's: so
// this process moves itself into the leaf, spawns, and moves back, synchronously, with nothing else running in
// between. If moving back fails the leaf is not killed (it would kill this process too) and is given up.
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { posix } from 'node:path';

export interface Contained<T> {
  child: T;
  /** Kills everything in the leaf (SIGKILL via cgroup.kill). Never throws; false when it could not. */
  kill(): boolean;
  /** Waits (within `ms`) until the leaf is empty, then removes it; the reason when it could not. */
  remove(ms: number): Promise<string | null>;
}

export class ModprobeCgroup {
  private count = 0;

  private constructor(
    /** This process's own cgroup directory, where it moves back to. */
    private readonly home: string,
    /** autoconfig-modprobe-PID under it: the parent of one leaf per modprobe. */
    readonly dir: string,
  ) {}

  /**
   * The cgroup for this run's modprobes, or null (with why) when there is none to be had: no cgroup v2 mount,
   * not root, a read-only hierarchy, or a kernel before 5.14 (no cgroup.kill).
   */
  static open(): { cgroup: ModprobeCgroup | null; why: string | null } {
    let home: string;
    try {
      const mount = cgroup2Mount(readFileSync('/proc/self/mountinfo', 'utf8'));
      const own = /^0::(\/.*)$/m.exec(readFileSync('/proc/self/cgroup', 'utf8'))?.[1];
      if (mount === null || own === undefined) return { cgroup: null, why: 'no cgroup v2 hierarchy' };
      home = posix.join(mount, own);
    } catch (error) {
      return { cgroup: null, why: `cgroup v2 not readable: ${(error as NodeJS.ErrnoException).code ?? String(error)}` };
    }
    const dir = posix.join(home, `autoconfig-modprobe-${process.pid}`);
    try {
      mkdirSync(dir);
    } catch (error) {
      return { cgroup: null, why: `cannot create a cgroup in ${home}: ${(error as NodeJS.ErrnoException).code ?? String(error)}` };
    }
    // cgroup.kill takes only "1" (kill): its presence is all that can be checked beforehand.
    if (!existsSync(posix.join(dir, 'cgroup.kill'))) {
      rmdirQuiet(dir);
      return { cgroup: null, why: 'no cgroup.kill (Linux 5.14 or later)' };
    }
    return { cgroup: new ModprobeCgroup(home, dir), why: null };
  }

  /**
   * Runs `start` (a synchronous spawn) with this process inside a new leaf, so the child starts there; then moves
   * back. Null when the leaf could not be set up (the caller spawns plainly); throws what `start` throws.
   */
  spawnInside<T>(start: () => T): Contained<T> | null {
    const leaf = posix.join(this.dir, String(++this.count));
    try {
      mkdirSync(leaf);
      writeFileSync(posix.join(leaf, 'cgroup.procs'), String(process.pid));
    } catch {
      rmdirQuiet(leaf);
      return null;
    }
    let child: T;
    let home = true;
    try {
      child = start();
    } catch (error) {
      this.leave();
      rmdirQuiet(leaf);
      throw error;
    } finally {
      home = this.leave();
    }
    if (!home) {
      // Still inside: killing the leaf would kill this process. Leave it; the process group is the limit.
      return { child, kill: () => false, remove: async () => 'this process could not leave the cgroup; not killed' };
    }
    return {
      child,
      kill: () => {
        try {
          writeFileSync(posix.join(leaf, 'cgroup.kill'), '1');
          return true;
        } catch {
          return false;
        }
      },
      remove: async (ms) => {
        const until = performance.now() + ms;
        for (;;) {
          try {
            rmdirSync(leaf);
            return null;
          } catch (error) {
            // EBUSY while a killed process is still exiting; a process stuck in the kernel keeps it so.
            if ((error as NodeJS.ErrnoException).code !== 'EBUSY' || performance.now() >= until) {
              return `cgroup ${leaf} not removed: ${(error as NodeJS.ErrnoException).code ?? String(error)}`;
            }
          }
          await new Promise((resolve) => setTimeout(resolve, 5));
        }
      },
    };
  }

  /** Moves this process back to its own cgroup; false when it could not. */
  private leave(): boolean {
    try {
      writeFileSync(posix.join(this.home, 'cgroup.procs'), String(process.pid));
      return true;
    } catch {
      return false;
    }
  }

  /** Removes the parent (when every leaf went). */
  close(): void {
    rmdirQuiet(this.dir);
  }
}

/** The mount point of the cgroup v2 hierarchy (/sys/fs/cgroup, or /sys/fs/cgroup/unified on hybrid systems). */
export function cgroup2Mount(mountinfo: string): string | null {
  for (const line of mountinfo.split('\n')) {
    // "ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPER": the type follows " - ".
    const [left, right] = line.split(' - ');
    if (right === undefined || right.split(' ')[0] !== 'cgroup2') continue;
    const fields = left!.split(' ');
    // Only the hierarchy's own root mounted: a bind mount of a subtree would put the paths elsewhere.
    if (fields[3] !== '/') continue;
    return unescapeMount(fields[4]!);
  }
  return null;
}

// Mount points escape space, tab, newline and backslash as octal.
function unescapeMount(path: string): string {
  return path.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(Number.parseInt(octal, 8)));
}

function rmdirQuiet(path: string): void {
  try {
    rmdirSync(path);
  } catch {
    // Not there, or not empty: nothing more to do.
  }
}

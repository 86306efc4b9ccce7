// The target's lock (src/emit/lock.ts, issue #11 item 6) on a real directory: who holds it, waiting, taking over a
// lock whose holder is gone (by two runs at once), and what is never taken over.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { acquireLock, currentHolder, holderAlive, LOCK_PATH, type LockHolder } from '../../src/emit/lock.ts';

const base = mkdtempSync(join(tmpdir(), 'autoconfig-lock-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));
let n = 0;
const freshTarget = () => {
  const target = join(base, String(n++));
  mkdirSync(target);
  return target;
};
const lockText = (target: string) => readFileSync(join(target, LOCK_PATH), 'utf8');

// A pid that was real and is gone: a child that has exited and been reaped.
const deadPid = (): number => Number(spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout);

describe('acquireLock', () => {
  it('holds pid, start time, boot and command; a second taker waits for the release, then holds it', async () => {
    const target = freshTarget();
    const first = await acquireLock({ target, command: 'autoconfig --write' });
    const held = JSON.parse(lockText(target)) as LockHolder;
    expect(held).toEqual({ ...first.holder });
    expect(held.pid).toBe(process.pid);
    expect(held.command).toBe('autoconfig --write');
    expect(held.startTicks).toMatch(/^\d+$/);
    expect(holderAlive(held)).toBe(true);
    const started = Date.now();
    const second = acquireLock({ target, command: 'autoconfig --write --apply', waitMs: 5000, pollMs: 20 });
    setTimeout(() => void first.release(), 200);
    const lock = await second;
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
    expect((JSON.parse(lockText(target)) as LockHolder).command).toBe('autoconfig --write --apply');
    await lock.release();
    expect(existsSync(join(target, LOCK_PATH))).toBe(false);
    // Nothing else was left in its directory (the lock is made under a temporary name, then linked).
    expect(readdirSync(join(target, 'var/lib/autoconfig'))).toEqual([]);
  });

  it('a live holder still there after waitMs: E_LOCKED naming it, the lock untouched', async () => {
    const target = freshTarget();
    const first = await acquireLock({ target, command: 'autoconfig --write --apply' });
    const before = lockText(target);
    await expect(acquireLock({ target, command: 'autoconfig --write', waitMs: 150, pollMs: 20 })).rejects.toMatchObject({
      code: 'E_LOCKED',
      path: join(target, LOCK_PATH),
      message: expect.stringContaining(`(pid ${process.pid}, started ${first.holder.startedAt}, "autoconfig --write --apply"); waited 0.1 s`),
    });
    expect(lockText(target)).toBe(before);
    await first.release();
  });

  it.each([
    ['a dead pid', (h: LockHolder): LockHolder => ({ ...h, pid: deadPid() })],
    ['another boot', (h: LockHolder): LockHolder => ({ ...h, bootId: '00000000-0000-0000-0000-000000000000' })],
    ['a reused pid (this process, but another start time)', (h: LockHolder): LockHolder => ({ ...h, startTicks: '1' })],
  ])('a holder that is gone (%s) is taken over at once, by one of two takers at a time', async (_what, make) => {
    const target = freshTarget();
    mkdirSync(join(target, 'var/lib/autoconfig'), { recursive: true });
    const stale = make(currentHolder('autoconfig --write'));
    expect(holderAlive(stale)).toBe(false);
    writeFileSync(join(target, LOCK_PATH), JSON.stringify(stale));
    // Two takers at once in one process: the second must wait for the first's release, never hold it alongside.
    const order: string[] = [];
    const take = async (name: string) => {
      const lock = await acquireLock({ target, command: name, waitMs: 5000, pollMs: 10 });
      order.push(`${name} in`);
      await new Promise((resolve) => setTimeout(resolve, 50));
      order.push(`${name} out`);
      await lock.release();
      return lock;
    };
    const [a, b] = await Promise.all([take('a'), take('b')]);
    expect([a.tookOver, b.tookOver].filter((x) => x !== null)).toEqual([stale]);
    expect(order.join(' ')).toMatch(/^(a in a out b in b out|b in b out a in a out)$/);
    expect(existsSync(join(target, LOCK_PATH))).toBe(false);
  });

  it.each([
    ['not JSON', 'garbage'],
    ['no pid', '{"command":"x"}'],
    ['a pid that is no number', '{"pid":"1"}'],
  ])('a lock that is not ours to read (%s) is never taken over: E_LOCKED says it is unreadable', async (_what, text) => {
    const target = freshTarget();
    mkdirSync(join(target, 'var/lib/autoconfig'), { recursive: true });
    writeFileSync(join(target, LOCK_PATH), text);
    await expect(acquireLock({ target, command: 'autoconfig --write', waitMs: 50, pollMs: 10 })).rejects.toMatchObject({
      code: 'E_LOCKED',
      message: expect.stringContaining(`(unreadable: ${JSON.stringify(text)})`),
    });
    expect(lockText(target)).toBe(text);
  });

  it('its directory through a symlink is refused, nothing made outside', async () => {
    const target = freshTarget();
    const outside = join(base, `outside-${n++}`);
    mkdirSync(outside);
    mkdirSync(join(target, 'var'));
    symlinkSync(outside, join(target, 'var/lib'));
    await expect(acquireLock({ target, command: 'autoconfig --write' })).rejects.toMatchObject({ code: 'E_OUTSIDE_ROOT' });
    expect(readdirSync(outside)).toEqual([]);
  });
});

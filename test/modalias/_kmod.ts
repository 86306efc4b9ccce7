// The real kmod as the oracle. libkmod resolves aliases only from depmod's binary indexes (modules.*.bin), which
// depmod makes from .ko files, so the shipped text files alone cannot feed it. Decision: the tests build a
// modprobe-ready tree from the Debian kernel package the shipped data came from, with the same script that
// regenerates data/ (scripts/update-kernel-data.sh --index-root: apt-get download, dpkg -x, depmod -b; ~6 s,
// 70 MB download), and keep only lib/modules/<release>/modules.* (5 MB) in node_modules/.cache for later runs.
// If that package has left the archive, the current linux-image-amd64 kernel is used instead, and both sides
// (our parser and modprobe) then read that tree's files. Tests skip, saying why, only without modprobe or apt.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const shippedRelease = readdirSync(join(repo, 'data', 'kernel')).sort().at(-1)!;
export const shippedDir = join(repo, 'data', 'kernel', shippedRelease);
const cacheRoot = join(repo, 'node_modules', '.cache', 'xenoppix-kmod');

export function findModprobe(): string | null {
  for (const dir of (process.env.PATH ?? '').split(':').concat(['/usr/sbin', '/sbin'])) {
    const path = join(dir, 'modprobe');
    if (dir !== '' && existsSync(path)) return path;
  }
  return null;
}

export interface KmodTree {
  modprobe: string;
  /** For `modprobe -d`. */
  root: string;
  release: string;
  /** root/lib/modules/<release>: the text files our loader reads. */
  dir: string;
  /** True when the tree is the shipped release (its text files equal data/kernel/<release>). */
  shipped: boolean;
}

let cached: Promise<KmodTree | string> | undefined;

/** The tree, or the reason there is none. */
export function kmodTree(): Promise<KmodTree | string> {
  return (cached ??= makeTree());
}

async function makeTree(): Promise<KmodTree | string> {
  const modprobe = findModprobe();
  if (modprobe === null) return 'modprobe is not installed (apt-get install -y kmod)';
  for (const release of [shippedRelease, null]) {
    const existing = release === null ? currentRelease() : release;
    if (existing === null) continue;
    const root = join(cacheRoot, existing);
    const dir = join(root, 'lib', 'modules', existing);
    if (!existsSync(join(dir, 'modules.alias.bin'))) {
      // Test files run in parallel workers: each builds in its own directory and renames it into place.
      const mine = `${root}.${process.pid}`;
      const r = spawnSync('bash', [join(repo, 'scripts', 'update-kernel-data.sh'), '--index-root', mine, '--no-data', `linux-image-${existing}`], {
        encoding: 'utf8',
        timeout: 300_000,
      });
      if (r.status === 0) {
        mkdirSync(cacheRoot, { recursive: true });
        try {
          renameSync(mine, root);
        } catch {
          // another worker was first: its tree is the same
        }
      }
      rmSync(mine, { recursive: true, force: true });
      if (!existsSync(join(dir, 'modules.alias.bin'))) continue;
    }
    return { modprobe, root, release: existing, dir, shipped: existing === shippedRelease };
  }
  return 'cannot fetch a Debian kernel package to build modprobe indexes (apt-get download failed)';
}

function currentRelease(): string | null {
  try {
    const out = execFileSync('apt-cache', ['depends', 'linux-image-amd64'], { encoding: 'utf8' });
    return /Depends: linux-image-(\S+)/.exec(out)?.[1] ?? null;
  } catch {
    return null;
  }
}

/**
 * `modprobe -d ROOT -S RELEASE -C CONF... -R QUERY` for each query, in a few shells running in parallel: the
 * printed module names, duplicates removed keeping the first (kmod prints a module once per matching pattern).
 */
export async function modprobeResolve(tree: KmodTree, queries: readonly string[], confs: readonly string[]): Promise<string[][]> {
  const lanes = 4;
  const results: string[][] = new Array(queries.length);
  const conf = confs.flatMap((c) => ['-C', c]);
  const script = `while IFS= read -r q; do printf '@@\\n'; "$0" -d "$1" -S "$2" ${conf.map((_, i) => `"\${${i + 3}}"`).join(' ')} -R -- "$q" 2>/dev/null; done`;
  await Promise.all(
    Array.from({ length: lanes }, async (_, lane) => {
      const mine = queries.map((q, i) => [q, i] as const).filter(([, i]) => i % lanes === lane);
      const out = await run('sh', ['-c', script, tree.modprobe, tree.root, tree.release, ...conf], mine.map(([q]) => q).join('\n') + '\n');
      const blocks = out.split('@@\n').slice(1);
      mine.forEach(([, i], k) => {
        const names = (blocks[k] ?? '').split('\n').filter((l) => l !== '');
        results[i] = [...new Set(names)];
      });
    }),
  );
  return results;
}

/** `modprobe -n -v` (dry run): the module names it would insmod, in order, and any `install` commands. */
export function modprobeDryRun(tree: KmodTree, query: string, confs: readonly string[]): { insmod: string[]; install: string[] } {
  const r = spawnSync(
    tree.modprobe,
    ['-d', tree.root, '-S', tree.release, ...confs.flatMap((c) => ['-C', c]), '-n', '-v', '--', query],
    { encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' } },
  );
  const insmod: string[] = [];
  const install: string[] = [];
  for (const line of r.stdout.split('\n')) {
    const m = /^insmod \S*\/([^/\s]+)\.ko(?:\.\w+)?\s*(.*)$/.exec(line.trim());
    if (m) insmod.push(m[1]!.replaceAll('-', '_') + (m[2] ? ` ${m[2]}` : ''));
    else if (line.startsWith('install ')) install.push(line.slice(8).trim());
  }
  return { insmod, install };
}

function run(cmd: string, args: string[], input: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: { ...process.env, LC_ALL: 'C' }, stdio: ['pipe', 'pipe', 'inherit'] });
    const chunks: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => chunks.push(c));
    child.on('error', reject);
    child.on('close', () => resolve(Buffer.concat(chunks).toString('utf8')));
    child.stdin.end(input, 'utf8');
  });
}

/** A modprobe.d tree in a temp dir: { 'etc/modprobe.d/a.conf': '...' } under `base`. */
export function writeTree(base: string, files: Record<string, string>): void {
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(base, path)), { recursive: true });
    writeFileSync(join(base, path), text);
  }
}

export function readText(path: string): string {
  return readFileSync(path, 'utf8');
}

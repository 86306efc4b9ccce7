// bench/boot: the boot time autoconfig adds, measured inside the guest. Runs the boot test (test/boot: GRUB -> Xen
// -> Dom0 under QEMU/TCG, as root with its Debian packages) and prints what its stage 2 measured in Dom0, for each
// Debian release it boots: the init script's run of `autoconfig --write --apply`, the stages of that run from its
// own record, and a bare `node -e 0` on the same emulated CPU as the baseline, with ratios. TCG runs code ~10-20x
// slower than the host: the ratios, not the seconds, carry over to real machines.
// Usage: node bench/boot.mjs [RELEASE]   (RELEASE, e.g. trixie: only that release's stages, through vitest's -t)
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(mkdtempSync(join(tmpdir(), 'bench-boot-')), 'timings.json');
const only = process.argv[2];
const r = spawnSync('npx', ['vitest', 'run', 'test/boot', ...(only ? ['-t', `^${only}: `] : [])], {
  cwd: repo,
  stdio: ['ignore', 'inherit', 'inherit'],
  env: { ...process.env, XENOPPIX_BOOT_TIMINGS: out },
});
if (!existsSync(out)) {
  console.error(`bench/boot: the boot test wrote no timings (exit ${r.status}); it needs root and its Debian packages`);
  process.exit(1);
}
const t = JSON.parse(readFileSync(out, 'utf8'));
// Keys are "<release>: <what>" (bookworm: Xen 4.17 + Linux 6.1, trixie: Xen 4.20 + Linux 6.12); each release's
// figures are ratios to its own guest's `node -e 0` (another kernel, another glibc).
const release = (key) => key.slice(0, key.indexOf(': '));
const node = (key) => t[Object.keys(t).find((k) => release(k) === release(key) && k.includes('node -e 0, inside')) ?? ''];
const rows = Object.entries(t).map(([what, s]) => [what, s.toFixed(2), node(what) ? (s / node(what)).toFixed(1) : '']);
console.log('\nbench/boot (seconds; x = ratio to `node -e 0` in the same guest):');
const width = Math.max(...rows.map((row) => row[0].length));
for (const [what, s, x] of rows) console.log(`  ${what.padEnd(width)}  ${s.padStart(7)}  ${x ? `x${x}` : ''}`);
process.exit(r.status ?? 1);

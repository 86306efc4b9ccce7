// bench/dry-run: `autoconfig --dry-run` end to end (probe, kmod matching, rules, plan, render, diff) as whole
// processes on this machine and on each fixture: wall time and peak memory, as ratios to `node -e 0` and to what a
// shell-script autoconfig would spend on the same machine, `lspci -nnk` plus one `modprobe -R` per device, all
// measured in the same run. Usage: npm run build && node bench/dry-run.mjs [runs]
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { table, timeProcess, which } from './_lib.mjs';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const runs = Number(process.argv[2] ?? 7);
const cli = join(repo, 'bin', 'autoconfig.cjs');
if (!existsSync(join(repo, 'dist', 'autoconfig.cjs'))) throw new Error('run `npm run build` first');

// Peak RSS of a node child: a preload prints process.resourceUsage().maxRSS (KiB) on exit.
const tmp = mkdtempSync(join(tmpdir(), 'bench-dry-run-'));
const rssHook = join(tmp, 'rss.cjs');
writeFileSync(rssHook, "process.on('exit', () => process.stderr.write(`\\nmaxRSS ${process.resourceUsage().maxRSS}\\n`));\n");
function peakKiB(argv) {
  const r = spawnSync(process.execPath, ['--require', rssHook, ...argv], { encoding: 'utf8', maxBuffer: 64 << 20 });
  return Number(/maxRSS (\d+)/.exec(r.stderr)?.[1] ?? NaN);
}

const baselines = { 'node -e 0': timeProcess([process.execPath, '-e', '0'], { runs }) };
const lspci = which('lspci');
const modprobe = which('modprobe') ?? (existsSync('/sbin/modprobe') ? '/sbin/modprobe' : null);
// The shell way on this machine: lspci -nnk, then modprobe -R for each device's modalias.
const modaliases = existsSync('/sys/bus/pci/devices')
  ? readdirSync('/sys/bus/pci/devices').map((d) => readFileSync(`/sys/bus/pci/devices/${d}/modalias`, 'utf8').trim())
  : [];
if (lspci && modprobe) {
  const script = join(tmp, 'shell-way.sh');
  writeFileSync(
    script,
    `#!/bin/sh\n${lspci} -nnk >/dev/null 2>&1\n` +
      modaliases.map((m) => `${modprobe} -R '${m}' >/dev/null 2>&1 || true\n`).join(''),
  );
  baselines['lspci+modprobe -R'] = timeProcess(['sh', script], { runs });
}

const rows = [['node -e 0', baselines['node -e 0']]];
if (baselines['lspci+modprobe -R']) rows.push([`lspci -nnk + ${modaliases.length} x modprobe -R`, baselines['lspci+modprobe -R']]);
const memory = [['node -e 0', peakKiB(['-e', '0'])]];
const targets = [['this machine', []]];
for (const name of readdirSync(join(repo, 'fixtures')).sort()) {
  if (existsSync(join(repo, 'fixtures', name, 'root'))) targets.push([name, ['--root', join(repo, 'fixtures', name, 'root')]]);
}
for (const [name, extra] of targets) {
  const argv = [cli, '--dry-run', ...extra];
  // Exit 3 (safe plan) would make timeProcess throw: a benchmark of a failing run is no benchmark.
  rows.push([`--dry-run ${name}`, timeProcess([process.execPath, ...argv], { runs })]);
  memory.push([`--dry-run ${name}`, peakKiB(argv)]);
}
console.log(`bench/dry-run: ${runs} runs each, median wall time of whole processes, ratios to the baselines\n`);
console.log(table(rows, baselines));
console.log('\npeak memory (maxRSS, MiB):');
const base = memory[0][1];
for (const [what, kib] of memory) console.log(`  ${what.padEnd(36)} ${(kib / 1024).toFixed(1).padStart(7)}  x ${(kib / base).toFixed(2)}`);
if (!lspci || !modprobe) console.log('\n(lspci or modprobe missing: no shell-way baseline)');

// bench/dry-run: `autoconfig --dry-run` end to end (probe, kmod matching, rules, plan, render, diff) as whole
// processes, against `node -e 0` measured in the same run, three ratios side by side (issue #12 "Speed"):
//   time    wall time of `--dry-run` on this machine
//   memory  peak RSS of `--dry-run` on this machine
//   rules   wall time of `--dry-run --rules DIR`, DIR holding two local rule files (copies of two shipped files, ids
//           renamed): once with no compiled-rules cache (the first boot after an edit), once with the cache a
//           `--write` left in the target's /var/cache/autoconfig (every boot after that)
// Each round runs the baseline and every subject once, in the same order, so that load from other processes (2
// shared cores) hits them alike; the figures are medians over the rounds. `--fixtures` adds --dry-run on each
// fixture and the shell way (`lspci -nnk` plus one `modprobe -R` per device) as a second baseline; `--against
// DIR` adds the same runs of another built checkout (an older commit: git worktree, npm run build), interleaved
// with these, so that a change is measured under the same load.
// Usage: npm run build && node bench/dry-run.mjs [rounds] [--fixtures] [--against DIR]
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { which } from './_lib.mjs';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const rounds = Number(args.find((a) => /^\d+$/.test(a)) ?? 15);
const withFixtures = args.includes('--fixtures');
const against = args.includes('--against') ? args[args.indexOf('--against') + 1] : null;
const cli = join(repo, 'bin', 'autoconfig.cjs');
if (!existsSync(join(repo, 'dist', 'autoconfig.cjs'))) throw new Error('run `npm run build` first');

const tmp = mkdtempSync(join(tmpdir(), 'bench-dry-run-'));
process.on('exit', () => rmSync(tmp, { recursive: true, force: true }));
// Peak RSS and CPU time of a node child: a preload prints process.resourceUsage()'s maxRSS (KiB) and user+system
// time (µs, all threads) on exit; it costs the same in the baseline and the subjects. CPU time is what load from
// other processes changes least: shown beside the wall time.
const rssHook = join(tmp, 'rss.cjs');
writeFileSync(rssHook, "process.on('exit', () => { const u = process.resourceUsage(); process.stderr.write(`\\nmaxRSS ${u.maxRSS} cpu ${u.userCPUTime + u.systemCPUTime}\\n`); });\n");

// Local rules: two shipped files with their rule ids and list names prefixed, so that they load beside the shipped
// set without duplicates: realistic size and shape (conditions on PCI lists, CPU, target Xen; several actions).
const rulesDir = join(tmp, 'rules.d');
mkdirSync(rulesDir);
for (const name of ['60-quirks.yaml', '70-drivers.yaml']) {
  const text = readFileSync(join(repo, 'data', 'rules', name), 'utf8');
  const lists = [...text.matchAll(/^  ([a-z0-9-]+):\s*$/gm)].map((m) => m[1]);
  let renamed = text.replace(/^(\s*-?\s*\{?\s*id:\s*)([\w.-]+)/gm, '$1site-$2');
  for (const list of lists) renamed = renamed.replace(new RegExp(`(^  |list: )${list}\\b`, 'gm'), `$1site-${list}`);
  writeFileSync(join(rulesDir, `9${name.slice(1)}`), renamed.replace('$schema=../rules.schema.json', '$schema=rules.schema.json'));
}
// Two targets with this machine's files as `--write` makes them, one with the compiled-rules cache it leaves, one
// without: the dry runs then compare against the same files.
const warm = join(tmp, 'target-cached');
const cold = join(tmp, 'target-uncached');
mkdirSync(warm);
const wrote = spawnSync(process.execPath, [cli, '--write', '--target', warm, '--rules', rulesDir], { encoding: 'utf8' });
if (wrote.status !== 0) throw new Error(`--write --rules exited ${wrote.status}: ${wrote.stderr}`);
cpSync(warm, cold, { recursive: true });
rmSync(join(cold, 'var', 'cache', 'autoconfig'), { recursive: true, force: true });
const cached = existsSync(join(warm, 'var', 'cache', 'autoconfig'));

const node = (argv) => [process.execPath, '--require', rssHook, ...argv];
const subjects = [
  { name: 'node -e 0', argv: node(['-e', '0']) },
  { name: '--dry-run', argv: node([cli, '--dry-run']) },
  { name: '--dry-run --rules DIR, no cache', argv: node([cli, '--dry-run', '--target', cold, '--rules', rulesDir]) },
  { name: '--dry-run --rules DIR, cached', argv: node([cli, '--dry-run', '--target', warm, '--rules', rulesDir]) },
];
if (against !== null) {
  const other = join(against, 'bin', 'autoconfig.cjs');
  if (!existsSync(join(against, 'dist', 'autoconfig.cjs'))) throw new Error(`${against}: no dist/autoconfig.cjs (build it first)`);
  subjects.push(
    { name: `--dry-run (${against})`, argv: node([other, '--dry-run']) },
    { name: `--dry-run --rules DIR (${against})`, argv: node([other, '--dry-run', '--target', cold, '--rules', rulesDir]) },
  );
}
const lspci = which('lspci');
const modprobe = which('modprobe') ?? (existsSync('/sbin/modprobe') ? '/sbin/modprobe' : null);
if (withFixtures) {
  for (const name of readdirSync(join(repo, 'fixtures')).sort()) {
    const root = join(repo, 'fixtures', name, 'root');
    if (existsSync(root)) subjects.push({ name: `--dry-run ${name}`, argv: node([cli, '--dry-run', '--root', root]) });
  }
  if (lspci && modprobe && existsSync('/sys/bus/pci/devices')) {
    // What a shell-script autoconfig spends on this machine: lspci -nnk, then modprobe -R for each device.
    const modaliases = readdirSync('/sys/bus/pci/devices').map((d) => readFileSync(`/sys/bus/pci/devices/${d}/modalias`, 'utf8').trim());
    const script = join(tmp, 'shell-way.sh');
    writeFileSync(script, `#!/bin/sh\n${lspci} -nnk >/dev/null 2>&1\n` + modaliases.map((m) => `${modprobe} -R '${m}' >/dev/null 2>&1 || true\n`).join(''));
    subjects.splice(1, 0, { name: `lspci -nnk + ${modaliases.length} x modprobe -R`, argv: ['sh', script] });
  }
}

function once(s) {
  const start = process.hrtime.bigint();
  const r = spawnSync(s.argv[0], s.argv.slice(1), { encoding: 'utf8', maxBuffer: 64 << 20 });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  // Exit 3 (safe plan) would be a benchmark of a failing run: none. (The shell way's modprobe -R may fail.)
  if (r.status !== 0 && s.argv[0] !== 'sh') throw new Error(`${s.argv.join(' ')} exited ${r.status}: ${r.stderr}`);
  const m = /maxRSS (\d+) cpu (\d+)/.exec(r.stderr);
  return { ms, kib: m ? Number(m[1]) : null, cpu: m ? Number(m[2]) / 1000 : null };
}

const load = [loadavg()[0]];
for (const s of subjects) once(s); // warm-up: page cache, the code cache read once
const samples = new Map(subjects.map((s) => [s.name, { ms: [], kib: [], cpu: [] }]));
for (let i = 0; i < rounds; i++) {
  for (const s of subjects) {
    const r = once(s);
    samples.get(s.name).ms.push(r.ms);
    if (r.kib !== null) samples.get(s.name).kib.push(r.kib);
    if (r.cpu !== null) samples.get(s.name).cpu.push(r.cpu);
  }
}
load.push(loadavg()[0]);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const base = samples.get('node -e 0');
const baseMs = median(base.ms);
const baseKib = median(base.kib);
const baseCpu = median(base.cpu);
const ms = (name) => median(samples.get(name).ms);
const kib = (name) => median(samples.get(name).kib);
const cpu = (name) => median(samples.get(name).cpu);

console.log(`bench/dry-run: ${rounds} rounds, each subject once per round, interleaved; medians; ${new Date().toISOString()}, load average ${load.map((l) => l.toFixed(2)).join(' -> ')}`);
console.log(`node -e 0: ${baseMs.toFixed(1)} ms wall, ${baseCpu.toFixed(1)} ms CPU, ${(baseKib / 1024).toFixed(1)} MiB peak RSS\n`);
console.log('the three ratios to node -e 0 (issue #12 aims: 1.3x each), CPU time beside wall time:');
const rulesCached = '--dry-run --rules DIR, cached';
const rulesCold = '--dry-run --rules DIR, no cache';
const ratios = [
  ['time    --dry-run', ms('--dry-run') / baseMs, cpu('--dry-run') / baseCpu, `${ms('--dry-run').toFixed(1)} ms`],
  ['memory  --dry-run', kib('--dry-run') / baseKib, null, `${(kib('--dry-run') / 1024).toFixed(1)} MiB`],
  ['rules   --dry-run --rules DIR, cached', ms(rulesCached) / baseMs, cpu(rulesCached) / baseCpu, `${ms(rulesCached).toFixed(1)} ms${cached ? '' : ' (NO CACHE WAS WRITTEN)'}`],
  ['rules   --dry-run --rules DIR, no cache', ms(rulesCold) / baseMs, cpu(rulesCold) / baseCpu, `${ms(rulesCold).toFixed(1)} ms`],
];
for (const [what, ratio, cpuRatio, abs] of ratios) {
  console.log(`  ${what.padEnd(40)} x ${ratio.toFixed(2)}${cpuRatio === null ? '' : `  (CPU x ${cpuRatio.toFixed(2)})`.padEnd(16)}  ${abs}`);
}
console.log('\nevery subject: wall ms median, min, max; CPU ms median; peak RSS MiB median');
for (const s of subjects) {
  const { ms: xs, cpu: cs, kib: ks } = samples.get(s.name);
  const cpuText = cs.length ? median(cs).toFixed(1) : '-';
  const rssText = ks.length ? (median(ks) / 1024).toFixed(1) : '-';
  console.log(`  ${s.name.padEnd(48)} ${median(xs).toFixed(1).padStart(7)} ${Math.min(...xs).toFixed(1).padStart(7)} ${Math.max(...xs).toFixed(1).padStart(7)}   x ${(median(xs) / baseMs).toFixed(2)}   cpu ${cpuText.padStart(6)}   rss ${rssText.padStart(5)}`);
}

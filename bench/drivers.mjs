// bench/drivers: driver matching against one `modprobe -R` process per device, measured in the same run.
// Two ways of reading the kernel's module data, each row for both: depmod's .bin indexes (what the shipped data
// and every real /lib/modules/<release> have; read as libkmod does, lookups walk the tries lazily) and the text
// files alone (the fallback; parsed and indexed at load). Rows: loading the data (cold, in a fresh process), load
// plus resolving every modalias of this machine's /sys once (cold: the lazy .bin reads land there), one lookup
// and all of them warm, and a whole process doing load + resolve.
// It bundles src/modalias with esbuild into a temp dir, so it needs no `npm run build`. The modprobe baseline needs
// the kmod tree the tests build (node_modules/.cache/xenoppix-kmod, made by scripts/update-kernel-data.sh).
// Usage: node bench/drivers.mjs [runs]
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { table, timeProcess, which } from './_lib.mjs';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const runs = Number(process.argv[2] ?? 11);
const release = readdirSync(join(repo, 'data', 'kernel')).sort().at(-1);
const refDir = join(repo, 'data', 'kernel', release);

// Every modalias of this machine (all buses), as udev would look them up.
const modaliases = [];
for (const bus of existsSync('/sys/bus') ? readdirSync('/sys/bus').sort() : []) {
  const dir = join('/sys/bus', bus, 'devices');
  for (const dev of existsSync(dir) ? readdirSync(dir).sort() : []) {
    try {
      const m = readFileSync(join(dir, dev, 'modalias'), 'utf8').trim();
      if (m) modaliases.push(m);
    } catch {
      // no modalias here
    }
  }
}
if (modaliases.length === 0) modaliases.push('pci:v00001AF4d00001041sv00001AF4sd00001041bc02sc00i00');

const tmp = mkdtempSync(join(tmpdir(), 'bench-drivers-'));
try {
  const entry = join(tmp, 'entry.ts');
  writeFileSync(
    entry,
    `import { loadKernelData } from ${JSON.stringify(join(repo, 'src/modalias/kernel-data.ts'))};
import { emptyConfig } from ${JSON.stringify(join(repo, 'src/modalias/modprobe-d.ts'))};
import { lookupModules, resolveDrivers } from ${JSON.stringify(join(repo, 'src/modalias/resolve.ts'))};
const [mode, dir, list] = process.argv.slice(2);
const queries = JSON.parse(list);
const t0 = performance.now();
const kernel = await loadKernelData({ kernelDir: dir });
const t1 = performance.now();
const ctx = { kernel, config: emptyConfig() };
if (kernel.issues.length > 0) throw new Error(JSON.stringify(kernel.issues));
if (mode === 'load') {
  resolveDrivers(ctx, queries.map((modalias, i) => ({ bus: 'x', id: String(i), modalias, bound: null })));
  console.log(JSON.stringify({ loadMs: t1 - t0, firstMs: performance.now() - t0, files: kernel.files }));
} else if (mode === 'machine') resolveDrivers(ctx, queries.map((modalias, i) => ({ bus: 'x', id: String(i), modalias, bound: null })));
else {
  // Warm, then time many rounds: per lookup and per whole machine.
  for (let i = 0; i < 2000; i++) lookupModules(ctx, queries[i % queries.length]);
  const rounds = 2000;
  const s = performance.now();
  for (let r = 0; r < rounds; r++) resolveDrivers(ctx, queries.map((modalias, i) => ({ bus: 'x', id: String(i), modalias, bound: null })));
  const perMachine = (performance.now() - s) / rounds;
  console.log(JSON.stringify({ perLookupUs: (perMachine * 1000) / queries.length, perMachineMs: perMachine }));
}
`,
  );
  const bundle = join(tmp, 'bench.mjs');
  await build({ entryPoints: [entry], bundle: true, platform: 'node', format: 'esm', target: 'node20', outfile: bundle, logLevel: 'warning' });
  const list = JSON.stringify(modaliases);
  // The same kernel without its .bin files: the text fallback.
  const textDir = join(tmp, 'text', release);
  mkdirSync(textDir, { recursive: true });
  for (const f of readdirSync(refDir)) if (!f.endsWith('.bin')) copyFileSync(join(refDir, f), join(textDir, f));
  const node = (mode, dir) => [process.execPath, bundle, mode, dir, list];
  const run = (argv) => {
    const r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${argv.slice(0, 4).join(' ')}: ${r.stderr}`);
    return JSON.parse(r.stdout);
  };

  // Baseline: one modprobe -R process on the same kernel's indexes (what a per-device shell-out costs).
  const modprobe = which('modprobe') ?? ['/usr/sbin/modprobe', '/sbin/modprobe'].find(existsSync) ?? null;
  const kmodRoot = join(repo, 'node_modules', '.cache', 'xenoppix-kmod', release);
  const emptyConf = join(tmp, 'empty.d');
  spawnSync('mkdir', ['-p', emptyConf]);
  const baselines = {};
  if (modprobe && existsSync(join(kmodRoot, 'lib', 'modules', release, 'modules.alias.bin'))) {
    // A lookup that finds a module (a miss, or a driver built into this kernel, exits 1): the first of the
    // machines' modaliases that this kernel's modprobe resolves (virtio_pci, once the pick, is built into 6.12).
    const argvFor = (alias) => [modprobe, '-d', kmodRoot, '-S', release, '-C', emptyConf, '-R', alias];
    const hit = modaliases.find((alias) => spawnSync(argvFor(alias)[0], argvFor(alias).slice(1)).status === 0);
    if (hit === undefined) throw new Error(`no modalias of the machines resolves with ${modprobe} on ${release}`);
    baselines['modprobe -R'] = timeProcess(argvFor(hit), { runs });
  }
  baselines['node -e 0'] = timeProcess([process.execPath, '-e', '0'], { runs });

  // In-process numbers, each from fresh processes: cold load (and first resolve), warm lookups.
  const spread = (values) => {
    values.sort((a, b) => a - b);
    return { median: values[values.length >> 1], min: values[0], max: values.at(-1) };
  };
  const fixed = (ms) => ({ median: ms, min: ms, max: ms });
  const rows = [...Object.entries(baselines).map(([k, v]) => [k, v])];
  for (const [how, dir] of [
    ['.bin', refDir],
    ['text', textDir],
  ]) {
    const cold = Array.from({ length: runs }, () => run(node('load', dir)));
    const want = how === '.bin' ? 'modules.alias.bin' : 'modules.alias';
    if (cold[0].files.alias !== want) throw new Error(`${dir}: read ${cold[0].files.alias}, not ${want}`);
    const warm = run(node('warm', dir));
    rows.push(
      [`${how}: load the kernel data (cold, in process)`, spread(cold.map((c) => c.loadMs))],
      [`${how}: load + resolve ${modaliases.length} modaliases (cold, in process)`, spread(cold.map((c) => c.firstMs))],
      [`${how}: one lookup (warm, in process): ${warm.perLookupUs.toFixed(1)} us`, fixed(warm.perLookupUs / 1000)],
      [`${how}: whole machine: ${modaliases.length} modaliases resolved (warm)`, fixed(warm.perMachineMs)],
      [`${how}: whole process: node + load + resolve ${modaliases.length}`, timeProcess(node('machine', dir), { runs })],
    );
  }
  if (baselines['modprobe -R']) rows.push([`modprobe -R x ${modaliases.length} (one per device)`, fixed(baselines['modprobe -R'].median * modaliases.length)]);
  console.log(`bench/drivers: kernel ${release} (${refDir}), ${modaliases.length} modaliases from /sys, ${runs} runs\n`);
  console.log(table(rows, baselines));
  if (!baselines['modprobe -R']) console.log('\n(no modprobe tree: run the tests once, or scripts/update-kernel-data.sh --index-root)');
} finally {
  rmSync(tmp, { recursive: true, force: true });
}

// bench/corpus: the rule author's workbench (issue #13), two figures.
//   1. The whole shared corpus (../shared/corpus, about 140 machines of published logs) x 4 targets, import
//      included, as one fresh process: wall time and CPU time (user+sys), for 1 and 2 worker threads.
//   2. Plans per second from stored profiles (fixtures/*/profile.json): decide() with the profile given (no probe),
//      plan() and render(), in one warm process.
// The machine is shared: the load average is printed with each figure, and CPU time is what a quiet machine's wall
// time would be at best. Usage: node bench/corpus.mjs [runs]   (builds its own bundle of src/corpus with esbuild)
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { compileShippedRules } from '../scripts/compile-rules.mjs';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const runs = Number(process.argv[2] ?? 3);
const corpus = join(repo, '..', 'shared', 'corpus');
const TARGETS = ['3.0.2', '3.0.3', '4.17', '4.20'];
// Inside the repository, so that the bundle finds data/ (src/data-dir.ts looks upward) and node_modules/yaml.
const bundle = join(repo, 'node_modules', '.cache', 'autoconfig-bench', 'corpus.mjs');
await build({
  stdin: {
    contents: [
      "export { runCorpus, planMachine } from './src/corpus/run.ts';",
      "export { TreeFs } from './src/corpus/tree-fs.ts';",
      "export { corpusWorkerMain } from './src/corpus/workers.ts';",
      "import { corpusWorkerMain } from './src/corpus/workers.ts';",
      // The same file is each worker's entry (src/corpus/workers.ts).
      'await corpusWorkerMain();',
    ].join('\n'),
    resolveDir: repo,
    loader: 'ts',
  },
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  outfile: bundle,
  external: ['yaml'],
  logLevel: 'warning',
});
// The shipped rules compiled to JSON beside the bundle, as dist/rules.json is beside the CLI's: no YAML parsed at
// the start of the process or of each worker.
await compileShippedRules({ out: join(dirname(bundle), 'rules.json') });
const load = () => loadavg().map((l) => l.toFixed(2)).join(' ');
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

// 1. The whole corpus from raw logs, one process per run.
if (!existsSync(join(corpus, 'INDEX.tsv'))) {
  console.log(`no shared corpus at ${corpus}: figure 1 skipped`);
} else {
  for (const workers of [1, 2]) {
    const walls = [];
    const cpus = [];
    let rows = 0;
    for (let i = 0; i < runs; i++) {
      const script = `
        const m = await import(${JSON.stringify(pathToFileURL(bundle).href)});
        const r = await m.runCorpus([${JSON.stringify(corpus)}], { targets: ${JSON.stringify(TARGETS)}, workers: ${workers}, worker: { url: ${JSON.stringify(pathToFileURL(bundle).href)} } });
        const u = process.resourceUsage();
        console.log(JSON.stringify({ rows: r.rows.length, failed: r.summary.failedRows.length, cpuMs: (u.userCPUTime + u.systemCPUTime) / 1000 }));`;
      const start = process.hrtime.bigint();
      const p = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', maxBuffer: 64 << 20 });
      const wall = Number(process.hrtime.bigint() - start) / 1e6;
      if (p.status !== 0) throw new Error(p.stderr);
      const out = JSON.parse(p.stdout.trim().split('\n').at(-1));
      if (out.failed > 0) throw new Error(`${out.failed} plans failed`);
      rows = out.rows;
      walls.push(wall);
      cpus.push(out.cpuMs);
    }
    console.log(
      `corpus x ${TARGETS.length} targets, ${workers} worker(s): ${rows} plans, wall ${(median(walls) / 1000).toFixed(2)} s ` +
        `(min ${(Math.min(...walls) / 1000).toFixed(2)}), CPU ${(median(cpus) / 1000).toFixed(2)} s, load ${load()}`,
    );
  }
}

// 2. Plans per second from stored profiles, in this process (warm: a first round is not counted).
{
  const m = await import(pathToFileURL(bundle).href);
  const fixtures = join(repo, 'fixtures');
  const profiles = readdirSync(fixtures)
    .filter((n) => existsSync(join(fixtures, n, 'profile.json')))
    .map((n) => ({ id: n, profile: JSON.parse(readFileSync(join(fixtures, n, 'profile.json'), 'utf8')) }));
  // No tree: the plan reads nothing of the machine (no rules.d, no /lib/modules, no /boot), only the profile.
  const machines = profiles.map(({ id, profile }, i) => {
    const root = `/autoconfig-bench/${i}`;
    return { m: { ref: { id, kind: 'snapshot', dir: root, data: root }, fs: new m.TreeFs({ files: {}, links: {}, dirs: [] }, root), root, importIssues: [] }, profile };
  });
  const round = async () => {
    let n = 0;
    for (const { m: machine, profile } of machines) n += (await m.planMachine(machine, profile, TARGETS)).length;
    return n;
  };
  await round();
  const rates = [];
  const cpuRates = [];
  for (let i = 0; i < runs; i++) {
    let plans = 0;
    const cpu = process.cpuUsage();
    const start = performance.now();
    while (performance.now() - start < 3000) plans += await round();
    const used = process.cpuUsage(cpu);
    rates.push(plans / ((performance.now() - start) / 1000));
    cpuRates.push(plans / ((used.user + used.system) / 1e6));
  }
  console.log(
    `from profile.json (${profiles.length} fixtures x ${TARGETS.length} targets, decide+plan+render, one thread): ` +
      `${median(rates).toFixed(0)} plans/s of wall time (min ${Math.min(...rates).toFixed(0)}), ` +
      `${median(cpuRates).toFixed(0)} per CPU second, load ${load()}`,
  );
}

// Shared bench helpers: time whole processes (what a boot script pays) and print medians with ratios to a
// baseline measured in the same run, so numbers from different machines stay comparable.
import { spawnSync } from 'node:child_process';

export function which(cmd) {
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

/** Runs argv `runs` times after one warm-up; returns median, min and max wall time in ms. */
export function timeProcess(argv, { runs = 11, env } = {}) {
  const times = [];
  for (let i = 0; i <= runs; i++) {
    const start = process.hrtime.bigint();
    const r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8', env: env ?? process.env, maxBuffer: 64 << 20 });
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    if (r.status !== 0) throw new Error(`${argv.join(' ')} exited ${r.status}: ${r.stderr}`);
    if (i > 0) times.push(ms);
  }
  times.sort((a, b) => a - b);
  return { median: times[Math.floor(times.length / 2)], min: times[0], max: times[times.length - 1] };
}

export function table(rows, baselines) {
  const names = Object.keys(baselines);
  const header = ['what', 'median ms', 'min ms', ...names.map((n) => `x ${n}`)];
  const lines = [header];
  for (const [what, t] of rows) {
    lines.push([
      what,
      t.median.toFixed(1),
      t.min.toFixed(1),
      ...names.map((n) => (baselines[n] ? (t.median / baselines[n].median).toFixed(2) : 'n/a')),
    ]);
  }
  const widths = header.map((_, i) => Math.max(...lines.map((l) => String(l[i]).length)));
  return lines.map((l) => l.map((c, i) => String(c).padEnd(widths[i])).join('  ')).join('\n');
}

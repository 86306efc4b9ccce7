// bench/probe: `autoconfig probe --json` on this machine and on each fixture, as whole processes, against
// `node -e 0` (the floor for any Node CLI) and `lspci -nnk` (what hwsetup-style tools shell out to), all
// measured in the same run. Usage: npm run build && node bench/probe.mjs [runs]
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { table, timeProcess, which } from './_lib.mjs';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const runs = Number(process.argv[2] ?? 11);
const cli = join(repo, 'dist', 'autoconfig.cjs');
if (!existsSync(cli)) throw new Error('dist/autoconfig.cjs is missing: run `npm run build` first');
const runner = join(repo, 'bin', 'autoconfig.cjs');

const baselines = { 'node -e 0': timeProcess([process.execPath, '-e', '0'], { runs }) };
const lspci = which('lspci');
baselines['lspci -nnk'] = lspci ? timeProcess([lspci, '-nnk'], { runs }) : null;

const rows = [
  ['node -e 0', baselines['node -e 0']],
  ...(baselines['lspci -nnk'] ? [['lspci -nnk', baselines['lspci -nnk']]] : []),
  ['probe --json (this machine)', timeProcess([process.execPath, runner, 'probe', '--json'], { runs })],
  ['probe (text, names)', timeProcess([process.execPath, runner, 'probe'], { runs })],
];
const fixtures = join(repo, 'fixtures');
for (const name of existsSync(fixtures) ? readdirSync(fixtures).sort() : []) {
  const root = join(fixtures, name, 'root');
  if (!existsSync(root)) continue;
  rows.push([`probe --json ${name}`, timeProcess([process.execPath, runner, 'probe', '--json', '--root', root], { runs })]);
}
console.log(`bench/probe: ${runs} runs each, median wall time of whole processes, ratios to the baselines\n`);
console.log(table(rows, baselines));
if (!lspci) console.log('\n(lspci not installed: no lspci ratio; apt-get install pciutils)');

// Bundles the CLI into one fast-starting file and the library into one ESM module, and writes the library's
// declaration files (dist/types). Runs on `npm pack` (prepack), `npm run build` (scripts/test.sh) and on first use
// of bin/autoconfig.cjs when dist/ is missing.
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cliOptions, commonOptions } from './bundle-options.mjs';
import { compileShippedRules } from './compile-rules.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

// The shipped rules as JSON (dist/rules.json): `--dry-run` then parses no YAML unless user rules exist. A lint
// error in data/rules stops the build.
await compileShippedRules();
await Promise.all([
  build(cliOptions(root, 'dist/autoconfig.cjs')),
  build({ ...commonOptions(root), entryPoints: ['src/index.ts'], outfile: 'dist/index.mjs' }),
]);

// Declaration files for consumers: tsc (tsconfig.build.json) writes dist/types/**/*.d.ts. The sources import each
// other as .ts (allowImportingTsExtensions), which tsc keeps in declarations; a consumer resolves ./x.js to ./x.d.ts
// under every moduleResolution, so relative .ts specifiers are rewritten to .js. Without TypeScript (a clone
// without its devDependencies running bin/ for the first time) the CLI still builds: warn, go on.
emitDeclarations();

function emitDeclarations() {
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  if (!existsSync(tsc)) {
    console.warn('build: TypeScript is not installed: no declaration files (dist/types)');
    return;
  }
  const outDir = join(root, 'dist', 'types');
  rmSync(outDir, { recursive: true, force: true });
  const made = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], { cwd: root, encoding: 'utf8' });
  // A type error must not cost the CLI its bundle (`npm test` type-checks anyway): said, and no declarations.
  if (made.status !== 0) return console.warn(`build: declaration files failed:\n${made.stdout}${made.stderr}`);
  for (const file of walk(outDir)) {
    const text = readFileSync(file, 'utf8');
    const fixed = text.replace(/(\bfrom\s+|\bimport\(\s*|\bimport\s+)(['"])(\.{1,2}\/[^'"]*?)\.ts\2/g, '$1$2$3.js$2');
    if (fixed !== text) writeFileSync(file, fixed);
  }
}

function* walk(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* walk(path);
    else if (entry.name.endsWith('.d.ts')) yield path;
  }
}

// The code cache: V8 keeps the functions compiled so far, so it is made after real runs of the common commands
// (`--dry-run` on a few fixtures and on this machine; a dry run writes nothing). In a separate, plain `node`
// process: V8 rejects a cache made under other flags. A failure here costs speed, not function: warn, go on.
const fixtures = join(root, 'fixtures');
const roots = existsSync(fixtures)
  ? ['thinkpad-t60', 'amd-apu-laptop', 'server-iommu-bmc', 'xen-dom0']
      .filter((name) => readdirSync(fixtures).includes(name))
      .map((name) => join(fixtures, name, 'root'))
  : [];
const maker = `
const { loadCli, sealCache } = require(${JSON.stringify(join(root, 'bin', 'load-cli.cjs'))});
const { renameSync, writeFileSync } = require('node:fs');
(async () => {
  const { main, script } = loadCli({ cache: false });
  const io = { stdout() {}, stderr() {} };
  for (const root of [...${JSON.stringify(roots)}, '/']) {
    await main({ argv: ['--dry-run', '--root', root], ...io });
    await main({ argv: ['--dry-run', '--json', '--root', root], ...io });
  }
  const out = ${JSON.stringify(join(root, 'dist', 'autoconfig.cjs.cache'))};
  writeFileSync(out + '.tmp', sealCache(script.createCachedData()));
  renameSync(out + '.tmp', out);
})().catch((error) => { console.error(error); process.exit(1); });
`;
const made = spawnSync(process.execPath, ['-e', maker], { cwd: root, encoding: 'utf8', timeout: 120_000 });
if (made.status !== 0) console.warn(`build: no code cache for the CLI (it still works, slower): ${made.stderr || made.error}`);

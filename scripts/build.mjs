// Bundles the CLI into one fast-starting file and the library into one ESM module.
// Runs on `npm ci` (prepare) and on first use of bin/autoconfig.mjs when dist/ is missing.
import { build } from 'esbuild';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compileShippedRules } from './compile-rules.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  absWorkingDir: root,
  logLevel: 'warning',
  legalComments: 'none',
  // yaml is a runtime dependency loaded lazily with import(), only for user rule files: kept out of the bundle and
  // out of the boot path.
  external: ['yaml'],
};

// The shipped rules as JSON (dist/rules.json): `--dry-run` then parses no YAML unless user rules exist. A lint
// error in data/rules stops the build.
await compileShippedRules();
await Promise.all([
  build({ ...common, entryPoints: ['src/cli/main.ts'], outfile: 'dist/autoconfig.mjs', minify: true }),
  build({ ...common, entryPoints: ['src/index.ts'], outfile: 'dist/index.mjs' }),
]);

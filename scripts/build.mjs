// Bundles the CLI into one fast-starting file and the library into one ESM module.
// Runs on `npm ci` (prepare) and on first use of bin/autoconfig.mjs when dist/ is missing.
import { build } from 'esbuild';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  absWorkingDir: root,
  logLevel: 'warning',
  legalComments: 'none',
  // yaml is loaded lazily with import() and only for user rule files; keep it out of the boot path.
  external: ['yaml'],
};

await Promise.all([
  build({ ...common, entryPoints: ['src/cli/main.ts'], outfile: 'dist/autoconfig.mjs', minify: true }),
  build({ ...common, entryPoints: ['src/index.ts'], outfile: 'dist/index.mjs' }),
]);

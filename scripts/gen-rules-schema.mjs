// Writes data/rules.schema.json from the rule format's tables (src/rules/schema.ts, which validate.ts checks by).
// Usage: node scripts/gen-rules-schema.mjs [--check]   (--check: exit 1 when the committed file differs, write nothing)
// test/rules/schema.test.ts fails, naming this command, whenever the tables and the committed file disagree.
import { build } from 'esbuild';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'data', 'rules.schema.json');

// The tables are TypeScript: bundled in memory (they import only shared.ts and facts.ts) and imported as a data URL.
const bundled = await build({
  entryPoints: [join(root, 'src', 'rules', 'schema.ts')],
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  write: false,
  logLevel: 'warning',
});
const { ruleSchemaText } = await import(`data:text/javascript;base64,${Buffer.from(bundled.outputFiles[0].text).toString('base64')}`);
const text = ruleSchemaText();

let committed = null;
try {
  committed = readFileSync(out, 'utf8');
} catch {
  // no file yet: written below
}
if (process.argv.includes('--check')) {
  if (committed !== text) {
    console.error(`${out} is not what src/rules/schema.ts gives: run node scripts/gen-rules-schema.mjs`);
    process.exitCode = 1;
  }
} else if (committed !== text) {
  writeFileSync(out, text);
  console.log(`wrote ${out}`);
} else {
  console.log(`${out} is up to date`);
}

// Compiles the shipped rules (data/rules/*.yaml) to dist/rules.json, next to the bundles, where
// src/rules/compile.ts loadShippedRules() finds them. Any lint error stops the build.
// Usage: node scripts/compile-rules.mjs [--dir DIR] [--out FILE]; from build.mjs: await compileShippedRules().
import { build } from 'esbuild';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

export async function compileShippedRules({ dir = join(root, 'data', 'rules'), out = join(root, 'dist', 'rules.json') } = {}) {
  // The compiler is TypeScript: bundle it next to node_modules (so `yaml` resolves), run it, remove it.
  const tmp = join(root, 'dist', `.compile-rules-${process.pid}.mjs`);
  await mkdir(dirname(tmp), { recursive: true });
  try {
    await build({
      entryPoints: [join(root, 'src', 'rules', 'compile.ts')],
      outfile: tmp,
      bundle: true,
      platform: 'node',
      target: 'node20',
      format: 'esm',
      external: ['yaml'],
      logLevel: 'warning',
    });
    const { compileRules, formatRuleIssue } = await import(pathToFileURL(tmp).href);
    const { compiled, issues } = await compileRules(resolve(dir));
    for (const issue of issues) console.error(formatRuleIssue(issue));
    const errors = issues.filter((i) => i.severity === 'error').length;
    if (errors > 0) throw new Error(`${errors} error(s) in the rule files of ${dir}; ${out} not written`);
    await mkdir(dirname(resolve(out)), { recursive: true });
    await writeFile(resolve(out), JSON.stringify(compiled));
    return compiled;
  } finally {
    await rm(tmp, { force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const args = process.argv.slice(2);
  const opt = (name) => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
  };
  try {
    const compiled = await compileShippedRules({ ...(opt('--dir') ? { dir: opt('--dir') } : {}), ...(opt('--out') ? { out: opt('--out') } : {}) });
    console.log(`rules: ${compiled.files.length} file(s), ${compiled.files.reduce((n, f) => n + f.rules.length, 0)} rule(s) compiled`);
  } catch (error) {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
  }
}

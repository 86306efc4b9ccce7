// The esbuild options of the CLI bundle, one source for scripts/build.mjs and the tests that build a bundle of
// this checkout elsewhere (test/cli/hostile.test.ts, test/cli/corpus.test.ts).

/** Options every bundle shares; `root` is the repository. */
export function commonOptions(root) {
  return {
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    absWorkingDir: root,
    logLevel: 'warning',
    legalComments: 'none',
    // yaml is a runtime dependency loaded lazily with import(), only for user rule files: kept out of the library's
    // bundle (its users share theirs) and, as it is imported lazily, out of the boot path either way.
    external: ['yaml'],
  };
}

/**
 * The CLI as one CommonJS file, loaded by bin/load-cli.cjs with a V8 code cache (Node 20 has no module compile
 * cache): import() becomes require() (yaml has a CommonJS build), import.meta.url is made from the bundle's path.
 */
export function cliOptions(root, outfile) {
  return {
    ...commonOptions(root),
    entryPoints: ['src/cli/main.ts'],
    outfile,
    format: 'cjs',
    minify: true,
    supported: { 'dynamic-import': false },
    // yaml inside the CLI bundle: its import() becomes a lazily run wrapper, so a run without local rules (or with
    // their compiled cache, src/rules/cache.ts) never evaluates it, and a run that parses them is spared resolving
    // and compiling its ~40 files from node_modules (-16% CPU of `--dry-run --rules DIR` without a cache, measured
    // 2026-12-06, bench/dry-run.mjs; docs/development.md). Still a dependency: the library needs it.
    external: [],
    define: { 'import.meta.url': '__bundle_url' },
    banner: { js: 'var __bundle_url=require("node:url").pathToFileURL(__filename).href;' },
  };
}

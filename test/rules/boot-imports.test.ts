// The linter (src/rules/validate.ts) is off the boot path: decide() -> loadShippedRules -> evaluate, conditions,
// cheatcodes reach it through no static import, nor do the CLI's entry (main.ts; `rules lint` and `--rules` load
// it with import() when they run) and the library's (index.ts). The import graph is esbuild's own (its metafile of a bundle of the entry):
// type-only imports are erased there as in the real bundle, and `import()` is its own kind.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { build, type BuildOptions, type Metafile, type Plugin } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { cliOptions } from '../../scripts/bundle-options.mjs';
import { repoRoot } from '../_support/memfs.ts';

const BOOT_ENTRY = 'src/plan/decide.ts';
const CLI_ENTRY = 'src/cli/main.ts';
const LIBRARY_ENTRY = 'src/index.ts';
const LINTER = 'src/rules/validate.ts';

/** The bundle of `entry` with its metafile (nothing written); `more` adds to the options (plugins, splitting). */
async function bundle(entry: string, more: BuildOptions = {}): Promise<{ metafile: Metafile }> {
  const result = await build({
    entryPoints: [entry],
    absWorkingDir: repoRoot,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    external: ['yaml'],
    write: false,
    outdir: 'out',
    metafile: true,
    logLevel: 'silent',
    ...more,
  });
  return { metafile: result.metafile! };
}

async function metafile(entry: string, plugins: Plugin[] = []): Promise<Metafile> {
  return (await bundle(entry, { plugins })).metafile;
}

/** The chain of static imports from `entry` to `target` (shortest), or null when there is none. */
function staticPath(meta: Metafile, entry: string, target: string): string[] | null {
  const parent = new Map<string, string | null>([[entry, null]]);
  const queue = [entry];
  for (let at = queue.shift(); at !== undefined; at = queue.shift()) {
    if (at === target) {
      const path: string[] = [];
      for (let p: string | null | undefined = at; p; p = parent.get(p)) path.unshift(p);
      return path;
    }
    for (const imp of meta.inputs[at]?.imports ?? []) {
      // `import-statement` covers `import x from`, `export ... from` and bare `import '...'`; `dynamic-import` is
      // the lazy kind that stays off the path until called.
      if (imp.kind !== 'import-statement' || imp.external || parent.has(imp.path)) continue;
      parent.set(imp.path, at);
      queue.push(imp.path);
    }
  }
  return null;
}

/** Puts `import { setOwn } from './validate.ts'` back into evaluate.ts (as it was before shared.ts), on load only. */
const importLinterAgain: Plugin = {
  name: 'import-linter-again',
  setup(b) {
    b.onLoad({ filter: /src[\\/]rules[\\/]evaluate\.ts$/ }, (args) => {
      const text = readFileSync(args.path, 'utf8');
      const again = text.replace("import { setOwn } from './shared.ts';", "import { setOwn } from './validate.ts';");
      if (again === text) throw new Error('evaluate.ts no longer imports setOwn from shared.ts: update this test');
      return { contents: again, loader: 'ts' };
    });
  },
};

describe('the linter is off the boot path', () => {
  it(`${LINTER} is not reachable from ${BOOT_ENTRY} through static imports`, async () => {
    const meta = await metafile(BOOT_ENTRY);
    // The boot path itself is in the graph (else the check below would pass on an empty one).
    for (const file of ['src/rules/compile.ts', 'src/rules/evaluate.ts', 'src/rules/conditions.ts', 'src/rules/cheatcodes.ts', 'src/rules/shared.ts']) {
      expect(staticPath(meta, BOOT_ENTRY, file), file).not.toBeNull();
    }
    expect(staticPath(meta, BOOT_ENTRY, LINTER)).toBeNull();
  });

  it.each([
    [CLI_ENTRY, 'src/cli/rules.ts'],
    [LIBRARY_ENTRY, 'src/rules/load.ts'],
  ])('nor from %s (it reaches %s), which loads the linter only through import()', async (entry, via) => {
    const meta = await metafile(entry);
    expect(staticPath(meta, entry, via)).not.toBeNull();
    expect(staticPath(meta, entry, LINTER)).toBeNull();
    const lazy = Object.values(meta.inputs).some((input) => input.imports.some((i) => i.path === LINTER && i.kind === 'dynamic-import'));
    expect(lazy).toBe(true);
  });

  it('the check finds the path when evaluate.ts imports from validate.ts again', async () => {
    const meta = await metafile(BOOT_ENTRY, [importLinterAgain]);
    expect(staticPath(meta, BOOT_ENTRY, LINTER)).toEqual(expect.arrayContaining(['src/rules/evaluate.ts', LINTER]));
  });

  it('what the linter costs: none of the boot chunk, its own chunk when split; its bytes in the CLI bundle', async () => {
    // With code splitting the lazily imported linter is a chunk of its own; the entry chunk holds none of it.
    const split = await bundle(BOOT_ENTRY, { splitting: true, minify: true });
    const outputs = Object.entries(split.metafile.outputs).filter(([name]) => name.endsWith('.js'));
    const entry = outputs.find(([, o]) => o.entryPoint === BOOT_ENTRY)!;
    expect(entry[1].inputs[LINTER]).toBeUndefined();
    const linterChunk = outputs.find(([, o]) => o.inputs[LINTER] !== undefined);
    expect(linterChunk).toBeDefined();
    // The CLI bundle (one file: import() becomes a lazy init there) still carries the linter for `rules lint`.
    const cli = await build({ ...cliOptions(repoRoot, join(repoRoot, 'out', 'autoconfig.cjs')), write: false, metafile: true, logLevel: 'silent' });
    const cliOut = Object.values(cli.metafile.outputs).find((o) => o.entryPoint === 'src/cli/main.ts')!;
    const inCli = cliOut.inputs[LINTER]?.bytesInOutput ?? 0;
    expect(inCli).toBeGreaterThan(0);
    console.log(
      `boot chunk ${entry[1].bytes} B without ${LINTER}; linter chunk ${linterChunk![1].bytes} B (${LINTER}: ${linterChunk![1].inputs[LINTER]!.bytesInOutput} B); ` +
        `CLI bundle ${cliOut.bytes} B, of which ${LINTER} ${inCli} B`,
    );
  });
});

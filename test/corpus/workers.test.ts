// Worker threads: the same rows, in the same order, as one thread. Workers run a bundle (Node 20 runs no .ts in a
// worker), so this builds one with esbuild as bench/corpus.mjs does, inside the repository (data/ is found upward).
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { beforeAll, describe, expect, it } from 'vitest';
import { fixturesDir, repoRoot } from '../_support/memfs.ts';

const bundle = join(repoRoot, 'node_modules', '.cache', 'autoconfig-test', 'corpus-workers.mjs');
type Api = typeof import('../../src/corpus/run.ts');

describe('corpus run in worker threads', () => {
  let api: Api;
  beforeAll(async () => {
    await build({
      stdin: {
        contents: "export * from './src/corpus/run.ts';\nimport { corpusWorkerMain } from './src/corpus/workers.ts';\nawait corpusWorkerMain();\n",
        resolveDir: repoRoot,
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
    api = (await import(pathToFileURL(bundle).href)) as Api;
  }, 120_000);

  it('fixtures/ at two targets: 2 workers give the rows of 1 thread, in machine order', async () => {
    const options = { targets: ['3.0.3', '4.20'] };
    const one = await api.runCorpus([fixturesDir], options);
    const two = await api.runCorpus([fixturesDir], { ...options, workers: 2, worker: { url: pathToFileURL(bundle) } });
    expect(two.rows.length).toBe(one.rows.length);
    expect(two.rows).toEqual(one.rows);
    expect(two.summary).toEqual(one.summary);
  }, 600_000);

  it(`fewer than ${8} machines stay in this thread (a worker's start costs more)`, async () => {
    // A worker entry that cannot start: never used for two machines.
    const r = await api.runCorpus([join(fixturesDir, 'thinkpad-t60'), join(fixturesDir, 'kvm-guest')], { workers: 4, worker: { code: 'throw new Error("started")' } });
    expect(r.rows).toHaveLength(2);
    expect(api.WORKERS_FROM).toBe(8);
  });

  it('a worker that fails is an error, not missing rows', async () => {
    await expect(api.runCorpus([fixturesDir], { workers: 2, worker: { code: 'throw new Error("worker broke")' } })).rejects.toThrow(/worker broke/);
  }, 120_000);
});

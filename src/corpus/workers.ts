// Worker threads for a corpus run: machines are handed out one at a time to N workers (a machine's import, probe and
// plans are independent of every other's), the rows come back and are put in machine order. A worker is a module
// that calls corpusWorkerMain() when it loads (the bundle the caller names: the CLI's, or bench/corpus.mjs's);
// the TypeScript sources cannot be one (Node 20 runs no .ts in a worker), so from them a run stays in-process.
import type { MachineRef, Unreadable } from './machines.ts';
import type { CorpusOptions, PlannedRow, RuleSet } from './run.ts';

/** What a worker runs: a module (URL) or CommonJS code (the CLI's: its bundle through bin/load-cli.cjs). */
export type WorkerEntry = { url: string | URL } | { code: string };

interface Job {
  index: number;
  ref: MachineRef;
}

interface Done {
  index: number;
  rows: PlannedRow[][];
  unreadable: Unreadable[];
  error?: string;
}

interface Setup {
  autoconfigCorpus: true;
  targets: string[];
  ruleSets: RuleSet[];
  kernelDir: string | null;
}

/** In a worker started by runInWorkers(): serve machines until the parent closes the port; elsewhere nothing. */
export async function corpusWorkerMain(): Promise<void> {
  const wt = await import('node:worker_threads');
  const setup = wt.workerData as Setup | undefined;
  if (wt.isMainThread || wt.parentPort === null || setup?.autoconfigCorpus !== true) return;
  const port = wt.parentPort;
  const { runMachines } = await import('./run.ts');
  port.on('message', (job: Job) => {
    runMachines([job.ref], setup.targets, setup.ruleSets, { kernelDir: setup.kernelDir })
      .then(([rows, unreadable]): Done => ({ index: job.index, rows, unreadable }))
      .catch((error: unknown): Done => ({ index: job.index, rows: [], unreadable: [], error: error instanceof Error ? (error.stack ?? error.message) : String(error) }))
      .then((done) => port.postMessage(done));
  });
}

/** The machines planned by `workers` threads running `workerUrl`; the same result as runMachines() in-process. */
export async function runInWorkers(
  refs: readonly MachineRef[],
  targets: readonly string[],
  ruleSets: readonly RuleSet[],
  worker: WorkerEntry,
  workers: number,
  options: Pick<CorpusOptions, 'kernelDir' | 'onMachine'> = {},
): Promise<[PlannedRow[][], Unreadable[]]> {
  const { Worker } = await import('node:worker_threads');
  const setup: Setup = { autoconfigCorpus: true, targets: [...targets], ruleSets: [...ruleSets], kernelDir: options.kernelDir ?? null };
  const results: (Done | undefined)[] = new Array(refs.length);
  let next = 0;
  let done = 0;
  // execArgv: not the parent's (`node --input-type=module -e` would make every worker fail to start).
  const start = () =>
    'code' in worker
      ? new Worker(worker.code, { eval: true, workerData: setup, execArgv: [] })
      : new Worker(new URL(worker.url), { workerData: setup, execArgv: [] });
  const pool = Array.from({ length: Math.min(workers, refs.length) }, start);
  try {
    await Promise.all(
      pool.map(
        (worker) =>
          new Promise<void>((resolve, reject) => {
            const give = () => {
              if (next >= refs.length) return resolve();
              const index = next++;
              worker.postMessage({ index, ref: refs[index]! } satisfies Job);
            };
            worker.on('message', (d: Done) => {
              if (d.error !== undefined) return reject(new Error(`corpus worker, ${refs[d.index]!.dir}: ${d.error}`));
              results[d.index] = d;
              options.onMachine?.(++done, refs.length);
              give();
            });
            worker.on('error', reject);
            worker.on('exit', (code) => (next < refs.length || results.includes(undefined) ? reject(new Error(`corpus worker exited (${code})`)) : resolve()));
            give();
          }),
      ),
    );
  } finally {
    await Promise.all(pool.map((w) => w.terminate()));
  }
  const rows: PlannedRow[][] = ruleSets.map(() => []);
  const unreadable: Unreadable[] = [];
  for (const r of results) {
    r!.rows.forEach((list, i) => rows[i]!.push(...list));
    unreadable.push(...r!.unreadable);
  }
  return [rows, unreadable];
}

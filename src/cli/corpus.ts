// `autoconfig corpus run | diff | check`: the rule author's workbench (src/corpus). Thin: arguments in, the
// library's result out as text, --json or --html. The corpus is read from the real filesystem (published logs
// are imported in memory); only --html FILE is written, through the injected fs.
import { existsSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkCorpus } from '../corpus/check.ts';
import { diffCorpus } from '../corpus/diff.ts';
import { formatCheck, formatDiff, formatSummary, formatTable } from '../corpus/format.ts';
import { diffHtml, runHtml } from '../corpus/html.ts';
import { ruleSetAtRef, ruleSetFrom, shippedRuleSet } from '../corpus/rule-sets.ts';
import { runCorpus, SHIPPED, type Row, type RuleSet } from '../corpus/run.ts';
import { corpusWorkerMain, type WorkerEntry } from '../corpus/workers.ts';
import { AutoconfigError } from '../errors.ts';
import { parseCommand, parsePositiveInt, selectSubcommand, usageLine, type CommandGroup } from './_args.ts';
import { forDisplay } from './_display.ts';
import { EXIT, type CliIO } from './_io.ts';

const COMMON = {
  xen: { type: 'string', multiple: true },
  rules: { type: 'string', multiple: true },
  kernel: { type: 'string' },
} as const;
const OUTPUT = {
  workers: { type: 'string' },
  json: { type: 'boolean' },
  html: { type: 'string' },
} as const;

/** The subcommands, each declared once: its parser reads these options and its --help lists them. */
export const CORPUS = {
  name: 'corpus',
  summary: 'the rules over many machines at once (docs/rules.md "Workflow")',
  subcommands: {
    run: {
      name: 'corpus run',
      args: 'DIR...',
      summary: 'each machine planned per target: a table of verdicts, warnings, unreadable machines',
      options: { ...COMMON, ...OUTPUT },
    },
    diff: {
      name: 'corpus diff',
      args: '(--base DIR... | --base-ref REF) DIR...',
      summary: 'what a rule change changes, per machine: verdicts, decisions, file diffs; exit 1 if anything changes',
      options: { ...COMMON, base: { type: 'string', multiple: true }, 'base-ref': { type: 'string' }, ...OUTPUT },
    },
    check: {
      name: 'corpus check',
      args: 'DIR...',
      // No --xen: it plans at the targets each expect.yaml names.
      summary: "each machine's expect.yaml against its plans at the targets it names; exit 1 on a mismatch",
      options: { rules: COMMON.rules, kernel: COMMON.kernel, json: OUTPUT.json },
    },
  },
} as const satisfies CommandGroup;

/** Rows without what only the diff needs (files, decisions): the --json of `corpus run`. */
function plainRow(r: Row): Row {
  const { machine, kind, target, verdicts, warnings, notes, error } = r;
  return { machine, kind, target, verdicts, warnings, notes, error };
}

/**
 * Worker threads run the CLI's own bundle through bin/load-cli.cjs (as bin/autoconfig.cjs does) with the hidden
 * `corpus __worker` command; null from the TypeScript sources (tests), where a worker could not load them.
 */
function workerEntry(): WorkerEntry | null {
  const loader = new URL('../bin/load-cli.cjs', import.meta.url);
  if (!import.meta.url.endsWith('.cjs') || !existsSync(loader)) return null;
  const code = `require(${JSON.stringify(fileURLToPath(loader))}).loadCli().main({ argv: ['corpus', '__worker'], stdout() {}, stderr() {} });`;
  return { code };
}

export async function runCorpusCommand(argv: readonly string[], io: CliIO): Promise<number> {
  if (argv[0] === '__worker') {
    await corpusWorkerMain();
    return EXIT.ok;
  }
  const { name: sub, command, rest } = selectSubcommand(argv, CORPUS);
  const { options, positionals } = parseCommand(rest, command);
  if (positionals.length === 0) throw new AutoconfigError('E_USAGE', `name at least one DIR\n${usageLine(command)}`);
  if (options.json && options.html !== undefined) throw new AutoconfigError('E_USAGE', 'give --json or --html FILE, not both');
  const at = (p: string) => posix.resolve(io.cwd, p);
  const dirs = positionals.map(at);
  const targets = (options.xen as string[] | undefined) ?? [];
  const kernelDir = typeof options.kernel === 'string' ? at(options.kernel) : null;
  const rules = ((options.rules as string[] | undefined) ?? []).map(at);
  const html = typeof options.html === 'string' ? at(options.html) : null;
  // Measured (bench/corpus.mjs, docs/development.md): two workers spend 1.7 times the CPU of one thread (each its own
  // start, warm-up and reference data, the rows copied back), so they pay only with 3 or more idle cores (the cores
  // less the load average); then one per idle core, at most 4. Else this thread.
  const idle = Math.floor(availableParallelism() - loadavg()[0]!);
  const workers = parsePositiveInt('workers', options.workers, { max: 64, fallback: idle >= 3 ? Math.min(idle, 4) : 1 });
  // On a terminal, how far the run is, redrawn in place on stderr (a whole corpus takes seconds); cleared at the end.
  const progress = io.isTTY ? (done: number, total: number) => io.stderr(done < total ? `\rcorpus: ${done}/${total} machines` : '\r\x1b[K') : undefined;
  const parallel = { workers, worker: workerEntry(), ...(progress ? { onMachine: progress } : {}) };
  const writeHtml = async (text: string) => {
    await io.fs.writeFile(html!, text);
    io.stdout(`wrote ${html}\n`);
  };

  if (sub === 'run' || sub === 'check') {
    // As --dry-run takes them: the shipped rules, then each --rules path.
    const ruleSet: RuleSet = rules.length === 0 ? SHIPPED : { label: `shipped + ${rules.join(' ')}`, shipped: null, extra: rules };
    if (sub === 'check') {
      const result = await checkCorpus(dirs, { kernelDir, rules: ruleSet, ...(progress ? { onMachine: progress } : {}) });
      if (options.json) io.stdout(JSON.stringify(result, (k, v) => (k === 'ref' ? v.id : v), 2) + '\n');
      else io.stdout(forDisplay(formatCheck(result)));
      return result.mismatches.length > 0 ? EXIT.error : EXIT.ok;
    }
    const result = await runCorpus(dirs, { targets, kernelDir, rules: ruleSet, ...parallel });
    if (options.json) io.stdout(JSON.stringify({ rows: result.rows.map(plainRow), summary: result.summary }, null, 2) + '\n');
    else if (html) await writeHtml(runHtml(result.rows, result.summary));
    if (!options.json) io.stdout(forDisplay((html ? '' : formatTable(result.rows) + '\n') + formatSummary(result.summary)));
    // Unreadable machines are listed, not failures; a plan that threw is one (it is a bug, or a bad rule).
    return result.summary.failedRows.length > 0 ? EXIT.error : EXIT.ok;
  }

  const baseDirs = ((options.base as string[] | undefined) ?? []).map(at);
  const baseRef = options['base-ref'] as string | undefined;
  if ((baseDirs.length > 0) === (baseRef !== undefined)) throw new AutoconfigError('E_USAGE', 'give --base DIR or --base-ref GIT_REF');
  const base = baseRef !== undefined ? await ruleSetAtRef(baseRef) : await ruleSetFrom(baseDirs, baseDirs.join(' '));
  // Each side is a whole rule set in place of the shipped one; without --rules, data/rules as it is on disk now.
  const after = rules.length > 0 ? await ruleSetFrom(rules, rules.join(' ')) : await shippedRuleSet();
  const d = await diffCorpus(dirs, base, after, { targets, kernelDir, ...parallel });
  if (options.json) {
    const { rows: _rows, unreadable: _u, ...rest } = d;
    io.stdout(JSON.stringify(rest, null, 2) + '\n');
  } else {
    if (html) await writeHtml(diffHtml(d));
    io.stdout(forDisplay(formatDiff(d)));
  }
  // Like `git diff --exit-code`: 1 when something changes, so that CI can require the expected changes.
  return d.changes.length > 0 ? EXIT.error : EXIT.ok;
}

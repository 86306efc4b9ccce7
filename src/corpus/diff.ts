// `corpus diff`: the same machines and targets planned with two rule sets; per machine x target what changed in
// the verdicts, the decisions (by rule id and action: a rule that only moved lines changes nothing), the warnings
// and every emitted file (a unified diff). Each machine is loaded and probed once for both sides.
import { unifiedDiff } from '../emit/diff.ts';
import { checkTargets, runMachines, summarize, type CorpusOptions, type PlannedRow, type RuleSet, type Summary, type Verdicts } from './run.ts';
import { findMachines, type Unreadable } from './machines.ts';

export interface RowChange {
  machine: string;
  target: string;
  verdicts: { key: string; before: string; after: string }[];
  decisions: { removed: string[]; added: string[] };
  warnings: { removed: string[]; added: string[] };
  /** Unified diffs of the emitted files that differ (a file only one side emits is diffed against nothing). */
  files: { path: string; diff: string }[];
  /** A side whose planning failed: its reason. */
  errors: { before: string | null; after: string | null };
}

export interface CorpusDiff {
  base: string;
  rules: string;
  targets: string[];
  machines: number;
  /** Machines with at least one changed row, in order. */
  changedMachines: string[];
  changes: RowChange[];
  /** The new side's rows (the table of `--html`), and its summary. */
  rows: PlannedRow[];
  summary: Summary;
  unreadable: Unreadable[];
}

function show(value: Verdicts[keyof Verdicts]): string {
  return Array.isArray(value) ? value.join(' ') || '(none)' : String(value);
}

function listDiff(before: readonly string[], after: readonly string[]): { removed: string[]; added: string[] } {
  const a = new Set(before);
  const b = new Set(after);
  return { removed: before.filter((x) => !b.has(x)), added: after.filter((x) => !a.has(x)) };
}

/** What changed between two plans of one machine and target; null when nothing did. */
export function compareRows(before: PlannedRow, after: PlannedRow): RowChange | null {
  const verdicts: RowChange['verdicts'] = [];
  if (before.verdicts && after.verdicts) {
    for (const key of Object.keys(after.verdicts) as (keyof Verdicts)[]) {
      const b = show(before.verdicts[key]);
      const a = show(after.verdicts[key]);
      if (a !== b) verdicts.push({ key, before: b, after: a });
    }
  }
  const paths = [...new Set([...before.files.map((f) => f.path), ...after.files.map((f) => f.path)])].sort();
  const files: RowChange['files'] = [];
  for (const path of paths) {
    const b = before.files.find((f) => f.path === path)?.content ?? null;
    const a = after.files.find((f) => f.path === path)?.content ?? null;
    if (a === b) continue;
    // A file the new side no longer emits: every line removed.
    const diff = unifiedDiff(path, b, a ?? '');
    files.push({ path, diff });
  }
  const change: RowChange = {
    machine: after.machine,
    target: after.target,
    verdicts,
    decisions: listDiff(before.decisions, after.decisions),
    warnings: listDiff(before.warnings, after.warnings),
    files,
    errors: { before: before.error?.reason ?? null, after: after.error?.reason ?? null },
  };
  const same =
    verdicts.length === 0 &&
    change.decisions.added.length + change.decisions.removed.length === 0 &&
    change.warnings.added.length + change.warnings.removed.length === 0 &&
    files.length === 0 &&
    change.errors.before === change.errors.after &&
    (before.verdicts === null) === (after.verdicts === null);
  return same ? null : change;
}

export async function diffCorpus(
  dirs: readonly string[],
  base: RuleSet,
  rules: RuleSet,
  options: Pick<CorpusOptions, 'targets' | 'kernelDir' | 'onMachine' | 'workers' | 'worker'> = {},
): Promise<CorpusDiff> {
  const targets = checkTargets(options.targets);
  const refs = await findMachines(dirs);
  const [[before, after], unreadable] = await runMachines(refs, targets, [base, rules], options);
  const changes: RowChange[] = [];
  for (let i = 0; i < after!.length; i++) {
    const change = compareRows(before![i]!, after![i]!);
    if (change) changes.push(change);
  }
  return {
    base: base.label,
    rules: rules.label,
    targets,
    machines: refs.length,
    changedMachines: [...new Set(changes.map((c) => c.machine))],
    changes,
    rows: after!,
    summary: summarize(refs.length, targets, after!, unreadable),
    unreadable,
  };
}

// `corpus run`: every machine x every target through the product's own pipeline (decide(), plan(), render(), as
// `--dry-run` does), in one process. A machine is probed once and planned for each target and rule set; the
// PCI names are loaded once. One row per machine x target with the verdicts a rule author looks at first.
import { render, type RenderedFile } from '../emit/render.ts';
import { PciNames } from '../ids/pci-ids.ts';
import { decide, planDecided, type DecideOptions } from '../plan/decide.ts';
import { DEFAULT_XEN, xenOption } from '../plan/target.ts';
import type { Plan } from '../plan/types.ts';
import { probe } from '../probe/probe.ts';
import type { LoadedRules } from '../rules/load.ts';
import type { HardwareProfile } from '../types.ts';
import { runInWorkers, type WorkerEntry } from './workers.ts';
import { findMachines, isUnreadable, loadMachine, type LoadedMachine, type MachineRef, type Unreadable } from './machines.ts';

/** The verdicts of one plan, flat, for the table, --json, expect.yaml and the diff. */
export interface Verdicts {
  /** 'vmx' | 'svm' when HVM guests are planned, else 'no'. */
  hvm: string;
  /** Long mode: 'yes' | 'no' | 'unknown'. */
  longMode: string;
  /** 'yes' (with the MiB it takes where known) | 'no'. */
  uma: string;
  iommu: string;
  /** dom0_mem as decided, or "default" (Xen's: all memory, ballooning). */
  dom0Mem: string;
  dom0Vcpus: string;
  /** "legacy bios", "grub2 efi" ... */
  grub: string;
  xenDisabled: boolean;
  safe: boolean;
  /** The X server's driver module, or "none". */
  xDriver: string;
  /** Drivers of the network cards, in the plan's order ("-" where none matched). */
  network: string[];
  sound: string[];
}

export interface Row {
  machine: string;
  kind: MachineRef['kind'];
  target: string;
  verdicts: Verdicts | null;
  warnings: string[];
  notes: string[];
  /** Planning or rendering failed (the pipeline threw): what, with its code. Then verdicts is null. */
  error: { reason: string; code: string | null } | null;
}

/** A row with what the diff compares beyond the verdicts. */
export interface PlannedRow extends Row {
  decisions: string[];
  files: RenderedFile[];
  xenCmdline: string;
  dom0Cmdline: string;
  modules: string[];
}

export interface RuleSet {
  /** What the rules are, in words: "shipped", "shipped + extra/", "data/rules at HEAD~1". */
  label: string;
  /** The rule set in place of the shipped one; null: the shipped rules. */
  shipped: LoadedRules | null;
  /** `--rules` paths added after it, as configure takes them. */
  extra: string[];
}

export interface CorpusOptions {
  targets?: readonly string[];
  kernelDir?: string | null;
  rules?: RuleSet;
  /** Called as each machine is done (progress on a terminal). */
  onMachine?: (done: number, total: number) => void;
  /** Worker threads (src/corpus/workers.ts); 1 or absent: in this thread. */
  workers?: number;
  /** What each worker runs: code that calls corpusWorkerMain() (a bundle; not the .ts sources). */
  worker?: WorkerEntry | null;
}

export interface Summary {
  machines: number;
  planned: number;
  targets: string[];
  rows: number;
  withWarnings: string[];
  /** Per target, how many machines have a warning there. */
  warningsByTarget: Record<string, number>;
  /** The warnings most plans share, with how many plans: what a reader looks at first. */
  commonWarnings: { text: string; plans: number }[];
  failedRows: { machine: string; target: string; reason: string }[];
  unreadable: { machine: string; dir: string; reason: string; code: string | null }[];
  /** Counts per verdict value over all rows: hvm.vmx = 80 ... */
  counts: Record<string, Record<string, number>>;
}

export interface CorpusResult {
  rows: PlannedRow[];
  unreadable: Unreadable[];
  summary: Summary;
}

/** Fewer machines than this are planned in one thread whatever `workers` says (bench/corpus.mjs, docs/development.md). */
export const WORKERS_FROM = 8;

export const SHIPPED: RuleSet = { label: 'shipped', shipped: null, extra: [] };

let names: Promise<PciNames> | undefined;

function yesNo(v: boolean | null): string {
  return v === null ? 'unknown' : v ? 'yes' : 'no';
}

export function verdictsOf(p: Plan): Verdicts {
  return {
    hvm: p.hvm.available ? (p.hvm.technology ?? 'yes') : 'no',
    longMode: yesNo(p.longMode),
    uma: p.uma.present ? (p.uma.stolenMiB === null ? 'yes' : `yes ${p.uma.stolenMiB} MiB`) : 'no',
    iommu: yesNo(p.iommu.available),
    dom0Mem: p.memory.dom0 ?? 'default',
    dom0Vcpus: p.vcpus.dom0 === null ? 'default' : String(p.vcpus.dom0),
    grub: `${p.grub.flavor} ${p.grub.variant}`,
    xenDisabled: p.xenDisabled,
    safe: p.safe,
    xDriver: p.xserver.module ?? 'none',
    network: p.netcards.map((n) => n.driver ?? '-'),
    sound: p.sound.map((s) => s.driver ?? '-'),
  };
}

/** One machine, probed once, planned for each target with one rule set. */
export async function planMachine(
  m: LoadedMachine,
  profile: HardwareProfile,
  targets: readonly string[],
  options: Pick<CorpusOptions, 'kernelDir' | 'rules'> = {},
): Promise<PlannedRow[]> {
  const rules = options.rules ?? SHIPPED;
  const ids = await (names ??= PciNames.load());
  const out: PlannedRow[] = [];
  // One driver match per reference kernel, shared by the targets that read it (decide() driversCache).
  const driversCache: NonNullable<DecideOptions['driversCache']> = new Map();
  for (const xen of targets) {
    const base = { machine: m.ref.id, kind: m.ref.kind, target: xen };
    try {
      const d = await decide({
        fs: m.fs,
        root: m.root,
        xen,
        profile,
        rules: rules.extra,
        kernelDir: options.kernelDir ?? null,
        driversCache,
        ...(rules.shipped ? { shipped: rules.shipped } : {}),
      });
      const p = planDecided(d, (v, dev) => ids.device(v, dev));
      const files = render(p);
      // Rule-file errors leave those rules out (as --dry-run does); a warning says so here.
      const ruleErrors = d.ruleIssues.filter((i) => i.severity === 'error').map((i) => `rule file ${i.file}:${i.line}: ${i.code}: ${i.message}`);
      out.push({
        ...base,
        verdicts: verdictsOf(p),
        warnings: [...ruleErrors, ...p.warnings],
        notes: p.notes,
        error: null,
        // By rule id and action, not file:line: lines move when a rule above is edited, which changes nothing.
        decisions: p.decisions.filter((x) => !x.overriddenBy).map((x) => `${x.rule}: ${JSON.stringify(x.action)}`),
        files,
        xenCmdline: p.xen.cmdline,
        dom0Cmdline: p.dom0.cmdline,
        modules: p.dom0.modules.map((x) => x.name),
      });
    } catch (error) {
      const e = error as { code?: unknown; message?: unknown };
      out.push({
        ...base,
        verdicts: null,
        warnings: [],
        notes: [],
        error: { reason: typeof e.message === 'string' ? e.message : String(error), code: typeof e.code === 'string' ? e.code : null },
        decisions: [],
        files: [],
        xenCmdline: '',
        dom0Cmdline: '',
        modules: [],
      });
    }
  }
  return out;
}

/** Probes a loaded machine; a tree that holds no machine (E_ROOT) is unreadable, with the probe's reason. */
export async function probeMachine(m: LoadedMachine): Promise<HardwareProfile | Unreadable> {
  try {
    return await probe({ fs: m.fs, root: m.root, requireMachine: true });
  } catch (error) {
    const e = error as { code?: unknown; message?: unknown };
    const why = typeof e.message === 'string' ? e.message : String(error);
    // The mount point means nothing to the reader: name the folder the logs came from.
    return { ref: m.ref, reason: why.split(m.root).join(m.ref.data), code: typeof e.code === 'string' ? e.code : null };
  }
}

/** Every target checked before any machine is read: a bad --xen is a usage error, not 140 failed rows. */
export function checkTargets(targets: readonly string[] | undefined): string[] {
  const list = targets && targets.length > 0 ? [...targets] : [DEFAULT_XEN];
  for (const t of list) xenOption(t);
  return [...new Set(list)];
}

export async function runCorpus(dirs: readonly string[], options: CorpusOptions = {}): Promise<CorpusResult> {
  const targets = checkTargets(options.targets);
  const refs = await findMachines(dirs);
  return runMachines(refs, targets, [options.rules ?? SHIPPED], options).then(([rows, unreadable]) => ({
    rows: rows[0]!,
    unreadable,
    summary: summarize(refs.length, targets, rows[0]!, unreadable),
  }));
}

/**
 * Each machine loaded and probed once, then planned with each rule set: rows[i] are rule set i's rows, in machine
 * then target order. A machine that cannot be loaded or holds no machine is listed in `unreadable` instead.
 */
export async function runMachines(
  refs: readonly MachineRef[],
  targets: readonly string[],
  ruleSets: readonly RuleSet[],
  options: Pick<CorpusOptions, 'kernelDir' | 'onMachine' | 'workers' | 'worker'> = {},
): Promise<[PlannedRow[][], Unreadable[]]> {
  // A worker costs a start (its own bundle, rules and kernel indexes: ~0.5 s of CPU): not worth it for a few machines.
  if ((options.workers ?? 1) > 1 && options.worker && refs.length >= WORKERS_FROM) {
    return runInWorkers(refs, targets, ruleSets, options.worker, options.workers!, options);
  }
  const rows: PlannedRow[][] = ruleSets.map(() => []);
  const unreadable: Unreadable[] = [];
  let done = 0;
  for (const ref of refs) {
    const loaded = await loadMachine(ref);
    const profile = isUnreadable(loaded) ? loaded : await probeMachine(loaded);
    if (isUnreadable(loaded) || 'reason' in profile) unreadable.push(isUnreadable(loaded) ? loaded : (profile as Unreadable));
    else {
      for (let i = 0; i < ruleSets.length; i++) {
        rows[i]!.push(...(await planMachine(loaded, profile as HardwareProfile, targets, { ...options, rules: ruleSets[i]! })));
      }
    }
    options.onMachine?.(++done, refs.length);
  }
  return [rows, unreadable];
}

export function summarize(machines: number, targets: readonly string[], rows: readonly Row[], unreadable: readonly Unreadable[]): Summary {
  const counts: Record<string, Record<string, number>> = {};
  const count = (key: string, value: string) => {
    const c = (counts[key] ??= {});
    c[value] = (c[value] ?? 0) + 1;
  };
  const warnings = new Map<string, number>();
  for (const r of rows) for (const w of new Set(r.warnings)) warnings.set(w, (warnings.get(w) ?? 0) + 1);
  for (const r of rows) {
    if (!r.verdicts) continue;
    const v = r.verdicts;
    count('hvm', v.hvm);
    count('longMode', v.longMode);
    count('uma', v.uma.startsWith('yes') ? 'yes' : 'no');
    count('iommu', v.iommu);
    count('grub', v.grub);
    count('xDriver', v.xDriver);
    count('xenDisabled', String(v.xenDisabled));
  }
  return {
    machines,
    planned: new Set(rows.map((r) => r.machine)).size,
    targets: [...targets],
    rows: rows.length,
    withWarnings: [...new Set(rows.filter((r) => r.warnings.length > 0).map((r) => r.machine))],
    warningsByTarget: Object.fromEntries(targets.map((t) => [t, new Set(rows.filter((r) => r.target === t && r.warnings.length > 0).map((r) => r.machine)).size])),
    commonWarnings: [...warnings].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, 10).map(([text, plans]) => ({ text, plans })),
    failedRows: rows.filter((r) => r.error).map((r) => ({ machine: r.machine, target: r.target, reason: r.error!.reason })),
    unreadable: unreadable.map((u) => ({ machine: u.ref.id, dir: u.ref.dir, reason: u.reason, code: u.code })),
    counts,
  };
}

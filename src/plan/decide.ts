// The pipeline up to the rules' decisions, shared by `explain` and the plan: probe -> driver matches ->
// target Xen -> rules (shipped, --rules, the target's rules.d) -> boot-line cheatcodes -> outcome.
import { nodeFsPromises, type FsLike } from '../fs.ts';
import { driversReport, referenceKernels, type DriverContextOptions, type DriversReport, type ReferenceKernel } from '../modalias/index.ts';
import { plan, type PlanInput } from './plan.ts';
import { detectTargetXen, xenOption, type TargetXen } from './target.ts';
import type { Plan } from './types.ts';
import { probe } from '../probe/probe.ts';
import { cheatcodeActions, parseCheatcodes } from '../rules/cheatcodes.ts';
import { loadShippedRules, withoutShippedRules } from '../rules/compile.ts';
import { evaluateRules, type EvaluateInput } from '../rules/evaluate.ts';
import { compareXenVersions } from '../rules/version.ts';
import { loadRules, type LoadedRules } from '../rules/load.ts';
import type { RuleIssue, RuleOutcome } from '../rules/types.ts';
import type { HardwareProfile } from '../types.ts';
import type { RulesCacheFile } from '../rules/cache.ts';

export interface DecideOptions {
  /** node:fs and "/" by default. */
  fs?: FsLike;
  root?: string;
  xen?: string | null;
  rules?: readonly string[];
  kernelDir?: string | null;
  /** A profile probed already (a corpus run plans one machine for several targets and rule sets): not probed again. */
  profile?: HardwareProfile;
  /** The rule set in place of the shipped one (`corpus diff` compares two); loadShippedRules() by default. */
  shipped?: LoadedRules;
  /**
   * Driver matches already made for this profile, root and kernelDir, by the reference release they were made with:
   * a corpus run plans one machine at several targets, most of which read the same reference kernel.
   */
  driversCache?: Map<string, Promise<DriversReport>>;
  /**
   * The compiled-rules cache of the local rule files (rules/cache.ts): the root it is read from. Default: `root`.
   * decide() never writes it; Decided.rulesCacheFile is what a run that writes leaves there.
   */
  rulesCache?: { target: string };
}

export interface Decided {
  profile: HardwareProfile;
  drivers: DriversReport;
  target: TargetXen;
  outcome: RuleOutcome;
  ruleIssues: RuleIssue[];
  /** What the rules were evaluated with: `explain RULE-ID` traces one rule against it (rules/why.ts). */
  evaluated: EvaluateInput;
  /** The compiled-rules cache of the local rules, due to be written (by --write only); null when none is due. */
  rulesCacheFile: RulesCacheFile | null;
}

/**
 * The shipped reference kernel for a target Xen, used when the target root has no modules of its own: the kernel
 * of the newest Debian release whose Xen is not newer than the target (Debian 12: Xen 4.17 with 6.1; Debian 13: Xen
 * 4.20 with 6.12), as a Dom0 of that Xen would run; for a target older than every one (Xen 3.x, whose XenLinux Dom0
 * matches none: the plan says so), the oldest.
 */
export function referenceFor(xen: string, references: readonly ReferenceKernel[]): string | null {
  const known = references.filter((r): r is ReferenceKernel & { xen: string } => r.xen !== null);
  const fitting = known.filter((r) => compareXenVersions(r.xen, xen) <= 0).sort((a, b) => compareXenVersions(a.xen, b.xen));
  return fitting.at(-1)?.release ?? known[0]?.release ?? null;
}

/**
 * plan() of what decide() found, exactly as the CLI makes it: the devices' drivers, the kernel they were matched
 * against (a reference kernel's modules are no XenLinux Dom0's), and device names where `name` gives them.
 */
export function planDecided(d: Decided, name?: PlanInput['name']): Plan {
  return plan({
    profile: d.profile,
    drivers: d.drivers.devices,
    target: d.target,
    outcome: d.outcome,
    ...(name ? { name } : {}),
    kernel: d.drivers.kernel,
  });
}

/** One driver match per reference release a corpus run's targets read (decide()'s driversCache). */
async function cachedReport(
  cache: Map<string, Promise<DriversReport>>,
  targetXen: Promise<TargetXen>,
  report: (referenceRelease: string | null) => Promise<DriversReport>,
): Promise<DriversReport> {
  const release = referenceFor((await targetXen).version, await referenceKernels());
  const key = release ?? '';
  if (!cache.has(key)) cache.set(key, report(release));
  return cache.get(key)!;
}

export async function decide(options: DecideOptions): Promise<Decided> {
  const fs = options.fs ?? nodeFsPromises;
  const root = options.root ?? '/';
  // A bad --xen is a usage error whatever the root; then a plan of nothing is an error (E_ROOT), not an empty plan:
  // the root must exist and hold a machine.
  if (options.xen !== undefined && options.xen !== null) xenOption(options.xen);
  const profile = options.profile ?? (await probe({ fs, root, requireMachine: true }));
  const cheatcodes = parseCheatcodes(profile.cmdline);
  const targetXen = detectTargetXen({ option: options.xen ?? null, cheatcodes, profile, fs, root });
  const report = (referenceRelease: DriverContextOptions['referenceRelease']) =>
    driversReport(profile, { fs, root, kernelDir: options.kernelDir ?? null, referenceRelease });
  const [target, drivers, shipped] = await Promise.all([
    targetXen,
    options.driversCache
      ? cachedReport(options.driversCache, targetXen, report)
      : // At boot the target has its own modules: the reference is chosen (and its metadata read) only if needed.
        report(async (references) => referenceFor((await targetXen).version, references)),
    options.shipped ?? loadShippedRules(),
  ]);
  // `--rules data/rules` names rules that are loaded already: not twice (every id would be a duplicate).
  const paths = withoutShippedRules(options.rules ?? []).paths;
  const cache = { fs, target: options.rulesCache?.target ?? root };
  const loaded = await loadRules({ shipped: shipped.files, paths, targetRoot: root, fs, cache });
  const evaluated: EvaluateInput = {
    files: loaded.files,
    profile,
    drivers: drivers.devices,
    target: { xen: target.version, arch: null },
    cheatcodes: cheatcodeActions(cheatcodes, profile),
  };
  const outcome = evaluateRules(evaluated);
  // An ignored or unwritable cache changes nothing decided, but is said (a note of the plan, shown by --dry-run).
  if (loaded.cacheNote !== undefined) outcome.notes.push({ text: loaded.cacheNote, rule: 'rules-cache' });
  return {
    profile,
    drivers,
    target,
    outcome,
    ruleIssues: [...shipped.issues, ...loaded.issues],
    evaluated,
    rulesCacheFile: loaded.cacheFile ?? null,
  };
}

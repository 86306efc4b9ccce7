// The pipeline up to the rules' decisions, shared by `explain` and the plan: probe -> driver matches ->
// target Xen -> rules (shipped, --rules, the target's rules.d) -> boot-line cheatcodes -> outcome.
import { nodeFsPromises, type FsLike } from '../fs.ts';
import { driversReport, referenceKernels, type DriversReport, type ReferenceKernel } from '../modalias/index.ts';
import { detectTargetXen, xenOption, type TargetXen } from './target.ts';
import { probe } from '../probe/probe.ts';
import { cheatcodeActions, parseCheatcodes } from '../rules/cheatcodes.ts';
import { loadShippedRules, withoutShippedRules } from '../rules/compile.ts';
import { evaluateRules } from '../rules/evaluate.ts';
import { compareXenVersions } from '../rules/version.ts';
import { loadRules, type LoadedRules } from '../rules/load.ts';
import type { RuleIssue, RuleOutcome } from '../rules/types.ts';
import type { HardwareProfile } from '../types.ts';

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
}

export interface Decided {
  profile: HardwareProfile;
  drivers: DriversReport;
  target: TargetXen;
  outcome: RuleOutcome;
  ruleIssues: RuleIssue[];
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

export async function decide(options: DecideOptions): Promise<Decided> {
  const fs = options.fs ?? nodeFsPromises;
  const root = options.root ?? '/';
  // A bad --xen is a usage error whatever the root; then a plan of nothing is an error (E_ROOT), not an empty plan:
  // the root must exist and hold a machine.
  if (options.xen !== undefined && options.xen !== null) xenOption(options.xen);
  const profile = options.profile ?? (await probe({ fs, root, requireMachine: true }));
  const cheatcodes = parseCheatcodes(profile.cmdline);
  const [target, references, shipped] = await Promise.all([
    detectTargetXen({ option: options.xen ?? null, cheatcodes, profile, fs, root }),
    referenceKernels(),
    options.shipped ?? loadShippedRules(),
  ]);
  const referenceRelease = referenceFor(target.version, references);
  const report = () => driversReport(profile, { fs, root, kernelDir: options.kernelDir ?? null, referenceRelease });
  const cache = options.driversCache;
  const key = referenceRelease ?? '';
  if (cache && !cache.has(key)) cache.set(key, report());
  const drivers = await (cache?.get(key) ?? report());
  // `--rules data/rules` names rules that are loaded already: not twice (every id would be a duplicate).
  const paths = withoutShippedRules(options.rules ?? []).paths;
  const loaded = await loadRules({ shipped: shipped.files, paths, targetRoot: root, fs });
  const outcome = evaluateRules({
    files: loaded.files,
    profile,
    drivers: drivers.devices,
    target: { xen: target.version, arch: null },
    cheatcodes: cheatcodeActions(cheatcodes, profile),
  });
  return { profile, drivers, target, outcome, ruleIssues: [...shipped.issues, ...loaded.issues] };
}

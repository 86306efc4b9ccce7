// The pipeline up to the rules' decisions, shared by `explain` and the plan: probe -> driver matches ->
// target Xen -> rules (shipped, --rules, the target's rules.d) -> boot-line cheatcodes -> outcome.
import { nodeFsPromises, type FsLike } from '../fs.ts';
import { driversReport, type DriversReport } from '../modalias/index.ts';
import { detectTargetXen, xenOption, type TargetXen } from './target.ts';
import { probe } from '../probe/probe.ts';
import { cheatcodeActions, parseCheatcodes } from '../rules/cheatcodes.ts';
import { loadShippedRules, withoutShippedRules } from '../rules/compile.ts';
import { evaluateRules } from '../rules/evaluate.ts';
import { loadRules } from '../rules/load.ts';
import type { RuleIssue, RuleOutcome } from '../rules/types.ts';
import type { HardwareProfile } from '../types.ts';

export interface DecideOptions {
  /** node:fs and "/" by default. */
  fs?: FsLike;
  root?: string;
  xen?: string | null;
  rules?: readonly string[];
  kernelDir?: string | null;
}

export interface Decided {
  profile: HardwareProfile;
  drivers: DriversReport;
  target: TargetXen;
  outcome: RuleOutcome;
  ruleIssues: RuleIssue[];
}

export async function decide(options: DecideOptions): Promise<Decided> {
  const fs = options.fs ?? nodeFsPromises;
  const root = options.root ?? '/';
  // A bad --xen is a usage error whatever the root; then a plan of nothing is an error (E_ROOT), not an empty plan:
  // the root must exist and hold a machine.
  if (options.xen !== undefined && options.xen !== null) xenOption(options.xen);
  const profile = await probe({ fs, root, requireMachine: true });
  const cheatcodes = parseCheatcodes(profile.cmdline);
  const [drivers, target, shipped] = await Promise.all([
    driversReport(profile, { fs, root, kernelDir: options.kernelDir ?? null }),
    detectTargetXen({ option: options.xen ?? null, cheatcodes, profile, fs, root }),
    loadShippedRules(),
  ]);
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

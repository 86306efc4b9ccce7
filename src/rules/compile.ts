// The shipped rule set: data/rules/*.yaml compiled to JSON at build time (scripts/compile-rules.mjs writes
// dist/rules.json next to the bundles), so that a boot parses JSON instead of importing the YAML parser. From the
// sources (tests, development) there is no rules.json next to this module and the YAML is loaded instead.
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { dataDir } from '../data-dir.ts';
import { loadRuleTexts, readRuleTexts, type LoadedRules } from './load.ts';
import type { RuleFile, RuleIssue } from './types.ts';

// The build script prints issues with it from the same bundle.
export { formatRuleIssue } from './shared.ts';

/** The content of dist/rules.json. */
export interface CompiledRules {
  files: RuleFile[];
}

/** Shipped files are named by their place in the package, wherever it is installed. */
export const SHIPPED_RULES = 'data/rules';

/** Loads and validates a directory of rule files as the shipped set (no prior rules). */
export async function compileRules(dir: string = join(dataDir(), 'rules')): Promise<{ compiled: CompiledRules; issues: RuleIssue[] }> {
  const skipped: RuleIssue[] = [];
  const texts = await readRuleTexts([dir], { optional: true, label: (p) => `${SHIPPED_RULES}/${basename(p)}`, skipped });
  const loaded = await loadRuleTexts(texts);
  return { compiled: { files: loaded.files.map(shippable) }, issues: [...skipped, ...loaded.issues] };
}

/**
 * A checked file as the boot needs it: a rule's positions only for its actions (decisions name the line of
 * theirs); the positions of every other node serve lint messages, and the shipped set lints clean. Two thirds of
 * rules.json, and of its parse at every boot, were those.
 */
function shippable(file: RuleFile): RuleFile {
  return {
    ...file,
    rules: file.rules.map((rule) => {
      if (rule.paths === undefined) return rule;
      const paths = Object.fromEntries(Object.entries(rule.paths).filter(([path]) => /^then\.\d+$/.test(path)));
      return { ...rule, paths };
    }),
  };
}

/**
 * `--rules` paths without those that name the shipped rules (data/rules or a file in it): those are loaded first
 * anyway, and loading them twice would make every rule id a duplicate.
 */
export function withoutShippedRules(paths: readonly string[]): { paths: string[]; skipped: string[] } {
  if (paths.length === 0) return { paths: [], skipped: [] };
  const dir = realOrResolved(join(dataDir(), 'rules'));
  const out: string[] = [];
  const skipped: string[] = [];
  for (const path of paths) {
    const real = realOrResolved(path);
    (real === dir || real.startsWith(`${dir}/`) ? skipped : out).push(path);
  }
  return { paths: out, skipped };
}

function realOrResolved(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return resolve(path);
  }
}

let shipped: Promise<LoadedRules> | undefined;

/** The compiled JSON when it sits next to this module (the bundle), else the YAML of data/rules. */
export function loadShippedRules(): Promise<LoadedRules> {
  return (shipped ??= (async () => {
    const compiled = new URL('./rules.json', import.meta.url);
    if (existsSync(compiled)) {
      const { files } = JSON.parse(readFileSync(compiled, 'utf8')) as CompiledRules;
      return { files, issues: [] };
    }
    const { compiled: fromYaml, issues } = await compileRules();
    return { files: fromYaml.files, issues };
  })());
}

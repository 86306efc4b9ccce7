// The rule sets `corpus diff` compares: directories of rule files that each stand in for the shipped set, or the
// shipped data/rules of another commit (`git show REF:data/rules/NAME` into a temporary directory, read like any
// other). Each is loaded and validated as the shipped set is (compile.ts compileRules), so that a lint error in
// either side is reported, not silently planned around.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join, posix } from 'node:path';
import { dataDir } from '../data-dir.ts';
import { AutoconfigError } from '../errors.ts';
import { loadRuleTexts, readRuleTexts } from '../rules/load.ts';
import { formatRuleIssue } from '../rules/compile.ts';
import type { RuleSet } from './run.ts';

/** Rule files and directories, in order, as one complete rule set in place of the shipped one. */
export async function ruleSetFrom(paths: readonly string[], label: string, shownAs?: (path: string) => string): Promise<RuleSet> {
  const texts = await readRuleTexts(
    paths.map((p) => posix.resolve(p)),
    shownAs ? { label: shownAs } : {},
  );
  const loaded = await loadRuleTexts(texts);
  const errors = loaded.issues.filter((i) => i.severity === 'error');
  if (errors.length > 0) {
    throw new AutoconfigError('E_PARSE', `the rules of ${label} do not lint clean:\n${errors.map((i) => `  ${formatRuleIssue(i)}`).join('\n')}`, {
      path: errors[0]!.file,
    });
  }
  return { label, shipped: loaded, extra: [] };
}

/** The shipped rules as they are now on disk (data/rules of this package), not the build's rules.json. */
export function shippedRuleSet(): Promise<RuleSet> {
  const dir = join(dataDir(), 'rules');
  return ruleSetFrom([dir], 'data/rules', (p) => `data/rules/${basename(p)}`);
}

async function git(args: string[], cwd: string): Promise<string> {
  // Loaded here, not at the top: the CLI bundle would load it at every boot (docs/development.md).
  const { execFile } = await import('node:child_process');
  return new Promise((resolve, reject) => {
    execFile('git', args, { cwd, encoding: 'utf8', maxBuffer: 64 << 20 }, (error, stdout, stderr) => {
      if (error) reject(new AutoconfigError('E_USAGE', `git ${args.join(' ')}: ${(stderr || error.message).trim()}`, { path: args.at(-1)! }));
      else resolve(stdout);
    });
  });
}

/** The shipped rules of commit `ref` of the repository this package is in (its data/rules at that commit). */
export async function ruleSetAtRef(ref: string): Promise<RuleSet> {
  if (ref.startsWith('-') || ref.includes(':')) throw new AutoconfigError('E_USAGE', `--base-ref ${JSON.stringify(ref)}: not a commit name`, { path: ref });
  const repo = dirname(dataDir());
  const commit = (await git(['rev-parse', '--verify', '--quiet', `${ref}^{commit}`], repo).catch(() => '')).trim();
  if (commit === '') throw new AutoconfigError('E_USAGE', `--base-ref ${ref}: no such commit in ${repo}`, { path: ref });
  const names = (await git(['ls-tree', '--name-only', commit, '--', 'data/rules/'], repo))
    .split('\n')
    .filter((n) => n.endsWith('.yaml'));
  if (names.length === 0) throw new AutoconfigError('E_USAGE', `--base-ref ${ref}: ${commit.slice(0, 12)} has no data/rules/*.yaml`, { path: ref });
  const tmp = await mkdtemp(join(tmpdir(), 'autoconfig-rules-'));
  try {
    for (const name of names) await writeFile(join(tmp, basename(name)), await git(['show', `${commit}:${name}`], repo));
    return await ruleSetFrom([tmp], `data/rules at ${ref}`, (p) => `${ref}:data/rules/${basename(p)}`);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

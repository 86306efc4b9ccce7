import { posix } from 'node:path';
import { compileRules, withoutShippedRules } from '../rules/compile.ts';
import { loadRules } from '../rules/load.ts';
import type { RuleIssue } from '../rules/types.ts';
import { formatRuleIssue } from '../rules/shared.ts';
import { parseCommand, selectSubcommand, type CommandGroup } from './_args.ts';
import { forDisplay } from './_display.ts';
import { EXIT, type CliIO } from './_io.ts';

export const RULES = {
  name: 'rules',
  summary: 'work on rule files (docs/rules.md)',
  subcommands: {
    lint: {
      name: 'rules lint',
      args: '[DIR|FILE...]',
      summary: 'check the shipped rules, then each rule file or directory given; exit 1 on any error',
      options: { json: { type: 'boolean' } },
    },
  },
} as const satisfies CommandGroup;

/** `rules lint --json`: stable keys (docs/cli.md). */
export interface LintJson {
  /** Every rule file read, in load order: the shipped ones (as data/rules/NAME), then those given. */
  files: string[];
  /** Given paths that name the shipped rules, checked once with them. */
  shipped: string[];
  issues: RuleIssue[];
  summary: { files: number; rules: number; errors: number; warnings: number };
}

/** `autoconfig rules lint [DIR...]`: the shipped rules (from YAML, not the compiled copy), then each DIR. */
export async function runRules(argv: readonly string[], io: CliIO): Promise<number> {
  const { command, rest } = selectSubcommand(argv, RULES);
  const { positionals, options } = parseCommand(rest, command);
  const shipped = await compileRules();
  const given = withoutShippedRules(positionals.map((p) => posix.resolve(io.cwd, p)));
  const loaded = await loadRules({ shipped: shipped.compiled.files, paths: given.paths, fs: io.fs });
  const issues = [...shipped.issues, ...loaded.issues];
  const errors = issues.filter((i) => i.severity === 'error').length;
  const summary = {
    files: loaded.files.length,
    rules: loaded.files.reduce((n, f) => n + f.rules.length, 0),
    errors,
    // info issues (a file a rules directory skips, and why) are printed, not counted as warnings.
    warnings: issues.filter((i) => i.severity === 'warning').length,
  };
  if (options.json) {
    const json: LintJson = { files: loaded.files.map((f) => f.file), shipped: given.skipped, issues, summary };
    io.stdout(JSON.stringify(json, null, 2) + '\n');
    return errors > 0 ? EXIT.error : EXIT.ok;
  }
  for (const path of given.skipped) io.stdout(forDisplay(`${path}: the shipped rules, checked once\n`));
  // A message quotes the rule file's own text (a key, a value): shown, never obeyed by the terminal.
  for (const issue of issues) io.stdout(forDisplay(formatRuleIssue(issue) + '\n'));
  io.stdout(`${summary.files} files, ${summary.rules} rules: ${errors} error(s), ${summary.warnings} warning(s)\n`);
  return errors > 0 ? EXIT.error : EXIT.ok;
}

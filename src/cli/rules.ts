import { posix } from 'node:path';
import { AutoconfigError } from '../errors.ts';
import { compileRules, withoutShippedRules } from '../rules/compile.ts';
import { loadRules } from '../rules/load.ts';
import { formatRuleIssue } from '../rules/validate.ts';
import { parseArgs } from './_args.ts';
import { EXIT, type CliIO } from './_io.ts';

/** `autoconfig rules lint [DIR...]`: the shipped rules (from YAML, not the compiled copy), then each DIR. */
export async function runRules(argv: readonly string[], io: CliIO): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub !== 'lint') throw new AutoconfigError('E_USAGE', 'usage: autoconfig rules lint [DIR...]');
  const { positionals } = parseArgs(rest, {});
  const shipped = await compileRules();
  const given = withoutShippedRules(positionals.map((p) => posix.resolve(io.cwd, p)));
  for (const path of given.skipped) io.stdout(`${path}: the shipped rules, checked once\n`);
  const loaded = await loadRules({ shipped: shipped.compiled.files, paths: given.paths, fs: io.fs });
  const issues = [...shipped.issues, ...loaded.issues];
  for (const issue of issues) io.stdout(formatRuleIssue(issue) + '\n');
  const errors = issues.filter((i) => i.severity === 'error').length;
  const rules = loaded.files.reduce((n, f) => n + f.rules.length, 0);
  io.stdout(
    `${loaded.files.length} files, ${rules} rules: ${errors} error(s), ${issues.length - errors} warning(s)\n`,
  );
  return errors > 0 ? EXIT.error : EXIT.ok;
}

import { posix } from 'node:path';
import { AutoconfigError } from '../errors.ts';
import { formatRuleIssue } from '../rules/validate.ts';
import { parseArgs } from './_args.ts';
import { decide } from '../plan/decide.ts';
import { forDisplay } from './_display.ts';
import { EXIT, type CliIO } from './_io.ts';
import { formatDecisions } from './format-decisions.ts';

export async function runExplain(argv: readonly string[], io: CliIO): Promise<number> {
  const { options, positionals } = parseArgs(argv, {
    root: { type: 'string' },
    xen: { type: 'string' },
    rules: { type: 'string', multiple: true },
    kernel: { type: 'string' },
    json: { type: 'boolean' },
  });
  if (positionals.length > 1) throw new AutoconfigError('E_USAGE', 'explain takes at most one TOPIC');
  const root = posix.resolve(io.cwd, (options.root as string | undefined) ?? '/');
  const decided = await decide({
    fs: io.fs,
    root,
    xen: (options.xen as string | undefined) ?? null,
    rules: ((options.rules as string[] | undefined) ?? []).map((r) => posix.resolve(io.cwd, r)),
    kernelDir: typeof options.kernel === 'string' ? posix.resolve(io.cwd, options.kernel) : null,
  });
  for (const issue of decided.ruleIssues) io.stderr(forDisplay(formatRuleIssue(issue) + '\n'));
  const topic = positionals[0] ?? null;
  if (options.json) {
    io.stdout(JSON.stringify({ target: decided.target, outcome: decided.outcome }, null, 2) + '\n');
    return EXIT.ok;
  }
  io.stdout(forDisplay(`Target Xen ${decided.target.version} (${decided.target.source}: ${decided.target.detail})\n`));
  io.stdout(forDisplay(formatDecisions(decided.outcome, topic)));
  return EXIT.ok;
}

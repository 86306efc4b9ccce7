import { posix } from 'node:path';
import { AutoconfigError } from '../errors.ts';
import { formatRuleIssue } from '../rules/shared.ts';
import { explainRule, ruleIds, type FailedCondition, type RuleTrace } from '../rules/why.ts';
import { parseArgs, suggest } from './_args.ts';
import { decide } from '../plan/decide.ts';
import { forDisplay } from './_display.ts';
import { EXIT, type CliIO } from './_io.ts';
import { concerns, formatDecisions } from './format-decisions.ts';

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
  const ids = ruleIds(decided.evaluated.files);
  // A rule id is traced, fired or not; a topic nothing concerns that reads as a rule id is a mistyped one.
  const trace = topic !== null && ids.includes(topic) ? explainRule(topic, decided.evaluated, decided.outcome) : null;
  if (topic !== null && trace === null && !decided.outcome.decisions.some((d) => concerns(d, topic))) {
    const idLike = RULE_ID_LIKE.test(topic);
    const near = nearestIds(topic, ids, idLike);
    if (near.length > 0 || idLike) {
      const hint = near.length > 0 ? ` (did you mean ${near.join(', ')}?)` : '';
      throw new AutoconfigError('E_USAGE', `no rule "${topic}" in the loaded rules, and no decision concerns it${hint}`, { path: topic });
    }
  }
  if (options.json) {
    io.stdout(JSON.stringify({ target: decided.target, outcome: decided.outcome, ...(trace ? { rule: trace } : {}) }, null, 2) + '\n');
    return EXIT.ok;
  }
  io.stdout(forDisplay(`Target Xen ${decided.target.version} (${decided.target.source}: ${decided.target.detail})\n`));
  if (trace) io.stdout(forDisplay(formatTrace(trace) + (trace.fired ? '\n' : '')));
  // A rule that did not fire has no decisions of its own; the trace says all there is.
  if (!trace || trace.fired) io.stdout(forDisplay(formatDecisions(decided.outcome, topic)));
  return EXIT.ok;
}

/** Words joined by "-" or ".", at least one "-": how rule ids look ("hvm-no-hap"), unlike slots, options, facts. */
const RULE_ID_LIKE = /^[A-Za-z0-9_]+(?:\.[A-Za-z0-9_]+)*(?:-[A-Za-z0-9_]+(?:\.[A-Za-z0-9_]+)*)+$/;

/**
 * The loaded ids nearest to a mistyped one: up to three within two edits (or a unique prefix), else, for a word that
 * reads as a rule id, those that start with its first word ("hvm-...") or contain it, up to five.
 */
export function nearestIds(word: string, ids: readonly string[], idLike = true): string[] {
  const out: string[] = [];
  let rest = [...ids];
  while (out.length < 3) {
    const s = suggest(word, rest);
    if (s === null) break;
    out.push(s);
    rest = rest.filter((id) => id !== s);
  }
  if (out.length > 0 || !idLike) return out;
  const head = word.split(/[.-]/)[0]!;
  return ids.filter((id) => id.split(/[.-]/)[0] === head || id.includes(word)).slice(0, 5);
}

/** The trace as text: fired (with what replaced it), or which parts of `when:` failed, nested as they are. */
export function formatTrace(t: RuleTrace): string {
  const where = `rule ${t.rule} (${t.file}:${t.line})`;
  const lines: string[] = [];
  if (t.fired) {
    lines.push(`${where} fired: ${t.decisions.length} decision${t.decisions.length === 1 ? '' : 's'}`);
    // Which decisions were replaced, the listing below shows, each marked.
    const n = t.decisions.filter((d) => d.overriddenBy).length;
    if (t.allOverridden) lines.push(`  overridden by ${t.overriddenBy.join(', ')}: nothing of it is left in the outcome`);
    else if (n > 0) lines.push(`  ${n} of them overridden by ${t.overriddenBy.join(', ')}`);
  } else if (t.matched) {
    lines.push(`${where} did not fire: its when: held, but none of its actions applied`);
    lines.push('  (a fact whose {slot} no matching PCI function fills is not set)');
    for (const e of t.evidence) lines.push(`  because: ${e}`);
  } else {
    lines.push(`${where} did not fire:`);
    lines.push(...failureLines(t.failed, 1));
  }
  lines.push(`  source: ${t.source}`);
  return lines.join('\n') + '\n';
}

function failureLines(failed: readonly FailedCondition[], depth: number): string[] {
  const pad = '  '.repeat(depth);
  return failed.flatMap((f) => [
    `${pad}${f.path}${f.line !== null ? ` (line ${f.line})` : ''}: ${f.text}`,
    ...(f.branches ? failureLines(f.branches, depth + 1) : []),
  ]);
}

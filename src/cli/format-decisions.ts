// `autoconfig explain`: every decision with its rule, file:line and evidence, optionally narrowed to a topic; and
// the verdict lines of the `--dry-run` report (HVM, 64-bit), which must agree with the plan's notes and warnings.
import type { Plan } from '../plan/types.ts';
import type { Action, Decision, RuleOutcome } from '../rules/types.ts';

/** One line for an action: "xen add iommu=no-igfx", "fact hvm.available = true", "module prefer radeon". */
export function describeAction(action: Action): string {
  const [verb, body] = Object.entries(action)[0] as [string, unknown];
  if (typeof body !== 'object' || body === null) return `${verb} ${JSON.stringify(body)}`;
  if (verb === 'fact' || verb === 'guest') {
    return Object.entries(body)
      .map(([k, v]) => `${verb} ${k} = ${JSON.stringify(v)}`)
      .join(', ');
  }
  if (verb === 'sysconfig') {
    const { file, set } = body as { file: string; set: Record<string, string> };
    return Object.entries(set)
      .map(([k, v]) => `sysconfig ${file} ${k}=${JSON.stringify(v)}`)
      .join(', ');
  }
  return `${verb} ${Object.entries(body)
    .map(([k, v]) => `${k} ${Array.isArray(v) ? v.join(' ') : String(v)}`)
    .join(', ')}`;
}

/**
 * Whether a decision concerns a topic: a PCI slot (with or without its domain), a module, a Xen or Dom0 option, a
 * fact family ("hvm"), a rule id. Matching is on whole words of the decision's rule id, action, devices and
 * evidence, so "hvm" finds hvm.available but "vm" does not.
 */
export function concerns(decision: Decision, topic: string): boolean {
  const wanted = normalize(topic);
  const haystack = [decision.rule, describeAction(decision.action), ...(decision.devices ?? []), ...decision.evidence]
    .map(normalize)
    .join(' ');
  return new RegExp(`(^|[^a-z0-9_])${escape(wanted)}($|[^a-z0-9_])`).test(haystack);
}

function normalize(text: string): string {
  // Slots without their domain, module names with '_' (kmod's equivalence), lower case.
  return text.toLowerCase().replace(/\b0000:([0-9a-f]{2}:[0-9a-f]{2}\.[0-7])\b/g, '$1').replace(/-/g, '_');
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export function formatDecisions(outcome: RuleOutcome, topic: string | null): string {
  const decisions = topic === null ? outcome.decisions : outcome.decisions.filter((d) => concerns(d, topic));
  const lines: string[] = [];
  lines.push(
    topic === null
      ? `${decisions.length} decisions for Xen ${outcome.target.xen}:`
      : `${decisions.length} of ${outcome.decisions.length} decisions concern "${topic}" (Xen ${outcome.target.xen}):`,
  );
  for (const d of decisions) {
    const where = `${d.file}:${d.line}`;
    const over = d.overriddenBy ? `  [overridden by ${d.overriddenBy}]` : '';
    lines.push('', `${describeAction(d.action)}${over}`, `  rule ${d.rule} (${where})`);
    if (d.devices && d.devices.length > 0) lines.push(`  devices: ${d.devices.join(' ')}`);
    for (const e of d.evidence) lines.push(`  because: ${e}`);
    if (d.rule.startsWith('cheatcode:')) lines.push('  a boot-line cheatcode beats every rule');
  }
  if (decisions.length === 0 && topic !== null) lines.push('', 'nothing; try a slot (00:02.0), a module, a Xen option or hvm');
  return lines.join('\n') + '\n';
}

function yesNo(value: boolean | null): string {
  return value === null ? 'unknown' : value ? 'yes' : 'no';
}

/**
 * The report's HVM and 64-bit lines. The 64-bit line names a Xen only where one boots (no "x86_32 Xen" on a machine
 * that boots without it), and where long mode is unknown it says what the planned Xen does about it instead of
 * "64-bit guests impossible".
 */
export function formatVerdicts(p: Plan): string[] {
  const hvm = `HVM guests: ${p.hvm.available ? `yes (${p.hvm.technology ?? 'Xen'})` : 'no'}${p.hvm.unreliable ? ', unreliable' : ''} — ${p.hvm.reason}`;
  const plain = p.grub.entries.find((e) => e.default)?.arch ?? p.arch.dom0;
  const bits = p.xenDisabled
    ? `no Xen (it does not run here, see the warnings); the ${plain} kernel boots without it`
    : p.longMode !== null
      ? `${p.arch.xen} Xen, ${p.arch.dom0} Dom0, 64-bit guests ${p.arch.guests64 ? 'possible' : 'impossible'}`
      : p.arch.xen === 'x86_32'
        ? `x86_32 Xen, x86_32 Dom0 (they run on 32- and 64-bit CPUs alike); 64-bit guests would need the x86_64 Xen`
        : `${p.arch.xen} Xen, ${p.arch.dom0} Dom0 (the only Xen there is from 4.3: it boots on a 64-bit CPU only, ` +
          'which then runs 64-bit guests too)';
  return [hvm, `64-bit: ${yesNo(p.longMode)} — ${bits}`];
}

// Text output of the corpus commands: a table with one row per machine x target, then the summary; the diff per
// machine with its verdict, decision, warning and file changes; the check's mismatches. Plain text: the CLI
// escapes control characters from the machines' logs before printing (forDisplay).
import type { CheckResult } from './check.ts';
import type { CorpusDiff } from './diff.ts';
import type { Row, Summary } from './run.ts';

export const COLUMNS = ['machine', 'xen', 'HVM', '64-bit', 'UMA', 'IOMMU', 'Dom0 mem', 'vCPUs', 'GRUB', 'X', 'network', 'sound', 'warn'] as const;

export function rowCells(r: Row): string[] {
  const v = r.verdicts;
  if (v === null) return [r.machine, r.target, `FAILED: ${r.error?.reason ?? ''}`];
  return [
    r.machine,
    r.target,
    v.hvm,
    v.longMode,
    v.uma,
    v.iommu,
    v.dom0Mem,
    v.dom0Vcpus,
    v.grub,
    v.xDriver,
    v.network.join(' ') || '-',
    v.sound.join(' ') || '-',
    String(r.warnings.length),
  ];
}

export function formatTable(rows: readonly Row[]): string {
  const lines = [[...COLUMNS] as string[], ...rows.map(rowCells)];
  const widths = COLUMNS.map((_, i) => Math.max(...lines.map((l) => (l.length === 3 && i >= 2 ? 0 : (l[i] ?? '').length))));
  return lines.map((l) => l.map((c, i) => (i === l.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')).join('\n') + '\n';
}

export function formatSummary(s: Summary): string {
  const out: string[] = [];
  out.push(`${s.machines} machines x ${s.targets.length} target(s) (Xen ${s.targets.join(', ')}): ${s.rows} plans, ${s.planned} machines planned`);
  for (const [key, counts] of Object.entries(s.counts)) {
    out.push(`  ${key}: ${Object.entries(counts).sort((a, b) => b[1] - a[1]).map(([v, n]) => `${v} ${n}`).join(', ')}`);
  }
  // The machines are in --json (summary.withWarnings); here how many per target and the most common warnings.
  const perTarget = Object.entries(s.warningsByTarget).map(([t, n]) => `at ${t}: ${n}`).join(', ');
  out.push(`${s.withWarnings.length} machines with warnings${s.withWarnings.length ? ` (${perTarget}); the most common:` : ''}`);
  for (const w of s.commonWarnings) out.push(`  ${w.plans} plans: ${w.text}`);
  if (s.failedRows.length > 0) {
    out.push(`${s.failedRows.length} plans FAILED:`);
    for (const f of s.failedRows) out.push(`  ${f.machine} (Xen ${f.target}): ${f.reason}`);
  }
  out.push(`${s.unreadable.length} machines could not be read${s.unreadable.length ? ':' : ''}`);
  for (const u of s.unreadable) out.push(`  ${u.machine} (${u.dir}): ${u.reason}`);
  return out.join('\n') + '\n';
}

/** "3 of 140 machines change: a, b, c" (the first line of the diff, and its last). */
export function diffHeadline(d: CorpusDiff): string {
  const n = d.changedMachines.length;
  return n === 0
    ? `no change: ${d.machines} machines x Xen ${d.targets.join(', ')}, ${d.base} -> ${d.rules}`
    : `${n} of ${d.machines} machines change (${d.base} -> ${d.rules}, Xen ${d.targets.join(', ')}): ${d.changedMachines.join(', ')}`;
}

export function formatDiff(d: CorpusDiff): string {
  const out: string[] = [diffHeadline(d), ''];
  for (const c of d.changes) {
    out.push(`=== ${c.machine}, Xen ${c.target}`);
    if (c.errors.before !== c.errors.after) out.push(`  planning: ${c.errors.before ?? 'ok'} -> ${c.errors.after ?? 'ok'}`);
    for (const v of c.verdicts) out.push(`  ${v.key}: ${v.before} -> ${v.after}`);
    for (const x of c.decisions.removed) out.push(`  - decision ${x}`);
    for (const x of c.decisions.added) out.push(`  + decision ${x}`);
    for (const x of c.warnings.removed) out.push(`  - warning ${x}`);
    for (const x of c.warnings.added) out.push(`  + warning ${x}`);
    for (const f of c.files) out.push(f.diff.trimEnd());
    out.push('');
  }
  if (d.unreadable.length > 0) {
    out.push(`${d.unreadable.length} machines could not be read:`);
    for (const u of d.unreadable) out.push(`  ${u.ref.id} (${u.ref.dir}): ${u.reason}`);
  }
  if (d.changes.length > 0) out.push(diffHeadline(d));
  return out.join('\n') + '\n';
}

export function formatCheck(c: CheckResult): string {
  const out: string[] = [];
  for (const m of c.mismatches) {
    out.push(`MISMATCH ${m.machine}, Xen ${m.target}, ${m.key}: expected ${m.expected}, got ${m.got} (${m.where})`);
  }
  const expectations = c.checked.reduce((n, m) => n + m.expectations, 0);
  out.push(
    `${c.checked.length} machines checked (${expectations} expectations), ${c.mismatches.length} mismatches` +
      (c.unchecked.length ? `; ${c.unchecked.length} without ${'expect.yaml'}: ${c.unchecked.join(' ')}` : ''),
  );
  return out.join('\n') + '\n';
}

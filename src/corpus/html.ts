// --html FILE: one static page, everything inline (no script, no network, no external asset): the table of
// machine x target with verdicts in colour, the summary, and for `corpus diff` the changed machines marked in the
// table and each one's verdict, decision and file diffs. Every text from a machine is HTML-escaped.
import type { CorpusDiff, RowChange } from './diff.ts';
import { COLUMNS, diffHeadline, rowCells } from './format.ts';
import type { Row, Summary } from './run.ts';

function esc(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`).replace(/[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/** The colour class of a verdict cell: good, bad, unknown, or none. */
function tone(column: string, value: string): string {
  if (['HVM', '64-bit', 'UMA', 'IOMMU'].includes(column)) {
    if (value === 'no') return column === 'UMA' ? '' : 'bad';
    if (value === 'unknown') return 'unknown';
    return 'good';
  }
  if (column === 'warn') return value === '0' ? '' : 'warn';
  if (column === 'X' && value === 'none') return 'unknown';
  return '';
}

const STYLE = `
body{font:13px/1.4 system-ui,sans-serif;margin:1em;color:#222}
table{border-collapse:collapse}th,td{border:1px solid #ccc;padding:2px 6px;text-align:left;vertical-align:top}
th{background:#eee;position:sticky;top:0}
td.good{background:#d4f4d4}td.bad{background:#f8d0d0}td.unknown{background:#f4ecc4}td.warn{background:#fbe3c0}
tr.changed td:first-child{border-left:4px solid #c00;font-weight:bold}tr.failed td{background:#f8d0d0}
.mark{color:#c00;font-weight:bold}
pre{background:#f7f7f7;padding:6px;overflow-x:auto}.add{color:#060;background:#e6ffe6}.del{color:#900;background:#ffe6e6}.hunk{color:#06c}
details{margin:0}summary{cursor:pointer}
`;

function table(rows: readonly Row[], changed: ReadonlySet<string>): string {
  const out: string[] = ['<table id="rows"><thead><tr>'];
  for (const c of COLUMNS) out.push(`<th>${esc(c)}</th>`);
  out.push('</tr></thead><tbody>');
  for (const r of rows) {
    const key = `${r.machine}@${r.target}`;
    const classes = ['row', changed.has(key) ? 'changed' : '', r.error ? 'failed' : ''].filter(Boolean).join(' ');
    out.push(`<tr class="${classes}" data-machine="${esc(r.machine)}" data-target="${esc(r.target)}">`);
    const cells = rowCells(r);
    if (r.verdicts === null) {
      out.push(`<td>${esc(r.machine)}</td><td>${esc(r.target)}</td><td class="bad" colspan="${COLUMNS.length - 2}">${esc(cells[2]!)}</td>`);
    } else {
      cells.forEach((cell, i) => {
        const column = COLUMNS[i]!;
        let body = esc(cell);
        if (i === 0 && changed.has(key)) body = `<a href="#${esc(anchor(r.machine, r.target))}">${body}</a> <span class="mark">changed</span>`;
        if (column === 'warn' && r.warnings.length > 0) {
          body = `<details><summary>${body}</summary>${r.warnings.map((w) => `<div>${esc(w)}</div>`).join('')}</details>`;
        }
        out.push(`<td class="${tone(column, cell)}">${body}</td>`);
      });
    }
    out.push('</tr>');
  }
  out.push('</tbody></table>');
  return out.join('');
}

function summary(s: Summary): string {
  const out: string[] = ['<section id="summary"><h2>Summary</h2><ul>'];
  out.push(`<li>${s.machines} machines x ${s.targets.length} target(s) (Xen ${esc(s.targets.join(', '))}): ${s.rows} plans</li>`);
  for (const [key, counts] of Object.entries(s.counts)) {
    out.push(`<li>${esc(key)}: ${esc(Object.entries(counts).map(([v, n]) => `${v} ${n}`).join(', '))}</li>`);
  }
  const perTarget = Object.entries(s.warningsByTarget).map(([t, n]) => `at ${t}: ${n}`).join(', ');
  out.push(`<li>${s.withWarnings.length} machines with warnings (${esc(perTarget)}); the most common:${s.commonWarnings.map((w) => `<div>${w.plans} plans: ${esc(w.text)}</div>`).join('')}</li>`);
  out.push(`<li>${s.failedRows.length} plans failed${s.failedRows.map((f) => `<div>${esc(`${f.machine} (Xen ${f.target}): ${f.reason}`)}</div>`).join('')}</li>`);
  out.push(`<li id="unreadable">${s.unreadable.length} machines could not be read${s.unreadable.map((u) => `<div>${esc(`${u.machine}: ${u.reason}`)}</div>`).join('')}</li>`);
  out.push('</ul></section>');
  return out.join('');
}

function anchor(machine: string, target: string): string {
  return `change-${machine}-${target}`.replace(/[^A-Za-z0-9_.-]/g, '_');
}

function diffBlock(text: string): string {
  const lines = text.trimEnd().split('\n').map((l) => {
    const cls = l.startsWith('+++') || l.startsWith('---') ? '' : l.startsWith('+') ? 'add' : l.startsWith('-') ? 'del' : l.startsWith('@@') ? 'hunk' : '';
    return cls ? `<span class="${cls}">${esc(l)}</span>` : esc(l);
  });
  return `<pre>${lines.join('\n')}</pre>`;
}

function change(c: RowChange): string {
  const out: string[] = [`<section class="change" id="${esc(anchor(c.machine, c.target))}"><h3>${esc(c.machine)}, Xen ${esc(c.target)}</h3>`];
  const items: string[] = [];
  if (c.errors.before !== c.errors.after) items.push(`planning: ${c.errors.before ?? 'ok'} → ${c.errors.after ?? 'ok'}`);
  for (const v of c.verdicts) items.push(`${v.key}: ${v.before} → ${v.after}`);
  const lines = [
    ...c.decisions.removed.map((x) => `- decision ${x}`),
    ...c.decisions.added.map((x) => `+ decision ${x}`),
    ...c.warnings.removed.map((x) => `- warning ${x}`),
    ...c.warnings.added.map((x) => `+ warning ${x}`),
  ];
  if (items.length) out.push(`<ul>${items.map((i) => `<li>${esc(i)}</li>`).join('')}</ul>`);
  if (lines.length) out.push(diffBlock(lines.join('\n')));
  for (const f of c.files) out.push(diffBlock(f.diff));
  out.push('</section>');
  return out.join('');
}

function page(title: string, body: string): string {
  return `<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title><style>${STYLE}</style></head><body>${body}</body></html>\n`;
}

export function runHtml(rows: readonly Row[], s: Summary): string {
  const title = `autoconfig corpus run: ${s.machines} machines, Xen ${s.targets.join(', ')}`;
  return page(title, `<h1>${esc(title)}</h1>${summary(s)}<h2>Plans</h2>${table(rows, new Set())}`);
}

export function diffHtml(d: CorpusDiff): string {
  const title = `autoconfig corpus diff: ${d.base} → ${d.rules}`;
  const changed = new Set(d.changes.map((c) => `${c.machine}@${c.target}`));
  const head = `<h1>${esc(title)}</h1><p id="headline">${esc(diffHeadline(d))}</p>`;
  const changes = `<section id="changes"><h2>Changes</h2>${d.changes.map(change).join('') || '<p>none</p>'}</section>`;
  return page(title, `${head}${changes}${summary(d.summary)}<h2>Plans (${esc(d.rules)})</h2>${table(d.rows, changed)}`);
}

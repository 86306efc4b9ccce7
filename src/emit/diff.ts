// A unified diff of two texts (what a file would become against what the target has), with 3 lines of context,
// as `diff -u` prints it. Line-based LCS; the emitted files are small.

export function unifiedDiff(path: string, before: string | null, after: string, context = 3): string {
  if (before === after) return '';
  const a = before === null ? [] : splitLines(before);
  const b = splitLines(after);
  const ops = diffLines(a, b);
  const header = `--- ${before === null ? '/dev/null' : `a${path}`}\n+++ b${path}\n`;
  const hunks: string[] = [];
  let i = 0;
  while (i < ops.length) {
    if (ops[i]!.kind === '=') {
      i++;
      continue;
    }
    // A hunk: from `context` lines before this change to `context` lines after the last change that is within
    // 2*context lines of the next one.
    let start = i;
    let back = 0;
    while (start > 0 && back < context && ops[start - 1]!.kind === '=') {
      start--;
      back++;
    }
    let end = i;
    let lastChange = i;
    while (end < ops.length) {
      if (ops[end]!.kind !== '=') lastChange = end;
      else if (end - lastChange > 2 * context) break;
      end++;
    }
    end = Math.min(ops.length, lastChange + 1 + context);
    const slice = ops.slice(start, end);
    const aStart = slice[0]!.a;
    const bStart = slice[0]!.b;
    const aLen = slice.filter((o) => o.kind !== '+').length;
    const bLen = slice.filter((o) => o.kind !== '-').length;
    const range = (s: number, n: number) => (n === 1 ? `${s + 1}` : `${n === 0 ? s : s + 1},${n}`);
    hunks.push(
      `@@ -${range(aStart, aLen)} +${range(bStart, bLen)} @@\n` +
        slice.map((o) => `${o.kind === '=' ? ' ' : o.kind}${o.text}\n`).join(''),
    );
    i = end;
  }
  return header + hunks.join('');
}

interface Op {
  kind: '=' | '-' | '+';
  text: string;
  /** Index in a (for '=' and '-') or the a-position where an insertion happens. */
  a: number;
  b: number;
}

function splitLines(text: string): string[] {
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

function diffLines(a: string[], b: string[]): Op[] {
  const n = a.length;
  const m = b.length;
  // lcs[i][j] = LCS length of a[i..] and b[j..]
  const lcs: Uint32Array[] = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i]![j] = a[i] === b[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
    }
  }
  const ops: Op[] = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] === b[j]) ops.push({ kind: '=', text: a[i]!, a: i++, b: j++ });
    else if (j < m && (i === n || lcs[i]![j + 1]! >= lcs[i + 1]![j]!)) ops.push({ kind: '+', text: b[j]!, a: i, b: j++ });
    else ops.push({ kind: '-', text: a[i]!, a: i++, b: j });
  }
  return ops;
}

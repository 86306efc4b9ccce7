// The text files depmod writes and the kernel build ships: modules.alias, modules.builtin.modinfo, and the
// one-path-per-line lists (modules.order, modules.builtin, modules.dep). libkmod itself reads only the binary
// .bin indexes; the text forms carry the same data, and malformed entries are dropped here as depmod drops
// them from the .bin files.
import { moduleName, normalizeAlias, toByteString } from './glob.ts';
import type { AliasSink } from './index-build.ts';

/** A problem in an input file: reported, the entry skipped, reading goes on. */
export interface ModaliasIssue {
  file: string;
  /** 1-based line (or NUL-separated record) number; null when the problem is the whole file. */
  line: number | null;
  message: string;
}

/**
 * `alias <pattern> <module>` lines into `sink`, patterns normalized as depmod stores them in modules.alias.bin
 * (`-` to `_` outside brackets); `#` comments and blank lines skipped. Returns the problems.
 */
export function parseModulesAlias(text: string, file: string, sink: AliasSink): ModaliasIssue[] {
  const issues: ModaliasIssue[] = [];
  // This runs at every boot on ~26,000 lines: every test is a native indexOf whose answer is kept until the
  // scan passes it, so the whole file is searched about once per character of interest.
  const next = new NextOf(text);
  const ascii = !/[^\x00-\x7f]/.test(text);
  let lineNo = 0;
  let lastName = '';
  let lastRaw = '';
  for (let start = 0; start < text.length; ) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    lineNo++;
    const from = start + 6;
    const space = text.startsWith('alias ', start) ? text.indexOf(' ', from) : -1;
    // Fast path: "alias PATTERN MODULE" as depmod writes it, single spaces, and a pattern that needs no
    // normalization (no `-`, `[`, `]`); anything else goes the slow, checking way.
    if (
      ascii &&
      space > from &&
      space + 1 < end &&
      !next.within(0x20, space + 1, end) &&
      !next.within(0x09, start, end) &&
      !next.within(0x0d, start, end) &&
      !next.within(0x2d, from, space) &&
      !next.within(0x5b, from, space) &&
      !next.within(0x5d, from, space)
    ) {
      const rawLength = end - space - 1;
      if (rawLength !== lastRaw.length || !text.startsWith(lastRaw, space + 1)) {
        lastRaw = text.slice(space + 1, end);
        lastName = moduleName(lastRaw);
      }
      const head = Math.min(next.at(0x2a, from), next.at(0x3f, from), space) - from; // first `*` or `?`
      sink.add(text.slice(from, space), lastName, head);
    } else {
      parseSlowLine(text.slice(start, end), file, lineNo, sink, issues);
    }
    start = end + 1;
  }
  return issues;
}

/** The next position of a char at or after a point, cached per char while the scan moves forward. */
class NextOf {
  private readonly cache = new Map<number, number>();
  constructor(private readonly text: string) {}

  at(char: number, from: number): number {
    let pos = this.cache.get(char);
    if (pos === undefined || (pos < from && pos !== Infinity)) {
      const found = this.text.indexOf(String.fromCharCode(char), from);
      pos = found < 0 ? Infinity : found;
      this.cache.set(char, pos);
    }
    return pos;
  }

  within(char: number, from: number, to: number): boolean {
    return this.at(char, from) < to;
  }
}

function parseSlowLine(line: string, file: string, lineNo: number, sink: AliasSink, issues: ModaliasIssue[]): void {
  const fields = line.trim().split(/[ \t]+/);
  if (fields[0] === '' || fields[0]!.startsWith('#')) return;
  if (fields[0] !== 'alias') {
    issues.push({ file, line: lineNo, message: `not an alias line: "${clip(line)}"` });
    return;
  }
  if (fields.length !== 3) {
    const what = fields.length < 3 ? 'missing module name' : 'more than a pattern and a module name';
    issues.push({ file, line: lineNo, message: `${what}: "${clip(line)}"` });
    return;
  }
  addEntry(fields[1]!, fields[2]!, file, lineNo, sink, issues);
}

/**
 * modules.builtin.modinfo: NUL-separated `module.key=value` records from built-in code; the `alias` ones are
 * what depmod puts in modules.builtin.alias.bin.
 */
export function parseBuiltinModinfo(text: string, file: string, sink: AliasSink): ModaliasIssue[] {
  const issues: ModaliasIssue[] = [];
  let record = 0;
  for (let start = 0; start < text.length; ) {
    let end = text.indexOf('\0', start);
    if (end < 0) end = text.length;
    const item = text.slice(start, end);
    start = end + 1;
    record++;
    const dot = item.indexOf('.');
    if (dot <= 0 || !item.startsWith('alias=', dot + 1)) continue;
    addEntry(item.slice(dot + 7), item.slice(0, dot), file, record, sink, issues);
  }
  return issues;
}

function addEntry(
  rawPattern: string,
  rawModule: string,
  file: string,
  line: number,
  sink: AliasSink,
  issues: ModaliasIssue[],
): void {
  const bytes = toByteString(rawPattern);
  // depmod's index holds 7-bit ASCII only (it stops on anything else); such a line cannot be in the real index.
  if (bytes !== rawPattern) {
    issues.push({ file, line, message: `non-ASCII pattern "${clip(rawPattern)}" skipped` });
    return;
  }
  const pattern = rawPattern === '' ? null : normalizeAlias(rawPattern);
  if (pattern === null) {
    const why = rawPattern === '' ? 'empty pattern' : `unmatched bracket in "${clip(rawPattern)}"`;
    issues.push({ file, line, message: `${why}, skipped` });
    return;
  }
  sink.add(pattern, moduleName(rawModule));
}

/** modules.order and modules.builtin: one `kernel/.../name.ko` path per line; returns module names in order. */
export function parseModuleList(text: string): string[] {
  const names: string[] = [];
  for (const line of text.split('\n')) {
    const path = line.trim();
    if (path !== '' && !path.startsWith('#')) names.push(moduleName(path));
  }
  return names;
}

/**
 * modules.dep: `path.ko: dep.ko dep.ko`; returns module name -> the rest of its line (dependency paths, split
 * by dependencies() when someone asks: most runs only need to know which modules exist), and name -> its path.
 */
export function parseModulesDep(
  text: string,
  file: string,
): { deps: Map<string, string>; paths: Map<string, string>; issues: ModaliasIssue[] } {
  const deps = new Map<string, string>();
  const paths = new Map<string, string>();
  const issues: ModaliasIssue[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const colon = line.indexOf(':');
    if (colon > 0) {
      const name = moduleName(line.slice(0, colon));
      deps.set(name, line.slice(colon + 1));
      paths.set(name, line.slice(0, colon));
    } else if (line.trim() !== '' && !line.startsWith('#')) {
      issues.push({ file, line: i + 1, message: `no "path:" at the start: "${clip(line)}"` });
    }
  }
  return { deps, paths, issues };
}

/** The direct dependencies of a module, from its modules.dep line, in order. */
export function dependencies(deps: ReadonlyMap<string, string>, module: string): string[] {
  const rest = deps.get(module)?.trim();
  return rest ? rest.split(/\s+/).map(moduleName) : [];
}

function clip(text: string): string {
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

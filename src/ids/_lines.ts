// Line rules shared by the pci.ids and usb.ids readers. Both formats nest entries by leading TABs and skip blank
// lines and `#` comments anywhere. The lazy lookups find blocks with the very rules the full parsers apply, so
// both give the same answer for the same text.

export type IdsIssueCode =
  | 'unreadable' // the file could not be read at all
  | 'too_long' // longer than pciutils' line buffer
  | 'too_deep' // three or more leading TABs
  | 'bad_id' // not the expected hex id, or no whitespace after it
  | 'no_name' // an id with nothing after it
  | 'orphan' // an indented entry with no parent above it
  | 'duplicate' // an id seen before in the same scope; the first one is kept
  | 'no_vendor'; // `S vvvv` block for a vendor not defined above it

export interface IdsIssue {
  file: string;
  /** 1-based line number; 0 when the issue is about the whole file. */
  line: number;
  code: IdsIssueCode;
  message: string;
  /** Entries below this line dropped with it (children of a rejected or duplicate parent). */
  skipped: number;
}

/** One line of the text. Reused by the full parsers, so fields are plain numbers into the text. */
export interface Line {
  /** Index of the line's first character. */
  start: number;
  /** Index after the line's last character, cut at its first CR (pciutils and usbutils both cut there). */
  cut: number;
  /** `cut` less a trailing blank (pci.ids: one blank; usb.ids: all of them). */
  end: number;
  /** Number of leading TABs. */
  nest: number;
  /** Only whitespace, or a `#` comment. */
  blank: boolean;
}

export function newLine(): Line {
  return { start: 0, cut: 0, end: 0, nest: 0, blank: true };
}

/**
 * Fills `line` for text[start, cut), where `cut` is the line's '\n' or first CR. `stripAll` strips every
 * trailing blank (usb.ids names); otherwise one, as pciutils does.
 */
export function scanLine(text: string, start: number, cut: number, stripAll: boolean, line: Line): Line {
  let end = cut;
  if (stripAll) while (end > start && isWsCode(text.charCodeAt(end - 1))) end--;
  else if (end > start && isWsCode(text.charCodeAt(end - 1))) end--;
  let i = start;
  while (i < end && isWsCode(text.charCodeAt(i))) i++;
  let nest = start;
  while (nest < end && text.charCodeAt(nest) === 0x09) nest++;
  line.start = start;
  line.cut = cut;
  line.end = end;
  line.nest = nest - start;
  line.blank = i === end || text.charCodeAt(i) === 0x23; // '#'
  return line;
}

/** Visits every line with one reused Line and its 1-based number. */
export function forEachLine(text: string, stripAll: boolean, visit: (line: Line, lineNo: number) => void): void {
  const line = newLine();
  const n = text.length;
  let lineNo = 0;
  for (let start = 0; start < n; ) {
    // A plain loop finds the '\n' and the first CR together. text.indexOf('\n', start) here sometimes put V8 11
    // (Node 20) into a state where every call cost ~100 µs in memchr: 5 s per parse instead of 30 ms.
    let nl = start;
    let cut = -1;
    for (; nl < n; nl++) {
      const c = text.charCodeAt(nl);
      if (c === 0x0a) break;
      if (c === 0x0d && cut === -1) cut = nl;
    }
    visit(scanLine(text, start, cut === -1 ? nl : cut, stripAll, line), ++lineNo);
    start = nl + 1;
  }
}

/** The line that starts at `start`, for lookups that visit single lines. */
export function lineAt(text: string, start: number, stripAll: boolean): Line {
  const nl = lineEndAt(text, start);
  let cut = start;
  while (cut < nl && text.charCodeAt(cut) !== 0x0d) cut++;
  return scanLine(text, start, cut, stripAll, newLine());
}

function isWsCode(c: number): boolean {
  return c === 0x20 || c === 0x09;
}

/** Whitespace at `at`, inside a line ending at `end`. */
export function isWs(s: string, at: number, end: number): boolean {
  return at < end && isWsCode(s.charCodeAt(at));
}

/** `width` hex digits at `at` (before `end`), lower-cased, or null. */
export function hexAt(s: string, at: number, width: number, end: number = s.length): string | null {
  if (at + width > end) return null;
  let upper = false;
  for (let i = at; i < at + width; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x41 && c <= 0x46) upper = true;
    else if (!((c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66))) return null;
  }
  const id = s.slice(at, at + width);
  return upper ? id.toLowerCase() : id;
}

/** The text from `at` to `end` after leading whitespace (pciutils keeps the rest of the line verbatim). */
export function nameAt(s: string, at: number, end: number): string {
  let i = at;
  while (i < end && isWsCode(s.charCodeAt(i))) i++;
  return s.slice(i, end);
}

export function utf8Length(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}

/** A line quoted for a message, shortened so one bad line cannot flood the output. */
export function quote(s: string): string {
  return JSON.stringify(s.length > 60 ? `${s.slice(0, 57)}...` : s);
}

export function normaliseId(id: string, width: number): string | null {
  return id.length === width ? hexAt(id, 0, width) : null;
}

export function duplicate(what: string, id: string): string {
  return `duplicate ${what} ${id}; the first is kept`;
}

export function issue(file: string, line: number, code: IdsIssueCode, message: string): IdsIssue {
  return { file, line, code, message, skipped: 0 };
}

/** `Version:` from the comment header, which both files carry in their first lines. */
export function headerVersion(text: string): string | null {
  const m = /^#[ \t]*Version:[ \t]*(\S+)/m.exec(text.slice(0, 4096));
  return m?.[1] ?? null;
}

// ---- lazy lookups -------------------------------------------------------------------------------------------

/** Index of the '\n' ending the line at `start`, or the text length. A loop, not indexOf: see forEachLine(). */
export function lineEndAt(text: string, start: number): number {
  let i = start;
  while (i < text.length && text.charCodeAt(i) !== 0x0a) i++;
  return i;
}

// Lines that are neither blank nor comments, exactly as scanLine() decides (a line that starts with spaces and
// has text is a malformed top-level line): at depth 0, and at depth 0 or 1.
const TOP = '(?:[^\\t #\\r\\n]| [ \\t]*[^ \\t#\\r\\n])';
const TOP_LINE = new RegExp(`\\n${TOP}`, 'g');
const TOP_LINE_AT_START = new RegExp(`^${TOP}`);
const END_OF_MID_BLOCK = new RegExp(`\\n\\t?${TOP}`, 'g');

/** Start of every top-level entry line (block header), in file order: one regex pass, no parsing. */
function topLines(text: string): number[] {
  const starts = TOP_LINE_AT_START.test(text) ? [0] : [];
  TOP_LINE.lastIndex = 0;
  for (let m = TOP_LINE.exec(text); m !== null; m = TOP_LINE.exec(text)) starts.push(m.index + 1);
  return starts;
}

/** Index of the '\n' before the next top-level entry line after position `from`, or the text length. */
function nextTopEnd(text: string, from: number): number {
  TOP_LINE.lastIndex = from;
  const m = TOP_LINE.exec(text);
  return m === null ? text.length : m.index;
}

/** A few lookups (a --dry-run names a handful of devices) scan; more (a full `probe` listing) index. */
const SCANS_BEFORE_INDEX = 4;

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * The ids file's bytes as a string of one char per byte (latin1): decoding 1.4 MB of UTF-8 costs ~5 ms, this
 * ~1 ms, and every character the line rules look at is ASCII, which UTF-8 never uses inside a multi-byte
 * sequence. Names are decoded from their bytes when found (nameFromBytes).
 */
export function byteString(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
}

const NON_ASCII = /[^\x00-\x7f]/;

function nameFromBytes(name: string): string {
  return NON_ASCII.test(name) ? Buffer.from(name, 'latin1').toString('utf8') : name;
}

/** Index of the '\n' that ends the block of the depth-1 line starting at `headerStart`, or the text length. */
function midBlockEnd(text: string, headerStart: number): number {
  END_OF_MID_BLOCK.lastIndex = lineEndAt(text, headerStart);
  const m = END_OF_MID_BLOCK.exec(text);
  return m === null ? text.length : m.index;
}

/** An entry found by a lazy lookup: where its line starts, its name, and the '\n' that ends its block. */
export interface Found {
  lineStart: number;
  name: string;
  end: number;
}

/** Says whether the line text[p, end) (after its TABs) is the entry looked for, and gives its name if so. */
export type Accept = (p: number, end: number) => string | null;

/**
 * Lazy lookups over an ids file, for the boot path. A lookup searches the lines that start with its id (one
 * regex scan for that head, ~0.7 ms on pci.ids; after SCANS_BEFORE_INDEX of them, one pass indexes every
 * top-level line, ~2 ms, and later lookups use it), then parses only candidate lines inside its parent's block, with the full parser's
 * own line rules, so both always agree: the first well-formed entry of an id wins, blocks end at the next line of
 * the same or lesser depth, and blank and comment lines never end a block. The text is the file's bytes, one char
 * per byte (byteString), so line lengths are byte counts, as pciutils measures them.
 */
export abstract class LazyIds {
  readonly file: string;
  /** Why no names are available (an unreadable file); lookups then return null. */
  readonly issues: readonly IdsIssue[];
  readonly version: string | null;
  protected readonly text: string;
  readonly #stripAll: boolean;
  readonly #cache = new Map<string, Found | null>();
  #scans = 0;
  #starts: number[] | undefined;
  /** First four characters, lower-cased ('8086', 'c 03', 's 80') -> indexes into #starts, in file order. */
  readonly #byHead = new Map<string, number[]>();

  /** `bytes`: the file's bytes as byteString() gives them. */
  protected constructor(bytes: string, file: string, issues: IdsIssue[], stripAll: boolean) {
    this.text = bytes;
    this.file = file;
    this.issues = issues;
    this.version = headerVersion(bytes);
    this.#stripAll = stripAll;
  }

  /** Whether a line, though well-formed, is to be ignored (pci.ids: longer than pciutils reads). */
  protected abstract unreadable(line: Line): boolean;

  protected cached(key: string, find: () => Found | null): Found | null {
    let found = this.#cache.get(key);
    if (found === undefined) this.#cache.set(key, (found = find()));
    return found;
  }

  /**
   * Every top-level line whose first four characters are `head` (any case) that `accept`s, in file order, with
   * its block. A line starting with them is a top-level entry line by TOP's rule, as heads start with neither a
   * blank, a TAB nor `#`.
   */
  protected *tops(head: string, accept: Accept): Generator<Found> {
    const text = this.text;
    for (const lineStart of this.#topsWithHead(head)) {
      const line = lineAt(text, lineStart, this.#stripAll);
      if (this.unreadable(line)) continue;
      const name = accept(lineStart, line.end);
      if (name !== null) yield { lineStart, name: nameFromBytes(name), end: nextTopEnd(text, line.cut) };
    }
  }

  /** Starts of the top-level lines with head `head`, in file order: by a scan for the head, or from the index. */
  *#topsWithHead(head: string): Generator<number> {
    const text = this.text;
    if (this.#starts === undefined && this.#scans++ < SCANS_BEFORE_INDEX) {
      if (text.slice(0, 4).toLowerCase() === head && TOP_LINE_AT_START.test(text)) yield 0;
      const re = new RegExp(`\\n${escapeRegExp(head)}`, 'gi');
      for (let m = re.exec(text); m !== null; m = re.exec(text)) yield m.index + 1;
      return;
    }
    if (this.#starts === undefined) {
      this.#starts = topLines(text);
      this.#starts.forEach((start, i) => {
        const key = text.slice(start, start + 4).toLowerCase();
        const list = this.#byHead.get(key);
        if (list === undefined) this.#byHead.set(key, [i]);
        else list.push(i);
      });
    }
    for (const i of this.#byHead.get(head) ?? []) yield this.#starts[i]!;
  }

  protected top(head: string, accept: Accept): Found | null {
    for (const found of this.tops(head, accept)) return found;
    return null;
  }

  /**
   * The first line at depth `nest` inside `parent`'s block that starts with `head` (a regex source, matched
   * without regard to case as the parsers accept either) and that `accept`s. `withBlock` also finds its block.
   */
  protected child(parent: Found, head: string, nest: number, accept: Accept, withBlock: boolean): Found | null {
    const text = this.text;
    // A slice keeps the search inside the block; V8 makes it a view, not a copy.
    const part = text.slice(parent.lineStart, parent.end);
    const re = new RegExp(`\\n${head}`, 'gi');
    for (let m = re.exec(part); m !== null; m = re.exec(part)) {
      const lineStart = parent.lineStart + m.index + 1;
      const line = lineAt(text, lineStart, this.#stripAll);
      if (line.nest !== nest || this.unreadable(line)) continue;
      const name = accept(lineStart + nest, line.end);
      if (name !== null) return { lineStart, name: nameFromBytes(name), end: withBlock ? midBlockEnd(text, lineStart) : -1 };
    }
    return null;
  }
}

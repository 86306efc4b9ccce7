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

/**
 * What the line rules read: a string (the full parsers), or an ids file's bytes (ByteText, the lazy lookups),
 * one char per byte.
 */
export interface Chars {
  readonly length: number;
  charCodeAt(index: number): number;
  slice(start: number, end?: number): string;
}

export function newLine(): Line {
  return { start: 0, cut: 0, end: 0, nest: 0, blank: true };
}

/**
 * Fills `line` for text[start, cut), where `cut` is the line's '\n' or first CR. `stripAll` strips every
 * trailing blank (usb.ids names); otherwise one, as pciutils does.
 */
export function scanLine(text: Chars, start: number, cut: number, stripAll: boolean, line: Line): Line {
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

function isWsCode(c: number): boolean {
  return c === 0x20 || c === 0x09;
}

/** Whitespace at `at`, inside a line ending at `end`. */
export function isWs(s: Chars, at: number, end: number): boolean {
  return at < end && isWsCode(s.charCodeAt(at));
}

/** `width` hex digits at `at` (before `end`), lower-cased, or null. */
export function hexAt(s: Chars, at: number, width: number, end: number = s.length): string | null {
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
export function nameAt(s: Chars, at: number, end: number): string {
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
export function headerVersion(text: Chars): string | null {
  const m = /^#[ \t]*Version:[ \t]*(\S+)/m.exec(text.slice(0, 4096));
  return m?.[1] ?? null;
}

// ---- lazy lookups -------------------------------------------------------------------------------------------

/**
 * An ids file's bytes read as one char per byte (latin1), without copying the file into a string: decoding
 * 1.6 MB of UTF-8 cost ~5 ms, a latin1 copy ~6 ms and 1.6 MB of V8 heap for the life of the process. Every
 * character the line rules look at is ASCII, which UTF-8 never uses inside a multi-byte sequence; names are
 * decoded from their bytes when found (nameFromBytes). Searches run on the bytes (Buffer's native indexOf); the
 * few regex searches (where a block ends) copy only the stretch they cross, in small pieces (matches()).
 */
export class ByteText implements Chars {
  readonly bytes: Buffer;
  readonly length: number;

  constructor(bytes: Uint8Array) {
    this.bytes = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.length = this.bytes.length;
  }

  /** The byte at `index`; NaN past either end, as String's charCodeAt. */
  charCodeAt(index: number): number {
    return this.bytes[index] ?? NaN;
  }

  slice(start: number, end: number = this.length): string {
    // latin1Slice without toString()'s argument handling (a lookup slices many short fields); it throws out of
    // range, where String's slice clamps.
    const stop = Math.min(end, this.length);
    return (this.bytes as unknown as Latin1Slicer).latin1Slice(Math.min(start, stop), stop);
  }

  /** Index of the '\n' ending the line at `start`, or the length. */
  lineEnd(start: number): number {
    const nl = this.bytes.indexOf(0x0a, start);
    return nl < 0 ? this.length : nl;
  }

  /**
   * Starts of the matches of `re` (global; every match starts with a '\n' and holds no other) in [from, to), in
   * order. The text is copied a piece at a time, 4 KiB first and up to 64 KiB, so a search that stops early
   * copies little. A match cut by a piece's end starts at or after the piece's last '\n', where the next piece
   * starts; a match found inside a piece is real and, as no other '\n' lies after a cut one's start, in order.
   */
  *matches(re: RegExp, from: number, to: number = this.length): Generator<number> {
    let start = from;
    let size = FIRST_PIECE;
    while (start < to) {
      const end = Math.min(to, start + size);
      const piece = this.slice(start, end);
      let last = -1;
      for (let at = 0; ; ) {
        // Set on every call: the caller may use the same RegExp between two of our yields.
        re.lastIndex = at;
        const m = re.exec(piece);
        if (m === null) break;
        last = m.index;
        at = m.index + 1;
        yield start + m.index;
      }
      if (end >= to) return;
      const nl = piece.lastIndexOf('\n');
      if (nl > last && nl > 0) {
        // A match may start at this '\n' and go on past the piece: start the next piece there.
        start += nl;
        size = Math.min(size * 2, LAST_PIECE);
      } else if (nl < 0 || nl === last) {
        start = end;
        size = Math.min(size * 2, LAST_PIECE);
      } else {
        // Only the piece's first char is a '\n' and no match starts there yet: one line longer than the piece.
        size *= 2;
      }
    }
  }

  /** The first of matches(), or -1. */
  find(re: RegExp, from: number, to: number = this.length): number {
    for (const at of this.matches(re, from, to)) return at;
    return -1;
  }

  /**
   * Starts of the lines at depth `nest` (that many TABs) that begin with `id` in any case, in file order, in
   * [from, to): the '\n' before each, as regex matches would give them. Each case variant of the id is searched
   * natively and the streams merged; callers check each line in full.
   */
  *linesWith(nest: number, id: string, from: number, to: number = this.length): Generator<number> {
    // A view that ends at `to`: a search for an id the block lacks stops there, not at the end of the file.
    const bytes = to < this.length ? this.bytes.subarray(0, to) : this.bytes;
    // Below the top level the search is for the id alone, its '\n' and TABs checked after: most lines there start
    // with a '\n' and a TAB, and Node's search for a short needle that starts with one stops at each (the server
    // fixture's `probe` listing: 25 ms of searching, 35 ms with the '\n' and TABs in the needle, 56 ms with a
    // 7-byte needle that adds the blank after the id).
    const skip = nest === 0 ? 0 : nest + 1;
    const needles = caseVariants(id).map((v) => (nest === 0 ? `\n${v}` : v));
    const next = needles.map((needle) => bytes.indexOf(needle, from + skip, 'latin1'));
    for (;;) {
      let k = -1;
      for (let i = 0; i < next.length; i++) if (next[i]! >= 0 && (k < 0 || next[i]! < next[k]!)) k = i;
      if (k < 0) return;
      const at = next[k]!;
      next[k] = bytes.indexOf(needles[k]!, at + 1, 'latin1');
      const nl = at - skip;
      if (skip > 0) {
        let t = nl + 1;
        while (t < at && bytes[t] === 0x09) t++;
        if (bytes[nl] !== 0x0a || t < at) continue;
      }
      yield nl;
    }
  }




}

/** Buffer's own method under toString('latin1', ...), not in @types/node. */
interface Latin1Slicer {
  latin1Slice(start: number, end: number): string;
}

const FIRST_PIECE = 4096;
const LAST_PIECE = 65536;

/** `id` with each ASCII letter in both cases: the regexes' `i` flag, for the ids' hex digits and class letters. */
function caseVariants(id: string): string[] {
  let out = [''];
  for (const ch of id) {
    const lower = ch.toLowerCase();
    const upper = ch.toUpperCase();
    out = lower === upper || lower.length !== 1 || upper.length !== 1 ? out.map((v) => v + ch) : out.flatMap((v) => [v + lower, v + upper]);
  }
  return out;
}

/** The line that starts at `start`, for lookups that visit single lines. */
function lineAt(text: ByteText, start: number, stripAll: boolean): Line {
  const nl = text.lineEnd(start);
  const bytes = text.bytes;
  let cut = start;
  while (cut < nl && bytes[cut] !== 0x0d) cut++;
  return scanLine(text, start, cut, stripAll, newLine());
}

// Lines that are neither blank nor comments, exactly as scanLine() decides (a line that starts with spaces and
// has text is a malformed top-level line): at depth 0, and at depth 0 or 1.
const TOP = '(?:[^\\t #\\r\\n]| [ \\t]*[^ \\t#\\r\\n])';
const TOP_LINE = new RegExp(`\\n${TOP}`, 'g');
const TOP_LINE_AT_START = new RegExp(`^${TOP}`);
const END_OF_MID_BLOCK = new RegExp(`\\n\\t?${TOP}`, 'g');

/**
 * Start of every top-level entry line (block header), in file order: one regex pass, no parsing. Over one string
 * of the whole file, dropped after: in 64 KiB pieces the same pass cost twice the time (the pieces' garbage), and
 * only a lookup-heavy listing builds this index (SCANS_BEFORE_INDEX).
 */
function topLines(text: ByteText): number[] {
  const whole = text.slice(0);
  const starts = TOP_LINE_AT_START.test(whole) ? [0] : [];
  TOP_LINE.lastIndex = 0;
  for (let m = TOP_LINE.exec(whole); m !== null; m = TOP_LINE.exec(whole)) starts.push(m.index + 1);
  return starts;
}

/** A few lookups (a --dry-run names a handful of devices) scan; more (a full `probe` listing) index. */
const SCANS_BEFORE_INDEX = 4;

const NON_ASCII = /[^\x00-\x7f]/;

function nameFromBytes(name: string): string {
  return NON_ASCII.test(name) ? Buffer.from(name, 'latin1').toString('utf8') : name;
}

/**
 * An entry found by a lazy lookup: where its line starts, its name, and the '\n' that ends its block (-1 until
 * a lookup inside the block has needed it; see LazyIds.child()).
 */
export interface Found {
  lineStart: number;
  name: string;
  end: number;
  /** Where its block ends: the next line of the same or lesser depth. */
  readonly ender: RegExp;
  /** Up to where (a '\n') the block is known not to have ended. */
  checked: number;
}

/** Says whether the line text[p, end) (after its TABs) is the entry looked for, and gives its name if so. */
export type Accept = (p: number, end: number) => string | null;

/**
 * Lazy lookups over an ids file, for the boot path. A lookup finds the lines that start with its id (a native
 * search of the bytes for each case variant, ~0.5 ms on pci.ids; after SCANS_BEFORE_INDEX of them, one pass
 * indexes every top-level line and later lookups use it), then parses only candidate lines inside its parent's
 * block, with the full parser's own line rules, so both always agree: the first well-formed entry of an id wins,
 * blocks end at the next line of the same or lesser depth, and blank and comment lines never end a block. The
 * text is the file's bytes (ByteText), so line lengths are byte counts, as pciutils measures them.
 */
export abstract class LazyIds {
  readonly file: string;
  /** Why no names are available (an unreadable file); lookups then return null. */
  readonly issues: readonly IdsIssue[];
  readonly version: string | null;
  protected readonly text: ByteText;
  readonly #stripAll: boolean;
  readonly #cache = new Map<string, Found | null>();
  #scans = 0;
  #starts: number[] | undefined;
  /** First four characters, lower-cased ('8086', 'c 03', 's 80') -> indexes into #starts, in file order. */
  readonly #byHead = new Map<string, number[]>();

  /** `bytes`: the file's bytes, kept as they are (not copied). */
  protected constructor(bytes: Uint8Array, file: string, issues: IdsIssue[], stripAll: boolean) {
    this.text = new ByteText(bytes);
    this.file = file;
    this.issues = issues;
    this.version = headerVersion(this.text);
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
   * Every top-level line whose first four characters are `head` (any case) that `accept`s, in file order. A line
   * starting with them is a top-level entry line by TOP's rule, as heads start with neither a blank, a TAB nor `#`.
   */
  protected *tops(head: string, accept: Accept): Generator<Found> {
    const text = this.text;
    for (const lineStart of this.#topsWithHead(head)) {
      const line = lineAt(text, lineStart, this.#stripAll);
      if (this.unreadable(line)) continue;
      const name = accept(lineStart, line.end);
      if (name !== null) yield { lineStart, name: nameFromBytes(name), end: -1, ender: TOP_LINE, checked: line.cut };
    }
  }

  /** Starts of the top-level lines with head `head`, in file order: by a search for the head, or from the index. */
  *#topsWithHead(head: string): Generator<number> {
    const text = this.text;
    if (this.#starts === undefined && this.#scans++ < SCANS_BEFORE_INDEX) {
      if (text.slice(0, 4).toLowerCase() === head) yield 0;
      for (const at of text.linesWith(0, head, 0)) yield at + 1;
      return;
    }
    if (this.#starts === undefined) {
      this.#starts = topLines(text);
      this.#starts.forEach((start, i) => {
        const b = text.bytes;
        // The first four bytes as chars (fewer at the end of the file), without a slice per line.
        const key = (start + 4 <= b.length ? String.fromCharCode(b[start]!, b[start + 1]!, b[start + 2]!, b[start + 3]!) : text.slice(start, start + 4)).toLowerCase();
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
   * The first line at depth `nest` inside `parent`'s block that starts with `id` (any case, as the parsers accept
   * either) and that `accept`s. The block's end is looked for only up to each candidate (a device early in
   * Intel's 450 KB block reads little of it), and kept once found.
   */
  protected child(parent: Found, nest: number, id: string, accept: Accept): Found | null {
    const text = this.text;
    // Searched a window at a time (4 KiB, doubling), each ending at a line's end: a search stops near the entry,
    // or near the block's end for an id the block lacks, instead of going on to the end of the block or file for
    // each case variant of the id.
    let size = FIRST_PIECE;
    for (let from = parent.lineStart; from < (parent.end < 0 ? text.length : parent.end); size = Math.min(size * 2, LAST_PIECE * 4)) {
      const limit = parent.end < 0 ? text.length : parent.end;
      const to = Math.min(limit, text.lineEnd(Math.min(limit, from + size)));
      for (const nl of text.linesWith(nest, id, from, to)) {
        if (parent.end < 0) {
          // Candidates start with a TAB: none is the line that ends the block, and none lies past it.
          const end = text.find(parent.ender, parent.checked, nl);
          if (end >= 0) {
            parent.end = end;
            return null;
          }
          parent.checked = nl;
        }
        const lineStart = nl + 1;
        const line = lineAt(text, lineStart, this.#stripAll);
        if (line.nest !== nest || this.unreadable(line)) continue;
        const name = accept(lineStart + nest, line.end);
        if (name !== null) return { lineStart, name: nameFromBytes(name), end: -1, ender: END_OF_MID_BLOCK, checked: line.cut };
      }
      if (parent.end < 0) {
        // Nothing in this window: does the block end in it? Its lines are whole (it ends at a '\n').
        const end = text.find(parent.ender, parent.checked, to);
        if (end >= 0) {
          parent.end = end;
          return null;
        }
        parent.checked = Math.max(parent.checked, to);
      }
      from = to;
    }
    return null;
  }
}

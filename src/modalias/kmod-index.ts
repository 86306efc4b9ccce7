// kmod's binary index (modules.alias.bin, modules.dep.bin, modules.builtin.bin, modules.builtin.alias.bin), read the
// way libkmod reads it (kmod-project/kmod libkmod/libkmod-index.c, the mmap variant index_mm_*): lazily, one node
// at a time, straight from the file's bytes; nothing is parsed up front but the header and the root node.
//
// Format v2 (depmod's index_write): big-endian u32 magic 0xB007F457, version 0x0002xxxx, root node offset. A node
// offset's high nibble says which parts the node has (PREFIX, CHILDS, VALUES), its low 28 bits where it starts:
//   prefix: NUL-terminated chars (path compression)
//   first, last: one byte each, then (last - first + 1) u32 child offsets, 0 for no child
//   value count: u32, then per value a u32 priority and a NUL-terminated string
// depmod writes keys and values in 7-bit ASCII and children before their parent (post-order).
//
// libkmod trusts the file (a damaged index makes it read out of bounds or recurse without end). Here every read
// is checked: a short, truncated or damaged file gives a KmodIndexError naming the file and the offset, never a
// RangeError, and child offsets that loop or share nodes are found the first time a second path reaches a node.
// Nodes once read are kept (with their whole key), so lookups that share a sub-trie read it once.
//
// The reader works on the file's bytes, as libkmod works on its mmap: only the prefixes and values a lookup
// reaches become strings. (Copying the whole file into a one-byte string first cost ~2 MB of V8 heap for the
// reference kernel's modules.alias.bin and modules.dep.bin, and a tenth of a --dry-run's CPU profile.) The bytes
// are either all in memory (open) or read a page at a time at positions, when a lookup first reaches them
// (openAt; libkmod's non-mmap path reads node by node with pread too): a machine's lookups reach 5-30% of the
// 4 KiB pages of the reference kernel's two large indexes.
import { AutoconfigError } from '../errors.ts';
import { fnmatchFrom } from './glob.ts';

const MAGIC = 0xb007f457;
const VERSION_MAJOR = 0x0002;
const HEADER = 12;
const NODE_PREFIX = 0x80000000;
const NODE_VALUES = 0x40000000;
const NODE_CHILDS = 0x20000000;
const NODE_MASK = 0x0fffffff;
/** depmod indexes children by 7-bit chars only (INDEX_CHILDMAX). */
const CHILDMAX = 128;

const STAR = 0x2a;
const QUESTION = 0x3f;
const OPEN = 0x5b;

/** A damaged or foreign index file (E_PARSE): what is wrong and where. */
export class KmodIndexError extends AutoconfigError {
  constructor(
    readonly file: string,
    /** What is wrong, without the file name. */
    readonly detail: string,
  ) {
    super('E_PARSE', `${file}: ${detail}`, { path: file });
  }
}
Object.defineProperty(KmodIndexError.prototype, 'name', { value: 'KmodIndexError', enumerable: false });

/** A value and its priority; shared with the index's cache of the node it came from. */
export interface IndexValue {
  readonly value: string;
  readonly priority: number;
}

/** A node as read from the file, kept once read: later lookups through it read nothing again. */
interface Node {
  /** Where the node starts (for messages). */
  offset: number;
  /** The whole key from the root to the end of this node's prefix (the prefix is key.slice(prefixStart)). */
  key: string;
  prefixStart: number;
  /** Range of child chars; first = CHILDMAX, last = 0 when the node has none (as libkmod sets them). */
  first: number;
  last: number;
  /** Byte position of the child offsets. */
  children: number;
  /** The children read so far, by char - first: a node, null for none, undefined when not read yet. */
  kids: Array<Node | null | undefined> | null;
  valueCount: number;
  /** Byte position of the first value (after the count). */
  valuesAt: number;
  values: IndexValue[] | null;
  /** See withValues(). */
  withValues: Node[] | null;
}

export class KmodIndex {
  private readonly bytes: IndexBytes;
  private readonly size: number;
  private readonly root: Node;
  /**
   * Offsets of the nodes read. In a tree each node is the child of one slot only, so a second slot that leads to
   * a node already read means offsets that loop or share nodes: a damaged file, and without this check a search
   * that never ends.
   */
  private readonly seen = new Set<number>();

  private constructor(
    source: { bytes: Uint8Array } | { size: number; readAt: ReadAt; pageSize: number },
    readonly file: string,
  ) {
    this.bytes = new IndexBytes(source, (detail, at) => this.fail(`${detail} at offset ${at}`));
    this.size = this.bytes.size;
    if (this.size < HEADER) this.fail(`${this.size} bytes, too short for a kmod index (${HEADER}-byte header)`);
    const magic = this.u32(0);
    if (magic !== MAGIC) this.fail(`not a kmod index (magic 0x${hex(magic)}, expected 0x${hex(MAGIC)})`);
    const version = this.u32(4);
    // libkmod checks the major version only (index_mm_open).
    if (version >>> 16 !== VERSION_MAJOR) this.fail(`unsupported kmod index version 0x${hex(version)} (expected 0x0002xxxx)`);
    const root = this.read(this.u32(8), '', 'the root node');
    // depmod always writes a root; libkmod would take offset 0 for an empty index.
    if (root === null) this.fail('no root node (root offset 0)');
    this.root = root;
    // The root is the last node depmod writes: a truncated file loses it first.
    this.values(root);
  }

  /** Checks the header and the root node of `bytes`, the contents of `file` (named in errors). */
  static open(bytes: Uint8Array, file: string): KmodIndex {
    return new KmodIndex({ bytes }, file);
  }

  /**
   * The same over a file of `size` bytes read through `readAt` (a pread: fills the buffer from that position,
   * returns the count, 0 at the end), `pageSize` bytes at a time, each page once, when a lookup first needs it.
   * A read that fails or comes up short (the file changed) is a KmodIndexError, as damage is.
   */
  static openAt(size: number, readAt: ReadAt, file: string, pageSize = PAGE_SIZE): KmodIndex {
    return new KmodIndex({ size, readAt, pageSize }, file);
  }

  /**
   * index_mm_search: the first value stored under exactly `key`, null when there is none. The key ends at a NUL
   * as in C.
   */
  search(key: string): string | null {
    key = cString(key);
    let node: Node | null = this.root;
    while (node !== null) {
      // The descent is literal: a position in the node's key is the same position in the searched key.
      const k = node.key;
      for (let j = node.prefixStart; j < k.length; j++) if (k.charCodeAt(j) !== charAt(key, j)) return null;
      if (k.length >= key.length) return this.values(node)[0]?.value ?? null;
      node = this.child(node, key.charCodeAt(k.length));
    }
    return null;
  }

  /** index_mm_searchwild: the values of every key that, taken as an fnmatch pattern, matches `key`. */
  searchWild(key: string): string[] {
    return this.searchWildValues(key).map((v) => v.value);
  }

  /**
   * index_mm_searchwild with priorities, in libkmod's order: the literal head of each key is descended char by
   * char; at a `*`, `?` or `[` (in a node's prefix, or as a child char) the whole sub-keyspace below is
   * matched with fnmatch(pattern from the wildcard on, rest of the key, 0). Values are merged as add_value()
   * does: by priority, and a value goes before those of equal priority already there. Duplicates stay.
   */
  searchWildValues(key: string): IndexValue[] {
    key = cString(key);
    const found: IndexValue[] = [];
    let node: Node | null = this.root;
    descend: while (node !== null) {
      const k = node.key;
      for (let j = node.prefixStart; j < k.length; j++) {
        const ch = k.charCodeAt(j);
        if (ch === STAR || ch === QUESTION || ch === OPEN) {
          this.matchAll(node, j, key, found);
          break descend;
        }
        if (ch !== charAt(key, j)) break descend;
      }
      const i = k.length;
      for (const wild of WILDCARDS) {
        const child = this.child(node, wild);
        if (child !== null) this.matchAll(child, i, key, found);
      }
      if (i >= key.length) {
        for (const v of this.values(node)) found.push(v);
        break;
      }
      node = this.child(node, key.charCodeAt(i));
    }
    // add_value() order: ascending priority, later additions before earlier ones of the same priority.
    if (found.length > 1) found.reverse().sort((a, b) => a.priority - b.priority);
    return found;
  }

  /** Every (key, value, priority) in index_mm_dump's order: a node's values, then its children by char. */
  entries(): Array<{ key: string; value: string; priority: number }> {
    const out: Array<{ key: string; value: string; priority: number }> = [];
    const stack: Node[] = [this.root];
    while (stack.length > 0) {
      const node = stack.pop()!;
      for (const v of this.values(node)) out.push({ key: node.key, ...v });
      // Pushed last char first, so that the lowest char is taken next.
      for (let ch = node.last; ch >= node.first; ch--) {
        const child = this.child(node, ch);
        if (child !== null) stack.push(child);
      }
    }
    return out;
  }

  /**
   * index_mm_searchwild_all: the values of each node under `start` (children by char before the node itself) whose
   * key, from the first wildcard at `from` on, fnmatches the searched key from `from` on (the heads before are
   * equal: they were descended literally).
   */
  private matchAll(start: Node, from: number, key: string, found: IndexValue[]): void {
    for (const node of this.withValues(start)) {
      if (fnmatchFrom(node.key, from, key, from)) for (const v of this.values(node)) found.push(v);
    }
  }

  /**
   * The nodes with values in the sub-trie of `start`, in searchwild_all's order, listed on the first search that
   * needs them (every PCI lookup walks the same `pci:v*` sub-trie). Iterative: a deep trie cannot overflow the
   * stack.
   */
  private withValues(start: Node): Node[] {
    if (start.withValues !== null) return start.withValues;
    const list: Node[] = [];
    const nodes: Node[] = [start];
    const next: number[] = [start.first];
    while (nodes.length > 0) {
      const top = nodes.length - 1;
      const node = nodes[top]!;
      const ch = next[top]!;
      if (ch <= node.last) {
        next[top] = ch + 1;
        const child = this.child(node, ch);
        if (child !== null) {
          nodes.push(child);
          next.push(child.first);
        }
        continue;
      }
      nodes.pop();
      next.pop();
      if (node.valueCount > 0) list.push(node);
    }
    return (start.withValues = list);
  }

  /** index_mm_readchild: the child under char `ch`, null when there is none. */
  private child(node: Node, ch: number): Node | null {
    if (ch < node.first || ch > node.last) return null;
    const kids = (node.kids ??= new Array<Node | null | undefined>(node.last - node.first + 1));
    let kid = kids[ch - node.first];
    if (kid === undefined) {
      const offset = this.u32(node.children + 4 * (ch - node.first));
      kid = kids[ch - node.first] = this.read(offset, node.key + String.fromCharCode(ch), 'a child node');
    }
    return kid;
  }

  /** index_mm_read_node, with every position checked against the file's end. */
  private read(offset: number, head: string, what: string): Node | null {
    const at = offset & NODE_MASK;
    if (at === 0) return null;
    if (at < HEADER || at > this.size) {
      this.fail(`${what} at offset ${at}, outside the file's nodes (${HEADER}..${this.size})`);
    }
    if (this.seen.has(at)) this.fail('a second path to this node: child offsets loop or share nodes', at);
    this.seen.add(at);
    let p = at;
    let key = head;
    if (offset & NODE_PREFIX) {
      const end = this.bytes.nul(p);
      if (end < 0) this.fail('a node prefix runs past the end of the file', at);
      // One char per byte, as C sees them (depmod writes 7-bit ASCII; other bytes must not be decoded away).
      key += this.bytes.latin1(p, end);
      p = end + 1;
    }
    let first = CHILDMAX;
    let last = 0;
    let children = 0;
    if (offset & NODE_CHILDS) {
      this.need(p, 2, at);
      first = this.bytes.byte(p);
      last = this.bytes.byte(p + 1);
      // libkmod's reader has room for 128 children and depmod writes 7-bit chars only.
      if (first > last || last >= CHILDMAX) this.fail(`child range ${first}..${last} is not within 0..127`, at);
      children = p + 2;
      p = children + 4 * (last - first + 1);
      this.need(children, p - children, at);
    }
    let valueCount = 0;
    let valuesAt = 0;
    if (offset & NODE_VALUES) {
      this.need(p, 4, at);
      valueCount = this.u32(p);
      valuesAt = p + 4;
      // Each value takes at least a priority and a NUL.
      if (valueCount > (this.size - valuesAt) / 5) this.fail(`${valueCount} values cannot fit in the file`, at);
    }
    return {
      offset: at,
      key,
      prefixStart: head.length,
      first,
      last,
      children,
      kids: null,
      valueCount,
      valuesAt,
      values: valueCount === 0 ? NO_VALUES : null,
      withValues: null,
    };
  }

  private values(node: Node): IndexValue[] {
    if (node.values !== null) return node.values;
    const out: IndexValue[] = [];
    let p = node.valuesAt;
    for (let k = 0; k < node.valueCount; k++) {
      this.need(p, 4, node.offset);
      const priority = this.u32(p);
      const end = this.bytes.nul(p + 4);
      if (end < 0) this.fail('a value runs past the end of the file', node.offset);
      out.push({ value: this.bytes.latin1(p + 4, end), priority });
      p = end + 1;
    }
    return (node.values = out);
  }

  /** A big-endian u32; callers have checked that its 4 bytes are in the file. */
  private u32(p: number): number {
    const b = this.bytes;
    return b.byte(p) * 0x1000000 + ((b.byte(p + 1) << 16) | (b.byte(p + 2) << 8) | b.byte(p + 3));
  }

  private need(p: number, length: number, node: number): void {
    if (p + length > this.size) this.fail(`the file ends inside a node (needs byte ${p + length - 1}, has ${this.size})`, node);
  }

  private fail(detail: string, node: number | null = null): never {
    throw new KmodIndexError(this.file, node === null ? detail : `${detail} (node at offset ${node})`);
  }
}

/** A pread: fills `buffer` from `position` on, returns how many bytes it read (0 at the end of the file). */
export type ReadAt = (buffer: Uint8Array, position: number) => number;

const PAGE_SIZE = 4096;

/**
 * The index file's bytes: the whole file in memory, or pages read when first reached and kept. Positions are
 * checked by the reader (need(), size) before they are read here.
 */
class IndexBytes {
  readonly size: number;
  readonly #whole: Buffer | null;
  readonly #readAt: ReadAt | null;
  readonly #pageSize: number;
  readonly #pages: Array<Buffer | undefined> = [];
  readonly #fail: (detail: string, at: number) => never;

  constructor(
    source: { bytes: Uint8Array } | { size: number; readAt: ReadAt; pageSize: number },
    fail: (detail: string, at: number) => never,
  ) {
    this.#fail = fail;
    if ('bytes' in source) {
      const b = source.bytes;
      // Not copied: a view of the caller's bytes.
      this.#whole = Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
      this.size = this.#whole.length;
      this.#readAt = null;
      this.#pageSize = Math.max(1, this.size);
    } else {
      this.#whole = null;
      this.size = source.size;
      this.#readAt = source.readAt;
      this.#pageSize = source.pageSize;
    }
  }

  byte(p: number): number {
    if (this.#whole !== null) return this.#whole[p]!;
    const size = this.#pageSize;
    const page = Math.floor(p / size);
    return (this.#pages[page] ?? this.#load(page))[p - page * size]!;
  }

  /** Position of the first NUL at or after `from`, -1 when none is left in the file. */
  nul(from: number): number {
    if (this.#whole !== null) return this.#whole.indexOf(0, from);
    const size = this.#pageSize;
    for (let page = Math.floor(from / size); page * size < this.size; page++) {
      const bytes = this.#pages[page] ?? this.#load(page);
      const at = bytes.indexOf(0, Math.max(0, from - page * size));
      if (at >= 0) return page * size + at;
    }
    return -1;
  }

  /** Bytes [start, end) as one char each. */
  latin1(start: number, end: number): string {
    if (this.#whole !== null) return this.#whole.toString('latin1', start, end);
    const size = this.#pageSize;
    let out = '';
    for (let p = start; p < end; ) {
      const page = Math.floor(p / size);
      const bytes = this.#pages[page] ?? this.#load(page);
      const stop = Math.min(end, (page + 1) * size);
      out += bytes.toString('latin1', p - page * size, stop - page * size);
      p = stop;
    }
    return out;
  }

  #load(page: number): Buffer {
    const start = page * this.#pageSize;
    const bytes = Buffer.allocUnsafe(Math.min(this.#pageSize, this.size - start));
    for (let got = 0; got < bytes.length; ) {
      let n: number;
      try {
        n = this.#readAt!(bytes.subarray(got), start + got);
      } catch (error) {
        const code = (error as { code?: unknown } | null)?.code;
        this.#fail(`cannot read (${typeof code === 'string' ? code : String(error)})`, start + got);
      }
      // The size was the file's when it was opened: a file cut since then ends early.
      if (n <= 0) this.#fail(`the file ends before its size of ${this.size} bytes (changed while in use)`, start + got);
      got += n;
    }
    return (this.#pages[page] = bytes);
  }
}

const WILDCARDS = [STAR, QUESTION, OPEN] as const;
const NO_VALUES: IndexValue[] = [];

/** key[i] as C sees it: NUL past the end. */
function charAt(key: string, i: number): number {
  return i < key.length ? key.charCodeAt(i) : 0;
}

function cString(key: string): string {
  const nul = key.indexOf('\0');
  return nul < 0 ? key : key.slice(0, nul);
}

function hex(n: number): string {
  return (n >>> 0).toString(16).padStart(8, '0');
}

// usb.ids reader: vendors with their products, and the `C` device classes. The other sections (AT, HID, R, BIAS,
// PHY, HUT, L, HCC, VT) describe descriptor contents, not devices; they are skipped with their children, which
// have 1-digit, 3-digit and decimal keys and must never be read as products. Line rules follow pci.ids (see
// _lines.ts); the references are usbutils' old names.c and systemd's hwdb.d/ids_parser.py.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { dataDir } from '../data-dir.ts';
import { errnoCode } from '../errors.ts';
import {
  LazyIds,
  duplicate,
  forEachLine,
  headerVersion,
  hexAt,
  isWs,
  issue,
  nameAt,
  normaliseId,
  quote,
} from './_lines.ts';
import type { Accept, Chars, Found, IdsIssue, Line } from './_lines.ts';

export type { IdsIssue, IdsIssueCode } from './_lines.ts';

export interface UsbVendor {
  name: string;
  /** Product id -> name. */
  products: Map<string, string>;
}

export interface UsbSubclass {
  name: string;
  protocols: Map<string, string>;
}

export interface UsbClass {
  name: string;
  subclasses: Map<string, UsbSubclass>;
}

export interface UsbIdsDatabase {
  file: string;
  /** `Version:` from the header comment, e.g. '2026.06.26'. */
  version: string | null;
  vendors: Map<string, UsbVendor>;
  classes: Map<string, UsbClass>;
  /** Sections not read, by keyword ('HUT', 'L', ...): number of lines skipped, children included. */
  otherSections: Map<string, number>;
  issues: IdsIssue[];
}

type TopLine =
  | { kind: 'vendor' | 'class'; id: string; name: string }
  | { kind: 'other'; keyword: string }
  | { kind: 'error'; code: 'bad_id' | 'no_name'; message: string };

/** A line without leading TABs: text[p, end), trailing blanks already cut. */
function parseTop(text: Chars, p: number, end: number): TopLine {
  // Vendors first: a keyword made only of the letters A-F would otherwise shadow a vendor id.
  const id = hexAt(text, p, 4, end);
  if (id !== null && isWs(text, p + 4, end)) {
    const name = nameAt(text, p + 5, end);
    return name === '' ? bad('no_name', `vendor ${id} has no name`) : { kind: 'vendor', id, name };
  }
  let k = p;
  while (k < end && text.charCodeAt(k) >= 0x41 && text.charCodeAt(k) <= 0x5a) k++;
  if (k > p && k < end && text.charCodeAt(k) === 0x20) {
    const keyword = text.slice(p, k);
    if (keyword !== 'C') return { kind: 'other', keyword };
    const cid = hexAt(text, p + 2, 2, end);
    if (cid === null || !isWs(text, p + 4, end)) return bad('bad_id', `bad class line ${quote(text.slice(p, end))}`);
    const name = nameAt(text, p + 5, end);
    return name === '' ? bad('no_name', `class ${cid} has no name`) : { kind: 'class', id: cid, name };
  }
  return bad('bad_id', `bad vendor line ${quote(text.slice(p, end))}`);
}

function bad(code: 'bad_id' | 'no_name', message: string) {
  return { kind: 'error', code, message } as const;
}

type Entry = { id: string; name: string } | { code: 'bad_id' | 'no_name'; message: string };
type EntryParser = (text: Chars, p: number, end: number) => Entry;

function entryParser(width: 2 | 4, what: string): EntryParser {
  return (text, p, end) => {
    const id = hexAt(text, p, width, end);
    if (id === null || !isWs(text, p + width, end)) {
      return { code: 'bad_id', message: `bad ${what} line ${quote(text.slice(p, end))}` };
    }
    const name = nameAt(text, p + width + 1, end);
    return name === '' ? { code: 'no_name', message: `${what} ${id} has no name` } : { id, name };
  };
}

const parseProduct = entryParser(4, 'product');
const parseSubclass = entryParser(2, 'subclass');
const parseProtocol = entryParser(2, 'protocol');

type Top =
  | { kind: 'none' }
  | { kind: 'other'; keyword: string }
  | { kind: 'vendor'; vendor: UsbVendor }
  | { kind: 'class'; cls: UsbClass }
  | { kind: 'rejected'; issue: IdsIssue };
type Mid = { kind: 'none' } | { kind: 'subclass'; subclass: UsbSubclass } | { kind: 'rejected'; issue: IdsIssue };

const NONE = { kind: 'none' } as const;

/**
 * Parses a whole usb.ids. Never throws: malformed lines become `issues` (with line numbers) and are skipped, and
 * the children of a malformed or duplicate entry are dropped with it (counted in its issue's `skipped`). For a
 * duplicate id the first entry wins. Names lose trailing blanks.
 */
export function parseUsbIds(text: string, file = 'usb.ids'): UsbIdsDatabase {
  const db: UsbIdsDatabase = {
    file,
    version: headerVersion(text),
    vendors: new Map(),
    classes: new Map(),
    otherSections: new Map(),
    issues: [],
  };
  const report = (line: number, code: IdsIssue['code'], message: string): IdsIssue => {
    const found = issue(file, line, code, message);
    db.issues.push(found);
    return found;
  };
  let top: Top = NONE;
  let mid: Mid = NONE;
  forEachLine(text, true, (line, lineNo) => {
    if (line.blank) return;
    const { nest, end } = line;
    const p = line.start + nest;

    if (nest === 0) {
      mid = NONE;
      const t = parseTop(text, p, end);
      if (t.kind === 'error') {
        top = { kind: 'rejected', issue: report(lineNo, t.code, t.message) };
      } else if (t.kind === 'other') {
        top = t;
        db.otherSections.set(t.keyword, (db.otherSections.get(t.keyword) ?? 0) + 1);
      } else if (t.kind === 'vendor') {
        if (db.vendors.has(t.id)) {
          top = { kind: 'rejected', issue: report(lineNo, 'duplicate', duplicate('vendor', t.id)) };
        } else {
          const vendor: UsbVendor = { name: t.name, products: new Map() };
          db.vendors.set(t.id, vendor);
          top = { kind: 'vendor', vendor };
        }
      } else if (db.classes.has(t.id)) {
        top = { kind: 'rejected', issue: report(lineNo, 'duplicate', duplicate('class', t.id)) };
      } else {
        const cls: UsbClass = { name: t.name, subclasses: new Map() };
        db.classes.set(t.id, cls);
        top = { kind: 'class', cls };
      }
      return;
    }

    if (top.kind === 'other') {
      db.otherSections.set(top.keyword, (db.otherSections.get(top.keyword) ?? 0) + 1);
      return;
    }
    if (nest > 2) {
      report(lineNo, 'too_deep', `${nest} leading TABs (at most 2)`);
      return;
    }
    if (top.kind === 'rejected') {
      top.issue.skipped++;
      return;
    }
    if (top.kind === 'none') {
      report(lineNo, 'orphan', `indented line before any vendor or class: ${quote(text.slice(p, end))}`);
      return;
    }

    if (top.kind === 'vendor') {
      // Two TABs under a product would be an interface; the header documents them but no file has any, and
      // neither usbutils nor systemd reads them. They name nothing we print.
      if (nest === 2) return;
      const e = parseProduct(text, p, end);
      if (!('id' in e)) report(lineNo, e.code, e.message);
      else if (top.vendor.products.has(e.id)) report(lineNo, 'duplicate', duplicate('product', e.id));
      else top.vendor.products.set(e.id, e.name);
      return;
    }

    if (nest === 1) {
      const e = parseSubclass(text, p, end);
      if (!('id' in e)) mid = { kind: 'rejected', issue: report(lineNo, e.code, e.message) };
      else if (top.cls.subclasses.has(e.id)) {
        mid = { kind: 'rejected', issue: report(lineNo, 'duplicate', duplicate('subclass', e.id)) };
      } else {
        const subclass: UsbSubclass = { name: e.name, protocols: new Map() };
        top.cls.subclasses.set(e.id, subclass);
        mid = { kind: 'subclass', subclass };
      }
    } else if (mid.kind === 'rejected') {
      mid.issue.skipped++;
    } else if (mid.kind === 'subclass') {
      const e = parseProtocol(text, p, end);
      if (!('id' in e)) report(lineNo, e.code, e.message);
      else if (mid.subclass.protocols.has(e.id)) report(lineNo, 'duplicate', duplicate('protocol', e.id));
      else mid.subclass.protocols.set(e.id, e.name);
    } else {
      report(lineNo, 'orphan', `two-TAB line without a subclass above it: ${quote(text.slice(p, end))}`);
    }
  });
  return db;
}

// ---- lazy lookups -------------------------------------------------------------------------------------------

function entry(text: Chars, parse: EntryParser, id: string): Accept {
  return (p, end) => {
    const e = parse(text, p, end);
    return 'id' in e && e.id === id ? e.name : null;
  };
}

/** Names straight from the usb.ids text, without parsing the whole file (see LazyIds); as parseUsbIds() gives them. */
export class UsbNames extends LazyIds {
  private constructor(bytes: Uint8Array, file: string, issues: IdsIssue[]) {
    super(bytes, file, issues, true);
  }

  static fromText(text: string, file = 'usb.ids'): UsbNames {
    return new UsbNames(Buffer.from(text, 'utf8'), file, []);
  }

  /** Reads the file (default: the shipped data/usb.ids). A missing or unreadable file gives no names and an issue. */
  static async load(path: string = join(dataDir(), 'usb.ids')): Promise<UsbNames> {
    try {
      // Read synchronously: one local file, and the thread pool's round trip costs more than the read.
      return new UsbNames(readFileSync(path), path, []);
    } catch (error) {
      const why = errnoCode(error) ?? String(error);
      return new UsbNames(new Uint8Array(0), path, [issue(path, 0, 'unreadable', `cannot read ${path}: ${why}`)]);
    }
  }

  protected override unreadable(_line: Line): boolean {
    return false;
  }

  vendor(v: string): string | null {
    return this.#vendor(v)?.name ?? null;
  }

  product(v: string, p: string): string | null {
    const vendor = this.#vendor(v);
    const pid = normaliseId(p, 4);
    if (vendor === null || pid === null) return null;
    return this.child(vendor, 1, pid, entry(this.text, parseProduct, pid))?.name ?? null;
  }

  /** Class name; with a subclass, the subclass name; with both, the protocol name. Null when that level is unknown. */
  className(c: string, s?: string, p?: string): string | null {
    const text = this.text;
    const cid = normaliseId(c, 2);
    if (cid === null) return null;
    const cls = this.cached(`C${cid}`, () =>
      this.top(`c ${cid}`, (at, end) => {
        const t = parseTop(text, at, end);
        return t.kind === 'class' && t.id === cid ? t.name : null;
      }),
    );
    if (s === undefined) return p === undefined ? (cls?.name ?? null) : null;
    const sid = normaliseId(s, 2);
    if (sid === null || cls === null) return null;
    const sub = this.cached(`C${cid}${sid}`, () =>
      this.child(cls, 1, sid, entry(text, parseSubclass, sid)),
    );
    if (p === undefined) return sub?.name ?? null;
    const pid = normaliseId(p, 2);
    if (pid === null || sub === null) return null;
    return this.child(sub, 2, pid, entry(text, parseProtocol, pid))?.name ?? null;
  }

  #vendor(v: string): Found | null {
    const id = normaliseId(v, 4);
    if (id === null) return null;
    return this.cached(id, () =>
      this.top(id, (p, end) => {
        const t = parseTop(this.text, p, end);
        return t.kind === 'vendor' && t.id === id ? t.name : null;
      }),
    );
  }
}

// pci.ids reader: the rules of pciutils' lib/names-parse.c (id_parse_list) and the lookups of lib/names.c, minus
// the network and hwdb sources. Names are only ever printed; no decision depends on them.
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
  utf8Length,
} from './_lines.ts';
import type { Accept, Chars, Found, IdsIssue, Line } from './_lines.ts';

export type { IdsIssue, IdsIssueCode } from './_lines.ts';

export interface PciDevice {
  name: string;
  /** 'svsv sdsd' (subsystem vendor, subsystem device; lower-case, one space) -> name. */
  subsystems: Map<string, string>;
}

export interface PciVendor {
  name: string;
  devices: Map<string, PciDevice>;
}

export interface PciSubclass {
  name: string;
  progIfs: Map<string, string>;
}

export interface PciClass {
  name: string;
  subclasses: Map<string, PciSubclass>;
}

export interface PciIdsDatabase {
  file: string;
  /** `Version:` from the header comment, e.g. '2026.07.01'. */
  version: string | null;
  vendors: Map<string, PciVendor>;
  classes: Map<string, PciClass>;
  /** `S vvvv` blocks: subsystem vendor -> subsystem device -> name, valid under any device (pciutils). */
  genericSubsystems: Map<string, Map<string, string>>;
  issues: IdsIssue[];
}

// pciutils reads lines with fgets() into char[1024]: the text, its '\n' and a NUL; longer is "Line too long".
export const PCI_MAX_LINE_BYTES = 1022;

function tooLong(text: string, line: Line): boolean {
  // pciutils measures up to the first CR, before stripping a trailing blank. 341 UTF-16 units are needed for
  // 1023 UTF-8 bytes, so almost every line skips the byte count.
  const units = line.cut - line.start;
  return units > PCI_MAX_LINE_BYTES / 3 && utf8Length(text.slice(line.start, line.cut)) > PCI_MAX_LINE_BYTES;
}

type TopLine =
  | { kind: 'vendor' | 'class'; id: string; name: string }
  | { kind: 'generic'; id: string }
  | { kind: 'unknown' }
  | { kind: 'error'; code: 'bad_id' | 'no_name'; message: string };

/** A line without leading TABs: text[p, end). */
function parseTop(text: Chars, p: number, end: number): TopLine {
  if (text.charCodeAt(p + 1) === 0x20 && p + 1 < end) {
    const c = text.charCodeAt(p);
    if (c === 0x43) {
      // 'C xx  name'
      const id = hexAt(text, p + 2, 2, end);
      if (id === null || !isWs(text, p + 4, end)) return bad('bad_id', `bad class line ${quote(text.slice(p, end))}`);
      const name = nameAt(text, p + 5, end);
      return name === '' ? bad('no_name', `class ${id} has no name`) : { kind: 'class', id, name };
    }
    if (c === 0x53) {
      // 'S vvvv' and nothing else
      const id = hexAt(text, p + 2, 4, end);
      if (id === null || end !== p + 6) return bad('bad_id', `bad subsystem block line ${quote(text.slice(p, end))}`);
      return { kind: 'generic', id };
    }
    // Any other capital letter and a space opens a block reserved for future use: skip it with its children.
    if (c >= 0x41 && c <= 0x5a) return { kind: 'unknown' };
  }
  const id = hexAt(text, p, 4, end);
  if (id === null || !isWs(text, p + 4, end)) return bad('bad_id', `bad vendor line ${quote(text.slice(p, end))}`);
  const name = nameAt(text, p + 5, end);
  return name === '' ? bad('no_name', `vendor ${id} has no name`) : { kind: 'vendor', id, name };
}

function bad(code: 'bad_id' | 'no_name', message: string) {
  return { kind: 'error', code, message } as const;
}

type Entry = { id: string; name: string } | { code: 'bad_id' | 'no_name'; message: string };
type EntryParser = (text: Chars, p: number, end: number) => Entry;

/** `xxxx  name` (width 4) or `xx  name` (width 2) at text[p, end), after the leading TABs. */
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

const parseDevice = entryParser(4, 'device');
const parseGeneric = entryParser(4, 'generic subsystem');
const parseSubclass = entryParser(2, 'subclass');
const parseProgIf = entryParser(2, 'prog-if');

/** `svsv sdsd  name`: the two ids are separated by exactly one blank. */
const parseSubsystem: EntryParser = (text, p, end) => {
  const sv = hexAt(text, p, 4, end);
  const sd = hexAt(text, p + 5, 4, end);
  if (sv === null || sd === null || !isWs(text, p + 4, end) || !isWs(text, p + 9, end)) {
    return { code: 'bad_id', message: `bad subsystem line ${quote(text.slice(p, end))}` };
  }
  const id = `${sv} ${sd}`;
  const name = nameAt(text, p + 10, end);
  return name === '' ? { code: 'no_name', message: `subsystem ${id} has no name` } : { id, name };
};

// Where the parser is. 'rejected' holds the issue that dropped the parent so its children can be counted.
type Top =
  | { kind: 'none' }
  | { kind: 'unknown' }
  | { kind: 'vendor'; vendor: PciVendor }
  | { kind: 'class'; cls: PciClass }
  | { kind: 'generic'; vendor: string }
  | { kind: 'rejected'; issue: IdsIssue };
type Mid =
  | { kind: 'none' }
  | { kind: 'device'; device: PciDevice }
  | { kind: 'subclass'; subclass: PciSubclass }
  | { kind: 'rejected'; issue: IdsIssue };

const NONE = { kind: 'none' } as const;
const UNKNOWN = { kind: 'unknown' } as const;

/**
 * Parses a whole pci.ids. Never throws: malformed lines become `issues` (with line numbers) and are skipped, and
 * the children of a malformed or duplicate entry are dropped with it (counted in its issue's `skipped`). For a
 * duplicate id the first entry wins. A file cut mid-line parses everything before the cut.
 */
export function parsePciIds(text: string, file = 'pci.ids'): PciIdsDatabase {
  const db: PciIdsDatabase = {
    file,
    version: headerVersion(text),
    vendors: new Map(),
    classes: new Map(),
    genericSubsystems: new Map(),
    issues: [],
  };
  const report = (line: number, code: IdsIssue['code'], message: string): IdsIssue => {
    const found = issue(file, line, code, message);
    db.issues.push(found);
    return found;
  };
  let top: Top = NONE;
  let mid: Mid = NONE;
  forEachLine(text, false, (line, lineNo) => {
    if (tooLong(text, line)) {
      const rejected = report(lineNo, 'too_long', `line longer than ${PCI_MAX_LINE_BYTES} bytes`);
      // A long comment changes nothing; a long entry is a malformed entry at its depth.
      if (line.blank) return;
      if (line.nest === 0) {
        top = { kind: 'rejected', issue: rejected };
        mid = NONE;
      } else if (line.nest === 1 && (top.kind === 'vendor' || top.kind === 'class')) {
        mid = { kind: 'rejected', issue: rejected };
      }
      return;
    }
    if (line.blank) return;
    const { nest, end } = line;
    const p = line.start + nest;

    if (nest === 0) {
      mid = NONE;
      const t = parseTop(text, p, end);
      if (t.kind === 'error') {
        top = { kind: 'rejected', issue: report(lineNo, t.code, t.message) };
      } else if (t.kind === 'unknown') {
        top = UNKNOWN;
      } else if (t.kind === 'generic') {
        const why = `subsystem block for vendor ${t.id}, not defined above`;
        top = db.vendors.has(t.id)
          ? { kind: 'generic', vendor: t.id }
          : { kind: 'rejected', issue: report(lineNo, 'no_vendor', why) };
      } else if (t.kind === 'vendor') {
        if (db.vendors.has(t.id)) {
          top = { kind: 'rejected', issue: report(lineNo, 'duplicate', duplicate('vendor', t.id)) };
        } else {
          const vendor: PciVendor = { name: t.name, devices: new Map() };
          db.vendors.set(t.id, vendor);
          top = { kind: 'vendor', vendor };
        }
      } else if (db.classes.has(t.id)) {
        top = { kind: 'rejected', issue: report(lineNo, 'duplicate', duplicate('class', t.id)) };
      } else {
        const cls: PciClass = { name: t.name, subclasses: new Map() };
        db.classes.set(t.id, cls);
        top = { kind: 'class', cls };
      }
      return;
    }

    // Children of a reserved block are skipped whatever they look like.
    if (top.kind === 'unknown') return;
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

    if (nest === 1) {
      mid = NONE;
      if (top.kind === 'vendor') {
        const e = parseDevice(text, p, end);
        if (!('id' in e)) mid = { kind: 'rejected', issue: report(lineNo, e.code, e.message) };
        else if (top.vendor.devices.has(e.id)) {
          mid = { kind: 'rejected', issue: report(lineNo, 'duplicate', duplicate('device', e.id)) };
        } else {
          const device: PciDevice = { name: e.name, subsystems: new Map() };
          top.vendor.devices.set(e.id, device);
          mid = { kind: 'device', device };
        }
      } else if (top.kind === 'class') {
        const e = parseSubclass(text, p, end);
        if (!('id' in e)) mid = { kind: 'rejected', issue: report(lineNo, e.code, e.message) };
        else if (top.cls.subclasses.has(e.id)) {
          mid = { kind: 'rejected', issue: report(lineNo, 'duplicate', duplicate('subclass', e.id)) };
        } else {
          const subclass: PciSubclass = { name: e.name, progIfs: new Map() };
          top.cls.subclasses.set(e.id, subclass);
          mid = { kind: 'subclass', subclass };
        }
      } else {
        // Generic subsystem entry 'ssss  name'; several `S` blocks of one vendor add to one table.
        const e = parseGeneric(text, p, end);
        if (!('id' in e)) report(lineNo, e.code, e.message);
        else {
          let table = db.genericSubsystems.get(top.vendor);
          if (table === undefined) db.genericSubsystems.set(top.vendor, (table = new Map()));
          if (table.has(e.id)) report(lineNo, 'duplicate', duplicate('generic subsystem', `${top.vendor} ${e.id}`));
          else table.set(e.id, e.name);
        }
      }
      return;
    }

    // nest === 2
    if (mid.kind === 'rejected') {
      mid.issue.skipped++;
    } else if (mid.kind === 'device') {
      const e = parseSubsystem(text, p, end);
      if (!('id' in e)) report(lineNo, e.code, e.message);
      else if (mid.device.subsystems.has(e.id)) report(lineNo, 'duplicate', duplicate('subsystem', e.id));
      else mid.device.subsystems.set(e.id, e.name);
    } else if (mid.kind === 'subclass') {
      const e = parseProgIf(text, p, end);
      if (!('id' in e)) report(lineNo, e.code, e.message);
      else if (mid.subclass.progIfs.has(e.id)) report(lineNo, 'duplicate', duplicate('prog-if', e.id));
      else mid.subclass.progIfs.set(e.id, e.name);
    } else {
      // pciutils would file a prog-if right under a class as subclass 00; a line needs its parent here.
      const parent = top.kind === 'class' ? 'subclass' : 'device';
      report(lineNo, 'orphan', `two-TAB line without a ${parent} above it: ${quote(text.slice(p, end))}`);
    }
  });
  return db;
}

// ---- lazy lookups -------------------------------------------------------------------------------------------

/** An Accept for a child line parsed by `parse` whose id must be `id`. */
function entry(text: Chars, parse: EntryParser, id: string): Accept {
  return (p, end) => {
    const e = parse(text, p, end);
    return 'id' in e && e.id === id ? e.name : null;
  };
}

/**
 * Names straight from the pci.ids text, without parsing the whole file (see LazyIds). Device ids are unique only
 * within their vendor and subsystems within their device, so each lookup searches its parent's block. Answers
 * equal those of parsePciIds() on the same text.
 */
export class PciNames extends LazyIds {
  private constructor(bytes: Uint8Array, file: string, issues: IdsIssue[]) {
    super(bytes, file, issues, false);
  }

  static fromText(text: string, file = 'pci.ids'): PciNames {
    return new PciNames(Buffer.from(text, 'utf8'), file, []);
  }

  /** Reads the file (default: the shipped data/pci.ids). A missing or unreadable file gives no names and an issue. */
  static async load(path: string = join(dataDir(), 'pci.ids')): Promise<PciNames> {
    try {
      // Read synchronously: one local file, and the thread pool's round trip costs more than the read.
      return new PciNames(readFileSync(path), path, []);
    } catch (error) {
      const why = errnoCode(error) ?? String(error);
      return new PciNames(new Uint8Array(0), path, [issue(path, 0, 'unreadable', `cannot read ${path}: ${why}`)]);
    }
  }

  protected override unreadable(line: Line): boolean {
    // The text is bytes (ByteText): its length up to the first CR is what pciutils' line buffer holds.
    return line.cut - line.start > PCI_MAX_LINE_BYTES;
  }

  vendor(v: string): string | null {
    return this.#vendor(v)?.name ?? null;
  }

  device(v: string, d: string): string | null {
    return this.#device(v, d)?.name ?? null;
  }

  /**
   * The subsystem's name as pciutils (lib/names.c) finds it: the entry under the device, else a generic `S` entry
   * of the subsystem vendor, else, when the subsystem ids equal the device ids, the device name (virtio devices).
   */
  subsystem(v: string, d: string, sv: string, sd: string): string | null {
    const vid = normaliseId(v, 4);
    const did = normaliseId(d, 4);
    const svid = normaliseId(sv, 4);
    const sdid = normaliseId(sd, 4);
    if (vid === null || did === null || svid === null || sdid === null) return null;
    const text = this.text;
    const device = this.#device(vid, did);
    // pciutils skips this table when the vendor or device id is 0000 (its "no id"); Groq's 1de0:0000 is a real
    // device with subsystems listed, so this lookup does not.
    if (device !== null) {
      // Candidates are the lines starting with the subsystem vendor; the entry's parser checks the rest.
      const own = this.child(device, 2, svid, entry(text, parseSubsystem, `${svid} ${sdid}`));
      if (own !== null) return own.name;
    }
    // `S vvvv` blocks count only below the vendor's own line, as pciutils requires the vendor to exist.
    const vendor = this.#vendor(svid);
    const isBlock: Accept = (p, end) => {
      const t = parseTop(text, p, end);
      return t.kind === 'generic' && t.id === svid ? '' : null;
    };
    for (const block of this.tops(`s ${svid.slice(0, 2)}`, isBlock)) {
      if (vendor === null || block.lineStart < vendor.lineStart) continue;
      const found = this.child(block, 1, sdid, entry(text, parseGeneric, sdid));
      if (found !== null) return found.name;
    }
    return vid === svid && did === sdid ? (device?.name ?? null) : null;
  }

  /** Class name; with a subclass, the subclass name; with both, the prog-if name. Null when that level is unknown. */
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
    return this.child(sub, 2, pid, entry(text, parseProgIf, pid))?.name ?? null;
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

  #device(v: string, d: string): Found | null {
    const vendor = this.#vendor(v);
    const did = normaliseId(d, 4);
    if (vendor === null || did === null) return null;
    return this.cached(`${v.toLowerCase()}${did}`, () =>
      this.child(vendor, 1, did, entry(this.text, parseDevice, did)),
    );
  }
}

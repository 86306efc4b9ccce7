// pci.ids: the full parser and the lazy lookups on the shipped file and on damaged copies of it. They are checked
// against each other, and against the real lspci (pciutils) where it is installed.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PCI_MAX_LINE_BYTES, PciNames, parsePciIds } from '../../src/ids/pci-ids.ts';
import type { IdsIssue, PciIdsDatabase } from '../../src/ids/pci-ids.ts';
import { repoRoot } from '../_support/memfs.ts';

const file = join(repoRoot, 'data', 'pci.ids');
const text = readFileSync(file, 'utf8');
const db = parsePciIds(text, file);
const names = PciNames.fromText(text);
const lines = text.split('\n');

// ---- helpers ------------------------------------------------------------------------------------------------

type Key =
  | ['vendor', string]
  | ['device', string, string]
  | ['subsystem', string, string, string, string]
  | ['className', string, string?, string?];

interface Lookups {
  vendor(v: string): string | null;
  device(v: string, d: string): string | null;
  subsystem(v: string, d: string, sv: string, sd: string): string | null;
  className(c: string, s?: string, p?: string): string | null;
}

/** What PciNames must answer, read off the parsed maps in pciutils' order (lib/names.c, id_lookup_subsys). */
function fromDatabase(parsed: PciIdsDatabase): Lookups {
  const device = (v: string, d: string) => parsed.vendors.get(v)?.devices.get(d)?.name ?? null;
  return {
    vendor: (v) => parsed.vendors.get(v)?.name ?? null,
    device,
    subsystem: (v, d, sv, sd) =>
      parsed.vendors.get(v)?.devices.get(d)?.subsystems.get(`${sv} ${sd}`) ??
      parsed.genericSubsystems.get(sv)?.get(sd) ??
      (v === sv && d === sd ? device(v, d) : null),
    className: (c, s, p) => {
      const cls = parsed.classes.get(c);
      if (s === undefined) return p === undefined ? (cls?.name ?? null) : null;
      const sub = cls?.subclasses.get(s);
      return p === undefined ? (sub?.name ?? null) : (sub?.progIfs.get(p) ?? null);
    },
  };
}

function ask(l: Lookups, key: Key): string | null {
  switch (key[0]) {
    case 'vendor':
      return l.vendor(key[1]);
    case 'device':
      return l.device(key[1], key[2]);
    case 'subsystem':
      return l.subsystem(key[1], key[2], key[3], key[4]);
    case 'className':
      return l.className(key[1], key[2], key[3]);
  }
}

/** Every entry of a database as a key: all vendors and classes, and the devices (with subsystems) of every Nth. */
function* keysOf(parsed: PciIdsDatabase, every = 1): Generator<Key> {
  let n = 0;
  for (const [v, vendor] of parsed.vendors) {
    yield ['vendor', v];
    for (const [d, device] of vendor.devices) {
      if (n++ % every !== 0) continue;
      yield ['device', v, d];
      for (const s of device.subsystems.keys()) yield ['subsystem', v, d, s.slice(0, 4), s.slice(5)];
    }
  }
  for (const [sv, table] of parsed.genericSubsystems) {
    for (const sd of table.keys()) yield ['subsystem', '0000', '0001', sv, sd];
  }
  for (const [c, cls] of parsed.classes) {
    yield ['className', c];
    for (const [s, sub] of cls.subclasses) {
      yield ['className', c, s];
      for (const p of sub.progIfs.keys()) yield ['className', c, s, p];
    }
  }
}

/** Keys on which the lazy lookups and the full parser disagree, with both answers. */
/** The key with lower-case ids, as the parsed maps hold them. */
const lower = (key: Key) => key.map((k, i) => (i === 0 ? k : k?.toLowerCase())) as Key;

function disagreements(source: string, extra: Key[] = [], every = 1): string[] {
  const parsed = parsePciIds(source);
  const full = fromDatabase(parsed);
  const lazy = PciNames.fromText(source);
  const out: string[] = [];
  for (const key of [...keysOf(parsed, every), ...extra]) {
    const want = ask(full, lower(key));
    const got = ask(lazy, key);
    if (got !== want) out.push(`${key.join(' ')}: lazy ${JSON.stringify(got)}, full ${JSON.stringify(want)}`);
  }
  return out;
}

/** The database as one line per entry, in file order, to compare whole parses. */
function flatten(parsed: PciIdsDatabase): string[] {
  const out: string[] = [];
  for (const [v, vendor] of parsed.vendors) {
    out.push(`${v}  ${vendor.name}`);
    for (const [d, device] of vendor.devices) {
      out.push(`${v}:${d}  ${device.name}`);
      for (const [s, name] of device.subsystems) out.push(`${v}:${d} ${s}  ${name}`);
    }
  }
  for (const [sv, table] of parsed.genericSubsystems) {
    for (const [sd, name] of table) out.push(`S ${sv} ${sd}  ${name}`);
  }
  for (const [c, cls] of parsed.classes) {
    out.push(`C ${c}  ${cls.name}`);
    for (const [s, sub] of cls.subclasses) {
      out.push(`C ${c}${s}  ${sub.name}`);
      for (const [p, name] of sub.progIfs) out.push(`C ${c}${s}${p}  ${name}`);
    }
  }
  return out;
}

/** 1-based number of the one line of the shipped file that is exactly `line`. */
function lineNo(line: string): number {
  const at = lines.indexOf(line);
  expect(at, `line ${JSON.stringify(line)}`).toBeGreaterThanOrEqual(0);
  expect(lines.indexOf(line, at + 1), `line ${JSON.stringify(line)} is unique`).toBe(-1);
  return at + 1;
}

/** The shipped text with lines spliced in at (before) line `at`, replacing `remove` lines. */
function splice(at: number, remove: number, ...add: string[]): string {
  const copy = [...lines];
  copy.splice(at - 1, remove, ...add);
  return copy.join('\n');
}

const brief = (issues: IdsIssue[]) => issues.map(({ line, code, skipped }) => ({ line, code, skipped }));

// ---- the shipped file ---------------------------------------------------------------------------------------

describe('parsePciIds on the shipped pci.ids', () => {
  it('has the version and sha256 that data/README.md states', () => {
    const readme = readFileSync(join(repoRoot, 'data', 'README.md'), 'utf8');
    const row = readme.split('\n').find((l) => l.startsWith('| `pci.ids` |'));
    expect(row).toContain(`Version: ${db.version}`);
    expect(row).toContain(createHash('sha256').update(readFileSync(file)).digest('hex'));
    expect(db.version).toMatch(/^\d{4}\.\d\d\.\d\d$/);
  });

  it('reads it without issues, with the counts of a plain line count', () => {
    expect(db.issues).toEqual([]);
    // The file has no duplicates (pciutils refuses them), so entries equal lines of each shape.
    const classAt = lines.findIndex((l) => l.startsWith('C '));
    const count = (re: RegExp, from = 0, to = lines.length) => lines.slice(from, to).filter((l) => re.test(l)).length;
    let devices = 0;
    let subsystems = 0;
    for (const vendor of db.vendors.values()) {
      devices += vendor.devices.size;
      for (const device of vendor.devices.values()) subsystems += device.subsystems.size;
    }
    let subclasses = 0;
    let progIfs = 0;
    for (const cls of db.classes.values()) {
      subclasses += cls.subclasses.size;
      for (const sub of cls.subclasses.values()) progIfs += sub.progIfs.size;
    }
    expect(db.vendors.size).toBe(count(/^[0-9a-f]{4}  \S/));
    expect(devices).toBe(count(/^\t[0-9a-f]{4}  \S/));
    expect(subsystems).toBe(count(/^\t\t[0-9a-f]{4} [0-9a-f]{4}  \S/));
    expect(db.classes.size).toBe(count(/^C [0-9a-f]{2}  \S/));
    expect(subclasses).toBe(count(/^\t[0-9a-f]{2}  \S/, classAt));
    expect(progIfs).toBe(count(/^\t\t[0-9a-f]{2}  \S/, classAt));
    expect(db.genericSubsystems.size).toBe(0);
    // The numbers data/README.md gives for this version.
    expect([db.vendors.size, devices, subsystems, db.classes.size, subclasses, progIfs]).toEqual([
      2503, 21361, 17936, 22, 118, 84,
    ]);
  });

  // Real entries; both readers must give them.
  const entries: [what: string, key: Key, name: string | null][] = [
    ['a vendor', ['vendor', '8086'], 'Intel Corporation'],
    ['the last vendor', ['vendor', 'ffff'], 'Illegal Vendor ID'],
    ['the first vendor', ['vendor', '0001'], 'SafeNet (wrong ID)'],
    ['a vendor name beyond ASCII', ['vendor', '15cf'], 'Hilscher Gesellschaft für Systemautomation mbH'],
    ['a device', ['device', '8086', '27a2'], 'Mobile 945GM/GMS, 943/940GML Express Integrated Graphics Controller'],
    ['a device name ending in ]', ['device', '10de', '1c8c'], 'GP107M [GeForce GTX 1050 Ti Mobile]'],
    ['device 1041 of Red Hat', ['device', '1af4', '1041'], 'Virtio 1.0 network device'],
    ['device 1041 of Hewlett-Packard', ['device', '103c', '1041'], 'J2585B DeskDirect 10/100 NIC'],
    ['a Cyrillic letter', ['device', '1045', 'c935'], '82\u0421935 [MachOne] Integrated PCI Audio Processor'],
    ['an en dash in a device name', ['device', '8086', '128d'], '60Cx8980 Series QAT \u2013 Virtual Function'],
    ['a subsystem', ['subsystem', '8086', '27a2', '17aa', '201a'], 'ThinkPad R60/T60/X60 series'],
    ['a subsystem name beyond ASCII', ['subsystem', '1002', '6798', '1787', '201c'], 'HD 7970 IceQ X²'],
    [
      'a no-break space in a subsystem name',
      ['subsystem', '8086', '1e00', '1734', '11d6'],
      'B75 [Ivy Bridge]\u00a0chipset on Esprimo P510 D3171 motherboard',
    ],
    ['a subsystem of a vendor not in the file', ['subsystem', '109e', '036e', '0000', '0001'], 'Euresys Picolo PCIe'],
    ['a subsystem under device 0000', ['subsystem', '1de0', '0000', '1de0', 'c005'], 'GC1-010B [GroqCard]'],
    ['subsystem ids equal to the device ids', ['subsystem', '1af4', '1045', '1af4', '1045'], 'Virtio 1.0 balloon'],
    ['the same, other subsystems listed', ['subsystem', '1af4', '1041', '1af4', '1041'], 'Virtio 1.0 network device'],
    ['an unlisted subsystem of a listed device', ['subsystem', '1af4', '1041', '1af4', '1101'], null],
    ['a class', ['className', '03'], 'Display controller'],
    ['a subclass', ['className', '03', '00'], 'VGA compatible controller'],
    ['a prog-if', ['className', '03', '00', '00'], 'VGA controller'],
    ['the last class', ['className', 'ff'], 'Unassigned class'],
    ['an unknown vendor', ['vendor', '0002'], null],
    ['an unknown device of a known vendor', ['device', '8086', '0d57'], null],
    ['a device of an unknown vendor', ['device', '0002', '0001'], null],
    ['an unknown subclass', ['className', '03', '7f'], null],
    ['an unknown prog-if', ['className', '03', '00', '7f'], null],
    ['a prog-if without a subclass', ['className', '03', undefined, '00'], null],
    ['upper-case ids', ['device', '10DE', '1C8C'], 'GP107M [GeForce GTX 1050 Ti Mobile]'],
    ['an id with 0x', ['vendor', '0x8086'], null],
    ['a short id', ['vendor', '808'], null],
    ['a non-hex id', ['className', 'g3'], null],
  ];

  it.each(entries)('%s: %j -> %j', (_what, key, name) => {
    expect(ask(names, key)).toBe(name);
    // The full parser has the same (fromDatabase() holds the subsystem fallbacks; its maps use lower case).
    expect(ask(fromDatabase(db), lower(key))).toBe(name);
  });

  it('answers alike whether a lookup scans for its id (a fresh reader) or uses the index (after a few lookups)', () => {
    const warm = PciNames.fromText(text);
    for (const id of ['0000', '1000', '10de', '8086', '1af4']) warm.vendor(id);
    for (const [, key, name] of entries) {
      expect(ask(PciNames.fromText(text), key)).toBe(name);
      expect(ask(warm, key)).toBe(name);
    }
  });

  it('gives the lazy lookups the answers of the full parser for every entry', () => {
    const started = performance.now();
    expect(disagreements(text)).toEqual([]);
    // All 42,000 entries take about 2 s; far above that means a lookup scans more than its block.
    expect(performance.now() - started).toBeLessThan(20_000);
  });

  it('loads data/pci.ids by default, and reports a file it cannot read', async () => {
    const shipped = await PciNames.load();
    expect(shipped.issues).toEqual([]);
    expect(shipped.version).toBe(db.version);
    expect(shipped.device('10de', '1c8c')).toBe('GP107M [GeForce GTX 1050 Ti Mobile]');

    const missing = await PciNames.load('/nonexistent/pci.ids');
    expect(missing.issues).toEqual([
      {
        file: '/nonexistent/pci.ids',
        line: 0,
        code: 'unreadable',
        message: 'cannot read /nonexistent/pci.ids: ENOENT',
        skipped: 0,
      },
    ]);
    const lookups = [missing.vendor('8086'), missing.device('8086', '27a2'), missing.className('03')];
    expect(lookups).toEqual([null, null, null]);

    const directory = await PciNames.load(join(repoRoot, 'data'));
    expect(directory.issues.map((i) => i.code + ' ' + i.message)).toEqual([
      `unreadable cannot read ${join(repoRoot, 'data')}: EISDIR`,
    ]);
  });
});

// ---- damaged copies of the shipped file ---------------------------------------------------------------------

const nvidia = lineNo('10de  NVIDIA Corporation');
const gp107 = lineNo('\t1c8c  GP107M [GeForce GTX 1050 Ti Mobile]');
const iceq = lineNo('\t\t1787 201c  HD 7970 IceQ X²');
const i945 = lineNo('\t27a2  Mobile 945GM/GMS, 943/940GML Express Integrated Graphics Controller');
const redHat = lineNo('1af4  Red Hat, Inc.');
const netezza = lineNo('1af5  Netezza Corp.');
const display = lineNo('C 03  Display controller');
const safeNet = lineNo('0001  SafeNet (wrong ID)');

/** Entries under a vendor or class ('C 03') of the shipped file: what a rejected top-level line drops. */
function below(v: string): number {
  if (v.startsWith('C ')) {
    const cls = db.classes.get(v.slice(2))!;
    return [...cls.subclasses.values()].reduce((n, sub) => n + 1 + sub.progIfs.size, 0);
  }
  const vendor = db.vendors.get(v)!;
  let n = vendor.devices.size;
  for (const device of vendor.devices.values()) n += device.subsystems.size;
  return n;
}

/** A device line of exactly `bytes` UTF-8 bytes; '²' takes two, so it is far shorter in UTF-16 units. */
function deviceLine(bytes: number): string {
  const head = '\t1c8c  ';
  const squares = 504;
  return head + '²'.repeat(squares) + 'x'.repeat(bytes - head.length - 2 * squares);
}

type LspciError = 'Parse error' | 'Duplicate entry' | 'Line too long' | 'Vendor does not exist';

interface Damage {
  name: string;
  text: string;
  issues: { line: number; code: IdsIssue['code']; skipped: number }[];
  /** Answers on the damaged text; both readers must give them. */
  answers: [Key, string | null][];
  /** The parse equals that of the shipped file. */
  unchanged?: boolean;
  /** pciutils stops at its first error, with this message, at the line of our first issue; null: it reads the file. */
  lspci: LspciError | null;
  /** Where pciutils answers differently on purpose (lspci's answer). */
  pciutilsDiffers?: [Key, string | null][];
}

const damages: Damage[] = [
  {
    name: 'a line with three TABs',
    text: splice(iceq + 1, 0, '\t\t\t1787 201d  too deep'),
    issues: [{ line: iceq + 1, code: 'too_deep', skipped: 0 }],
    answers: [
      [['subsystem', '1002', '6798', '1787', '201d'], null],
      [['subsystem', '1002', '6798', '1787', '201c'], 'HD 7970 IceQ X²'],
    ],
    unchanged: true,
    lspci: 'Parse error',
  },
  {
    name: 'a vendor id that is not hex',
    text: splice(nvidia, 1, '10dg  NVIDIA Corporation'),
    issues: [{ line: nvidia, code: 'bad_id', skipped: below('10de') }],
    answers: [
      [['vendor', '10de'], null],
      [['device', '10de', '1c8c'], null],
      [['vendor', '10dd'], 'Evans & Sutherland'],
      [['vendor', '10df'], 'Emulex Corporation'],
    ],
    lspci: 'Parse error',
  },
  {
    name: 'a device id that is not hex',
    text: splice(i945, 1, '\t27aZ  Mobile 945GM/GMS, 943/940GML Express Integrated Graphics Controller'),
    issues: [{ line: i945, code: 'bad_id', skipped: 4 }],
    answers: [
      [['device', '8086', '27a2'], null],
      [['subsystem', '8086', '27a2', '17aa', '201a'], null],
      [['device', '8086', '27a6'], 'Mobile 945GM/GMS/GME, 943/940GML Express Integrated Graphics Controller'],
      [['subsystem', '8086', '27a6', '103c', '30a1'], 'NC2400'],
    ],
    lspci: 'Parse error',
  },
  {
    name: 'a vendor id without a name',
    text: splice(nvidia, 1, '10de  '),
    issues: [{ line: nvidia, code: 'no_name', skipped: below('10de') }],
    answers: [[['vendor', '10de'], null]],
    lspci: 'Parse error',
  },
  {
    name: 'a class id that is not hex',
    text: splice(display, 1, 'C 0x  Display controller'),
    issues: [{ line: display, code: 'bad_id', skipped: below('C 03') }],
    answers: [
      [['className', '03'], null],
      [['className', '03', '00', '00'], null],
      [['className', '04'], 'Multimedia controller'],
    ],
    lspci: 'Parse error',
  },
  {
    name: 'a duplicate vendor below the first',
    text: splice(netezza, 0, '1af4  Red Hat again', '\t1041  Not the virtio NIC', '\t9999  A new device'),
    issues: [{ line: netezza, code: 'duplicate', skipped: 2 }],
    answers: [
      [['vendor', '1af4'], 'Red Hat, Inc.'],
      [['device', '1af4', '1041'], 'Virtio 1.0 network device'],
      [['device', '1af4', '9999'], null],
      [['vendor', '1af5'], 'Netezza Corp.'],
    ],
    lspci: 'Duplicate entry',
  },
  {
    name: 'a duplicate vendor above the first (the first one wins)',
    text: splice(redHat, 0, '1af4  Red Hat again', '\t1041  Not the virtio NIC', '\t9999  A new device'),
    issues: [{ line: redHat + 3, code: 'duplicate', skipped: below('1af4') }],
    answers: [
      [['vendor', '1af4'], 'Red Hat again'],
      [['device', '1af4', '1041'], 'Not the virtio NIC'],
      [['device', '1af4', '9999'], 'A new device'],
      [['device', '1af4', '1042'], null],
      [['subsystem', '1af4', '1041', '1af4', '1100'], null],
    ],
    lspci: 'Duplicate entry',
  },
  {
    name: 'a duplicate device, with a subsystem',
    text: splice(gp107 + 1, 0, '\t1c8c  Second GP107M', '\t\t1043 0001  its subsystem'),
    issues: [{ line: gp107 + 1, code: 'duplicate', skipped: 1 }],
    answers: [
      [['device', '10de', '1c8c'], 'GP107M [GeForce GTX 1050 Ti Mobile]'],
      [['subsystem', '10de', '1c8c', '1043', '0001'], null],
      [['device', '10de', '1c8d'], 'GP107M [GeForce GTX 1050 Mobile]'],
    ],
    lspci: 'Duplicate entry',
  },
  {
    name: 'an unknown block with children between two vendors',
    text: splice(nvidia, 0, 'X 00  A future table', '\t0001  its entry', '\t\t0002 0003  its sub-entry', '\t\t\t4  no'),
    issues: [],
    answers: [
      [['device', '10dd', '0001'], null],
      [['vendor', '10de'], 'NVIDIA Corporation'],
      [['device', '10de', '1c8c'], 'GP107M [GeForce GTX 1050 Ti Mobile]'],
    ],
    unchanged: true,
    lspci: null,
  },
  {
    name: 'comments and blank lines inside a vendor',
    text: splice(gp107 + 1, 0, '# a comment', '', '\t# indented', ' \t ', '\t\t# deeper', '  # after blanks'),
    issues: [],
    answers: [
      [['device', '10de', '1c8c'], 'GP107M [GeForce GTX 1050 Ti Mobile]'],
      [['device', '10de', '1c8d'], 'GP107M [GeForce GTX 1050 Mobile]'],
    ],
    unchanged: true,
    lspci: null,
  },
  {
    name: 'upper-case ids',
    text: splice(nvidia, 1, '10DE  NVIDIA Corporation').replace('\n\t1c8c  GP107M', '\n\t1C8C  GP107M'),
    issues: [],
    answers: [
      [['vendor', '10de'], 'NVIDIA Corporation'],
      [['device', '10de', '1c8c'], 'GP107M [GeForce GTX 1050 Ti Mobile]'],
    ],
    unchanged: true,
    lspci: null,
  },
  {
    name: 'a generic subsystem (S) block',
    text: splice(netezza, 0, 'S 1af4', '\t1100  Generic QEMU', '\tbeef  Generic beef'),
    issues: [],
    answers: [
      [['subsystem', '8086', '27a2', '1af4', '1100'], 'Generic QEMU'],
      [['subsystem', '8086', '27a2', '1af4', 'beef'], 'Generic beef'],
      [['subsystem', '8086', '100e', '1af4', '1100'], 'QEMU Virtual Machine'],
      [['subsystem', '1af4', '1041', '1af4', '1100'], 'QEMU'],
      [['vendor', '1af5'], 'Netezza Corp.'],
    ],
    lspci: null,
  },
  {
    name: 'a generic subsystem block above its vendor',
    text: splice(safeNet, 0, 'S 1af4', '\t1100  Generic QEMU'),
    issues: [{ line: safeNet, code: 'no_vendor', skipped: 1 }],
    answers: [[['subsystem', '8086', '27a2', '1af4', '1100'], null]],
    unchanged: true,
    lspci: 'Vendor does not exist',
  },
  {
    name: 'a generic subsystem line with more after the vendor id',
    text: splice(netezza, 0, 'S 1af4 x', '\t1100  Generic QEMU'),
    issues: [{ line: netezza, code: 'bad_id', skipped: 1 }],
    answers: [[['subsystem', '8086', '27a2', '1af4', '1100'], null]],
    unchanged: true,
    lspci: 'Parse error',
  },
  {
    name: 'a device before any vendor',
    text: splice(safeNet, 0, '\t0001  lost'),
    issues: [{ line: safeNet, code: 'orphan', skipped: 0 }],
    answers: [[['device', '0001', '0001'], null]],
    unchanged: true,
    lspci: 'Parse error',
  },
  {
    name: 'a subsystem right under its vendor',
    text: splice(nvidia + 1, 0, '\t\t10de 0001  no device'),
    issues: [{ line: nvidia + 1, code: 'orphan', skipped: 0 }],
    answers: [[['subsystem', '10de', '0001', '10de', '0001'], null]],
    unchanged: true,
    lspci: 'Parse error',
  },
  {
    name: 'a prog-if right under its class',
    text: splice(display + 1, 0, '\t\t42  no subclass'),
    issues: [{ line: display + 1, code: 'orphan', skipped: 0 }],
    answers: [[['className', '03', '00', '42'], null]],
    unchanged: true,
    lspci: null,
    // pciutils files it under subclass 00 (its id2 is still 0 after the class line).
    pciutilsDiffers: [[['className', '03', '00', '42'], 'no subclass']],
  },
  {
    name: 'two blanks after a name (pciutils strips one)',
    text: splice(nvidia, 1, '10de  NVIDIA Corporation  '),
    issues: [],
    answers: [[['vendor', '10de'], 'NVIDIA Corporation ']],
    lspci: null,
  },
  {
    name: 'a TAB between the subsystem ids',
    text: splice(iceq, 1, '\t\t1787\t201c  HD 7970 IceQ X²'),
    issues: [],
    answers: [[['subsystem', '1002', '6798', '1787', '201c'], 'HD 7970 IceQ X²']],
    unchanged: true,
    lspci: null,
  },
  {
    name: 'two blanks between the subsystem ids',
    text: splice(iceq, 1, '\t\t1787  201c  HD 7970 IceQ X²'),
    issues: [{ line: iceq, code: 'bad_id', skipped: 0 }],
    answers: [[['subsystem', '1002', '6798', '1787', '201c'], null]],
    lspci: 'Parse error',
  },
  {
    name: 'a CR inside a line (the line ends there)',
    text: splice(nvidia, 1, '10de  NVIDIA\rCorporation'),
    issues: [],
    answers: [[['vendor', '10de'], 'NVIDIA']],
    lspci: null,
  },
  {
    name: `a line of ${PCI_MAX_LINE_BYTES} bytes`,
    text: splice(gp107, 1, deviceLine(PCI_MAX_LINE_BYTES)),
    issues: [],
    answers: [[['device', '10de', '1c8c'], deviceLine(PCI_MAX_LINE_BYTES).slice(7)]],
    lspci: null,
  },
  {
    name: `a line of ${PCI_MAX_LINE_BYTES + 1} bytes`,
    text: splice(gp107, 1, deviceLine(PCI_MAX_LINE_BYTES + 1)),
    issues: [{ line: gp107, code: 'too_long', skipped: 0 }],
    answers: [
      [['device', '10de', '1c8c'], null],
      [['device', '10de', '1c8d'], 'GP107M [GeForce GTX 1050 Mobile]'],
    ],
    lspci: 'Line too long',
  },
  {
    name: 'a comment too long for pciutils',
    text: splice(gp107 + 1, 0, `# ${'x'.repeat(1100)}`),
    issues: [{ line: gp107 + 1, code: 'too_long', skipped: 0 }],
    answers: [[['device', '10de', '1c8d'], 'GP107M [GeForce GTX 1050 Mobile]']],
    unchanged: true,
    lspci: 'Line too long',
  },
];

describe('parsePciIds and PciNames on damaged copies of pci.ids', () => {
  it.each(damages)('$name', (damage) => {
    const parsed = parsePciIds(damage.text);
    expect(brief(parsed.issues)).toEqual(damage.issues);
    const lazy = PciNames.fromText(damage.text);
    for (const [key, name] of damage.answers) {
      expect(ask(lazy, key), key.join(' ')).toBe(name);
    }
    if (damage.unchanged) expect(flatten(parsed)).toEqual(flatten(db));
    // Everywhere else too, sampled: every vendor and class, every 40th device.
    expect(disagreements(damage.text, damage.answers.map(([key]) => key), 40)).toEqual([]);
  });

  it('reads CRLF line ends as LF', () => {
    const crlf = text.replaceAll('\n', '\r\n');
    const parsed = parsePciIds(crlf);
    expect(parsed.issues).toEqual([]);
    expect(flatten(parsed)).toEqual(flatten(db));
    expect(PciNames.fromText(crlf).subsystem('8086', '27a2', '17aa', '201a')).toBe('ThinkPad R60/T60/X60 series');
    expect(disagreements(crlf, [], 10)).toEqual([]);
  });

  it.each([
    ['an empty file', ''],
    ['only a newline', '\n'],
    ['only comments and blanks', '# pci.ids\n\n   \n\t\n#\tVersion: 1\n'],
  ])('reads %s as no entries and no issues', (_what, source) => {
    const parsed = parsePciIds(source);
    const sizes = [parsed.vendors.size, parsed.classes.size, parsed.genericSubsystems.size];
    expect([...sizes, parsed.issues]).toEqual([0, 0, 0, []]);
    const lazy = PciNames.fromText(source);
    const lookups = [lazy.vendor('0001'), lazy.device('0001', '0001'), lazy.className('00')];
    lookups.push(lazy.subsystem('0001', '0002', '0003', '0004'));
    expect(lookups).toEqual([null, null, null, null]);
  });

  // A file cut off mid-line: everything above the cut is read, the cut line as far as it goes.
  const cut = (line: string, keep: number) => {
    const at = text.indexOf(`\n${line}\n`) + 1;
    return { at, source: text.slice(0, at + keep), line: text.slice(0, at).split('\n').length };
  };
  const truncations: [what: string, line: string, keep: number, issues: IdsIssue['code'][], added: string[]][] = [
    ['mid vendor name', '10de  NVIDIA Corporation', 9, [], ['10de  NVI']],
    ['right after a vendor id', '10de  NVIDIA Corporation', 4, ['bad_id'], []],
    ['after a vendor id and one blank, which pciutils strips', '10de  NVIDIA Corporation', 5, ['bad_id'], []],
    ['after a vendor id and both blanks', '10de  NVIDIA Corporation', 6, ['no_name'], []],
    ['mid device id', '\t1c8c  GP107M [GeForce GTX 1050 Ti Mobile]', 4, ['bad_id'], []],
    ['mid device name', '\t1c8c  GP107M [GeForce GTX 1050 Ti Mobile]', 16, [], ['10de:1c8c  GP107M [G']],
    ['mid subsystem id', '\t\t1787 201c  HD 7970 IceQ X²', 9, ['bad_id'], []],
    ['mid subsystem name, after a blank', '\t\t1787 201c  HD 7970 IceQ X²', 20, [], ['1002:6798 1787 201c  HD 7970']],
    ['in the C section, after the class id', 'C 03  Display controller', 3, ['bad_id'], []],
    ['in the C section, mid class name', 'C 03  Display controller', 10, [], ['C 03  Disp']],
    ['in the C section, mid prog-if id', '\t\t00  VGA controller', 3, ['bad_id'], []],
  ];

  it.each(truncations)('reads a file cut %s', (_what, line, keep, codes, added) => {
    const { at, source, line: n } = cut(line, keep);
    const parsed = parsePciIds(source);
    expect(brief(parsed.issues)).toEqual(codes.map((code) => ({ line: n, code, skipped: 0 })));
    // Exactly the entries of the complete lines above, plus the cut one when it is still well-formed.
    const above = flatten(parsePciIds(text.slice(0, at)));
    const got = flatten(parsed);
    const known = new Set(above);
    expect(got.filter((entry) => !known.has(entry))).toEqual(added);
    expect(got.length).toBe(above.length + added.length);
    expect(disagreements(source, [], 40)).toEqual([]);
  });

  it('reads a file cut inside a multi-byte character as U+FFFD at the end', () => {
    const bytes = readFileSync(file);
    const at = bytes.indexOf(Buffer.from('IceQ X\u00b2\n')) + 'IceQ X'.length + 1; // after 0xc2, before 0xb2
    const source = bytes.subarray(0, at).toString('utf8');
    const parsed = parsePciIds(source);
    expect(parsed.issues).toEqual([]);
    expect(parsed.vendors.get('1002')?.devices.get('6798')?.subsystems.get('1787 201c')).toBe('HD 7970 IceQ X\ufffd');
    expect(PciNames.fromText(source).subsystem('1002', '6798', '1787', '201c')).toBe('HD 7970 IceQ X\ufffd');
  });
});

// ---- against lspci ------------------------------------------------------------------------------------------

const lspci = spawnSync('sh', ['-c', 'command -v lspci'], { encoding: 'utf8' }).stdout.trim();
const hasPci = existsSync('/sys/bus/pci/devices') && readdirSync('/sys/bus/pci/devices').length > 0;
const work = mkdtempSync(join(tmpdir(), 'pci-ids-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
writeFileSync(join(work, 'one.dump'), '0000:00:00.0 probe\n00: 86 80 a2 27 00 00 00 00 01 00 00 03 00 00 00 00\n');

/** A device for lspci to name: ids as 4 (class: 6) lower-case hex digits; subsystem vendor 0000 means none. */
interface Probe {
  v: string;
  d: string;
  sv: string;
  sd: string;
  cls: string;
}

function probeOf(key: Key): Probe {
  const none = { sv: '0000', sd: '0000', cls: '000000' };
  switch (key[0]) {
    case 'vendor':
      return { v: key[1], d: 'fffe', ...none };
    case 'device':
      return { v: key[1], d: key[2], ...none };
    case 'subsystem':
      return { v: key[1], d: key[2], sv: key[3], sd: key[4], cls: '000000' };
    case 'className':
      return { v: 'fffe', d: 'fffe', sv: '0000', sd: '0000', cls: `${key[1]}${key[2] ?? '00'}${key[3] ?? '00'}` };
  }
}

/**
 * A dump in `lspci -x` form that lspci -F reads back (pciutils lib/dump.c): a slot line, then the first 64 bytes
 * of config space. Slots count up, so lspci lists the devices in probe order.
 */
function dump(probes: Probe[]): string {
  const le = (id: string) => `${id.slice(2)} ${id.slice(0, 2)}`;
  const zeros = (n: number) => Array(n).fill('00').join(' ');
  return probes
    .map(({ v, d, sv, sd, cls }, i) => {
      const hex = (n: number, w: number) => n.toString(16).padStart(w, '0');
      const slot = `${hex(i >> 13, 4)}:${hex((i >> 5) & 0xff, 2)}:${hex(i & 0x1f, 2)}.0`;
      const row0 = `${le(v)} ${le(d)} 00 00 00 00 01 ${cls.slice(4)} ${cls.slice(2, 4)} ${cls.slice(0, 2)} 00 00 00 00`;
      return `${slot} probe\n00: ${row0}\n10: ${zeros(16)}\n20: ${zeros(12)} ${le(sv)} ${le(sd)}\n30: ${zeros(16)}\n`;
    })
    .join('\n');
}

/** lspci with our ids file and hwdb off, so every name comes from the file. */
function runLspci(ids: string, args: string[]) {
  return spawnSync(lspci, ['-i', ids, '-O', 'hwdb.disable=1', ...args], { encoding: 'utf8', maxBuffer: 1 << 28 });
}

/** `lspci -vmm` records as tag -> value. */
function records(out: string): Map<string, string>[] {
  return out
    .split('\n\n')
    .filter((r) => r.trim() !== '')
    .map((r) => new Map(r.split('\n').map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':\t') + 2)])));
}

// pci_lookup_name() writes into 128-byte buffers and ends a longer result with "...".
function clip(s: string): string {
  const bytes = Buffer.from(s);
  return bytes.length < 128 ? s : Buffer.concat([bytes.subarray(0, 124), Buffer.from('...')]).toString();
}

/**
 * What `lspci -vmm -nn` prints for a probe, given our names: pciutils' formats (lib/names.c format_name, MIXED
 * mode) and its fallbacks, which PciNames leaves to its callers.
 */
function lspciView(l: Lookups, parsed: PciIdsDatabase, p: Probe): Record<string, string> {
  const named = (name: string | null, id: string, unknown: string) => clip(`${name ?? unknown} [${id}]`);
  const [c, s] = [p.cls.slice(0, 2), p.cls.slice(2, 4)];
  const view: Record<string, string> = {
    Class: named(l.className(c, s) ?? l.className(c), c + s, 'Class'),
    Vendor: named(l.vendor(p.v), p.v, 'Vendor'),
    Device: named(l.device(p.v, p.d), p.d, 'Device'),
  };
  if (p.sv !== '0000' && p.sv !== 'ffff') {
    // pciutils skips the device's own subsystem table for a vendor or device id of 0000; PciNames does not.
    const quirk = p.v === '0000' || p.d === '0000';
    const sub = quirk
      ? (parsed.genericSubsystems.get(p.sv)?.get(p.sd) ?? (p.v === p.sv && p.d === p.sd ? l.device(p.v, p.d) : null))
      : l.subsystem(p.v, p.d, p.sv, p.sd);
    view.SVendor = named(l.vendor(p.sv), p.sv, 'Unknown vendor');
    view.SDevice = named(sub, p.sd, 'Device');
  }
  return view;
}

/** The tags lspciView() predicts, from lspci's own records. */
function pick(record: Map<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const tag of ['Class', 'Vendor', 'Device', 'SVendor', 'SDevice']) {
    if (record.has(tag)) out[tag] = record.get(tag)!;
  }
  return out;
}

/** lspci -vmm -nn on a dump of `probes`, against lspciView() with our lazy names, one entry per mismatch. */
function compareWithLspci(idsText: string, probes: Probe[], name: string): string[] {
  const ids = join(work, `${name}.ids`);
  const dumpFile = join(work, `${name}.dump`);
  writeFileSync(ids, idsText);
  writeFileSync(dumpFile, dump(probes));
  const run = runLspci(ids, ['-F', dumpFile, '-vmm', '-nn']);
  expect(run.status, run.stderr).toBe(0);
  const theirs = records(run.stdout).map(pick);
  expect(theirs.length).toBe(probes.length);
  const parsed = parsePciIds(idsText);
  const lazy = PciNames.fromText(idsText);
  const out: string[] = [];
  probes.forEach((p, i) => {
    const ours = lspciView(lazy, parsed, p);
    if (JSON.stringify(ours) === JSON.stringify(theirs[i])) return;
    out.push(`${JSON.stringify(p)}: ours ${JSON.stringify(ours)}, lspci ${JSON.stringify(theirs[i])}`);
  });
  return out;
}

/** Prog-if names from `lspci -v -nn` ("(prog-if 00 [VGA controller])"), against ours. */
function compareProgIfs(idsText: string, classes: string[], name: string): string[] {
  const ids = join(work, `${name}.ids`);
  const dumpFile = join(work, `${name}.dump`);
  writeFileSync(ids, idsText);
  writeFileSync(dumpFile, dump(classes.map((cls) => ({ v: 'fffe', d: 'fffe', sv: '0000', sd: '0000', cls }))));
  const run = runLspci(ids, ['-F', dumpFile, '-v', '-nn']);
  expect(run.status, run.stderr).toBe(0);
  const firstLines = run.stdout.split('\n\n').filter((r) => r.trim() !== '').map((r) => r.split('\n')[0]!);
  expect(firstLines.length).toBe(classes.length);
  const lazy = PciNames.fromText(idsText);
  const out: string[] = [];
  classes.forEach((cls, i) => {
    const m = /\(prog-if ([0-9a-f]{2})(?: \[(.*)\])?\)$/.exec(firstLines[i]!);
    const theirs = m ? (m[2] ?? null) : null;
    const ours = lazy.className(cls.slice(0, 2), cls.slice(2, 4), cls.slice(4));
    if (ours !== theirs) out.push(`${cls}: ours ${JSON.stringify(ours)}, lspci ${JSON.stringify(theirs)}`);
  });
  return out;
}

describe.skipIf(!lspci)('names equal those of lspci', () => {
  it('for every vendor, device and subsystem entry, fallbacks and unknown ids', () => {
    const probes = [...keysOf(db)].filter(([kind]) => kind !== 'className').map(probeOf);
    let n = 0;
    for (const [v, vendor] of db.vendors) {
      for (const d of vendor.devices.keys()) {
        if (n++ % 7 !== 0) continue;
        probes.push({ v, d, sv: v, sd: d, cls: '000000' }); // subsystem = device: pciutils' last fallback
        probes.push({ v, d, sv: v, sd: 'fffd', cls: '000000' }); // an unlisted subsystem
      }
    }
    probes.push({ v: '0002', d: '0001', sv: '0003', sd: '0004', cls: '000000' }); // nothing known
    probes.push({ v: '1de0', d: '0000', sv: '1de0', sd: 'c005', cls: '000000' }); // pciutils' 0000 quirk
    expect(probes.length).toBeGreaterThan(40_000);
    expect(compareWithLspci(text, probes, 'shipped')).toEqual([]);
  });

  it('for every class, subclass and prog-if, and unknown ones', () => {
    const classes: string[] = [];
    for (const [c, cls] of db.classes) {
      classes.push(`${c}7f00`);
      for (const [s, sub] of cls.subclasses) {
        classes.push(`${c}${s}00`, `${c}${s}ee`);
        for (const p of sub.progIfs.keys()) classes.push(`${c}${s}${p}`);
      }
    }
    classes.push('7e0000', '7e7e7e'); // no such class
    const probes = classes.map((cls) => ({ v: 'fffe', d: 'fffe', sv: '0000', sd: '0000', cls }));
    expect(compareWithLspci(text, probes, 'classes')).toEqual([]);
    expect(compareProgIfs(text, classes, 'progifs')).toEqual([]);
  });

  it.skipIf(!hasPci)("for this machine's devices", () => {
    // lspci reads the real bus here; the ids come from its own output (the last [....] of each value).
    const run = runLspci(file, ['-vmm', '-nn', '-D']);
    expect(run.status, run.stderr).toBe(0);
    const theirs = records(run.stdout);
    expect(theirs.length).toBe(readdirSync('/sys/bus/pci/devices').length);
    const id = (value: string | undefined) => (value === undefined ? '0000' : /\[([0-9a-f]+)\]$/.exec(value)![1]!);
    for (const record of theirs) {
      const probe: Probe = {
        v: id(record.get('Vendor')),
        d: id(record.get('Device')),
        sv: id(record.get('SVendor')),
        sd: id(record.get('SDevice')),
        cls: `${id(record.get('Class'))}${record.get('ProgIf') ?? '00'}`,
      };
      expect(lspciView(names, db, probe), record.get('Slot')).toEqual(pick(record));
    }
  });

  it.each(damages)('for a damaged file: $name', (damage) => {
    const ids = join(work, 'damaged.ids');
    writeFileSync(ids, damage.text);
    const keys = damage.answers.map(([key]) => key);
    if (damage.lspci !== null) {
      // pciutils stops at its first error; ours is the same line.
      const run = runLspci(ids, ['-F', join(work, 'one.dump'), '-vmm']);
      expect(run.status).not.toBe(0);
      expect(run.stderr).toContain(`${damage.lspci} at ${ids}, line ${damage.issues[0]!.line}\n`);
      return;
    }
    const differs = new Map((damage.pciutilsDiffers ?? []).map(([key, name]) => [key.join(' '), name]));
    const plain = keys.filter((key) => key[0] !== 'className' && !differs.has(key.join(' ')));
    expect(compareWithLspci(damage.text, plain.map(probeOf), 'damaged')).toEqual([]);
    for (const key of keys.filter((k) => k[0] === 'className')) {
      const cls = probeOf(key).cls;
      const lspciSays = compareProgIfs(damage.text, [cls], 'damaged-progif');
      const ours = JSON.stringify(ask(PciNames.fromText(damage.text), key));
      const theirs = JSON.stringify(differs.get(key.join(' ')));
      const expected = differs.has(key.join(' ')) ? [`${cls}: ours ${ours}, lspci ${theirs}`] : [];
      expect(lspciSays).toEqual(expected);
    }
  });
});

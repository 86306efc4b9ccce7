// usb.ids: the full parser and the lazy lookups on the shipped file and on damaged copies of it, checked against
// each other. There is no lsusb to compare with: lsusb names devices from udev's hwdb, and only on a USB bus.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { UsbNames, parseUsbIds } from '../../src/ids/usb-ids.ts';
import type { IdsIssue, UsbIdsDatabase } from '../../src/ids/usb-ids.ts';
import { repoRoot } from '../_support/memfs.ts';

const file = join(repoRoot, 'data', 'usb.ids');
const text = readFileSync(file, 'utf8');
const db = parseUsbIds(text, file);
const names = UsbNames.fromText(text);
const lines = text.split('\n');

type Key = ['vendor', string] | ['product', string, string] | ['className', string, string?, string?];

interface Lookups {
  vendor(v: string): string | null;
  product(v: string, p: string): string | null;
  className(c: string, s?: string, p?: string): string | null;
}

/** What UsbNames must answer, read off the parsed maps. */
function fromDatabase(parsed: UsbIdsDatabase): Lookups {
  return {
    vendor: (v) => parsed.vendors.get(v)?.name ?? null,
    product: (v, p) => parsed.vendors.get(v)?.products.get(p) ?? null,
    className: (c, s, p) => {
      const cls = parsed.classes.get(c);
      if (s === undefined) return p === undefined ? (cls?.name ?? null) : null;
      const sub = cls?.subclasses.get(s);
      return p === undefined ? (sub?.name ?? null) : (sub?.protocols.get(p) ?? null);
    },
  };
}

function ask(l: Lookups, key: Key): string | null {
  switch (key[0]) {
    case 'vendor':
      return l.vendor(key[1]);
    case 'product':
      return l.product(key[1], key[2]);
    case 'className':
      return l.className(key[1], key[2], key[3]);
  }
}

function* keysOf(parsed: UsbIdsDatabase, every = 1): Generator<Key> {
  let n = 0;
  for (const [v, vendor] of parsed.vendors) {
    yield ['vendor', v];
    for (const p of vendor.products.keys()) if (n++ % every === 0) yield ['product', v, p];
  }
  for (const [c, cls] of parsed.classes) {
    yield ['className', c];
    for (const [s, sub] of cls.subclasses) {
      yield ['className', c, s];
      for (const p of sub.protocols.keys()) yield ['className', c, s, p];
    }
  }
}

/** The key with lower-case ids, as the parsed maps hold them. */
const lower = (key: Key) => key.map((k, i) => (i === 0 ? k : k?.toLowerCase())) as Key;

function disagreements(source: string, extra: Key[] = [], every = 1): string[] {
  const parsed = parseUsbIds(source);
  const full = fromDatabase(parsed);
  const lazy = UsbNames.fromText(source);
  const out: string[] = [];
  for (const key of [...keysOf(parsed, every), ...extra]) {
    const want = ask(full, lower(key));
    const got = ask(lazy, key);
    if (got !== want) out.push(`${key.join(' ')}: lazy ${JSON.stringify(got)}, full ${JSON.stringify(want)}`);
  }
  return out;
}

function flatten(parsed: UsbIdsDatabase): string[] {
  const out: string[] = [];
  for (const [v, vendor] of parsed.vendors) {
    out.push(`${v}  ${vendor.name}`);
    for (const [p, name] of vendor.products) out.push(`${v}:${p}  ${name}`);
  }
  for (const [c, cls] of parsed.classes) {
    out.push(`C ${c}  ${cls.name}`);
    for (const [s, sub] of cls.subclasses) {
      out.push(`C ${c}${s}  ${sub.name}`);
      for (const [p, name] of sub.protocols) out.push(`C ${c}${s}${p}  ${name}`);
    }
  }
  return out;
}

function lineNo(line: string): number {
  const at = lines.indexOf(line);
  expect(at, `line ${JSON.stringify(line)}`).toBeGreaterThanOrEqual(0);
  expect(lines.indexOf(line, at + 1), `line ${JSON.stringify(line)} is unique`).toBe(-1);
  return at + 1;
}

/** The shipped text with lines spliced in at (before) line `at`, replacing `remove` lines. */
function splice(at: number, remove: number, ...add: string[]): string {
  return edit([at, remove, ...add]);
}

/** Several splices, each at a line number of the shipped file. */
function edit(...changes: [at: number, remove: number, ...add: string[]][]): string {
  const copy = [...lines];
  for (const [at, remove, ...add] of changes.sort((a, b) => b[0] - a[0])) copy.splice(at - 1, remove, ...add);
  return copy.join('\n');
}

const brief = (issues: IdsIssue[]) => issues.map(({ line, code, skipped }) => ({ line, code, skipped }));

describe('parseUsbIds on the shipped usb.ids', () => {
  it('has the version and sha256 that data/README.md states', () => {
    const readme = readFileSync(join(repoRoot, 'data', 'README.md'), 'utf8');
    const row = readme.split('\n').find((l) => l.startsWith('| `usb.ids` |'));
    expect(row).toContain(`Version: ${db.version}`);
    expect(row).toContain(createHash('sha256').update(readFileSync(file)).digest('hex'));
  });

  it('reads it without issues, with the counts of a plain line count', () => {
    expect(db.issues).toEqual([]);
    // Sections in file order: vendors, then C, then the others; each section's lines are counted by shape.
    const classAt = lines.findIndex((l) => l.startsWith('C '));
    const othersAt = lines.findIndex((l, i) => i > classAt && /^[A-Z]+ /.test(l) && !l.startsWith('C '));
    const count = (re: RegExp, from: number, to: number) => lines.slice(from, to).filter((l) => re.test(l)).length;
    let products = 0;
    for (const vendor of db.vendors.values()) products += vendor.products.size;
    let subclasses = 0;
    let protocols = 0;
    for (const cls of db.classes.values()) {
      subclasses += cls.subclasses.size;
      for (const sub of cls.subclasses.values()) protocols += sub.protocols.size;
    }
    expect(db.vendors.size).toBe(count(/^[0-9a-f]{4}  \S/, 0, classAt));
    // One product has three blanks after its id (10ad under 0ccd).
    expect(products).toBe(count(/^\t[0-9a-f]{4}[ \t]+\S/, 0, classAt));
    expect(db.classes.size).toBe(count(/^C [0-9a-f]{2}  \S/, classAt, othersAt));
    expect(subclasses).toBe(count(/^\t[0-9a-f]{2}  \S/, classAt, othersAt));
    expect(protocols).toBe(count(/^\t\t[0-9a-f]{2}  \S/, classAt, othersAt));
    // Every line after the classes belongs to a skipped section, counted under the keyword above it.
    const others = new Map<string, number>();
    let keyword = '';
    for (const l of lines.slice(othersAt)) {
      if (/^[A-Z]+ /.test(l)) keyword = l.slice(0, l.indexOf(' '));
      else if (!/^\t+\S/.test(l) || l.trimStart().startsWith('#')) continue;
      others.set(keyword, (others.get(keyword) ?? 0) + 1);
    }
    expect(db.otherSections).toEqual(others);
    // The numbers data/README.md gives for this version.
    expect([db.vendors.size, products, db.classes.size, subclasses, protocols]).toEqual([3427, 20537, 26, 48, 67]);
    expect(Object.fromEntries(db.otherSections)).toEqual({
      AT: 56,
      HID: 3,
      R: 27,
      BIAS: 5,
      PHY: 40,
      HUT: 1169,
      L: 162,
      HCC: 36,
      VT: 12,
    });
  });

  const entries: [what: string, key: Key, name: string | null][] = [
    ['a vendor', ['vendor', '1d6b'], 'Linux Foundation'],
    ['a product', ['product', '1d6b', '0002'], '2.0 root hub'],
    ['a product of a large vendor', ['product', '046d', 'c52b'], 'Unifying Receiver'],
    ['product 7778 of vendor 0001, ending in ]', ['product', '0001', '7778'], 'Counterfeit flash drive [Kingston]'],
    ['product 7778 of vendor 1209', ['product', '1209', '7778'], 'circuitvalley IO Board V3 Bootloader'],
    ['a product name beyond ASCII', ['product', '091e', '2353'], 'Nüvi 205T'],
    ['a multiplication sign', ['product', '04ca', '705a'], 'HD Webcam (960×540)'],
    ['the last vendor', ['vendor', 'ffee'], 'FNK Tech'],
    ['the last vendor, its one product', ['product', 'ffee', '0100'], 'Card Reader Controller RTS5101/RTS5111/RTS5116'],
    ['a class', ['className', '09'], 'Hub'],
    ['a class named in parentheses', ['className', '00'], '(Defined at Interface level)'],
    ['a subclass', ['className', 'e0', '01'], 'Radio Frequency'],
    ['a protocol', ['className', 'e0', '01', '01'], 'Bluetooth'],
    ['an AT (audio terminal) id is no vendor', ['vendor', '0100'], null],
    ['a HUT usage is no product of the last vendor', ['product', 'ffee', '0001'], null],
    ['an L (language) id is no vendor', ['vendor', '0005'], null],
    ['an unknown vendor', ['vendor', 'fff0'], null],
    ['an unknown product', ['product', '1d6b', '9999'], null],
    ['an unknown protocol', ['className', 'e0', '01', '7f'], null],
    ['a protocol without a subclass', ['className', 'e0', undefined, '01'], null],
    ['upper-case ids', ['product', '046D', 'C52B'], 'Unifying Receiver'],
    ['an id with 0x', ['vendor', '0x1d6b'], null],
  ];

  it.each(entries)('%s: %j -> %j', (_what, key, name) => {
    expect(ask(names, key)).toBe(name);
    expect(ask(fromDatabase(db), lower(key))).toBe(name);
  });

  it('gives the lazy lookups the answers of the full parser for every entry', () => {
    const started = performance.now();
    expect(disagreements(text)).toEqual([]);
    expect(performance.now() - started).toBeLessThan(20_000);
  });

  it('loads data/usb.ids by default, and reports a file it cannot read', async () => {
    const shipped = await UsbNames.load();
    const got = [shipped.issues, shipped.version, shipped.product('1d6b', '0003')];
    expect(got).toEqual([[], db.version, '3.0 root hub']);
    const missing = await UsbNames.load('/nonexistent/usb.ids');
    expect(missing.issues.map((i) => [i.code, i.message])).toEqual([
      ['unreadable', 'cannot read /nonexistent/usb.ids: ENOENT'],
    ]);
    const lookups = [missing.vendor('1d6b'), missing.product('1d6b', '0002'), missing.className('09')];
    expect(lookups).toEqual([null, null, null]);
  });
});

// ---- damaged copies of the shipped file ---------------------------------------------------------------------

const logitech = lineNo('046d  Logitech, Inc.');
const unifying = lineNo('\tc52b  Unifying Receiver');
const fnk = lineNo('ffee  FNK Tech');
const fnkReader = lineNo('\t0100  Card Reader Controller RTS5101/RTS5111/RTS5116');
const wireless = lineNo('C e0  Wireless');
const radio = lineNo('\t01  Radio Frequency');
const hutKeyboard = lineNo('HUT 07  Keyboard');
const firstVendor = lineNo("0001  Fry's Electronics");
const logitechProducts = db.vendors.get('046d')!.products.size;

interface Damage {
  name: string;
  text: string;
  issues: { line: number; code: IdsIssue['code']; skipped: number }[];
  answers: [Key, string | null][];
  unchanged?: boolean;
}

const damages: Damage[] = [
  {
    name: 'trailing blanks after names',
    text: edit([logitech, 1, '046d  Logitech, Inc.  '], [unifying, 1, '\tc52b  Unifying Receiver \t ']),
    issues: [],
    answers: [
      [['product', '046d', 'c52b'], 'Unifying Receiver'],
      [['vendor', '046d'], 'Logitech, Inc.'],
    ],
    unchanged: true,
  },
  {
    name: 'a product id that is not hex',
    text: splice(unifying, 1, '\tc52x  Unifying Receiver'),
    issues: [{ line: unifying, code: 'bad_id', skipped: 0 }],
    answers: [
      [['product', '046d', 'c52b'], null],
      [['product', '046d', 'c52d'], 'R700 Remote Presenter receiver'],
    ],
  },
  {
    name: 'a vendor id that is not hex',
    text: splice(logitech, 1, '046x  Logitech, Inc.'),
    issues: [{ line: logitech, code: 'bad_id', skipped: logitechProducts }],
    answers: [
      [['vendor', '046d'], null],
      [['product', '046d', 'c52b'], null],
    ],
  },
  {
    name: 'a duplicate vendor',
    text: splice(fnk, 0, '046d  Logitech again', '\tc52b  Not the receiver', '\t9999  A new product'),
    issues: [{ line: fnk, code: 'duplicate', skipped: 2 }],
    answers: [
      [['vendor', '046d'], 'Logitech, Inc.'],
      [['product', '046d', 'c52b'], 'Unifying Receiver'],
      [['product', '046d', '9999'], null],
      [['vendor', 'ffee'], 'FNK Tech'],
    ],
  },
  {
    name: 'a duplicate product',
    text: splice(unifying + 1, 0, '\tc52b  Second receiver'),
    issues: [{ line: unifying + 1, code: 'duplicate', skipped: 0 }],
    answers: [[['product', '046d', 'c52b'], 'Unifying Receiver']],
    unchanged: true,
  },
  {
    name: 'an unknown section with product-like children after the last vendor',
    text: splice(fnkReader + 1, 0, 'ZZ 0001  A future table', '\t0002  its entry', '\t\t0003  sub', '\t\t\t4  no'),
    issues: [],
    answers: [
      [['product', 'ffee', '0002'], null],
      [['product', 'ffee', '0100'], 'Card Reader Controller RTS5101/RTS5111/RTS5116'],
      [['className', '00'], '(Defined at Interface level)'],
    ],
    unchanged: true,
  },
  {
    name: 'three TABs in a vendor, and in a skipped section',
    text: edit([hutKeyboard + 1, 0, '\t\t\t0001  deep'], [unifying + 1, 0, '\t\t\tc52b  deep']),
    issues: [{ line: unifying + 1, code: 'too_deep', skipped: 0 }],
    answers: [[['product', '046d', 'c52b'], 'Unifying Receiver']],
    unchanged: true,
  },
  {
    name: 'an interface line under a product (documented, never used, ignored)',
    text: splice(unifying + 1, 0, '\t\t00  Receiver interface'),
    issues: [],
    answers: [[['product', '046d', 'c52b'], 'Unifying Receiver']],
    unchanged: true,
  },
  {
    name: 'a protocol right under its class',
    text: splice(wireless + 1, 0, '\t\t42  no subclass'),
    issues: [{ line: wireless + 1, code: 'orphan', skipped: 0 }],
    answers: [[['className', 'e0', '01', '01'], 'Bluetooth']],
    unchanged: true,
  },
  {
    name: 'a subclass id that is not hex',
    text: splice(radio, 1, '\t0x  Radio Frequency'),
    issues: [{ line: radio, code: 'bad_id', skipped: 3 }],
    answers: [
      [['className', 'e0', '01'], null],
      [['className', 'e0', '01', '01'], null],
      [['className', 'e0', '02'], 'Wireless USB Wire Adapter'],
    ],
  },
  {
    name: 'a product before any vendor',
    text: splice(firstVendor, 0, '\t0001  lost'),
    issues: [{ line: firstVendor, code: 'orphan', skipped: 0 }],
    answers: [[['product', '0001', '0001'], null]],
    unchanged: true,
  },
  {
    name: 'a vendor of upper-case hex that reads like a keyword',
    text: splice(fnk, 0, 'FACE  Upper-case vendor', '\tBEEF  Upper-case product'),
    issues: [],
    answers: [
      [['vendor', 'face'], 'Upper-case vendor'],
      [['product', 'FACE', 'beef'], 'Upper-case product'],
    ],
  },
  {
    name: 'a CR inside a line (the line ends there)',
    text: splice(unifying, 1, '\tc52b  Unifying\rReceiver'),
    issues: [],
    answers: [[['product', '046d', 'c52b'], 'Unifying']],
  },
];

describe('parseUsbIds and UsbNames on damaged copies of usb.ids', () => {
  it.each(damages)('$name', (damage) => {
    const parsed = parseUsbIds(damage.text);
    expect(brief(parsed.issues)).toEqual(damage.issues);
    const lazy = UsbNames.fromText(damage.text);
    for (const [key, name] of damage.answers) expect(ask(lazy, key), key.join(' ')).toBe(name);
    if (damage.unchanged) expect(flatten(parsed)).toEqual(flatten(db));
    expect(disagreements(damage.text, damage.answers.map(([key]) => key), 20)).toEqual([]);
  });

  it('reads CRLF line ends as LF', () => {
    const crlf = text.replaceAll('\n', '\r\n');
    const parsed = parseUsbIds(crlf);
    expect(parsed.issues).toEqual([]);
    expect(flatten(parsed)).toEqual(flatten(db));
    expect(parsed.otherSections).toEqual(db.otherSections);
    expect(disagreements(crlf, [], 10)).toEqual([]);
  });

  it.each([
    ['an empty file', ''],
    ['only a newline', '\n'],
    ['only comments and blanks', '# usb.ids\n\n  \n# Version: 1\n'],
  ])('reads %s as no entries and no issues', (_what, source) => {
    const parsed = parseUsbIds(source);
    expect([parsed.vendors.size, parsed.classes.size, parsed.otherSections.size, parsed.issues]).toEqual([0, 0, 0, []]);
    const lazy = UsbNames.fromText(source);
    expect([lazy.vendor('1d6b'), lazy.product('1d6b', '0002'), lazy.className('09')]).toEqual([null, null, null]);
  });

  const truncations: [what: string, line: string, keep: number, issues: IdsIssue['code'][], added: string[]][] = [
    ['mid vendor name', '046d  Logitech, Inc.', 9, [], ['046d  Log']],
    ['right after a vendor id', '046d  Logitech, Inc.', 4, ['bad_id'], []],
    ['after a vendor id and blanks (trimmed away)', '046d  Logitech, Inc.', 6, ['bad_id'], []],
    ['mid product id', '\tc52b  Unifying Receiver', 3, ['bad_id'], []],
    ['mid product name, after a blank (trimmed)', '\tc52b  Unifying Receiver', 16, [], ['046d:c52b  Unifying']],
    ['in the C section, after the class id', 'C e0  Wireless', 3, ['bad_id'], []],
    ['in the C section, mid protocol name', '\t\t01  Bluetooth', 8, [], ['C e00101  Bl']],
    ['in a skipped section', 'HUT 07  Keyboard', 5, [], []],
  ];

  it.each(truncations)('reads a file cut %s', (_what, line, keep, codes, added) => {
    const at = text.indexOf(`\n${line}\n`) + 1;
    const source = text.slice(0, at + keep);
    const n = text.slice(0, at).split('\n').length;
    const parsed = parseUsbIds(source);
    expect(brief(parsed.issues)).toEqual(codes.map((code) => ({ line: n, code, skipped: 0 })));
    const above = flatten(parseUsbIds(text.slice(0, at)));
    const got = flatten(parsed);
    const known = new Set(above);
    expect(got.filter((entry) => !known.has(entry))).toEqual(added);
    expect(got.length).toBe(above.length + added.length);
    expect(disagreements(source, [], 20)).toEqual([]);
  });
});

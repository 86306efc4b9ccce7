// ByteText, the lazy lookups' view of an ids file's bytes (no whole-file string): its searches against the same
// regexes run over the whole file as one string (what the lookups did before), on the shipped pci.ids and usb.ids
// and on copies of them changed where the piecewise search could go wrong (lines longer than its largest piece,
// CRLF line ends, upper-case ids); and the lazy lookups of every PCI and USB device of every fixture against the
// full parser.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ByteText } from '../../src/ids/_lines.ts';
import { PciNames, parsePciIds } from '../../src/ids/pci-ids.ts';
import { UsbNames, parseUsbIds } from '../../src/ids/usb-ids.ts';
import type { HardwareProfile } from '../../src/types.ts';
import { fixtureNames, fixturesDir, repoRoot } from '../_support/memfs.ts';

const pciBytes = readFileSync(join(repoRoot, 'data', 'pci.ids'));
const usbBytes = readFileSync(join(repoRoot, 'data', 'usb.ids'));

// The shapes the lookups search for: the start of a block (_lines.ts TOP), at depth 0 and at depth 0 or 1, and
// entry heads at depth 1 and 2.
const TOP = '(?:[^\\t #\\r\\n]| [ \\t]*[^ \\t#\\r\\n])';
const patterns = [`\\n${TOP}`, `\\n\\t?${TOP}`, '\\n\\t[0-9a-f]{4}[ \\t]', '\\n\\t\\t[0-9a-f]{4}[ \\t]'];

/** What the lookups did before: the regex over the whole file as one string, positions in [from, to). */
function wholeString(bytes: Buffer, source: string, from: number, to: number): number[] {
  let text = strings.get(bytes);
  if (text === undefined) strings.set(bytes, (text = bytes.toString('latin1')));
  // Matches inside [from, to) only, as ByteText's are: the regex over that stretch.
  const part = from === 0 && to === text.length ? text : text.slice(from, to);
  return [...part.matchAll(new RegExp(source, 'gi'))].map((m) => from + m.index);
}
const strings = new WeakMap<Buffer, string>();

/** Real files, and copies of them with the lines the piecewise search must not get wrong. */
function variants(): Array<[string, Buffer]> {
  const out: Array<[string, Buffer]> = [];
  for (const [name, bytes] of [
    ['pci.ids', pciBytes],
    ['usb.ids', usbBytes],
  ] as const) {
    const text = bytes.toString('latin1');
    const lines = text.split('\n');
    out.push([name, bytes]);
    out.push([`${name} with CRLF line ends`, Buffer.from(lines.join('\r\n'), 'latin1')]);
    // Lines longer than the largest piece (64 KiB): blanks before a top-level name, a comment, a run of TABs, and
    // a piece that would start on a '\n' with no other one in it. Inserted a third and two thirds in.
    const long = [...lines];
    const third = Math.floor(lines.length / 3);
    long.splice(third, 0, `${' '.repeat(70_000)}x top-level after blanks`, `#${'c'.repeat(140_000)}`);
    long.splice(2 * third, 0, '\t'.repeat(300_000), `\t${' '.repeat(65_536)}`, '', `\t\t${'0'.repeat(100_000)} x`);
    out.push([`${name} with lines of 64-300 KiB`, Buffer.from(long.join('\n'), 'latin1')]);
    // Upper-case ids on every third vendor and every fifth entry below one.
    let n = 0;
    const upper = lines.map((line) => (/^\t{0,2}[0-9a-f]{4}[ \t]/.test(line) && n++ % (line.startsWith('\t') ? 5 : 3) === 0 ? line.replace(/[0-9a-f]{4}/, (id) => id.toUpperCase()) : line));
    out.push([`${name} with upper-case ids`, Buffer.from(upper.join('\n'), 'latin1')]);
  }
  return out;
}

describe('ByteText.matches: the regex over the whole file, copied a piece at a time', () => {
  it.each(variants())('%s: every pattern, over the whole file and over ranges', (_name, bytes) => {
    const text = new ByteText(bytes);
    // Ranges: the whole file, and 40 stretches of 1 B to 300 KiB starting at 40 places spread over it.
    const ranges: Array<[number, number]> = [[0, bytes.length]];
    for (let k = 0; k < 40; k++) {
      const from = Math.floor((bytes.length * k) / 40) + k;
      ranges.push([from, Math.min(bytes.length, from + 1 + ((k * 7919) % 300_000))]);
    }
    for (const source of patterns) {
      for (const [from, to] of ranges) {
        const ours = [...text.matches(new RegExp(source, 'gi'), from, to)];
        expect(ours, `${source} in [${from}, ${to})`).toEqual(wholeString(bytes, source, from, to));
      }
    }
  });

  it('a RegExp used elsewhere between two matches does not lose its place', () => {
    const re = new RegExp(patterns[0]!, 'g');
    const text = new ByteText(pciBytes);
    const ours: number[] = [];
    for (const at of text.matches(re, 0)) {
      ours.push(at);
      re.lastIndex = 0;
      re.exec('\nx');
    }
    expect(ours).toEqual(wholeString(pciBytes, patterns[0]!, 0, pciBytes.length));
  });
});

describe('ByteText.linesWith: the lines at a depth that start with an id, in any case', () => {
  it.each(variants())('%s: for every id at depths 0-2, as the regex `\\n\\t{depth}id` with the i flag', (_name, bytes) => {
    const text = new ByteText(bytes);
    const whole = bytes.toString('latin1');
    // Every id the file has at each depth (lower-cased, as the lookups ask), and a sample from a given position.
    const ids = new Map<number, Set<string>>([0, 1, 2].map((depth) => [depth, new Set<string>()]));
    for (const m of whole.matchAll(/\n(\t{0,2})([0-9a-fA-F]{4})[ \t]/g)) ids.get(m[1]!.length)!.add(m[2]!.toLowerCase());
    let checked = 0;
    for (const [depth, set] of ids) {
      [...set].forEach((id, i) => {
        // All ids at depth 0 (vendors), a sample of the many below.
        if (depth > 0 && i % 97 !== 0) return;
        const from = i % 2 === 0 ? 0 : Math.floor(bytes.length / 2) + i;
        const source = `\\n${'\\t'.repeat(depth)}${id}`;
        expect([...text.linesWith(depth, id, from)], `${depth} ${id}`).toEqual(wholeString(bytes, source, from, bytes.length));
        checked++;
      });
    }
    expect(checked).toBeGreaterThan(1000);
  });
});

describe('lazy lookups of every device of every fixture, as the full parser gives them', () => {
  const profiles = fixtureNames().map((name) => {
    const profile = JSON.parse(readFileSync(join(fixturesDir, name, 'profile.json'), 'utf8')) as HardwareProfile;
    return [name, profile] as const;
  });

  it.each(variants().filter(([name]) => name.startsWith('pci.ids')))('%s: PCI vendor, device, subsystem, class names', (_name, bytes) => {
    const lazy = PciNames.fromText(bytes.toString('utf8'));
    const db = parsePciIds(bytes.toString('utf8'));
    let asked = 0;
    for (const [fixture, profile] of profiles) {
      for (const d of profile.pci) {
        const at = `${fixture} ${d.slot}`;
        if (d.vendor) expect(lazy.vendor(d.vendor), at).toBe(db.vendors.get(d.vendor)?.name ?? null);
        const device = d.vendor && d.device ? db.vendors.get(d.vendor)?.devices.get(d.device) : undefined;
        if (d.vendor && d.device) expect(lazy.device(d.vendor, d.device), at).toBe(device?.name ?? null);
        // The device's own subsystem entry; the generic S table and the fallbacks are compared in pci-ids.test.ts.
        const own = d.subvendor && d.subdevice ? device?.subsystems.get(`${d.subvendor} ${d.subdevice}`) : undefined;
        if (own !== undefined) expect(lazy.subsystem(d.vendor!, d.device!, d.subvendor!, d.subdevice!), at).toBe(own);
        const cls = d.class ? db.classes.get(d.class) : undefined;
        const sub = d.subclass ? cls?.subclasses.get(d.subclass) : undefined;
        if (d.class) expect(lazy.className(d.class), at).toBe(cls?.name ?? null);
        if (d.class && d.subclass) expect(lazy.className(d.class, d.subclass), at).toBe(sub?.name ?? null);
        if (d.class && d.subclass && d.progIf) expect(lazy.className(d.class, d.subclass, d.progIf), at).toBe(sub?.progIfs.get(d.progIf) ?? null);
        asked++;
      }
    }
    expect(asked).toBeGreaterThan(300);
  });

  it.each(variants().filter(([name]) => name.startsWith('usb.ids')))('%s: USB vendor, product, class names', (_name, bytes) => {
    const lazy = UsbNames.fromText(bytes.toString('utf8'));
    const db = parseUsbIds(bytes.toString('utf8'));
    let asked = 0;
    for (const [fixture, profile] of profiles) {
      for (const d of profile.usb) {
        const at = `${fixture} ${d.path}`;
        if (d.vendor) expect(lazy.vendor(d.vendor), at).toBe(db.vendors.get(d.vendor)?.name ?? null);
        if (d.vendor && d.product) expect(lazy.product(d.vendor, d.product), at).toBe(db.vendors.get(d.vendor)?.products.get(d.product) ?? null);
        for (const i of [d, ...d.interfaces]) {
          const cls = i.class ? db.classes.get(i.class) : undefined;
          const sub = i.subclass ? cls?.subclasses.get(i.subclass) : undefined;
          if (i.class) expect(lazy.className(i.class), at).toBe(cls?.name ?? null);
          if (i.class && i.subclass) expect(lazy.className(i.class, i.subclass), at).toBe(sub?.name ?? null);
          if (i.class && i.subclass && i.protocol) expect(lazy.className(i.class, i.subclass, i.protocol), at).toBe(sub?.protocols.get(i.protocol) ?? null);
        }
        asked++;
      }
    }
    expect(asked).toBeGreaterThan(30);
  });
});

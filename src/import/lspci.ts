// lspci output in its published forms: the default layout (-n, -nn, -v, -vv, -k, with or without -x hex dumps), the
// tag layout (-vmm, and the legacy -vm that names the slot "Device" too) and the positional -m/-mm layout. What each
// form leaves out follows from pciutils' lspci.c: "(rev XX)"/"-rXX"/"Rev:" is printed only for a non-zero revision,
// so its absence means 00; "(prog-if XX)" only with -v and only when non-zero or named, so without -v the prog-if
// (and with it the sysfs `class`) is unknown; "Subsystem:" is hidden for 0000 and ffff alike, and old lspci never
// shows it for bridges, so its absence leaves the subsystem unknown (a -x hex dump settles it).
// With -v and -vv (show_bases(), show_rom()) it also lists every BAR and ROM that is in use, with its address and
// [size=...], and the IOMMU group (the name of the device's iommu_group link): -vv numbers the regions ("Region 2:"),
// -v does not, and skips the unused ones, so only -vv tells which BAR a region is. A device whose verbose block has
// no region line has none in use.
import { addOnce, emptyParsed, isDriverName, normalizeSlot, toLines } from './_model.ts';
import type { ImportIssue, Parsed, PciRecord } from './_model.ts';
import {
  ROM_INDEX,
  UNUSED,
  barLine,
  hexAddress,
  isPowerOfTwo,
  knowsBars,
  legacyIde,
  resourceName,
  romLine,
} from './pci-resource.ts';

export type LspciLayout = 'plain' | 'tags' | 'machine' | 'tree';

const HEADER_RE = /^((?:[0-9a-fA-F]{4,8}:)?[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\.[0-7]) (.*)$/;
const TAG_SLOT_RE = /^(?:Slot|Device):\t(?:[0-9a-fA-F]{4,8}:)?[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\.[0-7]$/;
const HEXDUMP_RE = /^([0-9a-f]{2,3}):((?: [0-9a-f]{2}){1,16})$/;
// Lines only `lspci -v` prints under a device: their presence means prog-if was printed whenever non-zero.
const VERBOSE_RE = new RegExp(
  `^(?:${[
    ...['Flags', 'Control', 'Status', 'Latency', 'Interrupt', 'Region \\d', 'Memory at', 'I/O ports at'],
    ...['Capabilities', 'Physical Slot', 'IOMMU group', 'NUMA node', 'Bus: primary', 'Expansion ROM', 'I/O behind'],
    ...['Memory behind', 'Prefetchable memory behind', 'Secondary status', 'BridgeCtl'],
  ].join('|')})\\b`,
);

/** Which lspci layout the text is in, or null when it is not lspci output. */
export function detectLspci(lines: string[]): LspciLayout | null {
  let headers = 0;
  let positional = 0;
  let tags = 0;
  for (const line of lines.slice(0, 400)) {
    if (TAG_SLOT_RE.test(line)) tags++;
    const m = HEADER_RE.exec(line);
    if (m) {
      if (m[2]!.startsWith('"')) positional++;
      else headers++;
    }
    if (/^-\[[0-9a-f]{4}:[0-9a-f]{2}\]-/.test(line)) return 'tree';
  }
  if (tags > 0 && tags >= headers) return 'tags';
  if (positional > 0 && positional >= headers) return 'machine';
  return headers > 0 ? 'plain' : null;
}

export function parseLspci(text: string, file: string): Parsed {
  const lines = toLines(text);
  const layout = detectLspci(lines);
  if (layout === 'tags') return parseTags(lines, file);
  if (layout === 'machine') return parseMachine(lines, file);
  if (layout === 'tree') {
    const parsed = emptyParsed('lspci -t');
    parsed.notes.push(`${file}: lspci -t draws the bus tree only; nothing taken from it`);
    return parsed;
  }
  return parsePlain(lines, file);
}

interface PlainDevice {
  record: PciRecord;
  classPrefix: string | undefined;
  progIf: string | undefined;
  revision: string | undefined;
  subsystem: [string, string] | undefined;
  capSubsystem: [string, string] | undefined;
  driver: string | undefined;
  dump: Map<number, number>;
  /** Which verbose block the device has: -vv (Control:, numbered regions), -v (Flags:), or none. */
  verbosity: 'vv' | 'v' | undefined;
  /** Resource lines by index; null where the log shows a region it does not say enough about. */
  regions: Map<number, string | null>;
  /** Region lines of -v, which carry no BAR number. */
  unnumbered: number;
}

// show_bases(): "Region N: " only with -vv; "[virtual]" before "Memory at" in old pciutils, after the type in new.
const BAR_RE = new RegExp(
  '^(?:Region (\\d): )?(\\[virtual\\] )?' +
    '(?:Memory at (\\S+) \\((32-bit|64-bit|low-1M|type 3), (non-)?prefetchable\\)|I/O ports at (\\S+))' +
    '((?: \\[[^\\]]*\\])*)$',
);
const ROM_RE = /^(\[virtual\] )?Expansion ROM at (\S+)((?: \[[^\]]*\])*)$/;
const MEM_TYPE_BITS: Record<string, bigint> = { '32-bit': 0n, 'low-1M': 2n, '64-bit': 4n, 'type 3': 6n };
const GROUP_RE = /^(?:0|[1-9][0-9]{0,8})$/;

/** show_size(): "[size=N]" with K/M/G/T; old pciutils rounded down where new ones print exactly, so a suffixed
 * size is taken only when it is a power of two (as BAR sizes are), where both agree. */
function regionSize(tags: string[]): bigint | 'none' | 'inexact' {
  for (const tag of tags) {
    const m = /^size=(\d+)([KMGT]?)$/.exec(tag);
    if (!m) continue;
    const size = BigInt(m[1]!) * 1024n ** BigInt(' KMGT'.indexOf(m[2]! || ' '));
    return m[2] === '' || isPowerOfTwo(size) ? size : 'inexact';
  }
  return 'none';
}

/** One region or ROM line: its index (undefined for an unnumbered -v BAR) and its resource line or why not. */
function parseRegion(body: string): { index: number | undefined; line: string | null; why?: string } | null {
  const bar = BAR_RE.exec(body);
  const rom = bar ? null : ROM_RE.exec(body);
  if (!bar && !rom) {
    // A region line spoilt (stderr mixed into it, say): the region is there, what it is is not known.
    const loose = /^(?:Region (\d): )?(?:\[virtual\] )?(Memory at|I\/O ports at|Expansion ROM at) /.exec(body);
    if (!loose) return null;
    const index = loose[2] === 'Expansion ROM at' ? ROM_INDEX : loose[1] === undefined ? undefined : Number(loose[1]);
    return { index, line: null, why: 'not a region line as lspci prints it' };
  }
  const tags = [...(bar ? bar[7]! : rom![3]!).matchAll(/ \[([^\]]*)\]/g)].map((t) => t[1]!);
  const virtual = (bar ? bar[2] : rom![1]) !== undefined || tags.includes('virtual');
  const index = bar ? (bar[1] === undefined ? undefined : Number(bar[1])) : ROM_INDEX;
  const addressText = bar ? (bar[3] ?? bar[6]!) : rom![2]!;
  const address = hexAddress(addressText);
  const size = regionSize(tags);
  const io = bar !== null && bar[6] !== undefined;
  // No memory BAR is at 0x1f0 with 8 bytes: these are the legacy IDE ports, whichever way lspci showed them.
  if (bar !== null && index !== undefined && address !== null && (io || virtual)) {
    const legacy = legacyIde(index, address, typeof size === 'bigint' ? size : 0n);
    if (legacy !== null) return { index, line: legacy };
  }
  if (address === null) return { index, line: null, why: `address ${addressText} not shown` };
  if (size === 'none') return { index, line: null, why: 'no size shown' };
  if (size === 'inexact') return { index, line: null, why: 'size not exact' };
  if (rom) return { index, line: romLine(address, size, !tags.includes('disabled'), virtual) };
  const low = io ? 1n : MEM_TYPE_BITS[bar![4]!]! | (bar![5] === undefined ? 8n : 0n);
  return { index, line: barLine({ space: io ? 'io' : 'mem', low, start: address, size, virtual }) };
}

function parsePlain(lines: string[], file: string): Parsed {
  const issues: ImportIssue[] = [];
  const devices: PlainDevice[] = [];
  let current: PlainDevice | null = null;
  let verbose = false;
  let kernel = false;
  let numeric = false;
  let namesOnly = 0;
  let subsystemNamesOnly = 0;
  const regionNotes: string[] = [];
  // The device block's own lines have the smallest indent (a tab, or spaces in logs copied from a web page);
  // deeper ones belong to capabilities, whose SR-IOV "Region N:" lines are the virtual functions' BARs.
  let level = Infinity;
  for (const line of lines) {
    const indent = /^(\s+)\S/.exec(line);
    if (indent) level = Math.min(level, indent[1]!.length);
  }
  lines.forEach((line, index) => {
    const at = index + 1;
    if (line.trim() === '') return;
    const header = HEADER_RE.exec(line);
    if (header) {
      const slot = normalizeSlot(header[1]!)!;
      const parsed = parseHeaderRest(header[2]!);
      if (parsed.vendor === undefined) {
        // Names only: the device is not taken from this line, but its slot still carries the revision and the
        // driver, which join the ids another log (dmesg, a hex dump) gives for the same slot.
        namesOnly++;
        const message = `${header[1]}: no numeric [vendor:device] id (lspci without -n/-nn); skipped`;
        issues.push({ file, line: at, message });
      }
      if (parsed.progIf !== undefined) verbose = true;
      if (parsed.numeric) numeric = true;
      current = {
        record: { slot, vendor: parsed.vendor, device: parsed.device, line: at },
        classPrefix: parsed.classPrefix,
        progIf: parsed.progIf,
        revision: parsed.revision,
        subsystem: undefined,
        capSubsystem: undefined,
        driver: undefined,
        dump: new Map(),
        verbosity: undefined,
        regions: new Map(),
        unnumbered: 0,
      };
      devices.push(current);
      return;
    }
    const dump = HEXDUMP_RE.exec(line);
    if (dump && current !== null) {
      const base = parseInt(dump[1]!, 16);
      dump[2]!
        .trim()
        .split(' ')
        .forEach((byte, i) => current!.dump.set(base + i, parseInt(byte, 16)));
      return;
    }
    if (/^\s/.test(line)) {
      if (current === null) {
        issues.push({ file, line: at, message: 'indented line before any device; skipped' });
        return;
      }
      const body = line.trim();
      if (VERBOSE_RE.test(body)) verbose = true;
      const top = /^(\s*)/.exec(line)![1]!.length === level;
      let m: RegExpExecArray | null;
      const region = top ? parseRegion(body) : null;
      if (region) {
        if (region.index === undefined) current.unnumbered++;
        else {
          if (region.index !== ROM_INDEX) current.verbosity = 'vv';
          current.regions.set(region.index, region.line);
          if (region.line === null) {
            const what = `${current.record.slot} ${resourceName(region.index)}`;
            regionNotes.push(`${file}:${at}: ${what}: ${region.why}; left unused`);
          }
        }
      } else if (top && /^Control: /.test(body)) current.verbosity = 'vv';
      else if (top && (m = /^Flags: (.*)$/.exec(body))) {
        current.verbosity ??= 'v';
        const group = /, IOMMU group (\S+)$/.exec(m[1]!);
        if (group) iommuGroup(current.record, group[1]!, file, at, issues);
      } else if (top && (m = /^IOMMU group: (\S+)$/.exec(body))) {
        iommuGroup(current.record, m[1]!, file, at, issues);
      } else if ((m = /^Subsystem: (.*)$/.exec(body))) {
        const ids = idsOf(m[1]!);
        if (ids) current.subsystem = ids;
        else subsystemNamesOnly++;
      } else if ((m = /^Capabilities: \[[0-9a-f]+\] Subsystem: (.*)$/.exec(body))) {
        // Bridges carry their subsystem ids in the SSVID capability; the kernel reads them from there.
        const ids = idsOf(m[1]!);
        if (ids) current.capSubsystem = ids;
      } else if ((m = /^Kernel driver in use: (.+)$/.exec(body))) {
        kernel = true;
        // Old kernels registered names with spaces ("HDA Intel"); a name sysfs could not hold is not taken.
        if (isDriverName(m[1]!)) current.driver = m[1]!;
        else issues.push({ file, line: at, message: `driver name ${JSON.stringify(m[1])} not usable` });
      } else if (/^Kernel modules:/.test(body)) {
        kernel = true;
      }
      return;
    }
    issues.push({ file, line: at, message: 'not lspci output; skipped' });
  });

  const withIds = devices.filter((d) => d.record.vendor !== undefined).length;
  const flags = withIds === 0 ? '' : `${verbose ? 'v' : ''}${numeric ? 'n' : 'nn'}${kernel ? 'k' : ''}`;
  const parsed = emptyParsed(flags === '' ? 'lspci (no numeric ids)' : `lspci -${flags}`);
  parsed.issues = issues;
  parsed.pciDriversStated = kernel;
  for (const d of devices) {
    const r = d.record;
    r.revision = d.revision ?? '00';
    if (d.classPrefix !== undefined) {
      if (d.progIf !== undefined) r.class = d.classPrefix + d.progIf;
      else if (verbose) r.class = d.classPrefix + '00';
      else r.classPrefix = d.classPrefix;
    }
    const sub = d.subsystem ?? d.capSubsystem;
    if (sub) [r.subvendor, r.subdevice] = sub;
    if (kernel) r.driver = d.driver ?? null;
    applyDump(r, d.dump, file, parsed);
    const resources = deviceResources(d);
    if (resources !== undefined) r.resources = resources;
    parsed.pci.push(r);
  }
  parsed.notes.push(...regionNotes);
  const unnumbered = devices.filter((d) => d.unnumbered > 0).length;
  if (unnumbered > 0) {
    const what = `the BARs of ${unnumbered} devices stay unknown`;
    parsed.notes.push(`${file}: lspci -v does not number the regions (-vv does): ${what}`);
  }
  if (withIds > 0 && !verbose)
    parsed.notes.push(`${file}: lspci without -v prints no prog-if, so the sysfs class of its devices stays unknown`);
  if (subsystemNamesOnly > 0)
    parsed.notes.push(`${file}: ${subsystemNamesOnly} Subsystem lines without numeric ids (lspci without -nn)`);
  if (namesOnly > 0)
    parsed.notes.push(`${file}: ${namesOnly} devices without numeric ids; their revision and driver join others' ids`);
  return parsed;
}

function iommuGroup(r: PciRecord, group: string, file: string, line: number, issues: ImportIssue[]): void {
  if (GROUP_RE.test(group)) r.iommuGroup = group;
  else issues.push({ file, line, message: `IOMMU group ${JSON.stringify(group)} is not a group number` });
}

/**
 * The resource lines a verbose block states: every BAR and the ROM it does not list are unused. -v lists the BARs
 * in use without their numbers, so with any of them the BARs stay unknown (the ROM line is still known).
 */
function deviceResources(d: PlainDevice): Partial<Record<number, string>> | undefined {
  if (d.verbosity === undefined) return undefined;
  const resources: Partial<Record<number, string>> = {};
  const barsKnown = d.verbosity === 'vv' || d.unnumbered === 0;
  for (let i = 0; i <= ROM_INDEX; i++) if (barsKnown || i === ROM_INDEX) resources[i] = UNUSED;
  for (const [i, line] of d.regions) {
    if (line === null) delete resources[i];
    else resources[i] = line;
  }
  return resources;
}

interface HeaderFields {
  classPrefix?: string;
  vendor?: string;
  device?: string;
  revision: string | undefined;
  progIf: string | undefined;
  numeric: boolean;
}

/** The part of a header line after the slot; without numeric ids only the revision and prog-if. */
function parseHeaderRest(rest: string): HeaderFields {
  let text = rest;
  let progIf: string | undefined;
  let revision: string | undefined;
  // Printed in this order at the end of the line: " (rev XX)" then " (prog-if XX [name])".
  let m = /^(.*) \(prog-if ([0-9a-f]{2})(?: \[.*\])?\)$/.exec(text);
  if (m) [text, progIf] = [m[1]!, m[2]!];
  m = /^(.*) \(rev ([0-9a-f]{2})\)$/.exec(text);
  if (m) [text, revision] = [m[1]!, m[2]!];
  m = /^([0-9a-f]{4}): ([0-9a-f]{4}):([0-9a-f]{4})$/.exec(text);
  if (m) return { classPrefix: m[1]!, vendor: m[2]!, device: m[3]!, revision, progIf, numeric: true };
  // -nn: "Class name [cccc]: Vendor Device name [vvvv:dddd]". Names may themselves end in "]", so the ids are the
  // LAST bracket group, anchored at the end of the line.
  m = /^.*? \[([0-9a-f]{4})\]: .* \[([0-9a-f]{4}):([0-9a-f]{4})\]$/.exec(text);
  if (m) return { classPrefix: m[1]!, vendor: m[2]!, device: m[3]!, revision, progIf, numeric: false };
  return { revision, progIf, numeric: false };
}

/** "[vvvv:dddd]" at the end (-nn) or a bare "vvvv:dddd" (-n); null for names only. */
function idsOf(text: string): [string, string] | null {
  const m = /\[([0-9a-f]{4}):([0-9a-f]{4})\]$/.exec(text) ?? /^([0-9a-f]{4}):([0-9a-f]{4})$/.exec(text);
  return m ? [m[1]!, m[2]!] : null;
}

/** "[hhhh]" at the end (-nn) or bare "hhhh" (-n); null for names only. */
function idOf(text: string | undefined): string | null {
  if (text === undefined) return null;
  const m = /\[([0-9a-f]{4})\]$/.exec(text) ?? /^([0-9a-f]{4})$/.exec(text);
  return m ? m[1]! : null;
}

/**
 * Fills what the header left open from a config-space dump (lspci -x/-xxx), and checks the rest against it. The
 * dump is the raw header: the kernel takes vendor, device, revision and class from the same bytes, and the
 * subsystem from 0x2c (normal header), 0x40 (CardBus) or the SSVID capability (bridges; none means 0000).
 */
function applyDump(r: PciRecord, dump: Map<number, number>, file: string, parsed: Parsed): void {
  if (dump.size === 0) return;
  const byte = (at: number) => dump.get(at);
  const word = (at: number) => {
    const lo = byte(at);
    const hi = byte(at + 1);
    return lo === undefined || hi === undefined ? undefined : (hi << 8) | lo;
  };
  const h4 = (v: number | undefined) => (v === undefined ? undefined : v.toString(16).padStart(4, '0'));
  const h2 = (v: number | undefined) => (v === undefined ? undefined : v.toString(16).padStart(2, '0'));
  // All ones: the function did not answer config reads (powered down); the dump holds nothing.
  if (word(0) === 0xffff) {
    parsed.notes.push(`${file}:${r.line}: ${r.slot} hex dump reads all ones (device not answering); not used`);
    return;
  }
  const facts: Partial<Record<'vendor' | 'device' | 'revision' | 'class' | 'subvendor' | 'subdevice', string>> = {};
  facts.vendor = h4(word(0));
  facts.device = h4(word(2));
  facts.revision = h2(byte(8));
  const [pi, sc, bc] = [byte(9), byte(10), byte(11)];
  if (pi !== undefined && sc !== undefined && bc !== undefined) facts.class = h2(bc)! + h2(sc)! + h2(pi)!;
  const type = byte(14);
  if (type !== undefined) {
    const kind = type & 0x7f;
    const sub = kind === 0 ? 0x2c : kind === 2 ? 0x40 : kind === 1 ? ssvid(dump) : undefined;
    if (sub === 0) [facts.subvendor, facts.subdevice] = ['0000', '0000'];
    else if (sub !== undefined && word(sub) !== undefined && word(sub + 2) !== undefined)
      [facts.subvendor, facts.subdevice] = [h4(word(sub))!, h4(word(sub + 2))!];
  }
  for (const key of ['vendor', 'device', 'revision', 'class', 'subvendor', 'subdevice'] as const) {
    const value = facts[key];
    if (value === undefined) continue;
    const have = r[key];
    if (have === undefined) r[key] = value;
    else if (have !== value)
      parsed.notes.push(`${file}:${r.line}: ${r.slot} ${key} ${have} differs from its hex dump (${value}); kept it`);
  }
  if (r.class !== undefined) delete r.classPrefix;
}

/** Offset of the SSVID capability's ids, 0 when the complete list has none, undefined when the dump is too short. */
function ssvid(dump: Map<number, number>): number | undefined {
  const status = dump.get(6);
  if (status === undefined) return undefined;
  if ((status & 0x10) === 0) return 0;
  let at = (dump.get(0x34) ?? -1) & 0xfc;
  for (let hops = 0; at !== 0 && hops < 48; hops++) {
    const id = dump.get(at);
    const next = dump.get(at + 1);
    if (id === undefined || next === undefined) return undefined;
    if (id === 0x0d) return at + 4;
    at = next & 0xfc;
  }
  return at === 0 ? 0 : undefined;
}

/** -vmm (Slot: first) and legacy -vm (Device: holds the slot, then the device name). Blank lines end a record. */
function parseTags(lines: string[], file: string): Parsed {
  const issues: ImportIssue[] = [];
  const records: Array<{ line: number; tags: Array<[string, string]> }> = [];
  let current: { line: number; tags: Array<[string, string]> } | null = null;
  lines.forEach((line, index) => {
    if (line.trim() === '') {
      current = null;
      return;
    }
    const m = /^([A-Za-z]+):\t(.*)$/.exec(line);
    if (!m) {
      issues.push({ file, line: index + 1, message: 'not an lspci -vmm "Tag:<TAB>value" line; skipped' });
      return;
    }
    if (current === null) {
      current = { line: index + 1, tags: [] };
      records.push(current);
    }
    current.tags.push([m[1]!, m[2]!]);
  });
  let kernel = false;
  let legacy = false;
  const parsed = emptyParsed('lspci -vmm');
  for (const rec of records) {
    const first = rec.tags[0]!;
    const slot = first[0] === 'Slot' || first[0] === 'Device' ? normalizeSlot(first[1]) : null;
    if (slot === null) {
      issues.push({ file, line: rec.line, message: 'record does not start with Slot:; skipped' });
      continue;
    }
    if (first[0] === 'Device') legacy = true;
    const tags = new Map<string, string>();
    let driver: string | undefined;
    for (const [tag, value] of rec.tags.slice(1)) {
      if (tag === 'Driver') driver = value;
      if (tag === 'Driver' || tag === 'Module') kernel = true;
      if (!tags.has(tag)) tags.set(tag, value);
    }
    const id = (tag: string) => idOf(tags.get(tag));
    const [classPrefix, vendor, device] = [id('Class'), id('Vendor'), id('Device')];
    if (!vendor || !device) {
      const message = `${slot}: no numeric vendor/device id (lspci -vmm without -n); skipped`;
      issues.push({ file, line: rec.line, message });
      continue;
    }
    const r: PciRecord = { slot, vendor, device, line: rec.line };
    const sv = id('SVendor');
    const sd = id('SDevice');
    if (sv && sd) [r.subvendor, r.subdevice] = [sv, sd];
    // Rev and ProgIf are printed when non-zero (newer lspci: ProgIf always), so absent means 00.
    const rev = tags.get('Rev');
    const progIf = tags.get('ProgIf');
    r.revision = rev !== undefined && /^[0-9a-f]{2}$/.test(rev) ? rev : rev === undefined ? '00' : undefined;
    if (classPrefix) {
      if (progIf === undefined) r.class = classPrefix + '00';
      else if (/^[0-9a-f]{2}$/.test(progIf)) r.class = classPrefix + progIf;
      else r.classPrefix = classPrefix;
    }
    if (driver !== undefined) r.driver = driver;
    const group = tags.get('IOMMUGroup');
    if (group !== undefined) iommuGroup(r, group, file, rec.line, issues);
    parsed.pci.push(r);
  }
  if (kernel) {
    parsed.pciDriversStated = true;
    for (const r of parsed.pci) if (r.driver === undefined) r.driver = null;
  }
  parsed.format = legacy ? 'lspci -vm' : 'lspci -vmm';
  parsed.issues = issues;
  return parsed;
}

/** -m / -mm: slot "class" "vendor" "device" [-rXX] [-pXX] "svendor" "sdevice", shell-quoted. */
function parseMachine(lines: string[], file: string): Parsed {
  const parsed = emptyParsed('lspci -mm');
  lines.forEach((line, index) => {
    const at = index + 1;
    if (line.trim() === '') return;
    const words = shellWords(line);
    const slot = words ? normalizeSlot(words[0]?.text ?? '') : null;
    if (!words || slot === null) {
      parsed.issues.push({ file, line: at, message: 'not an lspci -mm line; skipped' });
      return;
    }
    const quoted = words.filter((w) => w.quoted).map((w) => w.text);
    const options = words.filter((w, i) => i > 0 && !w.quoted).map((w) => w.text);
    const [classPrefix, vendor, device] = [idOf(quoted[0]), idOf(quoted[1]), idOf(quoted[2])];
    if (!vendor || !device) {
      const message = `${slot}: no numeric vendor/device id (lspci -mm without -n); skipped`;
      parsed.issues.push({ file, line: at, message });
      return;
    }
    const r: PciRecord = { slot, vendor, device, line: at };
    let rev = '00';
    let progIf = '00';
    for (const o of options) {
      const m = /^-([rp])([0-9a-f]{2})$/.exec(o);
      if (m && m[1] === 'r') rev = m[2]!;
      else if (m) progIf = m[2]!;
    }
    r.revision = rev;
    if (classPrefix) r.class = classPrefix + progIf;
    const [sv, sd] = [idOf(quoted[3]), idOf(quoted[4])];
    if (sv && sd) [r.subvendor, r.subdevice] = [sv, sd];
    parsed.pci.push(r);
  });
  return parsed;
}

/** Splits a line into words; double quotes group, backslash escapes inside them. Null on an unclosed quote. */
function shellWords(line: string): Array<{ text: string; quoted: boolean }> | null {
  const words: Array<{ text: string; quoted: boolean }> = [];
  let i = 0;
  while (i < line.length) {
    if (line[i] === ' ') {
      i++;
      continue;
    }
    if (line[i] === '"') {
      let text = '';
      i++;
      for (;;) {
        if (i >= line.length) return null;
        const c = line[i]!;
        if (c === '\\' && i + 1 < line.length) {
          text += line[i + 1];
          i += 2;
        } else if (c === '"') {
          i++;
          break;
        } else {
          text += c;
          i++;
        }
      }
      words.push({ text, quoted: true });
    } else {
      const end = line.indexOf(' ', i);
      const stop = end === -1 ? line.length : end;
      words.push({ text: line.slice(i, stop), quoted: false });
      i = stop;
    }
  }
  return words;
}

/** The used-list entries for a set of PCI records. */
export function pciUsed(records: PciRecord[], driversStated: boolean | undefined): string[] {
  const used: string[] = [];
  for (const r of records) {
    if (r.vendor !== undefined) addOnce(used, 'pci.ids');
    if (r.class !== undefined || r.classPrefix !== undefined) addOnce(used, 'pci.class');
    if (r.subvendor !== undefined) addOnce(used, 'pci.subsystem');
    if (r.revision !== undefined) addOnce(used, 'pci.revision');
    if (r.bootVga !== undefined) addOnce(used, 'pci.boot_vga');
    if (r.iommuGroup !== undefined) addOnce(used, 'pci.iommu_group');
    if (knowsBars(r.resources)) addOnce(used, 'pci.resources');
  }
  if (driversStated && records.length > 0) used.push('pci.driver');
  return used;
}

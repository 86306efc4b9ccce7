// Xen and Linux version numbers: the ranges rules write over them (`target: { xen: ">=3.0.3 <4.0" }`), the
// thresholds the plan and the emitters test (versionAtLeast), and the order of releases (compareXenVersions).
// For what a version can do, only the leading dotted numbers count: "3.1.2-238.el5" is 3.1.2 and "4.19-rc1" is
// 4.19, because distributions and release candidates append suffixes that say nothing about the interfaces a
// rule or a file format cares about. Only picking the newest of several installed releases looks at suffixes.

// A version number is at most MAX_COMPONENT_DIGITS digits (0 to 9999): no Xen or Linux release comes near, and a
// longer run of digits ("4.17.9007199254740993") is a mistake or an attack, not a version: it does not parse (it
// must never parse as "no version", which reads as older than every threshold: xend and GRUB legacy on Xen 4.17).
export const MAX_COMPONENT_DIGITS = 4;

/** digits.digits[.digits][-extra]: "4.17", "3.0.3-1", "3.1.2-238.el5", "4.19-unstable", "4.2.0-rc3". */
export const XEN_VERSION = /^\d{1,4}\.\d{1,4}(\.\d{1,4})?(-[A-Za-z0-9][A-Za-z0-9._+~-]*)?$/;
export const XEN_VERSION_SHAPE = 'digits.digits[.digits][-extra], each number at most 4 digits';

/**
 * The Xen releases this autoconfig knows, the one place that says so: 3.0.2 (the oldest the rules and emitters
 * write for) to every release of 4.20 (Debian 13's Xen; the newest threshold in the rules is 4.19, and nothing in
 * the options or files changes after it that the rules know of). Below the oldest is refused; above the newest is
 * planned as the newest, with a warning (targetXenVersion). test/rules/version.test.ts checks that no rule's `xen`
 * range reaches past the newest.
 */
export const XEN_KNOWN = { oldest: '3.0.2', newest: '4.20' } as const;
export const XEN_KNOWN_RANGE = `${XEN_KNOWN.oldest} to ${XEN_KNOWN.newest}.x`;

export type XenVersionCheck =
  | { ok: true; version: string; warning: string | null }
  | { ok: false; reason: string };

/**
 * Is `text` a Xen version this autoconfig can plan for? Not of the shape (or a number too long): not a Xen version.
 * Older than XEN_KNOWN.oldest: refused, naming the known range. Newer than every release of XEN_KNOWN.newest:
 * accepted with a warning for the plan (its options are those of the newest known).
 */
export function checkXenVersion(text: string): XenVersionCheck {
  const v = XEN_VERSION.test(text) ? parseVersion(text) : null;
  if (v === null) return { ok: false, reason: `not a Xen version (${XEN_VERSION_SHAPE})` };
  if (compareVersions(v, parseVersion(XEN_KNOWN.oldest)!) < 0) {
    return {
      ok: false,
      reason: `older than Xen ${XEN_KNOWN.oldest}, the oldest this autoconfig knows (known: ${XEN_KNOWN_RANGE})`,
    };
  }
  const newest = parseVersion(XEN_KNOWN.newest)!;
  const warning =
    compareVersions(v, nextRelease(newest)) >= 0
      ? `Xen ${text} is newer than the newest this autoconfig knows (${XEN_KNOWN.newest}): options are those of ` +
        `${XEN_KNOWN.newest} (known: ${XEN_KNOWN_RANGE})`
      : null;
  return { ok: true, version: text, warning };
}

/** Dotted numeric components: [4, 17, 3]. */
export type Version = readonly number[];

/** One end of a range. */
export interface VersionBound {
  version: Version;
  inclusive: boolean;
}

/** The intersection of a range's comparators; a null end is open. */
export interface VersionRange {
  lower: VersionBound | null;
  upper: VersionBound | null;
}

export type RangeParse = { ok: true; range: VersionRange } | { ok: false; message: string };

/**
 * The leading "N(.N)*" of a version string, or null when it does not start with a number or a number has more
 * than MAX_COMPONENT_DIGITS digits.
 */
export function parseVersion(text: string): Version | null {
  const m = /^\s*(\d+(?:\.\d+)*)/.exec(text);
  if (!m) return null;
  return boundedComponents(m[1]!);
}

// "4.17.3" -> [4, 17, 3]; null when a number is longer than MAX_COMPONENT_DIGITS digits.
function boundedComponents(dotted: string): number[] | null {
  const parts = dotted.split('.');
  return parts.every((p) => p.length <= MAX_COMPONENT_DIGITS) ? parts.map(Number) : null;
}

/** Component-wise; missing components count as 0, so 3.1 = 3.1.0 and 3.0.2 < 3.0.3 < 3.1 < 4.17.3 < 4.19. */
export function compareVersions(a: Version, b: Version): number {
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return 0;
}

/**
 * Comparators joined by spaces, all of which must hold: ">=3.0.3 <4.0", "<4.19". A bare version or "=V" means
 * "V or a release of V": "4.17" matches 4.17, 4.17.0 and 4.17.3 (not 4.170), which is what a rule about a Xen
 * series wants. A range no version can satisfy (">=4.0 <3.0") is an error: the rule could never fire.
 */
export function parseRange(text: string): RangeParse {
  if (typeof text !== 'string' || text.trim() === '') return { ok: false, message: 'an empty version range' };
  const re = /\s*(>=|<=|>|<|=)?\s*(\d+(?:\.\d+)*)(?=\s|$)/y;
  let lower: VersionBound | null = null;
  let upper: VersionBound | null = null;
  let at = 0;
  while (at < text.length) {
    if (/^\s*$/.test(text.slice(at))) break;
    re.lastIndex = at;
    const m = re.exec(text);
    if (!m) return { ok: false, message: `"${text}" is not a version range (like ">=3.0.3 <4.0" or "4.17")` };
    at = re.lastIndex;
    const version = boundedComponents(m[2]!);
    if (version === null) {
      return { ok: false, message: `version number too large in "${text}" (at most ${MAX_COMPONENT_DIGITS} digits)` };
    }
    const op = m[1] ?? '=';
    if (op === '=') {
      lower = tighterLower(lower, { version, inclusive: true });
      upper = tighterUpper(upper, { version: nextRelease(version), inclusive: false });
    } else if (op === '>=' || op === '>') lower = tighterLower(lower, { version, inclusive: op === '>=' });
    else upper = tighterUpper(upper, { version, inclusive: op === '<=' });
  }
  if (lower && upper) {
    const c = compareVersions(lower.version, upper.version);
    if (c > 0 || (c === 0 && !(lower.inclusive && upper.inclusive))) {
      return { ok: false, message: `no version satisfies "${text}"` };
    }
  }
  // Nothing is below 0: "<0" is as empty as ">=4.0 <3.0".
  if (upper && !upper.inclusive && compareVersions(upper.version, [0]) === 0) {
    return { ok: false, message: `no version satisfies "${text}"` };
  }
  return { ok: true, range: { lower, upper } };
}

export function inRange(version: Version, range: VersionRange): boolean {
  if (range.lower) {
    const c = compareVersions(version, range.lower.version);
    if (c < 0 || (c === 0 && !range.lower.inclusive)) return false;
  }
  if (range.upper) {
    const c = compareVersions(version, range.upper.version);
    if (c > 0 || (c === 0 && !range.upper.inclusive)) return false;
  }
  return true;
}

/** `version` is `min` or later by its leading numbers ("4.9-rc1" is at least "4.9"); false when it does not parse. */
export function versionAtLeast(version: string, min: string): boolean {
  const v = parseVersion(version);
  const m = parseVersion(min);
  return v !== null && m !== null && compareVersions(v, m) >= 0;
}

/**
 * Orders releases, to pick the newest installed one: numerically by major, minor, patch (absent = 0); then a
 * pre-release extra ("-rc3", "-unstable", "-pre": starts with a letter) before the plain version, and a package
 * release ("-1", "-238.el5": starts with a digit) after it; extras of the same kind compare with their digits as
 * numbers. Not for what a version can do: see versionAtLeast.
 */
export function compareXenVersions(a: string, b: string): number {
  const parse = (v: string) => {
    const m = /^(\d{1,4})\.(\d{1,4})(?:\.(\d{1,4}))?(?:-(.*))?$/.exec(v);
    if (m === null) return { nums: [0, 0, 0], rank: 0, extra: v };
    const extra = m[4] ?? '';
    const rank = extra === '' ? 0 : /^\d/.test(extra) ? 1 : -1;
    return { nums: [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)], rank, extra };
  };
  const [x, y] = [parse(a), parse(b)];
  for (let i = 0; i < 3; i++) {
    if (x.nums[i]! !== y.nums[i]!) return x.nums[i]! - y.nums[i]!;
  }
  if (x.rank !== y.rank) return x.rank - y.rank;
  return x.extra.localeCompare(y.extra, 'en', { numeric: true });
}

/** Does the version string satisfy the range text? False when either does not parse. */
export function versionSatisfies(version: string | null, rangeText: string): boolean {
  if (version === null) return false;
  const v = parseVersion(version);
  const r = parseRange(rangeText);
  return v !== null && r.ok && inRange(v, r.range);
}

// The first version past every release of `v`: 4.17 -> 4.18 (so "=4.17" is [4.17, 4.18)).
function nextRelease(v: readonly number[]): number[] {
  return v.map((n, i) => (i === v.length - 1 ? n + 1 : n));
}

function tighterLower(a: VersionBound | null, b: VersionBound): VersionBound {
  if (!a) return b;
  const c = compareVersions(a.version, b.version);
  if (c !== 0) return c > 0 ? a : b;
  return a.inclusive ? b : a;
}

function tighterUpper(a: VersionBound | null, b: VersionBound): VersionBound {
  if (!a) return b;
  const c = compareVersions(a.version, b.version);
  if (c !== 0) return c < 0 ? a : b;
  return a.inclusive ? b : a;
}

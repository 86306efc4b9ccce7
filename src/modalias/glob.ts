// kmod's string handling, byte for byte: glibc fnmatch(3) with flags 0 (what libkmod calls), kmod's alias
// normalization (query and depmod side) and modprobe.d's underscores(). Strings here are "byte strings": one
// char per byte, as libkmod sees them; toByteString() converts anything else.

import { moduleKey } from './module-name.ts';

const STAR = 0x2a; // *
const QUESTION = 0x3f; // ?
const OPEN = 0x5b; // [
const CLOSE = 0x5d; // ]
const BACKSLASH = 0x5c;
const COLON = 0x3a;
const DASH = 0x2d;

/** libkmod's buffer for a normalized alias is PATH_MAX: longer queries are cut at 4095 bytes. */
export const ALIAS_MAX = 4095;

/** One char per UTF-8 byte, so that `?` and `[...]` consume bytes as glibc does in the C locale. */
export function toByteString(text: string): string {
  // eslint-disable-next-line no-control-regex
  return /[^\x00-\x7f]/.test(text) ? Buffer.from(text, 'utf8').toString('latin1') : text;
}

/**
 * kmod's alias_normalize(): `-` becomes `_` outside `[...]`; an unmatched `[` or `]` makes the alias invalid
 * (depmod drops such an alias, a lookup finds nothing). A NUL ends the string, as in C. An alias is a pattern, not a
 * module name: its `[...]` keep their dashes, so moduleKey() (every dash) is not this.
 */
export function normalizeAlias(alias: string): string | null {
  const nul = alias.indexOf('\0');
  let s = nul >= 0 ? alias.slice(0, nul) : alias;
  if (s.length > ALIAS_MAX) s = s.slice(0, ALIAS_MAX);
  const open = s.indexOf('[');
  if (open < 0) return s.indexOf(']') >= 0 ? null : s.replaceAll('-', '_');
  // Brackets: copy them untouched, replace dashes between them (whole segments, not char by char).
  let out = '';
  let from = 0;
  for (let i = open; i >= 0; i = s.indexOf('[', from)) {
    const close = s.indexOf(']', i);
    const between = s.slice(from, i);
    if (close < 0 || between.indexOf(']') >= 0) return null;
    out += between.replaceAll('-', '_') + s.slice(i, close + 1);
    from = close + 1;
  }
  const tail = s.slice(from);
  return tail.indexOf(']') >= 0 ? null : out + tail.replaceAll('-', '_');
}

/**
 * modprobe.d's underscores() (kmod 30): `-` to `_` outside brackets; an unmatched bracket makes the whole
 * config line a syntax error (null here). Unlike a lookup key, the text is not cut at NUL or 4095 bytes.
 */
export function underscores(text: string): string | null {
  if (text.indexOf('-') < 0 && text.indexOf('[') < 0 && text.indexOf(']') < 0) return text;
  return text.indexOf('\0') < 0 && text.length <= ALIAS_MAX ? normalizeAlias(text) : null;
}

/** Module name from a path or name as kmod's modname_normalize(): basename up to the first `.`, `-` to `_`. */
export function moduleName(pathOrName: string): string {
  const base = pathOrName.slice(pathOrName.lastIndexOf('/') + 1);
  const dot = base.indexOf('.');
  return moduleKey(dot < 0 ? base : base.slice(0, dot));
}

/** Length of the literal head of a pattern: what kmod's index trie descends before meeting `*`, `?` or `[`. */
export function literalPrefixLength(pattern: string): number {
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern.charCodeAt(i);
    if (c === STAR || c === QUESTION || c === OPEN) return i;
  }
  return pattern.length;
}

/** fnmatch(pattern, text, 0) == 0. */
export function fnmatch(pattern: string, text: string): boolean {
  return fnmatchFrom(pattern, 0, text, 0);
}

/**
 * fnmatch of pattern[pi..] against text[ti..]. Every element but `*` consumes exactly one char, so the classic
 * "remember the last star and retry one char later" loop gives the same answers as glibc's recursion.
 */
export function fnmatchFrom(pattern: string, pi: number, text: string, ti: number): boolean {
  const plen = pattern.length;
  const tlen = text.length;
  let starP = -1;
  let starT = -1;
  while (ti < tlen) {
    if (pi < plen) {
      const c = pattern.charCodeAt(pi);
      if (c === STAR) {
        starP = ++pi;
        starT = ti;
        continue;
      }
      const t = text.charCodeAt(ti);
      let next = -1;
      if (c === QUESTION) next = pi + 1;
      else if (c === OPEN) {
        const r = bracket(pattern, pi + 1, t);
        if (r === UNTERMINATED) next = t === OPEN ? pi + 1 : -1;
        else next = r;
      } else if (c === BACKSLASH) {
        // A trailing backslash never matches ("Trailing \ loses").
        if (pi + 1 < plen && pattern.charCodeAt(pi + 1) === t) next = pi + 2;
      } else if (c === t) next = pi + 1;
      if (next >= 0) {
        pi = next;
        ti++;
        continue;
      }
    }
    if (starP < 0) return false;
    pi = starP;
    ti = ++starT;
  }
  while (pi < plen && pattern.charCodeAt(pi) === STAR) pi++;
  return pi === plen;
}

const UNTERMINATED = -2;
const NO_MATCH = -1;

const CLASSES: Record<string, (c: number) => boolean> = {
  alnum: (c) => isAlpha(c) || isDigit(c),
  alpha: (c) => isAlpha(c),
  blank: (c) => c === 0x20 || c === 0x09,
  cntrl: (c) => c < 0x20 || c === 0x7f,
  digit: (c) => isDigit(c),
  graph: (c) => c > 0x20 && c < 0x7f,
  lower: (c) => c >= 0x61 && c <= 0x7a,
  print: (c) => c >= 0x20 && c < 0x7f,
  punct: (c) => c > 0x20 && c < 0x7f && !isAlpha(c) && !isDigit(c),
  space: (c) => c === 0x20 || (c >= 0x09 && c <= 0x0d),
  upper: (c) => c >= 0x41 && c <= 0x5a,
  xdigit: (c) => isDigit(c) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66),
};

function isAlpha(c: number): boolean {
  return (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
}
function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

/**
 * A bracket expression starting after its `[` at p, tested against char t, following glibc's fnmatch_loop.c
 * (C locale, no POSIXLY_CORRECT): `!` or `^` negates, a leading `]` is a member, `\` escapes, `a-z` ranges by
 * byte value, `[:class:]`. Returns the index after the closing `]` on a match, NO_MATCH, or UNTERMINATED when
 * the expression has no end (glibc then takes the `[` literally). Ill-formed cases glibc answers with
 * FNM_NOMATCH (bad class name, trailing `\`, range without end) are NO_MATCH.
 * Collating symbols and equivalence classes (`[. .]`, `[= =]`) are not implemented: no kernel alias uses them.
 */
function bracket(p: string, start: number, t: number): number {
  let i = start;
  const negate = p.charCodeAt(i) === 0x21 || p.charCodeAt(i) === 0x5e; // ! ^
  if (negate) i++;
  let matched = false;
  let c = charAt(p, i++);
  for (;;) {
    if (c === BACKSLASH) {
      if (i >= p.length) return NO_MATCH;
      c = p.charCodeAt(i++);
      // falls through to the ordinary member below, with the escaped char
    } else if (c === OPEN && charAt(p, i) === COLON) {
      const cls = readClass(p, i);
      if (cls === null) {
        // Not a class name after all: the `[` is an ordinary member.
      } else {
        const test = CLASSES[cls.name];
        if (test === undefined) return NO_MATCH;
        i = cls.next;
        if (test(t)) {
          matched = true;
          break;
        }
        c = charAt(p, i++);
        if (c === CLOSE) break;
        continue;
      }
    } else if (c === -1) {
      return UNTERMINATED;
    }
    // An ordinary member c, possibly the start of a range c-end.
    const isRange = charAt(p, i) === DASH && i + 1 < p.length && charAt(p, i + 1) !== CLOSE;
    if (!isRange && c === t) {
      matched = true;
      break;
    }
    const low = c;
    c = charAt(p, i++);
    if (c === DASH && charAt(p, i) !== CLOSE) {
      let high = charAt(p, i++);
      if (high === BACKSLASH) high = charAt(p, i++);
      if (high === -1) return NO_MATCH;
      if (low <= t && t <= high) {
        matched = true;
        break;
      }
      c = charAt(p, i++);
    }
    if (c === CLOSE) break;
  }
  if (!matched) return negate ? i : NO_MATCH;
  // Skip the rest of the expression; if it never ends, the `[` was a literal after all.
  for (;;) {
    const d = charAt(p, i++);
    if (d === -1) return UNTERMINATED;
    if (d === BACKSLASH) {
      if (i >= p.length) return NO_MATCH;
      i++;
    } else if (d === OPEN && charAt(p, i) === COLON) {
      const cls = readClass(p, i);
      if (cls !== null) i = cls.next;
    } else if (d === CLOSE) break;
  }
  return negate ? NO_MATCH : i;
}

function charAt(p: string, i: number): number {
  return i < p.length ? p.charCodeAt(i) : -1;
}

/** `[:name:]` with i at the `:`; null when glibc would not read a class name there (a char outside a..y). */
function readClass(p: string, i: number): { name: string; next: number } | null {
  let j = i + 1;
  for (;;) {
    const c = charAt(p, j);
    if (c === COLON && charAt(p, j + 1) === CLOSE) return { name: p.slice(i + 1, j), next: j + 2 };
    // glibc's test is `c < 'a' || c >= 'z'`: 'z' itself ends the attempt too.
    if (c < 0x61 || c >= 0x7a) return null;
    j++;
  }
}

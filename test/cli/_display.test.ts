import { describe, expect, it } from 'vitest';
import { forDisplay } from '../../src/cli/_display.ts';

describe('forDisplay', () => {
  // Every control a terminal acts on is shown; the layout's own TAB and LF, and printable text, are kept.
  it.each([
    ['LENOVO\t1951BY8\n', 'LENOVO\t1951BY8\n'],
    ['\x1b[2J\x1b]0;x\x07', '\\x1b[2J\\x1b]0;x\\x07'],
    ['a\rb', 'a\\x0db'],
    ['\x00\x08\x0b\x0c\x1f', '\\x00\\x08\\x0b\\x0c\\x1f'],
    ['\x7f', '\\x7f'],
    // C1: NEL and CSI (8-bit ESC [), shown; U+00A0 and the rest of Latin-1 are text.
    ['\u0085\u009b2J', '\\x85\\x9b2J'],
    ['caf\u00e9\u00a0ok', 'caf\u00e9\u00a0ok'],
  ])('%j -> %j', (raw, shown) => {
    expect(forDisplay(raw)).toBe(shown);
  });
});

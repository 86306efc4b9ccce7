// Xen and kernel version strings as the fixtures and distributions write them, and the range syntax of rules.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  checkXenVersion,
  compareVersions,
  compareXenVersions,
  inRange,
  parseRange,
  parseVersion,
  versionAtLeast,
  versionSatisfies,
  XEN_KNOWN,
  XEN_KNOWN_RANGE,
  XEN_VERSION,
} from '../../src/rules/version.ts';
import { repoRoot } from '../_support/memfs.ts';
import { fixtureProfile } from './_support.ts';

describe('versions', () => {
  it.each([
    ['4.17.3', [4, 17, 3]],
    ['3.1.2-238.el5', [3, 1, 2]], // xen-dom0 fixture (RHEL 5 Xen)
    ['6.1.0-56-amd64', [6, 1, 0]],
    ['6.18.44-fc-v769', [6, 18, 44]], // firecracker-vm fixture kernel
    ['4.19-rc1', [4, 19]],
    ['3', [3]],
    ['v4.17', null],
    ['', null],
    ['unstable', null],
  ])('parseVersion(%j)', (text, expected) => {
    expect(parseVersion(text)).toEqual(expected);
  });

  it('orders 3.0.2 < 3.0.3 < 3.1 < 4.17.3 < 4.19, and 3.1 = 3.1.0', () => {
    const chain = ['3.0.2', '3.0.3', '3.1', '4.17.3', '4.19'].map((v) => parseVersion(v)!);
    for (let i = 0; i + 1 < chain.length; i++) {
      expect(compareVersions(chain[i]!, chain[i + 1]!)).toBe(-1);
      expect(compareVersions(chain[i + 1]!, chain[i]!)).toBe(1);
    }
    expect(compareVersions([3, 1], [3, 1, 0])).toBe(0);
    expect(compareVersions([4, 10], [4, 9])).toBe(1); // numeric, not text: 4.10 is after 4.9
  });

  it('reads the Xen version of the real Dom0 fixture', () => {
    const xen = fixtureProfile('xen-dom0').hypervisor.xen.version!;
    expect(xen).toBe('3.1.2-238.el5');
    expect(versionSatisfies(xen, '>=3.0.3 <4.0')).toBe(true);
    expect(versionSatisfies(xen, '3.1')).toBe(true);
    expect(versionSatisfies(xen, '<3.1.2')).toBe(false);
  });
});

describe('ranges', () => {
  it.each([
    ['>=3.0.3 <4.0', '3.0.2', false],
    ['>=3.0.3 <4.0', '3.0.3', true],
    ['>=3.0.3 <4.0', '3.1', true],
    ['>=3.0.3 <4.0', '4.0', false],
    ['>=3.0.3 <4.0', '4.0.0', false],
    ['>=3.0.2 <3.0.3', '3.0.2', true],
    ['<4.19', '4.17.3', true],
    ['<4.19', '4.19', false],
    ['<4.19', '4.19-rc1', false],
    ['<=4.19', '4.19.0', true],
    ['>4.17', '4.17', false],
    ['>4.17', '4.17.1', true],
    ['3.0.2', '3.0.2', true],
    ['3.0.2', '3.0.20', false],
    ['4.17', '4.17.3', true], // a bare version is that release series
    ['4.17', '4.170', false],
    ['=4.17', '4.18', false],
    ['>= 3.0  < 4', '3.9.9', true],
    ['>=3.0.3', 'unknown', false],
  ])('%j holds for %j: %s', (range, version, expected) => {
    expect(versionSatisfies(version, range)).toBe(expected);
  });

  it.each([
    ['>=4.0 <3.0', 'no version satisfies ">=4.0 <3.0"'],
    ['>3.0 <=3.0', 'no version satisfies ">3.0 <=3.0"'],
    ['>=3.0 <3.0', 'no version satisfies ">=3.0 <3.0"'],
    ['4.17 >=4.18', 'no version satisfies "4.17 >=4.18"'],
    ['', 'an empty version range'],
    ['>=3.0<4.0', '">=3.0<4.0" is not a version range (like ">=3.0.3 <4.0" or "4.17")'],
    ['~4.17', '"~4.17" is not a version range (like ">=3.0.3 <4.0" or "4.17")'],
    ['>=3.0.x', '">=3.0.x" is not a version range (like ">=3.0.3 <4.0" or "4.17")'],
    ['<0.0', 'no version satisfies "<0.0"'],
  ])('%j is a bad range', (range, message) => {
    expect(parseRange(range)).toEqual({ ok: false, message });
  });

  it('keeps the tighter bound when comparators repeat', () => {
    expect(parseRange('>=3.0 >3.0 <5 <=4.1')).toEqual({
      ok: true,
      range: { lower: { version: [3, 0], inclusive: false }, upper: { version: [4, 1], inclusive: true } },
    });
    expect(parseRange('>=3.0 <=3.0')).toEqual({ ok: true, range: { lower: { version: [3, 0], inclusive: true }, upper: { version: [3, 0], inclusive: true } } });
  });

  const version = fc.array(fc.nat({ max: 20 }), { minLength: 1, maxLength: 4 });
  const op = fc.constantFrom('>=', '>', '<=', '<', '=', '');

  it('a single comparator agrees with compareVersions (property)', () => {
    fc.assert(
      fc.property(op, version, version, (o, bound, v) => {
        const r = parseRange(`${o}${bound.join('.')}`);
        // Only "<0" (or <0.0...) is empty: nothing is below 0.
        expect(r.ok).toBe(!(o === '<' && bound.every((n) => n === 0)));
        if (!r.ok) return;
        const c = compareVersions(v, bound);
        const prefix = v.length >= bound.length && bound.every((n, i) => n === v[i]);
        const trailingZeros = v.length < bound.length && bound.slice(v.length).every((n) => n === 0) && v.every((n, i) => n === bound[i]);
        const expected = { '>=': c >= 0, '>': c > 0, '<=': c <= 0, '<': c < 0, '=': prefix || trailingZeros, '': prefix || trailingZeros }[o];
        expect(inRange(v, r.range)).toBe(expected);
      }),
      { numRuns: 200 },
    );
  });

  it('a range reported satisfiable has a version in it, and one reported empty has none nearby (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(op, version), { minLength: 1, maxLength: 3 }), (parts) => {
        const text = parts.map(([o, v]) => `${o}${v.join('.')}`).join(' ');
        const r = parseRange(text);
        // Candidates: every bound, a step either side, and their releases.
        const candidates = parts.flatMap(([, v]) => [v, [...v, 0, 1], v.map((n, i) => (i === v.length - 1 ? n + 1 : n)), v.map((n, i) => (i === v.length - 1 && n > 0 ? n - 1 : n))]);
        if (r.ok) {
          // A bound that holds the range is reachable from the bounds themselves.
          const lower = r.range.lower?.version ?? [0];
          const witness = [lower, [...lower, 0, 1], ...candidates].some((v) => inRange(v, r.range));
          expect(witness).toBe(true);
        } else {
          expect(r.message).toMatch(/no version satisfies/);
          for (const v of candidates) {
            const all = parts.every(([o, b]) => {
              const one = parseRange(`${o}${b.join('.')}`);
              return one.ok && inRange(v, one.range);
            });
            expect(all).toBe(false);
          }
        }
      }),
      { numRuns: 200 },
    );
  });
});

describe('XEN_VERSION', () => {
  it.each(['4.17', '4.17.3', '3.0.3-1', '3.1.2-238.el5', '4.19-unstable', '4.2.0-rc3', '10.0.12'])(
    '%s is a version',
    (v) => {
      expect(XEN_VERSION.test(v)).toBe(true);
    },
  );

  it.each([
    '4',
    '4.',
    '.4',
    '4.x',
    'v4.17',
    '4.17.3.1',
    '4.17-',
    '4.17 ',
    'latest',
    '',
    '4.17;reboot',
    '4.17-$(x)',
    // Numbers are bounded (at most 4 digits): past 2^53 a number parsed as "no version", older than every threshold.
    '4.17.9007199254740993',
    '4.17.10000',
    '99999.0',
    '4.00017',
  ])(
    '%j is not',
    (v) => {
      expect(XEN_VERSION.test(v)).toBe(false);
    },
  );
});

describe('compareXenVersions', () => {
  it('orders numerically, pre-releases before and package releases after the plain version', () => {
    const versions = ['4.17.3', '3.0.3-1', '4.2.0-rc3', '4.17', '3.0.3', '4.10', '4.9.1', '4.2.0', '3.1.2-238.el5'];
    const sorted = [...versions, '4.19-unstable'].sort(compareXenVersions);
    expect(sorted).toEqual([
      '3.0.3',
      '3.0.3-1',
      '3.1.2-238.el5',
      '4.2.0-rc3',
      '4.2.0',
      '4.9.1',
      '4.10',
      '4.17',
      '4.17.3',
      '4.19-unstable',
    ]);
    expect(compareXenVersions('4.2.0-rc10', '4.2.0-rc9')).toBeGreaterThan(0);
    expect(compareXenVersions('4.17', '4.17.0')).toBe(0);
  });
});

describe('versionAtLeast: what a version can do, by its leading numbers', () => {
  it.each([
    ['4.9', '4.9', true],
    ['4.9-rc1', '4.9', true], // a release candidate of 4.9 has 4.9's interfaces (multiboot2), as ranges say
    ['4.8.5', '4.9', false],
    ['4.10', '4.9', true],
    ['3.0.3-1', '3.0.3', true],
    ['3.0.2', '3.0.3', false],
    ['3.1.2-238.el5', '3.0.4', true],
    ['unstable', '4.0', false],
  ])('%s >= %s: %s', (version, min, expected) => {
    expect(versionAtLeast(version, min)).toBe(expected);
    // The same answer as a rule's range, so rules and emitters never disagree on a target.
    expect(versionSatisfies(version, `>=${min}`)).toBe(expected);
  });
});

describe('bounded version numbers', () => {
  it.each([
    ['4.17.9007199254740993', null],
    ['4.17.10000', null],
    ['4.17.9999', [4, 17, 9999]],
    ['4.0017', [4, 17]],
    ['6.12.10000-amd64', null],
  ])('parseVersion(%j) = %j', (text, expected) => {
    expect(parseVersion(text)).toEqual(expected);
  });

  it('a range with a number of more than 4 digits is an error, not an open bound', () => {
    expect(parseRange('>=4.17.9007199254740993')).toEqual({
      ok: false,
      message: 'version number too large in ">=4.17.9007199254740993" (at most 4 digits)',
    });
    expect(parseRange('<10000.0')).toMatchObject({ ok: false });
    expect(parseRange('<9999.0')).toMatchObject({ ok: true });
  });
});

describe('checkXenVersion: the known range', () => {
  const newer = (v: string) =>
    `Xen ${v} is newer than the newest this autoconfig knows (4.20): options are those of 4.20 (known: 3.0.2 to 4.20.x)`;
  it.each([
    ['3.0.2', null],
    ['3.0.2-1', null],
    ['3.0.3', null],
    ['4.17.3', null],
    ['4.20', null],
    ['4.20.1', null],
    ['4.20.9999-rc1', null],
    ['4.21', newer('4.21')],
    ['4.21.0-rc2', newer('4.21.0-rc2')],
    ['5.0', newer('5.0')],
    ['9999.9999.9999', newer('9999.9999.9999')],
  ])('%s is planned; warning: %j', (v, warning) => {
    expect(checkXenVersion(v)).toEqual({ ok: true, version: v, warning });
  });

  it.each(['2.0', '3.0', '3.0.1', '3.0.1-9', '0.0', '1.9.99'])('%s is older than the oldest known: refused', (v) => {
    expect(checkXenVersion(v)).toEqual({
      ok: false,
      reason: 'older than Xen 3.0.2, the oldest this autoconfig knows (known: 3.0.2 to 4.20.x)',
    });
  });

  it.each(['4.17.9007199254740993', '4.17.10000', '4', 'latest', '4.17;reboot'])('%j is no Xen version', (v) => {
    expect(checkXenVersion(v)).toEqual({
      ok: false,
      reason: 'not a Xen version (digits.digits[.digits][-extra], each number at most 4 digits)',
    });
  });

  it('the known range is the one constant, and every threshold in the rules and the planners lies in it', () => {
    expect(XEN_KNOWN_RANGE).toBe(`${XEN_KNOWN.oldest} to ${XEN_KNOWN.newest}.x`);
    const oldest = parseVersion(XEN_KNOWN.oldest)!;
    const newest = parseVersion(XEN_KNOWN.newest)!;
    const thresholds: string[] = [];
    const rulesDir = join(repoRoot, 'data', 'rules');
    for (const file of readdirSync(rulesDir).filter((f) => f.endsWith('.yaml'))) {
      for (const m of readFileSync(join(rulesDir, file), 'utf8').matchAll(/\bxen:\s*"([^"]+)"/g)) {
        thresholds.push(...[...m[1]!.matchAll(/\d+(?:\.\d+)+/g)].map((n) => `${file}: ${n[0]}`));
      }
    }
    // plan() is split into deciders (src/plan/*.ts): each of them may hold a threshold.
    const planFiles = readdirSync(join(repoRoot, 'src', 'plan')).filter((f) => f.endsWith('.ts')).map((f) => `src/plan/${f}`);
    for (const file of [...planFiles, 'src/emit/guest.ts']) {
      const text = readFileSync(join(repoRoot, file), 'utf8');
      for (const m of text.matchAll(/(?:\bat|\bbefore|versionAtLeast\([^,()]+,)\s*\(?\s*'(\d+\.\d+(?:\.\d+)?)'/g)) {
        thresholds.push(`${file}: ${m[1]!}`);
      }
    }
    expect(thresholds.length).toBeGreaterThan(20);
    for (const t of thresholds) {
      const v = parseVersion(t.split(': ')[1]!)!;
      // A threshold past the newest known would make "options are those of the newest" untrue.
      expect(compareVersions(v, newest) <= 0 && compareVersions(v, oldest) >= 0, t).toBe(true);
    }
  });
});

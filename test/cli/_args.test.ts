import { describe, expect, it } from 'vitest';
import { parseArgs, parsePositiveInt } from '../../src/cli/_args.ts';

const spec = {
  root: { type: 'string' },
  json: { type: 'boolean' },
  rules: { type: 'string', multiple: true },
  out: { type: 'string', short: 'o' },
} as const;

describe('parseArgs', () => {
  it.each([
    [['--json'], { json: true }, []],
    [['--root', '/mnt'], { root: '/mnt' }, []],
    [['--root=/mnt', 'x'], { root: '/mnt' }, ['x']],
    [['-o', 'dir'], { out: 'dir' }, []],
    [['--rules', 'a', '--rules=b'], { rules: ['a', 'b'] }, []],
    [['--', '--json'], {}, ['--json']],
  ])('%j', (argv, options, positionals) => {
    expect(parseArgs(argv, spec)).toEqual({ options, positionals });
  });

  it.each([
    [['--nope'], 'unknown option --nope'],
    [['-x'], 'unknown option -x'],
    [['--root'], '--root needs a value'],
    [['--json=yes'], '--json takes no value'],
  ])('rejects %j', (argv, message) => {
    expect(() => parseArgs(argv, spec)).toThrow(expect.objectContaining({ code: 'E_USAGE', message }));
  });
});

describe('parsePositiveInt', () => {
  it.each([
    ['1', 1],
    ['300', 300],
    ['4000', 4000],
    ['120000', 120000],
    ['007', 7],
  ])('accepts %j as %d', (value, expected) => {
    expect(parsePositiveInt('module-timeout', value, { max: 120000, fallback: 4000 })).toBe(expected);
  });

  it('gives the fallback when the option is absent', () => {
    expect(parsePositiveInt('module-timeout', undefined, { max: 120000, fallback: 4000 })).toBe(4000);
  });

  it.each(['abc', '-1', '0', '', 'Infinity', '0x10', '1e3', '1.5', ' 10', '10 ', '+10', '120001', '99999999999999999999', '１０'])(
    'rejects %j naming the option, the value and the bound',
    (value) => {
      expect(() => parsePositiveInt('module-timeout', value, { max: 120000, fallback: 4000, unit: 'ms' })).toThrow(
        expect.objectContaining({
          code: 'E_USAGE',
          message: `--module-timeout ${JSON.stringify(value)}: not a whole number from 1 to 120000 ms (plain decimal digits)`,
        }),
      );
    },
  );
});

import { describe, expect, it } from 'vitest';
import { parseArgs } from '../../src/cli/_args.ts';

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

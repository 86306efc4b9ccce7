import { describe, expect, it } from 'vitest';
import { splitCmdline } from '../src/cmdline.ts';
import { dataFile } from './probe/_corpus.ts';

// The Legion Y520's command line as its kernel logged it ("Kernel command line: %s" prints the same saved
// command line that /proc/cmdline shows, plus a newline there).
const legionCmdline = /Kernel command line: (.*)$/m.exec(
  dataFile('notebook-lenovo-legion_y520-15ikbn-gh-sergeyklay', 'dmesg.excerpt'),
)![1]!;

describe('splitCmdline (the kernel next_arg() rules)', () => {
  it.each<[string, string, string[]]>([
    [
      'a real command line',
      `${legionCmdline}\n`,
      [
        'BOOT_IMAGE=/boot/kernel-6.19.4-gentoo',
        'root=UUID=2ae9dfd2-1cc4-4a3e-bcc1-7a0e9425aeb2',
        'ro',
        'init=/usr/lib/systemd/systemd',
        'resume=UUID=e1a4240c-fa4d-4033-814a-4e02f88b85ae',
      ],
    ],
    ['a quoted value with a space stays one token, quotes kept', 'foo="a b" bar\n', ['foo="a b"', 'bar']],
    ['a token that starts with a quote', '"a b" c', ['"a b"', 'c']],
    ['quotes in the middle toggle', 'a"b c"d e', ['a"b c"d', 'e']],
    ['an unclosed quote runs to the end', 'x="a b  c\n', ['x="a b  c\n']],
    ['runs of spaces, tabs and the final newline separate', ' a  b\tc\n', ['a', 'b', 'c']],
    ['"--" and what follows are kept (init arguments)', 'quiet -- single', ['quiet', '--', 'single']],
    ['empty', '', []],
    ['only a newline', '\n', []],
  ])('%s', (_name, text, tokens) => {
    expect(splitCmdline(text)).toEqual(tokens);
  });
});

describe('splitCmdline: the forms rendered boot lines take', () => {
  it.each([
    ['', []],
    ['  a  b\tc\n', ['a', 'b', 'c']],
    ['a="b c" d', ['a="b c"', 'd']],
    ['"a b" c', ['"a b"', 'c']],
    ['x=a"b c"d e', ['x=a"b c"d', 'e']],
  ])('%j -> %j', (line, tokens) => {
    expect(splitCmdline(line)).toEqual(tokens);
  });
});

// Kernel and Xen command lines from decided options: `name=value` and bare `flag` tokens, one space apart. The
// result must split back into the same options the way Linux's next_arg() splits (src/rules/cheatcodes.ts reads
// boot lines that way): whitespace ends a token unless inside double quotes, so a value with a space is written
// `name="a b"`. A `"` inside a value cannot be written at all (next_arg has no escape: it would open a quote that
// swallows the following options), nor can a control character (the boot line is one line of every config file we
// write it into) or a non-ASCII one (the kernel's isspace() takes byte 0xA0, part of many UTF-8 characters, for a
// space). Those are refused with an error naming the option rather than written broken.
import { AutoconfigError } from '../errors.ts';
import type { BootOption } from '../rules/types.ts';

const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;

/** One option as a command-line token. */
export function renderOption(option: BootOption): string {
  const { name, value } = option;
  const where = { path: name };
  const bad = (why: string) =>
    new AutoconfigError('E_PARSE', `boot option ${JSON.stringify(name)} (rule ${option.rule}): ${why}`, where);
  if (name === '') throw bad('empty name');
  if (!PRINTABLE_ASCII.test(name) || /[\s="]/.test(name)) {
    throw bad('a name is printable ASCII without spaces, "=" or \'"\'');
  }
  if (value === null) {
    // parse_args() stops at a bare `--`: everything after it would go to init, not to the kernel.
    if (name === '--') throw bad('"--" would end the kernel\'s parameters');
    return name;
  }
  if (!PRINTABLE_ASCII.test(value)) throw bad(`value ${JSON.stringify(value)} is not printable ASCII`);
  if (value.includes('"')) throw bad(`value ${JSON.stringify(value)} holds a '"', which next_arg() cannot take`);
  return value.includes(' ') ? `${name}="${value}"` : `${name}=${value}`;
}

/** The options in order, space-separated: "dom0_mem=512M,max:512M noreboot console=com1,vga". */
export function renderCmdline(options: readonly BootOption[]): string {
  return options.map(renderOption).join(' ');
}

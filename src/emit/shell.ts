// Shell-sourceable variable files (/etc/sysconfig/xserver, /etc/sysconfig/knoppix ...), the format every KNOPPIX
// init script reads with `[ -f F ] && . F`. hwsetup wrote `XDESC="%s"` with the raw pci.ids name, so one `"` in a
// device name broke every script that sourced the file, and a `$(...)` or backtick in it would have run. Here
// every value is single-quoted: inside '...' a POSIX shell takes every byte literally (newlines, $, `, ", \) except
// the closing quote, and a ' in the value is written as '\'' (close, escaped quote, reopen).
import { AutoconfigError } from '../errors.ts';

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Names a sourced file must not assign: read-only in bash (the assignment is an error that aborts a non-interactive
 * POSIX-mode shell and skips the rest of the file in others), or variables that change how the sourcing shell
 * itself parses and runs commands from then on (IFS splits its words, PATH finds its programs, ENV/BASH_ENV run
 * files, PS4/OPTIND/CDPATH alter its behaviour).
 */
export const RESERVED_SHELL_NAMES: ReadonlySet<string> = new Set([
  'BASHOPTS',
  'BASH_ENV',
  'BASH_VERSINFO',
  'CDPATH',
  'ENV',
  'EUID',
  'IFS',
  'OPTIND',
  'PATH',
  'PPID',
  'PS4',
  'SHELLOPTS',
  'UID',
]);

/**
 * POSIX single-quote quoting: the result, read by any POSIX shell, is exactly `value` ('' for the empty string,
 * 'it'\''s' for it's). A NUL cannot live in a shell variable at all and is refused. Strings are written as UTF-8;
 * a lone UTF-16 surrogate has no UTF-8 form and is refused too rather than silently becoming U+FFFD.
 */
export function shellQuote(value: string): string {
  if (value.includes('\0')) {
    throw new AutoconfigError('E_PARSE', `a shell variable cannot hold a NUL byte: ${JSON.stringify(value)}`);
  }
  if (LONE_SURROGATE.test(value)) {
    throw new AutoconfigError('E_PARSE', `cannot quote a value with a lone UTF-16 surrogate: ${JSON.stringify(value)}`);
  }
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

/**
 * `NAME='value'` lines in the order of `vars` (insertion order: names that are valid shell names are never
 * integer-like, so JavaScript keeps their order as written). The optional header becomes `# ` comment lines, one
 * per line of the header, so no line of it can become a command. Every name is checked before anything is
 * formatted: a name that is not `[A-Za-z_][A-Za-z0-9_]*` or is in RESERVED_SHELL_NAMES is an error naming it.
 */
export function formatShellVars(vars: Record<string, string>, header?: string): string {
  const lines: string[] = [];
  if (header !== undefined) {
    for (const line of header.split(/\r\n|\n|\r/)) lines.push(line === '' ? '#' : `# ${line}`);
  }
  for (const [name, value] of Object.entries(vars)) {
    if (!NAME.test(name)) {
      throw new AutoconfigError('E_PARSE', `invalid shell variable name ${JSON.stringify(name)}`, { path: name });
    }
    if (RESERVED_SHELL_NAMES.has(name)) {
      throw new AutoconfigError('E_PARSE', `shell variable ${name} must not be set by a sourced file`, { path: name });
    }
    if (typeof value !== 'string') {
      throw new AutoconfigError('E_PARSE', `shell variable ${name}: value is ${typeof value}, not a string`, {
        path: name,
      });
    }
    let quoted: string;
    try {
      quoted = shellQuote(value);
    } catch (error) {
      throw new AutoconfigError('E_PARSE', `shell variable ${name}: ${(error as Error).message}`, {
        path: name,
        cause: error,
      });
    }
    lines.push(`${name}=${quoted}`);
  }
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}

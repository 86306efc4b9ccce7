// A small argv parser: --flag, --opt VALUE, --opt=VALUE, repeatable options, positionals, `--` ends options.
// Unknown options are usage errors rather than silently ignored: a typo at boot must not change behaviour.
import { AutoconfigError } from '../errors.ts';

export interface OptionSpec {
  type: 'boolean' | 'string';
  multiple?: boolean;
  short?: string;
}

/** What each option means, once for every command that takes it: the help is generated from this and the spec. */
export const OPTION_HELP: Record<string, { value?: string; text: string }> = {
  'dry-run': { text: 'show what would be done, and why; change nothing' },
  write: { text: 'write the files inside the target root, as one set' },
  apply: { text: 'also load the Dom0 modules with modprobe (implies --write)' },
  root: { value: 'DIR', text: 'read the machine under DIR (a snapshot, an import, a mounted system) instead of /' },
  target: { value: 'DIR', text: 'write inside DIR instead of the --root' },
  xen: { value: 'VERSION', text: 'plan for this Xen (3.0.2 to 4.20.x; default: a xen= boot option, the running or installed Xen, else 4.20)' },
  rules: { value: 'DIR', text: 'more rule files, after the shipped ones (repeatable)' },
  kernel: { value: 'DIR', text: "the Dom0 kernel's module directory (/lib/modules/RELEASE) to match drivers against" },
  json: { text: 'machine-readable output' },
  'module-timeout': { value: 'MS', text: 'time limit per module for --apply (1-120000, default 4000)' },
  modprobe: { value: 'CMD', text: 'the modprobe command --apply runs (default: modprobe)' },
  'lock-timeout': { value: 'MS', text: "how long to wait for another run's lock on the target (default 5000)" },
  'no-names': { text: 'no vendor and device names from pci.ids/usb.ids' },
  timeout: { value: 'MS', text: 'time limit per device read (1-60000, default 2000)' },
  out: { value: 'DIR', text: 'the directory to write (new, or empty)' },
  force: { text: 'write into a non-empty --out' },
  exec: { value: 'PATH', text: 'the command the boot files start (default: this autoconfig)' },
  remove: { text: 'take back what install-boot installed, where it is unchanged' },
  html: { value: 'FILE', text: 'also write one static HTML page' },
  base: { value: 'DIR', text: 'the rule directories to compare against (repeatable)' },
  'base-ref': { value: 'REF', text: "the shipped rules of a git commit as the base" },
  workers: { value: 'N', text: 'worker threads (default: by idle cores)' },
  help: { text: 'this text' },
};

/**
 * One command or subcommand, declared once: its parser reads `options`, and its --help, its line in the listing of
 * its group and its usage errors are generated from the same object.
 */
export interface CommandSpec {
  /** The words after `autoconfig`: `snapshot`, `corpus diff`. */
  name: string;
  /** What it takes besides [options], as its usage line shows it: `LOGDIR --out DIR`, `[DIR...]`. */
  args?: string;
  summary: string;
  options: Record<string, OptionSpec>;
}

/** A command that is only a word before its subcommands (`autoconfig corpus run|diff|check`, `rules lint`). */
export interface CommandGroup {
  name: string;
  summary: string;
  subcommands: Record<string, CommandSpec>;
}

/**
 * `--help` was asked for: main prints the help of `command` (a command, a subcommand or a group), else of the
 * bare option spec under the command's name, and exits 0.
 */
export class HelpRequest extends Error {
  constructor(
    readonly spec: Record<string, OptionSpec>,
    readonly command?: CommandSpec | CommandGroup,
  ) {
    super('help requested');
  }
}

const HELP_OPTION: Record<string, OptionSpec> = { help: { type: 'boolean', short: 'h' } };

/** `Usage: autoconfig corpus diff ARGS [options]`. */
export function usageLine(command: CommandSpec): string {
  return `Usage: autoconfig ${command.name}${command.args ? ` ${command.args}` : ''} [options]`;
}

/** The usage line, the summary, and every option its parser accepts, then -h. */
export function formatCommandHelp(command: CommandSpec): string {
  return `${usageLine(command)}\n\n  ${command.summary}\n\nOptions:\n${formatOptions({ ...command.options, ...HELP_OPTION })}\n`;
}

/** A group's help: its subcommands, one line each (name, arguments, summary). */
export function formatGroupHelp(group: CommandGroup): string {
  const rows = Object.entries(group.subcommands).map(([sub, c]) => [`${sub}${c.args ? ` ${c.args}` : ''}`, c.summary] as const);
  const width = Math.max(0, ...rows.map(([left]) => left.length)) + 2;
  return (
    `Usage: autoconfig ${group.name} <subcommand> [options]\n\n  ${group.summary}\n\nSubcommands:\n` +
    rows.map(([left, text]) => `  ${left.padEnd(width)}${text}`).join('\n') +
    `\n\nautoconfig ${group.name} <subcommand> --help tells its options.\n`
  );
}

/** The group's line in the top-level listing: `run | diff | check: the summary`. */
export function groupSummary(group: CommandGroup): string {
  return `${Object.keys(group.subcommands).join(' | ')}: ${group.summary}`;
}

/**
 * The subcommand `argv` starts with, and the rest of argv. `--help`, `-h` or `help` asks for the group's help;
 * none, or one the group lacks, is a usage error that lists the subcommands (with a did-you-mean).
 */
export function selectSubcommand<G extends CommandGroup>(
  argv: readonly string[],
  group: G,
): { name: keyof G['subcommands'] & string; command: CommandSpec; rest: string[] } {
  const [word, ...rest] = argv;
  if (word === '--help' || word === '-h' || word === 'help') throw new HelpRequest({}, group);
  const names = Object.keys(group.subcommands);
  if (word !== undefined && Object.hasOwn(group.subcommands, word)) return { name: word, command: group.subcommands[word]!, rest };
  const what = word === undefined ? `needs a subcommand` : `unknown subcommand "${word}"${didYouMean(word, names)}`;
  throw new AutoconfigError('E_USAGE', `${what}\n\n${formatGroupHelp(group)}`);
}

/** parseArgs over a declared command: its --help is that command's, named in full (`autoconfig corpus diff`). */
export function parseCommand(argv: readonly string[], command: CommandSpec): Parsed {
  try {
    return parseArgs(argv, command.options);
  } catch (error) {
    if (error instanceof HelpRequest) throw new HelpRequest(command.options, command);
    throw error;
  }
}

/** The options of a spec, one line each: `  --root DIR      read the machine under DIR ...`. */
export function formatOptions(spec: Record<string, OptionSpec>): string {
  const rows = Object.entries(spec).map(([name, s]) => {
    const help = OPTION_HELP[name];
    const left = `${s.short ? `-${s.short}, ` : ''}--${name}${s.type === 'string' ? ` ${help?.value ?? 'VALUE'}` : ''}`;
    return [left, `${help?.text ?? ''}${s.multiple ? (help?.text.includes('repeatable') ? '' : ' (repeatable)') : ''}`] as const;
  });
  const width = Math.max(0, ...rows.map(([left]) => left.length)) + 2;
  return rows.map(([left, text]) => `  ${left.padEnd(width)}${text}`.trimEnd()).join('\n');
}

/** The closest of `candidates` to a mistyped `word` (at most 2 edits, or a unique prefix), as git and npm suggest. */
export function suggest(word: string, candidates: readonly string[]): string | null {
  let best: string | null = null;
  let bestDistance = 3;
  for (const c of candidates) {
    const d = editDistance(word, c);
    if (d < bestDistance) [best, bestDistance] = [c, d];
  }
  if (best !== null) return best;
  const prefixed = candidates.filter((c) => word.length >= 2 && c.startsWith(word));
  return prefixed.length === 1 ? prefixed[0]! : null;
}

/** Optimal string alignment distance: insertions, deletions, substitutions and swaps of neighbours. */
function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1);
    }
  }
  return d[a.length]![b.length]!;
}

/** " (did you mean --dry-run?)" or "". */
export function didYouMean(word: string, candidates: readonly string[], prefix = ''): string {
  const s = suggest(word, candidates);
  return s === null ? '' : ` (did you mean ${prefix}${s}?)`;
}

export type Parsed = {
  positionals: string[];
  options: Record<string, string | boolean | string[] | undefined>;
};

export function parseArgs(argv: readonly string[], spec: Record<string, OptionSpec>): Parsed {
  const options: Parsed['options'] = {};
  const positionals: string[] = [];
  const byShort = new Map(Object.entries(spec).flatMap(([name, s]) => (s.short ? [[s.short, name] as const] : [])));
  const helpAt = argv.findIndex((a) => a === '--help' || a === '-h');
  const endAt = argv.indexOf('--');
  if (helpAt !== -1 && (endAt === -1 || helpAt < endAt)) throw new HelpRequest(spec);
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    let name: string | undefined;
    let inline: string | undefined;
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      name = eq === -1 ? arg.slice(2) : arg.slice(2, eq);
      inline = eq === -1 ? undefined : arg.slice(eq + 1);
    } else if (/^-[A-Za-z]$/.test(arg)) {
      name = byShort.get(arg.slice(1));
      if (name === undefined) throw new AutoconfigError('E_USAGE', `unknown option ${arg}`);
    } else {
      positionals.push(arg);
      continue;
    }
    const option = spec[name];
    if (!option) throw new AutoconfigError('E_USAGE', `unknown option --${name}${didYouMean(name, [...Object.keys(spec), 'help'], '--')}`);
    let value: string | boolean;
    if (option.type === 'boolean') {
      if (inline !== undefined) throw new AutoconfigError('E_USAGE', `--${name} takes no value`);
      value = true;
    } else {
      const next = inline ?? argv[++i];
      if (next === undefined) throw new AutoconfigError('E_USAGE', `--${name} needs a value`);
      // `--root --json` is a forgotten value, not a directory named "--json" (write --root=--json for that).
      if (inline === undefined && next.startsWith('--') && spec[next.slice(2).split('=')[0]!] !== undefined) {
        throw new AutoconfigError('E_USAGE', `--${name} needs a value, and ${next} is an option`);
      }
      value = next;
    }
    if (option.multiple) {
      const list = (options[name] as string[] | undefined) ?? [];
      list.push(String(value));
      options[name] = list;
    } else {
      options[name] = value;
    }
  }
  return { positionals, options };
}

/**
 * A numeric option's value: a plain positive decimal integer (digits only, no sign, no `0x`, no exponent, no
 * spaces) from 1 to `max`. Anything else (`abc`, `-1`, `0`, `""`, `Infinity`, `0x10`, `1e3`, `1.5`) is a usage
 * error naming the option, the value and the bound: a typo at boot must not become a default or another number.
 * An option not given yields `fallback`.
 */
export function parsePositiveInt(
  name: string,
  value: string | boolean | string[] | undefined,
  { max, fallback, unit = '' }: { max: number; fallback: number; unit?: string },
): number {
  if (value === undefined) return fallback;
  const text = Array.isArray(value) ? value.join(',') : String(value);
  const n = /^[0-9]{1,15}$/.test(text) ? Number(text) : NaN;
  if (!(Number.isSafeInteger(n) && n >= 1 && n <= max)) {
    throw new AutoconfigError(
      'E_USAGE',
      `--${name} ${JSON.stringify(text)}: not a whole number from 1 to ${max}${unit ? ` ${unit}` : ''} (plain decimal digits)`,
    );
  }
  return n;
}

// A small argv parser: --flag, --opt VALUE, --opt=VALUE, repeatable options, positionals, `--` ends options.
// Unknown options are usage errors rather than silently ignored: a typo at boot must not change behaviour.
import { AutoconfigError } from '../errors.ts';

export interface OptionSpec {
  type: 'boolean' | 'string';
  multiple?: boolean;
  short?: string;
}

export type Parsed = {
  positionals: string[];
  options: Record<string, string | boolean | string[] | undefined>;
};

export function parseArgs(argv: readonly string[], spec: Record<string, OptionSpec>): Parsed {
  const options: Parsed['options'] = {};
  const positionals: string[] = [];
  const byShort = new Map(Object.entries(spec).flatMap(([name, s]) => (s.short ? [[s.short, name] as const] : [])));
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
    if (!option) throw new AutoconfigError('E_USAGE', `unknown option --${name}`);
    let value: string | boolean;
    if (option.type === 'boolean') {
      if (inline !== undefined) throw new AutoconfigError('E_USAGE', `--${name} takes no value`);
      value = true;
    } else {
      const next = inline ?? argv[++i];
      if (next === undefined) throw new AutoconfigError('E_USAGE', `--${name} needs a value`);
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

// modprobe.d as libkmod reads it (kmod 30, Debian 12): which files, in which order, and what each command
// records. Nothing is executed: install/remove commands are kept as text.
import { posix } from 'node:path';
import { nodeFsPromises, type FsLike } from '../fs.ts';
import { Reader } from '../probe/_reader.ts';
import type { ModaliasIssue } from './alias-file.ts';
import { fnmatch, toByteString, underscores } from './glob.ts';

/**
 * Highest precedence first: a file name seen in an earlier directory hides the same name in later ones.
 * kmod 30 reads /etc, /run, /usr/local/lib and /lib; kmod 31+ adds /usr/lib before /lib (the same directory
 * on a merged-/usr system, where the duplicate names are then ignored).
 */
export const MODPROBE_DIRS = [
  '/etc/modprobe.d',
  '/run/modprobe.d',
  '/usr/local/lib/modprobe.d',
  '/usr/lib/modprobe.d',
  '/lib/modprobe.d',
] as const;

export interface ConfigOrigin {
  file: string;
  line: number;
}

export interface ConfigAlias extends ConfigOrigin {
  /** The wildcard, with `-` made `_` outside brackets (kmod's underscores()), as a byte string. */
  pattern: string;
  module: string;
}

export interface ConfigCommand extends ConfigOrigin {
  /** A module name or a glob (install, remove and softdep names are fnmatch()ed against the module). */
  module: string;
  command: string;
}

export interface ConfigOptions extends ConfigOrigin {
  module: string;
  options: string;
}

export interface ConfigSoftdep extends ConfigOrigin {
  module: string;
  pre: string[];
  post: string[];
}

export interface ModprobeConfig {
  /** Files in the order they were read (the kernel's modules.softdep among them, as kmod does). */
  files: string[];
  aliases: ConfigAlias[];
  /** Blacklisted module name -> where it was said (first place). */
  blacklist: Map<string, ConfigOrigin>;
  options: ConfigOptions[];
  softdeps: ConfigSoftdep[];
  /** kmod 33+ `weakdep MODULE MODULES...`. */
  weakdeps: ConfigSoftdep[];
  install: ConfigCommand[];
  remove: ConfigCommand[];
  issues: ModaliasIssue[];
}

export interface ConfigFile {
  /** Full path, for messages. */
  path: string;
  text: string;
}

export function emptyConfig(): ModprobeConfig {
  return {
    files: [],
    aliases: [],
    blacklist: new Map(),
    options: [],
    softdeps: [],
    weakdeps: [],
    install: [],
    remove: [],
    issues: [],
  };
}

/**
 * Parses files already in kmod's order, then the kernel command line (`modprobe.blacklist=a,b` and
 * `module.param=value`, split the way kmod 30 splits /proc/cmdline: on spaces, quotes not special).
 */
export function parseModprobeConfig(files: readonly ConfigFile[], cmdline: readonly string[] = []): ModprobeConfig {
  const config = emptyConfig();
  for (const file of files) parseFile(config, file);
  parseCmdline(config, cmdline.join(' '));
  return config;
}

function parseFile(config: ModprobeConfig, { path, text }: ConfigFile): void {
  config.files.push(path);
  for (const { line, number } of logicalLines(text)) {
    if (line === '' || line.startsWith('#')) continue;
    const words = line.split(/[ \t]+/).filter((w) => w !== '');
    const cmd = words[0];
    if (cmd === undefined) continue;
    const origin = { file: path, line: number };
    const bad = (why: string) => config.issues.push({ ...origin, message: `${why}; line ignored: "${clip(line)}"` });
    // The rest of the line after the module name, as kmod's strtok_r(NULL, "\0") returns it.
    const rest = restAfter(line, 2);
    // Names (and alias wildcards) with an unmatched bracket make the line a syntax error in kmod.
    const name = words[1] === undefined ? null : underscores(words[1]);
    switch (cmd) {
      case 'alias': {
        const module = words[2] === undefined ? null : underscores(words[2]);
        if (name === null || module === null) bad('alias needs a wildcard and a module, brackets matched');
        else config.aliases.push({ ...origin, pattern: toByteString(name), module });
        break;
      }
      case 'blacklist':
        if (name === null) bad('blacklist needs a module');
        else if (!config.blacklist.has(name)) config.blacklist.set(name, origin);
        break;
      case 'options':
        if (name === null || rest === null) bad('options needs a module and options');
        else config.options.push({ ...origin, module: name, options: rest.replaceAll('\t', ' ') });
        break;
      case 'install':
      case 'remove':
        if (name === null || rest === null) bad(`${cmd} needs a module and a command`);
        else config[cmd].push({ ...origin, module: toByteString(name), command: rest });
        break;
      case 'softdep':
        if (name === null || rest === null) bad('softdep needs a module and dependencies');
        else config.softdeps.push({ ...origin, module: toByteString(name), ...softdepLists(rest) });
        break;
      case 'weakdep':
        if (name === null || rest === null) bad('weakdep needs a module and dependencies');
        else config.weakdeps.push({ ...origin, module: name, pre: rest.trim().split(/\s+/), post: [] });
        break;
      case 'include':
      case 'config':
        bad(`"${cmd}" is no longer supported by kmod`);
        break;
      default:
        bad(`unknown command "${cmd}"`);
    }
  }
}

/**
 * kmod's getline_wrapped(): a backslash-newline joins lines, a backslash before any other char is dropped
 * (the char kept). Line numbers are those of each logical line's first physical line.
 */
function* logicalLines(text: string): Generator<{ line: string; number: number }> {
  let line = '';
  let number = 1;
  let physical = 1;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '\n') {
      yield { line, number };
      line = '';
      number = ++physical;
    } else if (c === '\\' && i + 1 < text.length) {
      const next = text[++i]!;
      if (next === '\n') physical++;
      else line += next;
    } else line += c;
  }
  if (line !== '') yield { line, number };
}

/** What strtok_r(NULL, "\0") gives after `count` words: the remainder past the word's one delimiter, or null. */
function restAfter(line: string, count: number): string | null {
  let i = 0;
  for (let w = 0; w < count; w++) {
    while (i < line.length && (line[i] === ' ' || line[i] === '\t')) i++;
    if (i >= line.length) return null;
    while (i < line.length && line[i] !== ' ' && line[i] !== '\t') i++;
  }
  const rest = line.slice(i + 1);
  return i >= line.length || rest === '' ? null : rest;
}

/** `pre: a b post: c`; words before any `pre:`/`post:` are ignored, as kmod does. */
function softdepLists(text: string): { pre: string[]; post: string[] } {
  const pre: string[] = [];
  const post: string[] = [];
  let mode: string[] | null = null;
  for (const word of text.split(/[ \t\n\v\f\r]+/)) {
    if (word === 'pre:') mode = pre;
    else if (word === 'post:') mode = post;
    else if (word !== '') mode?.push(word);
  }
  return { pre, post };
}

/** kmod 30's kcmdline_parse(): tokens split on spaces; MOD.PARAM=VALUE becomes `options MOD PARAM=VALUE`. */
function parseCmdline(config: ModprobeConfig, cmdline: string): void {
  const file = '/proc/cmdline';
  for (const token of cmdline.split(' ')) {
    // kmod's loop: every `.` ends the string before it and starts the parameter; an `=` after a `.` starts
    // the value, which ends at the next `.`. The module name is what precedes the first `.`.
    const dot = token.indexOf('.');
    if (dot < 0) continue;
    let value: string | null = null;
    for (let i = dot + 1; i < token.length; i++) {
      if (token[i] === '=') {
        const end = token.indexOf('.', i + 1);
        value = token.slice(i + 1, end < 0 ? token.length : end);
      }
    }
    if (value === null) continue;
    const module = token.slice(0, dot);
    const param = token.slice(token.lastIndexOf('.') + 1);
    if (module === 'modprobe' && param.startsWith('blacklist=')) {
      // Taken as written: kmod does not normalize these names.
      for (const name of value.split(',')) {
        if (!config.blacklist.has(name)) config.blacklist.set(name, { file, line: 1 });
      }
    } else {
      const name = underscores(module);
      if (name !== null) config.options.push({ file, line: 1, module: name, options: param });
    }
  }
}

/** Everything modprobe.d says about one module, with kmod's matching rules for each command. */
export interface ModuleConfig {
  blacklisted: ConfigOrigin | null;
  /** All `options` lines for exactly this name (or the alias it was found by), joined by spaces. */
  options: string;
  /** The first softdep whose name matches (fnmatch). */
  softdep: ConfigSoftdep | null;
  /** The first install/remove command whose name matches (fnmatch); a softdep overrides install. */
  install: ConfigCommand | null;
  remove: ConfigCommand | null;
}

export function moduleConfig(config: ModprobeConfig, module: string, alias?: string): ModuleConfig {
  const name = toByteString(module);
  const options = config.options
    .filter((o) => o.module === module || (alias !== undefined && o.module === alias))
    .map((o) => o.options)
    .filter((o) => o !== '');
  return {
    blacklisted: config.blacklist.get(module) ?? null,
    options: options.join(' '),
    softdep: config.softdeps.find((s) => fnmatch(s.module, name)) ?? null,
    install: config.install.find((c) => fnmatch(c.module, name)) ?? null,
    remove: config.remove.find((c) => fnmatch(c.module, name)) ?? null,
  };
}

export interface LoadModprobeOptions {
  fs?: FsLike;
  root?: string;
  /** The kernel's modules.softdep (KernelData.softdep): kmod reads it as one more configuration file. */
  kernelSoftdep?: ConfigFile | null;
  /** Kernel command line tokens (profile.cmdline). */
  cmdline?: readonly string[];
  dirs?: readonly string[];
}

/** Reads the target root's modprobe.d directories. */
export async function loadModprobeConfig(options: LoadModprobeOptions = {}): Promise<ModprobeConfig> {
  const reader = new Reader({ fs: options.fs ?? nodeFsPromises, root: options.root ?? '/' });
  // name -> path: the first directory that has a name wins (kmod's conf_files_insert_sorted()).
  const chosen = new Map<string, string>();
  const softdep = options.kernelSoftdep ?? null;
  if (softdep) chosen.set(posix.basename(softdep.path), softdep.path);
  for (const dir of options.dirs ?? MODPROBE_DIRS) {
    for (const name of (await reader.list(dir)) ?? []) {
      if (name.startsWith('.') || !(name.endsWith('.conf') || name.endsWith('.alias'))) continue;
      if (!chosen.has(name)) chosen.set(name, posix.join(dir, name));
    }
  }
  // All files in one name order, whatever their directory (strcmp order: code units, not locale).
  const names = [...chosen.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const files: ConfigFile[] = [];
  const issues: ModaliasIssue[] = [];
  for (const name of names) {
    const path = chosen.get(name)!;
    if (softdep && path === softdep.path) {
      files.push(softdep);
      continue;
    }
    const seen = reader.diagnostics.length;
    const text = await reader.text(path);
    const problems = reader.diagnostics.slice(seen);
    // A file linked to /dev/null is masked (kmod reads nothing from it); the reader refuses the device itself,
    // since no other device or FIFO may be opened there (issue #11), so the mask is recognised by its link.
    const masked = problems.length === 1 && problems[0]!.code === 'not-regular' && (await reader.link(path)) === '/dev/null';
    if (!masked) for (const d of problems) issues.push({ file: d.path, line: null, message: d.message });
    // A directory, or a masked file, reads as nothing: kmod skips both too.
    if (text !== null) files.push({ path, text });
  }
  const config = parseModprobeConfig(files, options.cmdline);
  config.issues.unshift(...issues);
  return config;
}

function clip(text: string): string {
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

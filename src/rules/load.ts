// Reads rule files: YAML text -> positioned nodes (every line and column kept for lint and explain), files and
// directories in the documented order, then validate.ts over the whole set. `yaml` and the linter are imported
// lazily: the boot path uses the rules compiled to JSON at build time, and local rules compiled once and cached
// (cache.ts), and pays for neither unless there are local rules and no valid cache.
import { posix } from 'node:path';
import { AutoconfigError } from '../errors.ts';
import { nodeFsPromises, type FsLike } from '../fs.ts';
import { Reader } from '../probe/_reader.ts';
import type { RulesCacheFile, RulesCacheOptions } from './cache.ts';
import type { RuleFile, RuleIssue } from './types.ts';
import type { Pos, RawDocument, RawEntry, RawNode } from './validate.ts';

export interface LoadedRules {
  /** In evaluation order; each holds only the parts that passed validation. */
  files: RuleFile[];
  issues: RuleIssue[];
  /**
   * What became of the compiled-rules cache when loadRules() was given one: said where it was ignored (damaged,
   * made for other rules) or cannot be kept. Absent when it was used, missing, or not asked for.
   */
  cacheNote?: string;
  /** The compiled-rules cache a run that writes should leave in the target (cache.ts); absent when none is due. */
  cacheFile?: RulesCacheFile;
}

/** A rules directory contributes the files whose names end so; one sorted list of both (compareFileNames). */
export const RULE_FILE_EXTENSIONS = ['.yaml', '.yml'] as const;

/** Rule files of the target system, inside its root. */
export const TARGET_RULES_DIR = '/etc/autoconfig/rules.d';

/** Larger rule files are refused: a rule set is kilobytes, and the parser must not be handed anything huge. */
export const RULE_FILE_CAP = 4 * 1024 * 1024;

// Anchors and aliases are legal YAML, but a few aliases of aliases expand exponentially ("billion laughs").
const NODE_BUDGET = 200_000;
const MAX_DEPTH = 128;

/** The YAML stage of one file: its node tree, or the syntax issues that stopped it. */
export async function parseRuleText(text: string, file: string): Promise<{ doc: RawDocument | null; issues: RuleIssue[] }> {
  const yaml = await import('yaml');
  const lineCounter = new yaml.LineCounter();
  const doc = yaml.parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const at = (offset: number): Pos => {
    const p = lineCounter.linePos(offset);
    return { line: p.line, column: p.col };
  };
  const issues: RuleIssue[] = [];
  const syntax = (severity: 'error' | 'warning', offset: number, message: string) => {
    const pos = at(offset);
    issues.push({ code: 'yaml_syntax', severity, file, line: pos.line, column: pos.column, path: '', message });
  };
  // The library appends " at line N, column M:" and an excerpt; we give line and column separately.
  const clean = (m: string) => m.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
  for (const e of doc.errors) {
    syntax('error', e.pos[0], e.code === 'MULTIPLE_DOCS' ? 'a rule file holds one YAML document (this "---" starts a second)' : clean(e.message));
  }
  for (const w of doc.warnings) syntax('warning', w.pos[0], clean(w.message));
  if (doc.errors.length > 0) return { doc: null, issues };

  let budget = NODE_BUDGET;
  const convert = (node: unknown, fallback: Pos, depth: number): RawNode => {
    if (--budget < 0 || depth > MAX_DEPTH) throw new Budget();
    if (yaml.isAlias(node)) {
      const target = node.resolve(doc);
      if (target === undefined) syntax('error', node.range?.[0] ?? 0, `unknown alias *${node.source} (no anchor &${node.source} before it)`);
      return convert(target ?? null, fallback, depth + 1);
    }
    const pos = yaml.isNode(node) && node.range ? at(node.range[0]) : fallback;
    if (yaml.isMap(node)) {
      const entries: RawEntry[] = [];
      for (const pair of node.items) {
        const k = pair.key as unknown;
        const keyPos = yaml.isNode(k) && k.range ? at(k.range[0]) : pos;
        const keyNode = yaml.isAlias(k) ? k.resolve(doc) : k;
        const scalar = yaml.isScalar(keyNode) ? keyNode.value : yaml.isNode(keyNode) ? undefined : keyNode;
        const key = scalar === undefined ? '(complex key)' : String(scalar);
        entries.push({ key, keyIsString: typeof scalar === 'string', keyPos, value: convert(pair.value, keyPos, depth + 1) });
      }
      return { kind: 'map', pos, entries };
    }
    if (yaml.isSeq(node)) return { kind: 'seq', pos, items: node.items.map((n) => convert(n, pos, depth + 1)) };
    if (yaml.isScalar(node)) return { kind: 'scalar', pos, value: node.value };
    return { kind: 'scalar', pos, value: node ?? null };
  };
  try {
    const root = doc.contents === null ? null : convert(doc.contents, { line: 1, column: 1 }, 0);
    return { doc: issues.some((i) => i.severity === 'error') ? null : { file, root }, issues };
  } catch (error) {
    if (!(error instanceof Budget)) throw error;
    syntax('error', 0, `more than ${NODE_BUDGET} nodes or ${MAX_DEPTH} levels of nesting, aliases expanded`);
    return { doc: null, issues };
  }
}

class Budget extends Error {}

/** Parses and validates texts as one set after `prior` (the rules already loaded, e.g. the shipped set). */
export async function loadRuleTexts(
  texts: readonly { file: string; text: string }[],
  prior: readonly RuleFile[] = [],
): Promise<LoadedRules> {
  const docs: RawDocument[] = [];
  const issues: RuleIssue[] = [];
  for (const { file, text } of texts) {
    const parsed = await parseRuleText(text, file);
    issues.push(...parsed.issues);
    if (parsed.doc) docs.push(parsed.doc);
  }
  const { validateDocuments } = await import('./validate.ts');
  const validated = validateDocuments(docs, prior);
  return { files: validated.files, issues: [...issues, ...validated.issues] };
}

/** Plain code-point order (strcmp over UTF-8), whatever order the directory lists its entries in. */
export function compareFileNames(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

export interface ReadRulesOptions {
  fs?: FsLike;
  /** Paths are read inside this root (symlinks cannot leave it); "/" by default. */
  root?: string;
  /** Absent paths are skipped instead of being an error (the target's optional rules.d). */
  optional?: boolean;
  /** The name a file is reported under; the path itself by default. */
  label?: (path: string) => string;
  /** Receives an info-level `skipped_file` issue for each entry of a directory that is not read, with why. */
  skipped?: RuleIssue[];
}

/** Why a directory entry is not a rule file, or null when it is one. */
function skipReason(name: string): string | null {
  if (name.startsWith('.')) return 'skipped: a hidden file (the name starts with ".")';
  if (!RULE_FILE_EXTENSIONS.some((ext) => name.endsWith(ext) && name.length > ext.length)) {
    return 'skipped: not named *.yaml or *.yml (a directory contributes only those; name a file itself to load it)';
  }
  return null;
}

/**
 * Reads rule files and directories in the order given; a directory contributes its `*.yaml` and `*.yml` files
 * (not hidden ones), all in one name order, and reports every other entry in `options.skipped`. A file named
 * itself is read whatever its name: the caller asked for it (a YAML error says so if it is no rule file). A path
 * that is missing or unreadable is an AutoconfigError (E_IO): the caller asked for it.
 */
export async function readRuleTexts(paths: readonly string[], options: ReadRulesOptions = {}): Promise<{ file: string; text: string }[]> {
  const root = options.root ?? '/';
  const reader = new Reader({ fs: options.fs ?? nodeFsPromises, root, attrCap: RULE_FILE_CAP });
  const label = options.label ?? ((p: string) => p);
  const out: { file: string; text: string }[] = [];
  const fail = (path: string, why: string): never => {
    throw new AutoconfigError('E_IO', `${path}: ${why}`, { path });
  };
  // `path` is what is read, `shown` what issues and decisions name (the path as the user wrote it).
  const read = async (path: string, shown: string) => {
    const seen = reader.diagnostics.length;
    const text = await reader.text(path, { required: true });
    // The reader's messages start with the path read; the error names the path as given, once.
    const why = reader.diagnostics.slice(seen).map((d) => (d.message.startsWith(`${path}: `) ? d.message.slice(path.length + 2) : d.message));
    if (text === null) return fail(shown, why.join('; ') || 'cannot be read');
    out.push({ file: label(shown), text });
  };
  for (const given of paths) {
    // On this machine a relative path means the working directory, as on any command line.
    const path = root === '/' ? posix.resolve(given) : given;
    if (!(await reader.exists(path))) {
      if (options.optional) continue;
      fail(given, 'no such rule file or directory');
    }
    const seen = reader.diagnostics.length;
    const names = await reader.list(path);
    if (names === null) {
      // Not a directory: a rule file named directly (the failed listing is not a problem to report).
      reader.diagnostics.length = seen;
      await read(path, given);
      continue;
    }
    for (const name of [...names].sort(compareFileNames)) {
      const why = skipReason(name);
      if (why === null) {
        await read(posix.join(path, name), posix.join(given, name));
        continue;
      }
      options.skipped?.push({ code: 'skipped_file', severity: 'info', file: label(posix.join(given, name)), line: 0, column: 0, path: '', message: why });
    }
  }
  return out;
}

export interface LoadRulesOptions {
  /** The shipped rules (compile.ts loadShippedRules), already valid; they come first. */
  shipped?: readonly RuleFile[];
  /** `--rules` files or directories on this machine, in the order given. */
  paths?: readonly string[];
  /** The target root: its /etc/autoconfig/rules.d comes last when it exists. null or absent: none. */
  targetRoot?: string | null;
  fs?: FsLike;
  /**
   * The compiled-rules cache (cache.ts) of a target root: read when there are rule files beyond the shipped ones;
   * the file to write when it is due is returned (cacheFile), never written here. Absent: no cache.
   */
  cache?: RulesCacheOptions;
}

/**
 * The whole documented order: shipped, then each --rules path, then the target's rules.d; one validation. With a
 * cache, a compile result made earlier for exactly these texts after exactly these shipped rules is used instead
 * of parsing and validating them again; the result is the same either way (cache.ts).
 */
export async function loadRules(options: LoadRulesOptions = {}): Promise<LoadedRules> {
  const fsOpt = options.fs ? { fs: options.fs } : {};
  const skipped: RuleIssue[] = [];
  const texts = await readRuleTexts(options.paths ?? [], { ...fsOpt, skipped });
  if (options.targetRoot) {
    const root = options.targetRoot;
    texts.push(
      ...(await readRuleTexts([TARGET_RULES_DIR], { ...fsOpt, root, optional: true, label: (p) => posix.join(root, p), skipped })),
    );
  }
  const shipped = options.shipped ?? [];
  // No local rules (the common boot): nothing to parse, nothing to cache.
  if (texts.length === 0) return { files: [...shipped], issues: skipped };
  if (!options.cache) {
    const loaded = await loadRuleTexts(texts, shipped);
    return { files: [...shipped, ...loaded.files], issues: [...skipped, ...loaded.issues] };
  }
  const { cachedRuleTexts } = await import('./cache.ts');
  const cached = await cachedRuleTexts(texts, shipped, options.cache, () => loadRuleTexts(texts, shipped));
  return {
    files: [...shipped, ...cached.loaded.files],
    issues: [...skipped, ...cached.loaded.issues],
    ...(cached.note === null ? {} : { cacheNote: cached.note }),
    ...(cached.file === null ? {} : { cacheFile: cached.file }),
  };
}

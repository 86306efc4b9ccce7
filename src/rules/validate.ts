// Rule documents (YAML already turned into positioned nodes by load.ts) -> typed RuleFiles and coded issues.
// Everything that can be checked before the machine is known is checked here, so that evaluation never meets a
// malformed rule: a rule with an error is left out (its issue says why); warnings keep it. Checks that span files
// (unique rule ids and list names, known lists and facts) see the files in load order.
import { BUILTIN_FACTS, FACT_PLACEHOLDERS, factValueProblem, placeholdersIn, type FactType } from './facts.ts';
import { parseSize } from './conditions.ts';
import { parseRange } from './version.ts';
import { formatRuleIssue, PATTERNS, setOwn } from './shared.ts';
import { ENUMS, RULE_KEYS, SECTIONS, type LeafShape } from './schema.ts';
import { guestKeyProblem, guestValueProblem, moduleOptionsProblem, sysconfigValueProblem, sysconfigVariableProblem } from './values.ts';
import type {
  Action,
  Condition,
  FactDecl,
  FactValue,
  IdList,
  ModuleOptional,
  NumRange,
  OneOrMore,
  Rule,
  RuleFile,
  RuleIssue,
  RuleIssueCode,
  SourcePos,
} from './types.ts';

/** The mappings read wholly from the tables; the others have semantics of their own below. */
type TableRead = 'pci' | 'usb' | 'cpu' | 'dmi' | 'firmware' | 'hypervisor' | 'target' | 'bootOptions';

/** A line and column (1-based) inside the document being validated. */
export interface Pos {
  line: number;
  column: number;
}

/** One `key: value` of a mapping; keys that YAML did not read as strings keep their text and are rejected. */
export interface RawEntry {
  key: string;
  keyIsString: boolean;
  keyPos: Pos;
  value: RawNode;
}

/** A YAML node with its position: what load.ts hands over, free of any YAML library type. */
export type RawNode =
  | { kind: 'map'; pos: Pos; entries: RawEntry[] }
  | { kind: 'seq'; pos: Pos; items: RawNode[] }
  | { kind: 'scalar'; pos: Pos; value: unknown };

export interface RawDocument {
  file: string;
  /** null for an empty document. */
  root: RawNode | null;
}

// The keys, value shapes, enumerations and formats of every mapping are data (schema.ts): the structure is checked
// from those tables here, and the same tables are data/rules.schema.json. What is hand-written below is the
// semantics: known lists and facts, glob syntax, version ranges, min <= max, what the emitters accept.
export { RULE_KEYS };
export const MODULE_OPTIONAL = ENUMS.moduleOptional satisfies readonly ModuleOptional[];
export const VT_STATES = ENUMS.vtState;
export const HAP_STATES = ENUMS.hapState;
export const ROLES = ENUMS.role;
export const ARCHES = ENUMS.arch;
export const FACT_TYPES = ENUMS.factType;

// PATTERNS, setOwn and formatRuleIssue live in shared.ts (the boot path needs them, not the linter).
export { formatRuleIssue, PATTERNS, setOwn };

type Seg = string | number;

/** "rules[3].when.pci.vendor"; keys that are not plain words are quoted: facts["quirks.igfx"].type. */
export function formatPath(path: readonly Seg[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(seg)) out += out === '' ? seg : `.${seg}`;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out;
}

const GLOB_CLASSES = new Set(['alnum', 'alpha', 'blank', 'cntrl', 'digit', 'graph', 'lower', 'print', 'punct', 'space', 'upper', 'xdigit']);

/** Why an fnmatch pattern is unusable (empty, unterminated `[`, unknown `[:class:]`, trailing `\`), or null. */
export function globProblem(pattern: string): string | null {
  if (pattern === '') return 'an empty pattern';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '\\') {
      if (i === pattern.length - 1) return 'a trailing backslash matches nothing';
      i++;
    } else if (c === '[') {
      let j = i + 1;
      if (pattern[j] === '!' || pattern[j] === '^') j++;
      if (pattern[j] === ']') j++;
      while (j < pattern.length && pattern[j] !== ']') {
        if (pattern[j] === '[' && pattern[j + 1] === ':') {
          const end = pattern.indexOf(':]', j + 2);
          if (end >= 0) {
            const name = pattern.slice(j + 2, end);
            if (!GLOB_CLASSES.has(name)) return `unknown character class [:${name}:]`;
            j = end + 2;
            continue;
          }
        }
        if (pattern[j] === '\\') j++;
        j++;
      }
      if (j >= pattern.length) return `"[" at ${i + 1} is never closed`;
      i = j;
    }
  }
  return null;
}

/**
 * True when a condition on one of `buses` (outside any `not`) gives the rule devices: pci or usb for device-scoped
 * module actions, pci alone for `{slot}`.
 */
export function hasDeviceCondition(c: Condition | undefined, buses: readonly ('pci' | 'usb')[] = ['pci', 'usb']): boolean {
  if (!c) return false;
  const has = (x: Condition) => hasDeviceCondition(x, buses);
  return buses.some((bus) => c[bus] !== undefined) || (c.all ?? []).some(has) || (c.any ?? []).some(has);
}

interface KnownFact {
  type: FactType;
  values?: readonly string[];
  /** "built-in" or file:line:column of the first declaration. */
  origin: string;
}

/** What the whole set declares, gathered before any document is checked, and what has been seen so far. */
interface SetContext {
  lists: Set<string>;
  facts: Map<string, KnownFact>;
  factsSet: Set<string>;
  ruleIds: Map<string, string>;
  listNames: Map<string, string>;
}

/**
 * Validates documents in load order after `prior` (already valid files, the compiled shipped set): per-file
 * structure plus the set-wide checks. Returns the usable part of every document and every issue.
 */
export function validateDocuments(
  docs: readonly RawDocument[],
  prior: readonly RuleFile[] = [],
): { files: RuleFile[]; issues: RuleIssue[] } {
  const ctx = prescan(docs, prior);
  const files: RuleFile[] = [];
  const issues: RuleIssue[] = [];
  for (const doc of docs) {
    const checker = new DocChecker(doc.file, ctx);
    files.push(checker.document(doc.root));
    issues.push(...checker.issues);
  }
  return { files, issues };
}

function where(file: string, pos: Pos): string {
  return `${file}:${pos.line}:${pos.column}`;
}

function prescan(docs: readonly RawDocument[], prior: readonly RuleFile[]): SetContext {
  const ctx: SetContext = { lists: new Set(), facts: new Map(), factsSet: new Set(), ruleIds: new Map(), listNames: new Map() };
  for (const f of BUILTIN_FACTS) ctx.facts.set(f.name, { type: f.type, ...(f.values ? { values: f.values } : {}), origin: 'built-in' });
  for (const file of prior) {
    for (const list of file.lists) {
      ctx.lists.add(list.name);
      if (!ctx.listNames.has(list.name)) ctx.listNames.set(list.name, where(file.file, list.pos));
    }
    for (const fact of file.facts) {
      if (!ctx.facts.has(fact.name)) ctx.facts.set(fact.name, { type: fact.type, origin: where(file.file, fact.pos) });
    }
    for (const rule of file.rules) {
      if (!ctx.ruleIds.has(rule.id)) ctx.ruleIds.set(rule.id, where(file.file, rule.pos));
      for (const action of rule.then) if ('fact' in action) for (const name of Object.keys(action.fact)) ctx.factsSet.add(name);
    }
  }
  for (const doc of docs) {
    if (doc.root?.kind !== 'map') continue;
    for (const top of doc.root.entries) {
      if (top.key === 'lists' && top.value.kind === 'map') {
        for (const e of top.value.entries) if (e.keyIsString) ctx.lists.add(e.key);
      } else if (top.key === 'facts' && top.value.kind === 'map') {
        for (const e of top.value.entries) {
          const type = e.value.kind === 'map' ? e.value.entries.find((t) => t.key === 'type')?.value : undefined;
          const t = type?.kind === 'scalar' ? type.value : undefined;
          if (e.keyIsString && !ctx.facts.has(e.key) && FACT_TYPES.includes(t as FactType)) {
            ctx.facts.set(e.key, { type: t as FactType, origin: where(doc.file, e.keyPos) });
          }
        }
      } else if (top.key === 'rules' && top.value.kind === 'seq') {
        for (const rule of top.value.items) {
          const then = rule.kind === 'map' ? rule.entries.find((e) => e.key === 'then')?.value : undefined;
          if (then?.kind !== 'seq') continue;
          for (const action of then.items) {
            if (action.kind !== 'map') continue;
            for (const a of action.entries) {
              if (a.key === 'fact' && a.value.kind === 'map') for (const f of a.value.entries) if (f.keyIsString) ctx.factsSet.add(f.key);
            }
          }
        }
      }
    }
  }
  return ctx;
}

function describe(node: RawNode): string {
  if (node.kind === 'map') return 'a mapping';
  if (node.kind === 'seq') return 'a list';
  const v = node.value;
  if (v === null) return 'nothing (null)';
  if (typeof v === 'string') return `the string ${JSON.stringify(v)}`;
  if (typeof v === 'number' || typeof v === 'boolean') return `the ${typeof v} ${String(v)}`;
  return `a ${typeof v}`;
}

function put<T extends object, K extends keyof T>(obj: T, key: K, value: T[K] | undefined): void {
  if (value !== undefined) obj[key] = value;
}

/** The checks of one document. Each method returns its best reading of the node and records issues. */
class DocChecker {
  readonly issues: RuleIssue[] = [];
  private errors = 0;

  constructor(
    readonly file: string,
    private readonly ctx: SetContext,
  ) {}

  private issue(code: RuleIssueCode, pos: Pos, path: readonly Seg[], message: string, severity: 'error' | 'warning' = 'error'): void {
    if (severity === 'error') this.errors++;
    this.issues.push({ code, severity, file: this.file, line: pos.line, column: pos.column, path: formatPath(path), message });
  }

  private pos(p: Pos): SourcePos {
    return { file: this.file, line: p.line, column: p.column };
  }

  document(root: RawNode | null): RuleFile {
    const out: RuleFile = { file: this.file, rules: [], lists: [], facts: [] };
    if (root === null || (root.kind === 'scalar' && root.value === null)) return out;
    const m = this.map(root, [], 'a mapping with facts, lists and rules');
    if (!m) return out;
    for (const e of m.entries) {
      if (!this.key(e, [], RULE_KEYS.file)) continue;
      if (e.key === 'facts') out.facts = this.factDecls(e.value, ['facts']);
      else if (e.key === 'lists') out.lists = this.lists(e.value, ['lists']);
      else out.rules = this.rules(e.value, ['rules']);
    }
    return out;
  }

  // ---- generic node checks

  private map(node: RawNode, path: readonly Seg[], what: string): Extract<RawNode, { kind: 'map' }> | undefined {
    if (node.kind === 'map') return node;
    this.issue('invalid_type', node.pos, path, `expected ${what}, found ${describe(node)}`);
    return undefined;
  }

  /** A string key from `allowed`; reports others as unknown_key (or `code`). */
  private key(e: RawEntry, path: readonly Seg[], allowed: readonly string[], code: RuleIssueCode = 'unknown_key'): boolean {
    if (!e.keyIsString) {
      this.issue('invalid_type', e.keyPos, [...path, e.key], `a key must be a word, found ${e.key}`);
      return false;
    }
    if (allowed.includes(e.key)) return true;
    this.issue(code, e.keyPos, [...path, e.key], `unknown ${code === 'unknown_action' ? 'action' : 'key'} "${e.key}"; expected one of ${allowed.join(', ')}`);
    return false;
  }

  /** A word-like key of a free mapping (names of facts, lists, variables), checked against `pattern`. */
  private name(e: RawEntry, path: readonly Seg[], pattern: RegExp, what: string): boolean {
    if (e.keyIsString && pattern.test(e.key)) return true;
    this.issue('invalid_type', e.keyPos, [...path, e.key], `"${e.key}" is not a valid ${what}`);
    return false;
  }

  /** A key the emitted file may not take from a rule (src/rules/values.ts): `problem` names why. */
  private allowed(e: RawEntry, path: readonly Seg[], problem: string | null): boolean {
    if (problem === null) return true;
    this.issue('not_allowed', e.keyPos, [...path, e.key], problem);
    return false;
  }

  /** A value the emitter would refuse (the same check, src/rules/values.ts): an issue here instead of at render. */
  private checked<T extends string | number | boolean>(node: RawNode, path: readonly Seg[], value: T | undefined, problem: (v: T) => string | null): T | undefined {
    if (value === undefined) return undefined;
    const why = problem(value);
    if (why === null) return value;
    this.issue('bad_value', node.pos, path, why);
    return undefined;
  }

  private required(node: Extract<RawNode, { kind: 'map' }>, path: readonly Seg[], keys: readonly string[]): void {
    for (const k of keys) {
      if (!node.entries.some((e) => e.key === k)) this.issue('missing_key', node.pos, path, `"${k}" is required`);
    }
  }

  private string(node: RawNode, path: readonly Seg[], what = 'a string'): string | undefined {
    if (node.kind === 'scalar' && typeof node.value === 'string') {
      if (node.value !== '') return node.value;
      this.issue('invalid_type', node.pos, path, `expected ${what}, found an empty string`);
      return undefined;
    }
    const hint = node.kind === 'scalar' && (typeof node.value === 'number' || typeof node.value === 'boolean') ? ' (quote it)' : '';
    this.issue('invalid_type', node.pos, path, `expected ${what}, found ${describe(node)}${hint}`);
    return undefined;
  }

  private patterned(node: RawNode, path: readonly Seg[], pattern: RegExp, what: string): string | undefined {
    const s = this.string(node, path, what);
    if (s === undefined) return undefined;
    if (pattern.test(s)) return s;
    this.issue('invalid_type', node.pos, path, `"${s}" is not ${what}`);
    return undefined;
  }

  private boolean(node: RawNode, path: readonly Seg[]): boolean | undefined {
    if (node.kind === 'scalar' && typeof node.value === 'boolean') return node.value;
    this.issue('invalid_type', node.pos, path, `expected true or false, found ${describe(node)}`);
    return undefined;
  }

  private oneOf<T extends string | number>(node: RawNode, path: readonly Seg[], values: readonly T[]): T | undefined {
    if (node.kind === 'scalar' && values.includes(node.value as T)) return node.value as T;
    this.issue('invalid_type', node.pos, path, `expected one of ${values.join(', ')}, found ${describe(node)}`);
    return undefined;
  }

  /** One value or a non-empty list of alternatives. */
  private oneOrMore<T>(node: RawNode, path: readonly Seg[], item: (n: RawNode, p: Seg[]) => T | undefined): OneOrMore<T> | undefined {
    if (node.kind !== 'seq') return item(node, [...path]);
    if (node.items.length === 0) {
      this.issue('invalid_type', node.pos, path, 'an empty list can never match');
      return undefined;
    }
    const out: T[] = [];
    node.items.forEach((n, i) => {
      const v = item(n, [...path, i]);
      if (v !== undefined) out.push(v);
    });
    return out;
  }

  /** A list of strings, possibly empty; a single string is taken as a list of one. */
  private strings(node: RawNode, path: readonly Seg[], item = (n: RawNode, p: Seg[]) => this.string(n, p)): string[] {
    const items = node.kind === 'seq' ? node.items.map((n, i) => item(n, [...path, i])) : [item(node, [...path])];
    return items.filter((v) => v !== undefined);
  }

  private hex(node: RawNode, path: readonly Seg[], width: 2 | 4): string | undefined {
    if (node.kind === 'scalar' && typeof node.value === 'number') {
      const digits = String(node.value);
      const hint = /^[0-9]+$/.test(digits) && digits.length <= width ? `"${digits.padStart(width, '0')}"` : `${width} hex digits in quotes`;
      this.issue('bad_hex_id', node.pos, path, `YAML read this ID as the number ${node.value}; write ${hint} (a bare 0166 reads as 166)`);
      return undefined;
    }
    const s = this.string(node, path, `${width} hex digits`);
    if (s === undefined) return undefined;
    if ((width === 4 ? PATTERNS.hex4 : PATTERNS.hex2).test(s)) return s.toLowerCase();
    this.issue('bad_hex_id', node.pos, path, `"${s}" is not ${width} hex digits`);
    return undefined;
  }

  private glob(node: RawNode, path: readonly Seg[]): string | undefined {
    const s = this.string(node, path, 'a glob pattern');
    if (s === undefined) return undefined;
    const problem = globProblem(s);
    if (problem === null) return s;
    this.issue('bad_glob', node.pos, path, `"${s}": ${problem}`);
    return undefined;
  }

  private range(node: RawNode, path: readonly Seg[], what: string): string | undefined {
    if (node.kind === 'scalar' && typeof node.value === 'number') {
      this.issue('invalid_type', node.pos, path, `quote the ${what} range: YAML read it as the number ${node.value} (4.10 becomes 4.1)`);
      return undefined;
    }
    const s = this.string(node, path, `a ${what} range`);
    if (s === undefined) return undefined;
    const r = parseRange(s);
    if (r.ok) return s;
    this.issue('bad_range', node.pos, path, r.message);
    return undefined;
  }

  private numRange(node: RawNode, path: readonly Seg[]): NumRange | undefined {
    const int = (n: RawNode, p: readonly Seg[]): number | undefined => {
      if (n.kind === 'scalar' && typeof n.value === 'number' && Number.isSafeInteger(n.value) && n.value >= 0) return n.value;
      this.issue('invalid_type', n.pos, p, `expected a whole number, found ${describe(n)}`);
      return undefined;
    };
    if (node.kind !== 'map') return int(node, path);
    const out: { min?: number; max?: number } = {};
    for (const e of node.entries) {
      if (!this.key(e, path, RULE_KEYS.numRange)) continue;
      put(out, e.key as 'min' | 'max', int(e.value, [...path, e.key]));
    }
    if (node.entries.length === 0) this.issue('missing_key', node.pos, path, '"min" or "max" is required');
    if (out.min !== undefined && out.max !== undefined && out.min > out.max) {
      this.issue('bad_range', node.pos, path, `min ${out.min} is above max ${out.max}`);
    }
    return out;
  }

  private scalarValue(node: RawNode, path: readonly Seg[]): FactValue | undefined {
    if (node.kind === 'scalar') {
      const v = node.value;
      if (v === null || typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v))) return v;
    }
    this.issue('invalid_type', node.pos, path, `expected a string, number, true, false or null, found ${describe(node)}`);
    return undefined;
  }

  // ---- facts: and lists:

  private factDecls(node: RawNode, path: readonly Seg[]): FactDecl[] {
    const m = this.map(node, path, 'a mapping of fact names to { type, description }');
    if (!m) return [];
    const out: FactDecl[] = [];
    for (const e of m.entries) {
      const p = [...path, e.key];
      const before = this.errors;
      if (!this.name(e, path, PATTERNS.factName, 'fact name')) continue;
      const body = this.map(e.value, p, 'a mapping with type and description');
      if (!body) continue;
      const decl: FactDecl = { name: e.key, type: 'boolean', pos: this.pos(e.keyPos) };
      this.required(body, p, SECTIONS.factDecl.required);
      for (const f of body.entries) {
        if (!this.key(f, p, RULE_KEYS.factDecl)) continue;
        if (f.key === 'type') put(decl, 'type', this.oneOf(f.value, [...p, 'type'], FACT_TYPES));
        else put(decl, 'description', this.string(f.value, [...p, 'description']));
      }
      const known = this.ctx.facts.get(e.key);
      if (this.errors === before && known && known.origin !== where(this.file, e.keyPos) && known.type !== decl.type) {
        this.issue('invalid_type', e.keyPos, p, `"${e.key}" is already a ${known.type} fact (${known.origin})`);
      }
      if (this.errors === before) out.push(decl);
    }
    return out;
  }

  private lists(node: RawNode, path: readonly Seg[]): IdList[] {
    const m = this.map(node, path, 'a mapping of list names to { source, pci, usb }');
    if (!m) return [];
    const out: IdList[] = [];
    for (const e of m.entries) {
      const p = [...path, e.key];
      if (!this.name(e, path, PATTERNS.listName, 'list name')) continue;
      const first = this.ctx.listNames.get(e.key);
      if (first !== undefined) {
        this.issue('duplicate_list', e.keyPos, p, `list "${e.key}" is already declared at ${first}`);
        continue;
      }
      this.ctx.listNames.set(e.key, where(this.file, e.keyPos));
      const body = this.map(e.value, p, 'a mapping with source, description, pci and usb');
      if (!body) continue;
      const list: IdList = { name: e.key, pci: [], usb: [], pos: this.pos(e.keyPos) };
      const anyOf: readonly string[] = SECTIONS.list.anyOf;
      if (!body.entries.some((b) => anyOf.includes(b.key))) this.issue('missing_key', body.pos, p, `${anyOf.map((k) => `"${k}"`).join(' or ')} is required`);
      for (const b of body.entries) {
        if (!this.key(b, p, RULE_KEYS.list)) continue;
        const bp = [...p, b.key];
        if (b.key === 'source' || b.key === 'description') put(list, b.key, this.string(b.value, bp));
        else list[b.key as 'pci' | 'usb'] = this.strings(b.value, bp, (n, ip) => this.listEntry(n, ip));
      }
      // A bad ID drops that ID only: the rest of the list and the rules using it stay usable.
      out.push(list);
    }
    return out;
  }

  private listEntry(node: RawNode, path: readonly Seg[]): string | undefined {
    if (node.kind === 'scalar' && typeof node.value === 'number') {
      this.issue('bad_hex_id', node.pos, path, `YAML read this ID as the number ${node.value}; write "vvvv:dddd" quoted`);
      return undefined;
    }
    const s = this.string(node, path, '"vvvv:dddd" or "vvvv:*"');
    if (s === undefined) return undefined;
    if (PATTERNS.idListEntry.test(s)) return s.toLowerCase();
    this.issue('bad_hex_id', node.pos, path, `"${s}" is not "vvvv:dddd" or "vvvv:*" (4 hex digits each)`);
    return undefined;
  }

  // ---- rules:

  private rules(node: RawNode, path: readonly Seg[]): Rule[] {
    if (node.kind !== 'seq') {
      this.issue('invalid_type', node.pos, path, `expected a list of rules, found ${describe(node)}`);
      return [];
    }
    const out: Rule[] = [];
    node.items.forEach((item, i) => {
      const before = this.errors;
      const rule = this.rule(item, [...path, i]);
      if (rule && this.errors === before) out.push(rule);
    });
    return out;
  }

  private rule(node: RawNode, path: readonly Seg[]): Rule | undefined {
    const m = this.map(node, path, 'a rule (a mapping with id, source, when, then)');
    if (!m) return undefined;
    const rule: Rule = { id: '', source: '', then: [], pos: this.pos(m.pos) };
    this.required(m, path, SECTIONS.rule.required);
    for (const e of m.entries) {
      if (!this.key(e, path, RULE_KEYS.rule)) continue;
      const p = [...path, e.key];
      switch (e.key) {
        case 'id': {
          const id = this.value(SECTIONS.rule.fields.id, e.value, p) as string | undefined;
          if (id === undefined) break;
          const first = this.ctx.ruleIds.get(id);
          if (first !== undefined) this.issue('duplicate_rule_id', e.value.pos, p, `rule id "${id}" is already used at ${first}`);
          else this.ctx.ruleIds.set(id, where(this.file, m.pos));
          rule.id = id;
          break;
        }
        case 'source':
        case 'description':
          put(rule, e.key, this.string(e.value, p));
          break;
        case 'when':
          rule.when = this.condition(e.value, p);
          break;
        case 'then':
          rule.then = this.actions(e.value, p);
          break;
      }
    }
    // Checked on the raw list so that the path keeps the entry's index in the file.
    const then = this.findNode(m, ['then']);
    if (then?.kind === 'seq' && !hasDeviceCondition(rule.when)) {
      then.items.forEach((item, i) => {
        const prefer = this.findNode(item, ['module', 'prefer']);
        if (item.kind !== 'map' || item.entries.length !== 1 || !prefer) return;
        this.issue('device_action_without_device', prefer.pos, [...path, 'then', i, 'module', 'prefer'], "prefer chooses among the candidates of the rule's devices, but no pci or usb condition gives it devices");
      });
    }
    if (then?.kind === 'seq' && !hasDeviceCondition(rule.when, ['pci'])) {
      then.items.forEach((item, i) => {
        const fact = this.findNode(item, ['fact']);
        if (item.kind !== 'map' || item.entries.length !== 1 || fact?.kind !== 'map') return;
        for (const f of fact.entries) {
          if (f.value.kind !== 'scalar' || typeof f.value.value !== 'string' || !placeholdersIn(f.value.value).includes('slot')) continue;
          this.issue('bad_placeholder', f.value.pos, [...path, 'then', i, 'fact', f.key], "{slot} is the slot of the PCI function the rule matched, but no pci condition gives the rule one");
        }
      });
    }
    rule.paths = {};
    collectPaths(m, [], rule.paths, this.file);
    return rule;
  }

  private findNode(node: RawNode, path: readonly Seg[]): RawNode | undefined {
    let at: RawNode | undefined = node;
    for (const seg of path) {
      if (!at) return undefined;
      if (typeof seg === 'number') at = at.kind === 'seq' ? at.items[seg] : undefined;
      else at = at.kind === 'map' ? at.entries.find((e) => e.key === seg)?.value : undefined;
    }
    return at;
  }

  // ---- when:

  private condition(node: RawNode, path: readonly Seg[]): Condition {
    const out: Condition = {};
    const m = this.map(node, path, 'a mapping of conditions');
    if (!m) return out;
    for (const e of m.entries) {
      if (!this.key(e, path, RULE_KEYS.condition)) continue;
      const p = [...path, e.key];
      const v = e.value;
      switch (e.key) {
        case 'all':
        case 'any':
          if (v.kind !== 'seq') this.issue('invalid_type', v.pos, p, `expected a list of conditions, found ${describe(v)}`);
          else out[e.key] = v.items.map((c, i) => this.condition(c, [...p, i]));
          break;
        case 'not':
          out.not = this.condition(v, p);
          break;
        case 'pci':
        case 'usb':
        case 'cpu':
        case 'dmi':
        case 'firmware':
        case 'hypervisor':
        case 'target':
          (out as Record<string, unknown>)[e.key] = this.section(e.key, v, p);
          break;
        case 'memory':
          out.memory = this.memory(v, p);
          break;
        case 'cheatcode':
          out.cheatcode = this.oneOrMore(v, p, (x, xp) => this.cheatcodeTest(x, xp));
          break;
        case 'fact':
          out.fact = this.oneOrMore(v, p, (x, xp) => this.factTest(x, xp));
          break;
      }
    }
    return out;
  }

  /** A mapping of known fields, each read by `read`; the result keeps only the readable ones. */
  private fields<T extends object>(node: RawNode, path: readonly Seg[], keys: readonly string[], read: (key: string, n: RawNode, p: Seg[]) => unknown): T {
    const out: Record<string, unknown> = {};
    const m = this.map(node, path, `a mapping with ${keys.join(', ')}`);
    if (!m) return out as T;
    for (const e of m.entries) {
      if (!this.key(e, path, keys)) continue;
      const v = read(e.key, e.value, [...path, e.key]);
      if (v !== undefined) out[e.key] = v;
    }
    return out as T;
  }

  /** A mapping read wholly from its table (schema.ts SECTIONS): keys, the shape of each value, non-empty. */
  private section(name: TableRead, node: RawNode, path: readonly Seg[]): Record<string, unknown> {
    // The compiler checks that these sections hold only shapes value() reads.
    const s: { fields: Record<string, LeafShape>; nonEmpty?: true } = SECTIONS[name];
    const out = this.fields<Record<string, unknown>>(node, path, RULE_KEYS[name], (k, n, p) => this.value(s.fields[k]!, n, p));
    if (s.nonEmpty && node.kind === 'map' && node.entries.length === 0) {
      this.issue('missing_key', node.pos, path, `${RULE_KEYS[name].map((k) => `"${k}"`).join(' or ')} is required`);
    }
    return out;
  }

  /** A value of a table's shape; each kind keeps the issue code and message lint has always given it. */
  private value(shape: LeafShape, n: RawNode, p: Seg[]): unknown {
    switch (shape.kind) {
      case 'text':
        return this.string(n, p, shape.what);
      case 'format': {
        const s = this.patterned(n, p, PATTERNS[shape.format], shape.what);
        return shape.lower ? s?.toLowerCase() : s;
      }
      case 'hex':
        return this.hex(n, p, shape.width);
      case 'glob':
        return this.glob(n, p);
      case 'versionRange':
        return this.range(n, p, shape.what);
      case 'enum':
        return this.oneOf<string | number>(n, p, ENUMS[shape.name]);
      case 'boolean':
        if (shape.nullable && n.kind === 'scalar' && n.value === null) return null;
        return this.boolean(n, p);
      case 'numRange':
        return this.numRange(n, p);
      case 'listRef': {
        const name = this.string(n, p, 'a list name');
        if (name !== undefined && !this.ctx.lists.has(name)) this.issue('unknown_list', n.pos, p, `no list "${name}" is declared under lists:`);
        return name;
      }
      case 'many':
        return this.oneOrMore(n, p, (x, xp) => this.value(shape.of, x, xp));
      case 'strings':
        return this.strings(n, p, shape.of ? (x, xp) => this.value(shape.of!, x, xp) as string | undefined : undefined);
    }
  }

  private memory(node: RawNode, path: readonly Seg[]): { min?: string; max?: string } {
    const out = this.fields<{ min?: string; max?: string }>(node, path, RULE_KEYS.memory, (_k, n, p) => {
      const s = n.kind === 'scalar' && typeof n.value === 'number' ? undefined : this.string(n, p, 'a size like "512M"');
      if (n.kind === 'scalar' && typeof n.value === 'number') this.issue('bad_size', n.pos, p, `a size needs a unit and quotes ("${n.value}M"), found the number ${n.value}`);
      if (s === undefined) return undefined;
      if (PATTERNS.memorySize.test(s)) return s;
      this.issue('bad_size', n.pos, p, `"${s}" is not a size like "512M" or "4G" (digits and K, M, G or T)`);
      return undefined;
    });
    if (node.kind === 'map' && node.entries.length === 0) this.issue('missing_key', node.pos, path, '"min" or "max" is required');
    if (out.min !== undefined && out.max !== undefined && parseSize(out.min)! > parseSize(out.max)!) {
      this.issue('bad_range', node.pos, path, `min ${out.min} is above max ${out.max}`);
    }
    return out;
  }

  private cheatcodeTest(node: RawNode, path: readonly Seg[]): string | Record<string, string> | undefined {
    if (node.kind !== 'map') return this.patterned(node, path, PATTERNS.cheatcodeName, 'a cheatcode name (no spaces, no "=")');
    if (node.entries.length === 0) {
      this.issue('missing_key', node.pos, path, 'a cheatcode name is required');
      return undefined;
    }
    const out: Record<string, string> = {};
    for (const e of node.entries) {
      if (!this.name(e, path, PATTERNS.cheatcodeName, 'cheatcode name')) continue;
      const glob = this.glob(e.value, [...path, e.key]);
      if (glob !== undefined) setOwn(out, e.key, glob);
    }
    return out;
  }

  private factTest(node: RawNode, path: readonly Seg[]): string | Record<string, FactValue> | undefined {
    if (node.kind !== 'map') {
      const name = this.patterned(node, path, PATTERNS.factName, 'a fact name');
      if (name !== undefined) this.knownFact(name, node.pos, path);
      return name;
    }
    if (node.entries.length === 0) {
      this.issue('missing_key', node.pos, path, 'a fact name is required');
      return undefined;
    }
    const out: Record<string, FactValue> = {};
    for (const e of node.entries) {
      if (!this.name(e, path, PATTERNS.factName, 'fact name')) continue;
      const p = [...path, e.key];
      const value = this.scalarValue(e.value, p);
      if (value === undefined) continue;
      const known = this.knownFact(e.key, e.keyPos, p);
      const problem = known ? factValueProblem(known.type, known.values, value) : null;
      if (problem) this.issue('invalid_type', e.value.pos, p, `fact "${e.key}": ${problem}`);
      setOwn(out, e.key, value);
    }
    return out;
  }

  /** A condition may test built-in and declared facts, and facts some rule sets. */
  private knownFact(name: string, pos: Pos, path: readonly Seg[]): KnownFact | undefined {
    const known = this.ctx.facts.get(name);
    if (!known && !this.ctx.factsSet.has(name)) {
      this.issue('unknown_fact', pos, path, `no rule sets fact "${name}" and it is not declared under facts:`);
    }
    return known;
  }

  // ---- then:

  private actions(node: RawNode, path: readonly Seg[]): Action[] {
    if (node.kind !== 'seq') {
      this.issue('invalid_type', node.pos, path, `expected a list of actions, found ${describe(node)}`);
      return [];
    }
    if (node.items.length === 0) this.issue('missing_key', node.pos, path, 'a rule needs at least one action');
    const out: Action[] = [];
    node.items.forEach((item, i) => {
      const p = [...path, i];
      const m = this.map(item, p, `an action (a mapping with one of ${RULE_KEYS.action.join(', ')})`);
      if (!m) return;
      if (m.entries.length === 0) return this.issue('missing_key', m.pos, p, 'an action needs one key');
      if (m.entries.length > 1) {
        const second = m.entries[1]!;
        return this.issue('multiple_actions', second.keyPos, [...p, second.key], `one action per entry: "${m.entries[0]!.key}" and "${second.key}" need two "-" entries`);
      }
      const e = m.entries[0]!;
      if (!this.key(e, p, RULE_KEYS.action, 'unknown_action')) return;
      const action = this.action(e.key, e.value, [...p, e.key]);
      if (action) out.push(action);
    });
    return out;
  }

  private action(kind: string, v: RawNode, p: Seg[]): Action | undefined {
    switch (kind) {
      case 'fact': {
        const m = this.map(v, p, 'a mapping of fact names to values');
        if (!m) return undefined;
        if (m.entries.length === 0) this.issue('missing_key', m.pos, p, 'a fact name is required');
        const fact: Record<string, FactValue> = {};
        for (const e of m.entries) {
          if (!this.name(e, p, PATTERNS.factName, 'fact name')) continue;
          const fp = [...p, e.key];
          const value = this.scalarValue(e.value, fp);
          if (value === undefined) continue;
          const known = this.ctx.facts.get(e.key);
          if (!known) this.issue('unknown_fact', e.keyPos, fp, `fact "${e.key}" is not built in; declare it under facts:`, 'warning');
          const problem = known ? factValueProblem(known.type, known.values, value) : null;
          if (problem) this.issue('invalid_type', e.value.pos, fp, `fact "${e.key}": ${problem}`);
          for (const name of placeholdersIn(value)) {
            if ((FACT_PLACEHOLDERS as readonly string[]).includes(name)) continue;
            const known = FACT_PLACEHOLDERS.map((p) => `{${p}}`).join(', ');
            this.issue('bad_placeholder', e.value.pos, fp, `{${name}} is not a placeholder; a fact value knows ${known} (the matched PCI slot)`);
          }
          setOwn(fact, e.key, value);
        }
        return { fact };
      }
      case 'xen':
      case 'dom0': {
        const opts = this.section('bootOptions', v, p) as { add?: OneOrMore<string>; remove?: OneOrMore<string> };
        return kind === 'xen' ? { xen: opts } : { dom0: opts };
      }
      case 'module': {
        const { fields, exactlyOne } = SECTIONS.module;
        const mod = this.fields<{ load?: string; blacklist?: string; prefer?: string; options?: string; optional?: ModuleOptional }>(v, p, RULE_KEYS.module, (k, n, kp) =>
          k === 'options' ? this.checked(n, kp, this.string(n, kp, fields.options.what), moduleOptionsProblem) : this.value(fields[k as keyof typeof fields], n, kp),
        );
        if (v.kind === 'map') {
          const one: readonly string[] = exactlyOne.keys;
          const verbs = v.entries.filter((e) => one.includes(e.key));
          if (verbs.length === 0) this.issue('missing_key', v.pos, p, `one of ${one.join(', ')} is required`);
          if (verbs.length > 1) this.issue('multiple_actions', verbs[1]!.keyPos, [...p, verbs[1]!.key], `one of ${one.join(', ')} per action: "${verbs[0]!.key}" and "${verbs[1]!.key}" need two entries`);
          for (const [key, verb] of Object.entries(exactlyOne.onlyWith)) {
            const entry = v.entries.find((e) => e.key === key);
            if (entry && verbs.length === 1 && verbs[0]!.key !== verb) {
              this.issue('unknown_key', entry.keyPos, [...p, key], `${key} go${key.endsWith('s') ? '' : 'es'} with ${verb}, not ${verbs[0]!.key}`);
            }
          }
        }
        return { module: mod };
      }
      case 'sysconfig': {
        const m = this.map(v, p, 'a mapping with file and set');
        if (!m) return undefined;
        this.required(m, p, SECTIONS.sysconfig.required);
        const out = { file: '', set: {} as Record<string, string> };
        for (const e of m.entries) {
          if (!this.key(e, p, RULE_KEYS.sysconfig)) continue;
          const sp = [...p, e.key];
          if (e.key === 'file') out.file = (this.value(SECTIONS.sysconfig.fields.file, e.value, sp) as string | undefined) ?? '';
          else {
            const set = this.map(e.value, sp, 'a mapping of variables to values');
            if (!set) continue;
            if (set.entries.length === 0) this.issue('missing_key', set.pos, sp, 'a variable is required');
            for (const s of set.entries) {
              if (!this.name(s, sp, PATTERNS.sysconfigVar, 'shell variable name')) continue;
              if (!this.allowed(s, sp, sysconfigVariableProblem(s.key))) continue;
              const value = this.checked(s.value, [...sp, s.key], this.string(s.value, [...sp, s.key], 'a string value'), sysconfigValueProblem);
              if (value !== undefined) setOwn(out.set, s.key, value);
            }
          }
        }
        return { sysconfig: out };
      }
      case 'dom0Memory': {
        if (v.kind === 'scalar' && typeof v.value === 'number') {
          this.issue('bad_size', v.pos, p, `a size needs a unit and quotes ("${v.value}M"), found the number ${v.value}`);
          return undefined;
        }
        const s = this.string(v, p, 'a size like "1024M"');
        if (s === undefined) return undefined;
        if (!PATTERNS.dom0Memory.test(s)) {
          this.issue('bad_size', v.pos, p, `"${s}" is not a Dom0 memory size ("1024M", "1024M,max:1024M")`);
          return undefined;
        }
        return { dom0Memory: s };
      }
      case 'dom0Vcpus': {
        if (v.kind === 'scalar' && (v.value === 'all' || (typeof v.value === 'number' && Number.isSafeInteger(v.value) && v.value >= 1))) {
          return { dom0Vcpus: v.value as number | 'all' };
        }
        this.issue('invalid_type', v.pos, p, `expected a number of vCPUs (1 or more) or "all", found ${describe(v)}`);
        return undefined;
      }
      case 'guest': {
        const m = this.map(v, p, 'a mapping of guest settings');
        if (!m) return undefined;
        if (m.entries.length === 0) this.issue('missing_key', m.pos, p, 'a setting is required');
        const guest: Record<string, FactValue> = {};
        for (const e of m.entries) {
          if (!this.name(e, p, PATTERNS.guestKey, 'guest setting name')) continue;
          if (!this.allowed(e, p, guestKeyProblem(e.key))) continue;
          const raw = this.scalarValue(e.value, [...p, e.key]);
          const value = raw === null || raw === undefined ? raw : this.checked(e.value, [...p, e.key], raw, guestValueProblem);
          if (value !== undefined) setOwn(guest, e.key, value);
        }
        return { guest };
      }
      default: {
        const text = this.string(v, p, 'a text');
        if (text === undefined) return undefined;
        return kind === 'note' ? { note: text } : { warn: text };
      }
    }
  }
}

/** Every node under a rule by dot path ("then.1.xen.add"): decisions point at the line of their action. */
function collectPaths(node: RawNode, path: Seg[], out: Record<string, SourcePos>, file: string): void {
  if (path.length > 0) setOwn(out, path.join('.'), { file, line: node.pos.line, column: node.pos.column });
  if (node.kind === 'map') for (const e of node.entries) collectPaths(e.value, [...path, e.key], out, file);
  else if (node.kind === 'seq') node.items.forEach((n, i) => collectPaths(n, [...path, i], out, file));
}

// data/rules.schema.json (for editors) is generated from the rule format's tables (src/rules/schema.ts), which
// validate.ts checks by. Here the committed file must be the generated one, and a real JSON Schema validator (ajv,
// JSON Schema 2020-12, strict) is the independent judge: every rule file we ship or test with is valid under it
// and under lint, and bad copies of the shipped files made by systematic mutations get the same verdict from both
// on structure.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { parse, stringify } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { BUILTIN_FACTS } from '../../src/rules/facts.ts';
import { ENUMS, RULE_KEYS, ruleSchemaText, SECTIONS } from '../../src/rules/schema.ts';
import { PATTERNS } from '../../src/rules/shared.ts';
import type { RuleFile, RuleIssue } from '../../src/rules/types.ts';
import { repoRoot } from '../_support/memfs.ts';
import { load } from './_support.ts';

const SCHEMA_FILE = join(repoRoot, 'data', 'rules.schema.json');
const committed = readFileSync(SCHEMA_FILE, 'utf8');
const schema = JSON.parse(committed) as { $id: string; $defs: Record<string, Record<string, unknown>> };
// strictRequired would refuse `required` inside oneOf/anyOf branches (module's verbs, a list's pci or usb), which
// JSON Schema allows; every other strict check (unknown keywords, types) stays on.
const validate = new Ajv2020({ strict: true, strictRequired: false, allowUnionTypes: true, allErrors: true }).compile(schema);

const SHIPPED = join(repoRoot, 'data', 'rules');
const shippedFiles = readdirSync(SHIPPED).filter((n) => /\.ya?ml$/.test(n)).sort();
const testFiles = readdirSync(join(repoRoot, 'test', 'rules', 'data')).filter((n) => /\.ya?ml$/.test(n));

describe('data/rules.schema.json is generated from src/rules/schema.ts', () => {
  it('the committed file is what the tables give (else: node scripts/gen-rules-schema.mjs)', () => {
    const generated = ruleSchemaText();
    if (committed !== generated) {
      expect.fail(`data/rules.schema.json is stale: run \`node scripts/gen-rules-schema.mjs\` and commit it`);
    }
  });

  it('keeps its $id (package.json exports it as xenoppix-autoconfig/rules.schema.json)', () => {
    expect(schema.$id).toBe('urn:xenoppix-autoconfig:rules.schema.json');
    const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { exports: Record<string, unknown> };
    expect(pkg.exports['./rules.schema.json']).toBe('./data/rules.schema.json');
  });

  it('lint reads the same tables: its keys, enumerations and patterns are the schema\'s', () => {
    for (const [name, keys] of Object.entries(RULE_KEYS)) expect(Object.keys(schema.$defs[name]!.properties as object), name).toEqual([...keys]);
    for (const [name, values] of Object.entries(ENUMS)) expect(schema.$defs[name]!.enum, name).toEqual([...values]);
    for (const [name, re] of Object.entries(PATTERNS)) expect(schema.$defs[name]!.pattern, name).toBe(re.source);
    expect(BUILTIN_FACTS.every((f) => PATTERNS.factName.test(f.name))).toBe(true);
    expect(Object.keys(SECTIONS)).toEqual(Object.keys(RULE_KEYS));
  });
});

const errorsOf = (issues: readonly RuleIssue[]) => issues.filter((i) => i.severity === 'error');

describe('rule files under ajv and lint', () => {
  const files = [...shippedFiles.map((n) => join(SHIPPED, n)), ...testFiles.map((n) => join(repoRoot, 'test', 'rules', 'data', n))];

  it.each(files.map((f) => [f.slice(repoRoot.length + 1), f]))('%s is valid under the schema', (_name, path) => {
    const ok = validate(parse(readFileSync(path, 'utf8')) ?? {});
    expect(validate.errors ?? [], String(ok)).toEqual([]);
  });

  it('lint passes on the shipped files as one set', async () => {
    const texts = Object.fromEntries(shippedFiles.map((n) => [n, readFileSync(join(SHIPPED, n), 'utf8')]));
    expect(errorsOf((await load(texts)).issues)).toEqual([]);
  });
});

// ---- mutations of the shipped files

type Path = (string | number)[];
type Mutation = { file: string; what: string; data: unknown };

/** Issue codes for the shape of a file. The others are semantics the schema cannot see (known facts and lists,
 * glob and version-range syntax, min <= max, ids unique, emitter limits). */
const STRUCTURAL = new Set(['unknown_key', 'unknown_action', 'invalid_type', 'missing_key', 'multiple_actions', 'bad_hex_id', 'bad_size']);

function at(data: unknown, path: Path): unknown {
  return path.reduce<unknown>((node, seg) => (node as Record<string | number, unknown>)[seg], data);
}

function withChange(data: unknown, path: Path, change: (parent: Record<string | number, unknown>, key: string | number) => void): unknown {
  const copy = structuredClone(data);
  const parent = at(copy, path.slice(0, -1)) as Record<string | number, unknown>;
  change(parent, path.at(-1)!);
  return copy;
}

/**
 * Values whose type lint judges by a fact's declaration (`fact: { name: value }` in a condition or an action):
 * semantics, not structure. True for a path below a `fact` mapping's key.
 */
function underFactValue(path: Path): boolean {
  const i = path.lastIndexOf('fact');
  return i >= 0 && path.slice(i + 1).some((seg) => typeof seg === 'string');
}

/** Where a node sits, without list indices and free names: one mutation per kind of place is enough. */
function place(path: Path): string {
  const out: string[] = [];
  let parentKey = '';
  for (const seg of path) {
    // Keys of the mappings whose names the file chooses (a fact, list, variable, setting, cheatcode).
    const free = ['facts', 'lists', 'fact', 'guest', 'set', 'cheatcode'].includes(parentKey) && typeof seg === 'string';
    out.push(typeof seg === 'number' ? '[]' : free ? '*' : seg);
    if (typeof seg === 'string') parentKey = seg;
  }
  return out.join('.');
}

/** Every node of a parsed file with its path, depth first. */
function* nodes(node: unknown, path: Path = []): Generator<[Path, unknown]> {
  yield [path, node];
  if (Array.isArray(node)) for (const [i, v] of node.entries()) yield* nodes(v, [...path, i]);
  else if (node !== null && typeof node === 'object') for (const [k, v] of Object.entries(node)) yield* nodes(v, [...path, k]);
}

/** A part of a shipped file linted on its own after the rest of the shipped set: one rule, fact or list. */
interface Unit {
  file: string;
  data: Record<string, unknown>;
  /** Only the top-level keys are mutated (the whole file). */
  topOnly?: true;
  prior: (all: RuleFile[]) => RuleFile[];
}

function units(file: string, data: Record<string, unknown>): Unit[] {
  const others = (all: RuleFile[]) => all.filter((f) => f.file !== file);
  const self = (all: RuleFile[]) => all.find((f) => f.file === file)!;
  const out: Unit[] = [{ file, data, topOnly: true, prior: others }];
  for (const rule of (data.rules ?? []) as { id: string }[]) {
    // The file's other rules stay in the set (they may set facts this one reads); this one is the unit.
    out.push({ file, data: { rules: [rule] }, prior: (all) => [...others(all), { ...self(all), rules: self(all).rules.filter((r) => r.id !== rule.id) }] });
  }
  for (const name of Object.keys((data.facts ?? {}) as object)) {
    const facts = { [name]: (data.facts as Record<string, unknown>)[name] };
    out.push({ file, data: { facts }, prior: (all) => [...others(all), { ...self(all), facts: self(all).facts.filter((f) => f.name !== name) }] });
  }
  for (const name of Object.keys((data.lists ?? {}) as object)) {
    const lists = { [name]: (data.lists as Record<string, unknown>)[name] };
    out.push({ file, data: { lists }, prior: (all) => [...others(all), { ...self(all), lists: self(all).lists.filter((l) => l.name !== name) }] });
  }
  return out;
}

const isMap = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * Bad copies of a unit, one per kind of change and kind of place in the whole shipped set: a key no mapping takes
 * (it has a space, so no name pattern takes it either), each key dropped, a key that a mapping at the same place
 * elsewhere has grafted on (a second verb on a module, optional on a prefer), each mapping of a list merged with
 * the next (two actions in one), each mapping put in a list, each list and scalar made an empty list, each scalar of
 * the wrong type, each number made 0, each number and boolean quoted, each string with " !" appended (no format
 * allows a space) or made empty.
 */
function mutations(all: readonly Unit[]): (Mutation & { unit: Unit })[] {
  const out = new Map<string, Mutation & { unit: Unit }>();
  // What the mappings at each place hold somewhere in the shipped set: the grafts.
  const seen = new Map<string, Map<string, unknown>>();
  for (const unit of all) {
    for (const [path, node] of nodes(unit.data)) {
      if (!isMap(node) || (unit.topOnly && path.length > 0)) continue;
      const at = seen.get(place(path)) ?? new Map<string, unknown>();
      for (const [k, v] of Object.entries(node)) if (!at.has(k)) at.set(k, v);
      seen.set(place(path), at);
    }
  }
  for (const unit of all) {
    const data = unit.data;
    const add = (kind: string, path: Path, copy: unknown) => {
      const key = `${kind} ${unit.topOnly ? '(file) ' : ''}${place(path)}`;
      if (!out.has(key)) out.set(key, { file: unit.file, what: `${kind} at ${path.join('.') || '(top)'}`, data: copy, unit });
    };
    for (const [path, node] of nodes(data)) {
      if (unit.topOnly && path.length > 1) continue;
      if (Array.isArray(node)) {
        if (path.length > 0) add('emptied', path, withChange(data, path, (p, k) => (p[k] = [])));
        for (let i = 0; i + 1 < node.length; i++) {
          const [a, b] = [node[i], node[i + 1]];
          if (!isMap(a) || !isMap(b) || path.length === 0) continue;
          const merged = { ...a, ...b };
          add(`merged ${Object.keys(merged).sort().join('+')}`, path, withChange(data, [...path, i], (p, k) => (p[k] = merged)));
        }
      } else if (node !== null && typeof node === 'object') {
        const key = 'no such key!';
        add('unknown key', path, path.length === 0 ? { ...node, [key]: 'x' } : withChange(data, path, (p, k) => ((p[k] as Record<string, unknown>)[key] = 'x')));
        for (const k of Object.keys(node)) add('dropped', [...path, k], withChange(data, [...path, k], (p, kk) => delete p[kk]));
        if (path.length > 0) add('listed', path, withChange(data, path, (p, k) => (p[k] = [p[k]])));
        for (const [k, v] of seen.get(place(path)) ?? []) {
          if (k in node || place([...path, k]).endsWith('*') || path.length === 0) continue;
          // Per set of keys it joins: optional onto a load, a prefer and a blacklist are three cases.
          add(`grafted ${k} onto ${Object.keys(node).sort().join('+')}`, path, withChange(data, path, (p, kk) => ((p[kk] as Record<string, unknown>)[k] = structuredClone(v))));
        }
      } else if (path.length > 0 && !underFactValue(path)) {
        add('wrong type', path, withChange(data, path, (p, k) => (p[k] = typeof node === 'string' ? 7 : 'seven')));
        if (typeof node === 'number') add('zero', path, withChange(data, path, (p, k) => (p[k] = 0)));
        if (typeof node !== 'string') add('quoted', path, withChange(data, path, (p, k) => (p[k] = String(node))));
        add('emptied', path, withChange(data, path, (p, k) => (p[k] = [])));
        if (typeof node === 'string') {
          add('format broken', path, withChange(data, path, (p, k) => (p[k] = `${node} !`)));
          add('empty string', path, withChange(data, path, (p, k) => (p[k] = '')));
        }
      }
    }
  }
  return [...out.values()];
}

describe('bad copies of the shipped files: ajv and lint agree on structure', () => {
  let all: RuleFile[] = [];
  beforeAll(async () => {
    all = (await load(Object.fromEntries(shippedFiles.map((n) => [n, readFileSync(join(SHIPPED, n), 'utf8')])))).files;
  });
  const cases = mutations(shippedFiles.flatMap((name) => units(name, parse(readFileSync(join(SHIPPED, name), 'utf8')) as Record<string, unknown>)));

  it('there are mutations of every kind, in rules, facts and lists', () => {
    const kinds = new Set(cases.map((c) => c.what.split(/ at | /)[0]));
    expect([...kinds].sort()).toEqual(['dropped', 'emptied', 'empty', 'format', 'grafted', 'listed', 'merged', 'quoted', 'unknown', 'wrong', 'zero']);
    // The structural errors the schema says with oneOf/maxProperties: two verbs, options on prefer, two actions.
    expect(cases.some((c) => /^grafted load onto prefer at .*module$/.test(c.what))).toBe(true);
    expect(cases.some((c) => /^grafted optional onto prefer at .*module$/.test(c.what))).toBe(true);
    expect(cases.some((c) => /^merged \w+\+\w+ at rules\.0\.then$/.test(c.what))).toBe(true);
    for (const top of ['rules', 'facts', 'lists']) expect(cases.some((c) => c.what.includes(` at ${top}.`)), top).toBe(true);
    expect(cases.length).toBeGreaterThan(500);
  });

  it('what the schema refuses lint refuses; a structural lint error the schema refuses too', async () => {
    const disagree: string[] = [];
    let rejected = 0;
    for (const m of cases) {
      const schemaOk = validate(m.data);
      const errors = errorsOf((await load({ [m.file]: stringify(m.data) }, m.unit.prior(all))).issues);
      const structural = errors.filter((e) => STRUCTURAL.has(e.code));
      if (!schemaOk) rejected++;
      if (!schemaOk && errors.length === 0) disagree.push(`${m.file}: ${m.what}: the schema refuses (${validate.errors![0]!.instancePath} ${validate.errors![0]!.message}), lint accepts`);
      if (schemaOk && structural.length > 0) disagree.push(`${m.file}: ${m.what}: lint refuses (${structural[0]!.code}: ${structural[0]!.message}), the schema accepts`);
    }
    expect(disagree).toEqual([]);
    // Both verdicts, many times each: the agreement is not that of two validators accepting (or refusing) everything.
    expect(rejected).toBeGreaterThan(cases.length / 3);
    expect(cases.length - rejected).toBeGreaterThan(cases.length / 3);
  });
});

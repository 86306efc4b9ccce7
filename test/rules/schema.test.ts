// data/rules.schema.json (for editors) against validate.ts (for lint): the same keys, formats and values, and
// every rule file we ship or test with is valid under both. The schema is checked with a small interpreter of the
// JSON Schema keywords it uses, so that no validator package is needed.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { BUILTIN_FACTS } from '../../src/rules/facts.ts';
import { ARCHES, FACT_TYPES, MODULE_OPTIONAL, PATTERNS, ROLES, RULE_KEYS, HAP_STATES, VT_STATES } from '../../src/rules/validate.ts';
import { repoRoot } from '../_support/memfs.ts';
import { load } from './_support.ts';

type Schema = Record<string, unknown>;
const schema = JSON.parse(readFileSync(join(repoRoot, 'data', 'rules.schema.json'), 'utf8')) as Schema & { $defs: Record<string, Schema> };
const defs = schema.$defs;

const KNOWN = new Set(['$schema', '$id', '$ref', '$defs', 'title', 'description', 'type', 'properties', 'additionalProperties', 'required', 'propertyNames', 'minProperties', 'maxProperties', 'items', 'minItems', 'pattern', 'minLength', 'minimum', 'enum', 'const', 'oneOf', 'anyOf', 'not']);

function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

/** Errors of `value` under `s` (the subset of JSON Schema 2020-12 the rule schema uses). */
function errors(s: Schema, value: unknown, at = '$'): string[] {
  const out: string[] = [];
  for (const k of Object.keys(s)) if (!KNOWN.has(k)) out.push(`${at}: schema keyword ${k} not understood by this test`);
  if (typeof s.$ref === 'string') out.push(...errors(defs[s.$ref.replace('#/$defs/', '')]!, value, at));
  if (s.type !== undefined) {
    const types = ([] as string[]).concat(s.type as string | string[]);
    const t = typeOf(value);
    if (!types.includes(t) && !(t === 'integer' && types.includes('number'))) return [...out, `${at}: ${t} is not ${types.join('|')}`];
  }
  if (s.enum !== undefined && !(s.enum as unknown[]).includes(value)) out.push(`${at}: not one of ${JSON.stringify(s.enum)}`);
  if (s.const !== undefined && s.const !== value) out.push(`${at}: not ${JSON.stringify(s.const)}`);
  if (typeof value === 'string') {
    if (typeof s.pattern === 'string' && !new RegExp(s.pattern, 'u').test(value)) out.push(`${at}: ${JSON.stringify(value)} does not match ${s.pattern}`);
    if (typeof s.minLength === 'number' && [...value].length < s.minLength) out.push(`${at}: too short`);
  }
  if (typeof value === 'number' && typeof s.minimum === 'number' && value < s.minimum) out.push(`${at}: below ${s.minimum}`);
  if (Array.isArray(value)) {
    if (typeof s.minItems === 'number' && value.length < s.minItems) out.push(`${at}: fewer than ${s.minItems} items`);
    if (s.items) value.forEach((v, i) => out.push(...errors(s.items as Schema, v, `${at}[${i}]`)));
  }
  if (typeOf(value) === 'object') {
    const obj = value as Record<string, unknown>;
    const keys = Object.keys(obj);
    const props = (s.properties ?? {}) as Record<string, Schema>;
    for (const r of (s.required ?? []) as string[]) if (!(r in obj)) out.push(`${at}: ${r} is required`);
    if (typeof s.minProperties === 'number' && keys.length < s.minProperties) out.push(`${at}: fewer than ${s.minProperties} keys`);
    if (typeof s.maxProperties === 'number' && keys.length > s.maxProperties) out.push(`${at}: more than ${s.maxProperties} keys`);
    for (const k of keys) {
      if (s.propertyNames) out.push(...errors(s.propertyNames as Schema, k, `${at}.${k} (name)`));
      if (props[k]) out.push(...errors(props[k], obj[k], `${at}.${k}`));
      else if (s.additionalProperties === false) out.push(`${at}: unknown key ${k}`);
      else if (typeof s.additionalProperties === 'object') out.push(...errors(s.additionalProperties as Schema, obj[k], `${at}.${k}`));
    }
  }
  if (s.oneOf) {
    const passing = (s.oneOf as Schema[]).filter((o) => errors(o, value, at).length === 0).length;
    if (passing !== 1) out.push(`${at}: ${passing} of the oneOf alternatives hold`);
  }
  if (s.anyOf && !(s.anyOf as Schema[]).some((o) => errors(o, value, at).length === 0)) out.push(`${at}: no anyOf alternative holds`);
  if (s.not && errors(s.not as Schema, value, at).length === 0) out.push(`${at}: matches a "not"`);
  return out;
}

/** Keys a definition allows: its properties, or those of its object alternative. */
function propertyNames(name: string): string[] {
  const d = defs[name]!;
  const props = d.properties ?? (d.oneOf as Schema[] | undefined)?.find((o) => o.properties)?.properties;
  return Object.keys(props as object);
}

describe('rules.schema.json and validate.ts agree', () => {
  it('the schema is JSON Schema 2020-12 and uses only keywords this test understands', () => {
    expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(errors(schema, {})).toEqual([]);
    const unknown: string[] = [];
    const walk = (s: Schema, at: string): void => {
      for (const [k, v] of Object.entries(s)) {
        if (!KNOWN.has(k)) unknown.push(`${at}.${k}`);
        if (k === 'properties' || k === '$defs') for (const [n, sub] of Object.entries(v as Record<string, Schema>)) walk(sub, `${at}.${k}.${n}`);
        else if (k === 'oneOf' || k === 'anyOf') (v as Schema[]).forEach((sub, i) => walk(sub, `${at}.${k}[${i}]`));
        else if (['items', 'not', 'propertyNames', 'additionalProperties'].includes(k) && typeof v === 'object') walk(v as Schema, `${at}.${k}`);
      }
    };
    walk(schema, '$');
    expect(unknown).toEqual([]);
  });

  it.each(Object.keys(RULE_KEYS) as (keyof typeof RULE_KEYS)[])('%s: the same keys', (name) => {
    expect(propertyNames(name).sort()).toEqual([...RULE_KEYS[name]].sort());
  });

  it.each(Object.keys(PATTERNS) as (keyof typeof PATTERNS)[])('%s: the same pattern', (name) => {
    expect(defs[name]!.pattern).toBe(PATTERNS[name].source);
  });

  it('the same enumerations', () => {
    expect(defs.vtState!.enum).toEqual([...VT_STATES]);
    expect(defs.hapState!.enum).toEqual([...HAP_STATES]);
    expect(defs.role!.enum).toEqual([...ROLES]);
    expect(defs.arch!.enum).toEqual([...ARCHES]);
    expect(defs.moduleOptional!.enum).toEqual([...MODULE_OPTIONAL]);
    expect((defs.factDecl!.properties as Record<string, Schema>).type!.enum).toEqual([...FACT_TYPES]);
    expect(BUILTIN_FACTS.every((f) => new RegExp(defs.factName!.pattern as string).test(f.name))).toBe(true);
  });
});

describe('rule files under both', () => {
  const dirs = [join(repoRoot, 'data', 'rules'), join(repoRoot, 'test', 'rules', 'data')];
  const files = dirs.flatMap((d) => readdirSync(d).filter((n) => n.endsWith('.yaml')).map((n) => join(d, n)));

  it.each(files.map((f) => [f.slice(repoRoot.length + 1), f]))('%s is valid under the schema and lint', async (_name, path) => {
    const text = readFileSync(path, 'utf8');
    expect(errors(schema, parse(text) ?? {})).toEqual([]);
  });

  it('lint passes on the same files as one set', async () => {
    const texts = Object.fromEntries(files.filter((f) => f.includes('/data/rules/')).map((f) => [f, readFileSync(f, 'utf8')]));
    expect((await load(texts)).issues).toEqual([]);
  });

  it.each([
    ['a number for a hex ID', 'rules:\n  - { id: r, source: s, when: { pci: { vendor: 8086 } }, then: [note: n] }\n', 'bad_hex_id'],
    ['an unknown condition key', 'rules:\n  - { id: r, source: s, when: { pcie: {} }, then: [note: n] }\n', 'unknown_key'],
    ['two actions in one entry', 'rules:\n  - { id: r, source: s, then: [{ note: a, warn: b }] }\n', 'multiple_actions'],
    ['options with prefer', 'rules:\n  - { id: r, source: s, when: { pci: {} }, then: [module: { prefer: a, options: x }] }\n', 'unknown_key'],
    ['optional with blacklist', 'rules:\n  - { id: r, source: s, then: [module: { blacklist: a, optional: no-device }] }\n', 'unknown_key'],
    ['an unknown optional', 'rules:\n  - { id: r, source: s, then: [module: { load: a, optional: always }] }\n', 'invalid_type'],
    ['a size without unit', 'rules:\n  - { id: r, source: s, when: { memory: { min: "512" } }, then: [note: n] }\n', 'bad_size'],
    ['a list without IDs', 'lists:\n  l: { source: s }\n', 'missing_key'],
    ['a rule without source', 'rules:\n  - { id: r, then: [note: n] }\n', 'missing_key'],
    ['zero vCPUs', 'rules:\n  - { id: r, source: s, then: [dom0Vcpus: 0] }\n', 'invalid_type'],
  ])('%s is rejected by both', async (_name, text, code) => {
    expect(errors(schema, parse(text)).length).toBeGreaterThan(0);
    expect((await load({ 'a.yaml': text })).issues.map((i) => i.code)).toContain(code);
  });
});

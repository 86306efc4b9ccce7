// expect.yaml: what a machine's plan must say, written from the machine's own logs (never from our output), next
// to its data. `corpus check` plans each machine at the targets its file names and reports every mismatch with
// machine, target, key, expected, got and the file:line of the expectation.
//
//   every:              # at every target below (or at the default target when there is no `targets`)
//     long_mode: no     # lscpu.txt: no "lm" among the flags
//   targets:
//     "3.0.2":
//       hvm: vmx
//       xen_options: { must: [dom0_mem], must_not: [iommu=1] }
import { readFile } from 'node:fs/promises';
import { posix } from 'node:path';
import { AutoconfigError, errnoCode } from '../errors.ts';
import { DEFAULT_XEN } from '../plan/target.ts';
import { EXPECT_FILE, type MachineRef } from './machines.ts';
import type { PlannedRow } from './run.ts';

/** One expectation: a key, the value wanted, and where it is written. */
export interface Expectation {
  key: ExpectKey;
  value: string | string[] | { must: string[]; mustNot: string[] };
  line: number;
}

export interface ExpectFile {
  file: string;
  /** Target -> its expectations (`every` merged in, a target's own entry after it). */
  targets: Map<string, Expectation[]>;
}

export interface Mismatch {
  machine: string;
  target: string;
  key: string;
  expected: string;
  got: string;
  /** file:line of the expectation. */
  where: string;
}

/** Keys and what each compares. Verdict keys take one word; driver keys a list that must all be chosen. */
const SCALAR = {
  hvm: 'vmx | svm | no',
  long_mode: 'yes | no | unknown',
  uma: 'yes | no',
  iommu: 'yes | no | unknown',
  grub: 'legacy | grub2, optionally followed by bios | efi',
  xen_disabled: 'yes | no',
  x_driver: 'a module name or none',
  dom0_vcpus: 'a number, all or default',
} as const;
const LISTS = { network: 'drivers', sound: 'drivers', dom0_modules: 'modules' } as const;
const OPTIONS = { xen_options: 'Xen', dom0_options: 'Dom0' } as const;
export type ExpectKey = keyof typeof SCALAR | keyof typeof LISTS | keyof typeof OPTIONS;
const KEYS = [...Object.keys(SCALAR), ...Object.keys(LISTS), ...Object.keys(OPTIONS)];

function scalarText(v: unknown): string | null {
  if (typeof v === 'boolean') return v ? 'yes' : 'no';
  if (typeof v === 'number' || typeof v === 'string') return String(v);
  return null;
}

/** Reads a machine's expect.yaml; null when it has none. Bad content: E_PARSE naming file:line. */
export async function readExpect(ref: MachineRef): Promise<ExpectFile | null> {
  const file = posix.join(ref.dir, EXPECT_FILE);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return null;
    throw new AutoconfigError('E_IO', `${file}: ${errnoCode(error) ?? String(error)}`, { path: file, cause: error });
  }
  return parseExpect(text, file);
}

export async function parseExpect(text: string, file: string): Promise<ExpectFile> {
  const yaml = await import('yaml');
  const lines = new yaml.LineCounter();
  const doc = yaml.parseDocument(text, { lineCounter: lines, uniqueKeys: true, prettyErrors: false });
  const lineOf = (node: unknown) => {
    const range = (node as { range?: [number] } | null)?.range;
    return range ? lines.linePos(range[0]).line : 1;
  };
  const fail = (line: number, message: string): never => {
    throw new AutoconfigError('E_PARSE', `${file}:${line}: ${message}`, { path: `${file}:${line}` });
  };
  if (doc.errors.length > 0) fail(lines.linePos(doc.errors[0]!.pos[0]).line, doc.errors[0]!.message.split('\n')[0]!);
  const root = doc.contents;
  if (!yaml.isMap(root)) return fail(lineOf(root), 'expected a mapping with "every" and/or "targets"');

  const block = (node: unknown, where: string): Expectation[] => {
    if (!yaml.isMap(node)) return fail(lineOf(node), `${where}: expected a mapping of keys (${KEYS.join(', ')})`);
    const out: Expectation[] = [];
    for (const pair of node.items) {
      const key = String((pair.key as { value?: unknown })?.value ?? pair.key);
      const line = lineOf(pair.key);
      const value = yaml.isNode(pair.value) ? pair.value.toJSON() : pair.value;
      if (key in SCALAR) {
        const v = scalarText(value);
        if (v === null) fail(line, `${key}: expected ${SCALAR[key as keyof typeof SCALAR]}`);
        out.push({ key: key as ExpectKey, value: v!, line });
      } else if (key in LISTS) {
        if (!Array.isArray(value) || !value.every((x) => typeof x === 'string')) fail(line, `${key}: expected a list of ${LISTS[key as keyof typeof LISTS]}`);
        out.push({ key: key as ExpectKey, value: value as string[], line });
      } else if (key in OPTIONS) {
        const v = value as { must?: unknown; must_not?: unknown } | null;
        const list = (x: unknown) => x === undefined || (Array.isArray(x) && x.every((y) => typeof y === 'string'));
        const extra = v && typeof v === 'object' ? Object.keys(v).filter((k) => k !== 'must' && k !== 'must_not') : [];
        if (!v || typeof v !== 'object' || !list(v.must) || !list(v.must_not) || extra.length > 0) {
          fail(line, `${key}: expected { must: [OPTION...], must_not: [OPTION...] }`);
        }
        out.push({ key: key as ExpectKey, value: { must: (v!.must as string[]) ?? [], mustNot: (v!.must_not as string[]) ?? [] }, line });
      } else {
        fail(line, `unknown key "${key}" (known: ${KEYS.join(', ')})`);
      }
    }
    return out;
  };

  let every: Expectation[] = [];
  const own = new Map<string, Expectation[]>();
  for (const pair of root.items) {
    const key = String((pair.key as { value?: unknown })?.value ?? pair.key);
    if (key === 'every') every = block(pair.value, 'every');
    else if (key === 'targets') {
      if (!yaml.isMap(pair.value)) fail(lineOf(pair.value ?? pair.key), 'targets: expected a mapping of Xen versions');
      for (const t of (pair.value as { items: { key: unknown; value: unknown }[] }).items) {
        const version = String((t.key as { value?: unknown })?.value ?? t.key);
        // YAML reads 4.20 as the number 4.2: versions must be quoted.
        if (typeof (t.key as { value?: unknown })?.value !== 'string') fail(lineOf(t.key), `target ${version}: quote the version ("${version}")`);
        own.set(version, block(t.value, `targets."${version}"`));
      }
    } else fail(lineOf(pair.key), `unknown top-level key "${key}" (every, targets)`);
  }
  const targets = new Map<string, Expectation[]>();
  if (own.size === 0) targets.set(DEFAULT_XEN, every);
  for (const [t, list] of own) targets.set(t, [...every.filter((e) => !list.some((x) => x.key === e.key)), ...list]);
  return { file, targets };
}

/**
 * Whether a boot line holds an option: the same token, NAME=anything for a bare NAME, or a token the pattern
 * matches where it has `*` (any characters): "dom0_mem=*max:*" is any dom0_mem with a max: part.
 */
export function hasOption(cmdline: string, option: string): boolean {
  const tokens = cmdline.split(/\s+/).filter(Boolean);
  if (option.includes('*')) {
    const re = new RegExp(`^${option.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
    return tokens.some((t) => re.test(t));
  }
  return tokens.some((t) => t === option || (!option.includes('=') && t.startsWith(`${option}=`)));
}

/** Every mismatch of one planned row against its expectations. */
export function checkRow(row: PlannedRow, expectations: readonly Expectation[], file: string): Mismatch[] {
  const out: Mismatch[] = [];
  const miss = (e: Expectation, expected: string, got: string) =>
    out.push({ machine: row.machine, target: row.target, key: e.key, expected, got, where: `${file}:${e.line}` });
  const v = row.verdicts;
  for (const e of expectations) {
    if (v === null) {
      miss(e, JSON.stringify(e.value), `no plan: ${row.error?.reason ?? 'planning failed'}`);
      continue;
    }
    switch (e.key) {
      case 'hvm':
      case 'long_mode':
      case 'iommu':
      case 'x_driver':
      case 'dom0_vcpus': {
        const got = { hvm: v.hvm, long_mode: v.longMode, iommu: v.iommu, x_driver: v.xDriver, dom0_vcpus: v.dom0Vcpus }[e.key];
        if (got !== e.value) miss(e, e.value as string, got);
        break;
      }
      case 'uma': {
        const got = v.uma.startsWith('yes') ? 'yes' : 'no';
        if (got !== e.value) miss(e, e.value as string, v.uma);
        break;
      }
      case 'xen_disabled':
        if ((v.xenDisabled ? 'yes' : 'no') !== e.value) miss(e, e.value as string, v.xenDisabled ? 'yes' : 'no');
        break;
      case 'grub':
        // "legacy" alone checks the flavour; "grub2 efi" both.
        if (!`${v.grub} `.startsWith(`${e.value as string} `)) miss(e, e.value as string, v.grub);
        break;
      case 'network':
      case 'sound':
      case 'dom0_modules': {
        const got = e.key === 'dom0_modules' ? row.modules : v[e.key];
        const absent = (e.value as string[]).filter((d) => !got.includes(d));
        if (absent.length > 0) miss(e, `${(e.value as string[]).join(' ')} chosen`, got.join(' ') || '(none)');
        break;
      }
      case 'xen_options':
      case 'dom0_options': {
        const cmdline = e.key === 'xen_options' ? row.xenCmdline : row.dom0Cmdline;
        const { must, mustNot } = e.value as { must: string[]; mustNot: string[] };
        for (const o of must) if (!hasOption(cmdline, o)) miss(e, `${o} present`, cmdline || '(empty)');
        for (const o of mustNot) if (hasOption(cmdline, o)) miss(e, `${o} absent`, cmdline || '(empty)');
        break;
      }
    }
  }
  return out;
}

// Why a rule did or did not fire: its `when:` traced against the machine exactly as evaluateRules saw it (the same
// context, the facts set by the rules before it), each part decided by the real evaluator (conditions.ts); this file
// only picks out the parts that failed and says what the machine shows there. `autoconfig explain RULE-ID` prints it.
import { AutoconfigError } from '../errors.ts';
import { machineMemory } from '../probe/memory.ts';
import type { HardwareProfile, PciDevice, UsbDevice, UsbInterface } from '../types.ts';
import { parseCheatcodes } from './cheatcodes.ts';
import { conditionContext, evaluateCondition, type ConditionContext } from './conditions.ts';
import { evaluateRules, type EvaluateInput } from './evaluate.ts';
import type { Condition, CpuCondition, Decision, FactValue, OneOrMore, Rule, RuleOutcome } from './types.ts';

/** A part of a rule's `when:` that did not hold. */
export interface FailedCondition {
  /** Where in the rule, as rule positions name it: "when", "when.any.1.cpu.hap", "when.pci". */
  path: string;
  /** Its line in the rule file; null where the loaded rules keep no position for it (the compiled shipped set). */
  line: number | null;
  /** The part that failed, as a condition of its own: `{ cpu: { hap: "absent" } }`. */
  condition: Condition;
  /** What the machine shows there ("present"); for `any` and `all` the empty string (their branches say). */
  seen: string;
  /** One line: "cpu.hap is present (needs absent)". */
  text: string;
  /** `any`: one entry per alternative, each failed; `all`: its failed members; an alternative: its failed parts. */
  branches?: FailedCondition[];
}

export interface RuleTrace {
  rule: string;
  file: string;
  line: number;
  source: string;
  description: string | null;
  /** Its `when:` held (or it has none). */
  matched: boolean;
  /** It made decisions: it matched and some action applied (a fact whose {slot} no PCI function fills is not set). */
  fired: boolean;
  /** Its decisions in the evaluation, as `explain` shows them. */
  decisions: Decision[];
  /** The rules and cheatcodes that replaced some of its decisions, each once, in evaluation order. */
  overriddenBy: string[];
  /** Its decisions were all replaced: it fired, but nothing of it is left in the outcome. */
  allOverridden: boolean;
  /** When it matched: what about the machine made it hold. */
  evidence: string[];
  /** When it did not match: the parts of `when:` that failed (every failed part of a mapping or `all`). */
  failed: FailedCondition[];
}

/** A rule id the loaded rules do not have (E_USAGE, `path` the id): `known` lets the caller name the nearest. */
export class UnknownRuleError extends AutoconfigError {
  constructor(
    readonly ruleId: string,
    readonly known: readonly string[],
  ) {
    super('E_USAGE', `no rule "${ruleId}" in the loaded rules`, { path: ruleId });
  }
}

/** Every rule id of the loaded rules, in load order, each once. */
export function ruleIds(files: EvaluateInput['files']): string[] {
  return [...new Set(files.flatMap((f) => f.rules.map((r) => r.id)))];
}

/**
 * The trace of one rule. `outcome` is evaluateRules(input) when the caller has it already (it is evaluated
 * otherwise); the rule's decisions and the facts it saw come from it. Throws UnknownRuleError for an id no loaded
 * rule has; with a duplicate id (a lint error), the first rule of that id.
 */
export function explainRule(ruleId: string, input: EvaluateInput, outcome: RuleOutcome = evaluateRules(input)): RuleTrace {
  const found = findRule(ruleId, input.files);
  if (found === null) throw new UnknownRuleError(ruleId, ruleIds(input.files));
  const { rule, file, index } = found;
  const ctx = contextAt(index, input, outcome);
  const result = rule.when ? evaluateCondition(rule.when, ctx) : { match: true, evidence: ['always (no when:)'], devices: [] };
  const decisions = outcome.decisions.filter((d) => d.rule === rule.id);
  const overriddenBy = [...new Set(decisions.flatMap((d) => (d.overriddenBy ? [d.overriddenBy] : [])))];
  return {
    rule: rule.id,
    file,
    line: rule.pos.line,
    source: rule.source,
    description: rule.description ?? null,
    matched: result.match,
    fired: result.match && decisions.length > 0,
    decisions,
    overriddenBy,
    allOverridden: decisions.length > 0 && decisions.every((d) => d.overriddenBy !== undefined),
    evidence: result.match ? result.evidence : [],
    failed: result.match || !rule.when ? [] : new Tracer(ctx, rule).members(rule.when, 'when'),
  };
}

function findRule(id: string, files: EvaluateInput['files']): { rule: Rule; file: string; index: number } | null {
  let index = 0;
  for (const f of files) {
    for (const rule of f.rules) {
      if (rule.id === id) return { rule, file: f.file, index };
      index++;
    }
  }
  return null;
}

/**
 * The facts as the rule at `index` (in load order) saw them, as evaluateRules builds them: the boot line's facts
 * first, then every fact decision of the rules before it, in order. The decisions of a rule follow those of every
 * rule before it and precede the cheatcodes', so the prefix up to the first later rule's decision is exactly that.
 */
export function factsBefore(index: number, input: EvaluateInput, outcome: RuleOutcome): Map<string, FactValue> {
  const facts = new Map<string, FactValue>();
  for (const cc of input.cheatcodes) {
    if ('fact' in cc.action) for (const [name, value] of Object.entries(cc.action.fact)) facts.set(name, value);
  }
  const order = new Map<string, number>();
  let i = 0;
  for (const f of input.files) for (const r of f.rules) if (!order.has(r.id)) order.set(r.id, i++);
  for (const d of outcome.decisions) {
    const at = order.get(d.rule);
    // A cheatcode's decision (no rule position) or one of this rule or a later one: every earlier rule's are done.
    if (at === undefined || at >= index) break;
    if ('fact' in d.action) for (const [name, value] of Object.entries(d.action.fact)) facts.set(name, value);
  }
  return facts;
}

/** The context the rule at `index` was evaluated in, rebuilt from the evaluation's input and outcome. */
export function contextAt(index: number, input: EvaluateInput, outcome: RuleOutcome): ConditionContext {
  return conditionContext({
    profile: input.profile,
    drivers: input.drivers,
    target: input.target,
    facts: factsBefore(index, input, outcome),
    cheatcodes: parseCheatcodes(input.profile.cmdline),
    lists: input.files.flatMap((f) => f.lists),
  });
}

// The keys of a condition mapping in the evaluator's order (conditions.ts evaluateCondition); the schema's
// (schema.ts RULE_KEYS.condition, which a test holds it to), not imported: the CLI loads this module at every start.
export const CONDITION_KEYS = ['all', 'any', 'not', 'pci', 'usb', 'cpu', 'memory', 'dmi', 'firmware', 'hypervisor', 'target', 'cheatcode', 'fact'] as const;
// Condition kinds whose fields are independent (all must hold), so that each field can be tried alone.
const FIELDWISE = new Set(['cpu', 'memory', 'dmi', 'firmware', 'hypervisor', 'target']);

class Tracer {
  constructor(
    private readonly ctx: ConditionContext,
    private readonly rule: Rule,
  ) {}

  private holds(c: Condition, ctx: ConditionContext = this.ctx): boolean {
    return evaluateCondition(c, ctx).match;
  }

  private node(path: string, condition: Condition, seen: string, text: string, branches?: FailedCondition[]): FailedCondition {
    const n: FailedCondition = { path, line: this.rule.paths?.[path]?.line ?? null, condition, seen, text };
    if (branches !== undefined) n.branches = branches;
    return n;
  }

  /** The failed parts of one condition mapping: every key that does not hold, each said by its own kind. */
  members(c: Condition, path: string): FailedCondition[] {
    const out: FailedCondition[] = [];
    for (const key of CONDITION_KEYS) {
      if (c[key] === undefined) continue;
      const part = { [key]: c[key] } as Condition;
      if (this.holds(part)) continue;
      const at = `${path}.${key}`;
      if (key === 'all') out.push(this.all(c.all!, at));
      else if (key === 'any') out.push(this.any(c.any!, at));
      else if (key === 'not') out.push(this.not(c.not!, at));
      else if (key === 'pci') out.push(this.pci(part, at));
      else if (key === 'usb') out.push(this.usb(part, at));
      else if (key === 'cheatcode') out.push(this.node(at, part, this.bootLine(), this.cheatcode(c.cheatcode!)));
      else if (key === 'fact') out.push(this.fact(c.fact!, at));
      else if (FIELDWISE.has(key)) out.push(...this.fields(key as FieldKind, c[key] as Record<string, unknown>, at));
    }
    return out;
  }

  private all(children: readonly Condition[], path: string): FailedCondition {
    const failed = children.flatMap((child, i) => (this.holds(child) ? [] : this.members(child, `${path}.${i}`)));
    const n = children.filter((child) => !this.holds(child)).length;
    return this.node(path, { all: [...children] }, '', `${n} of the ${children.length} conditions of all: failed`, failed);
  }

  private any(children: readonly Condition[], path: string): FailedCondition {
    const branches = children.map((child, i) => {
      const parts = this.members(child, `${path}.${i}`);
      // One failed part says it all; several stay together as the alternative that failed.
      return parts.length === 1 ? parts[0]! : this.node(`${path}.${i}`, child, '', `alternative ${i + 1} failed`, parts);
    });
    const text = children.length === 0 ? 'any: has no alternatives' : `none of the ${children.length} alternatives of any: held`;
    return this.node(path, { any: [...children] }, '', text, branches);
  }

  private not(inner: Condition, path: string): FailedCondition {
    const evidence = evaluateCondition(inner, this.ctx).evidence;
    const seen = evidence.length ? evidence.join('; ') : 'it holds';
    return this.node(path, { not: inner }, seen, `what not: excludes holds: ${seen}`);
  }

  private fields(kind: FieldKind, spec: Record<string, unknown>, path: string): FailedCondition[] {
    const out: FailedCondition[] = [];
    for (const [field, want] of Object.entries(spec)) {
      const part = { [kind]: { [field]: want } } as Condition;
      if (this.holds(part)) continue;
      const seen = seenField(kind, field, want, this.ctx);
      // Flag and table lists say what is missing or present, not "is".
      const verb = LISTED.has(`${kind}.${field}`) ? ':' : ' is';
      out.push(this.node(`${path}.${field}`, part, seen, `${kind}.${field}${verb} ${seen} (needs ${needs(kind, field, want)})`));
    }
    // The fields hold one by one but not together: only memory's min and max could, and they are one bound each.
    if (out.length === 0) out.push(this.node(path, { [kind]: spec } as Condition, '', `${kind}: its fields do not hold together`));
    return out;
  }

  /** Some PCI function must match every field: the nearest functions (fewest fields failing) and what they show. */
  private pci(part: Condition, path: string): FailedCondition {
    const spec = part.pci!;
    const fields = Object.entries(spec);
    const near = nearest(
      this.ctx.profile.pci,
      (d) => fields.filter(([f, v]) => !this.holds({ pci: { [f]: v } }, this.only({ pci: [d] }))).map(([f]) => f),
    );
    const want = fields.map(([f, v]) => `${f} ${show(v)}`).join(', ');
    if (near.items.length === 0) return this.node(path, part, 'no PCI functions', `no PCI function has ${want}: the machine shows none`);
    const seen = near.items
      .map(({ item: d, failing }) => `${d.slot} [${d.vendor ?? '?'}:${d.device ?? '?'}] (${failing.map((f) => `${f}: ${pciSeen(d, f, this.ctx)}`).join(', ')})`)
      .join('; ');
    return this.node(path, part, seen, `no PCI function has ${want}; nearest: ${seen}${more(near)}`);
  }

  private usb(part: Condition, path: string): FailedCondition {
    const spec = part.usb!;
    const fields = Object.entries(spec);
    const interfaces = this.ctx.profile.usb.flatMap((u) => u.interfaces.map((i) => ({ u, i })));
    const near = nearest(
      interfaces,
      ({ u, i }) => fields.filter(([f, v]) => !this.holds({ usb: { [f]: v } }, this.only({ usb: [{ ...u, interfaces: [i] }] }))).map(([f]) => f),
    );
    const want = fields.map(([f, v]) => `${f} ${show(v)}`).join(', ');
    if (near.items.length === 0) return this.node(path, part, 'no USB interfaces', `no USB interface has ${want}: the machine shows none`);
    const seen = near.items
      .map(({ item: { u, i }, failing }) => `${i.path} [${u.vendor ?? '?'}:${u.product ?? '?'}] (${failing.map((f) => `${f}: ${usbSeen(u, i, f, this.ctx)}`).join(', ')})`)
      .join('; ');
    return this.node(path, part, seen, `no USB interface has ${want}; nearest: ${seen}${more(near)}`);
  }

  /** The context with the profile narrowed to one device, to try a field against that device alone. */
  private only(devices: Partial<Pick<HardwareProfile, 'pci' | 'usb'>>): ConditionContext {
    return { ...this.ctx, profile: { ...this.ctx.profile, pci: [], usb: [], ...devices } };
  }

  private bootLine(): string {
    return this.ctx.profile.cmdline.length ? this.ctx.profile.cmdline.join(' ') : '(empty)';
  }

  private cheatcode(want: OneOrMore<string | Record<string, string>>): string {
    const alts = list(want).map((w) => (typeof w === 'string' ? w : Object.entries(w).map(([n, g]) => `${n}=${g}`).join(' ')));
    return `the boot line has ${alts.length > 1 ? 'none of ' : 'no '}${alts.join(', ')} (boot line: ${this.bootLine()})`;
  }

  private fact(want: OneOrMore<string | Record<string, FactValue>>, path: string): FailedCondition {
    const facts = this.ctx.facts;
    const value = (name: string) => (facts.has(name) ? JSON.stringify(facts.get(name)) : 'unset');
    const why = list(want).map((w) => {
      if (typeof w === 'string') return `fact ${w} is ${value(w)} (needs set and true)`;
      return Object.entries(w)
        .filter(([name, v]) => (facts.get(name) ?? null) !== v)
        .map(([name, v]) => `fact ${name} is ${value(name)} (needs ${JSON.stringify(v)})`)
        .join(', ');
    });
    const names = list(want).flatMap((w) => (typeof w === 'string' ? [w] : Object.keys(w)));
    const seen = [...new Set(names)].map((n) => `${n} = ${value(n)}`).join(', ');
    return this.node(path, { fact: want }, seen, why.length > 1 ? `none holds: ${why.join('; ')}` : why[0]!);
  }
}

const LISTED = new Set(['cpu.flags', 'cpu.lacks', 'firmware.acpi']);

type FieldKind = 'cpu' | 'memory' | 'dmi' | 'firmware' | 'hypervisor' | 'target';

const SHOWN = 3;

/** The items with the fewest failing fields (each has at least one: the condition failed), the first SHOWN of them. */
function nearest<T>(items: readonly T[], failing: (item: T) => string[]): { items: { item: T; failing: string[] }[]; total: number } {
  const all = items.map((item) => ({ item, failing: failing(item) }));
  const fewest = Math.min(...all.map((a) => a.failing.length));
  const best = all.filter((a) => a.failing.length === fewest);
  return { items: best.slice(0, SHOWN), total: best.length };
}

function more(near: { items: unknown[]; total: number }): string {
  return near.total > near.items.length ? `; and ${near.total - near.items.length} more as near` : '';
}

function list<T>(v: OneOrMore<T>): readonly T[] {
  return Array.isArray(v) ? v : [v];
}

function show(v: unknown): string {
  if (Array.isArray(v)) return v.length === 1 ? show(v[0]) : `one of ${v.map(show).join(', ')}`;
  if (typeof v === 'object' && v !== null) {
    const r = v as { min?: unknown; max?: unknown };
    if ('min' in r || 'max' in r) return [r.min !== undefined ? `>= ${r.min}` : '', r.max !== undefined ? `<= ${r.max}` : ''].filter(Boolean).join(' and ');
    return JSON.stringify(v);
  }
  return typeof v === 'string' ? v : JSON.stringify(v);
}

function yesNoUnknown(v: boolean | null): string {
  return v === null ? 'unknown' : String(v);
}

function needs(kind: FieldKind, field: string, want: unknown): string {
  if (kind === 'cpu' && field === 'flags') return `all of ${(want as string[]).join(' ')}`;
  if (kind === 'cpu' && field === 'lacks') return `none of ${(want as string[]).join(' ')}`;
  if (kind === 'firmware' && field === 'acpi') return `tables ${(want as string[]).join(' ')}`;
  if (kind === 'memory') return `${field === 'min' ? '>=' : '<='} ${String(want)}`;
  return show(want);
}

/** What the machine shows for one field of a field-wise condition, as the evaluator reads it. */
function seenField(kind: FieldKind, field: string, want: unknown, ctx: ConditionContext): string {
  const p = ctx.profile;
  switch (kind) {
    case 'cpu':
      return cpuSeen(field as keyof CpuCondition, want, p);
    case 'memory': {
      const m = machineMemory(p);
      return m === null ? 'unknown' : `${Math.floor(m.kib / 1024)} MiB (${m.source === 'smbios' ? 'installed, SMBIOS' : 'MemTotal'})`;
    }
    case 'dmi': {
      const v = p.dmi[field as keyof typeof p.dmi];
      return v === null || v === undefined ? 'unknown' : JSON.stringify(v);
    }
    case 'firmware': {
      const f = p.firmware;
      if (field === 'efi') return yesNoUnknown(f.efi);
      if (field === 'efiBits') return f.efiBits === null ? 'unknown' : String(f.efiBits);
      if (field === 'acpi') {
        const missing = (want as string[]).filter((t) => !f.acpiTables.includes(t));
        return f.acpiTables.length === 0 ? 'unknown (no ACPI tables listed)' : `no ${missing.join(' ')}`;
      }
      if (field === 'iommu') {
        const tables = [f.iommu.dmar ? 'DMAR' : '', f.iommu.ivrs ? 'IVRS' : ''].filter(Boolean);
        if (tables.length) return `true (ACPI ${tables.join(' and ')})`;
        if (f.iommu.groups > 0 || f.iommu.units.length > 0) return `true (${f.iommu.groups} IOMMU groups)`;
        return f.iommu.dmar === null || f.iommu.ivrs === null ? 'unknown (no ACPI table listing, no IOMMU groups)' : 'false';
      }
      return 'unknown';
    }
    case 'hypervisor': {
      const h = p.hypervisor;
      if (field === 'role') return h.role;
      if (field === 'detected') return h.detected ?? 'none';
      if (field === 'nested') return `${!['dom0', 'bare-metal', 'unknown'].includes(h.role)} (role ${h.role})`;
      if (field === 'xenHvm') {
        if (h.xen.capabilities.length === 0) return 'unknown (no Xen capabilities list)';
        return `${h.xen.capabilities.some((c) => c.startsWith('hvm-'))} (capabilities ${h.xen.capabilities.join(' ')})`;
      }
      return 'unknown';
    }
    case 'target': {
      if (field === 'xen') return ctx.target.xen;
      if (field === 'kernel') return p.kernel.release ?? 'unknown';
      if (field === 'arch') {
        if (ctx.target.arch) return `${ctx.target.arch} (forced)`;
        const fact = ctx.facts.get('arch.xen');
        return typeof fact === 'string' ? `${fact} (fact arch.xen)` : 'not chosen yet (fact arch.xen unset)';
      }
      return 'unknown';
    }
  }
}

function cpuSeen(field: keyof CpuCondition, want: unknown, p: HardwareProfile): string {
  const c = p.cpu;
  const has = (f: string) => c.flags.includes(f) || c.vmxFlags.includes(f);
  switch (field) {
    case 'vendor':
      return c.vendor ?? 'unknown';
    case 'family':
      return c.family === null ? 'unknown' : String(c.family);
    case 'model':
      return c.model === null ? 'unknown' : String(c.model);
    case 'flags':
      return c.flagsKnown || c.flags.length ? `no ${(want as string[]).filter((f) => !has(f)).join(' ')}` : 'unknown (no flags line)';
    case 'lacks': {
      if (!c.flagsKnown) return `unknown (no flags line${c.flagsAbsent.length ? `; known absent: ${c.flagsAbsent.join(' ')}` : ''})`;
      return `has ${(want as string[]).filter(has).join(' ')}`;
    }
    case 'vt':
      return c.vt.state;
    case 'hap':
      return c.hap.state;
    case 'longMode':
      return yesNoUnknown(c.longMode);
    case 'modelName':
      return c.modelName === null ? 'unknown' : JSON.stringify(c.modelName);
  }
}

/** A bound driver as conditions.ts reads it: on a bus whose binding the profile does not know, neither it nor none. */
function bindingSeen(driver: string | null, bus: 'pci' | 'usb', ctx: ConditionContext): string {
  return ctx.profile.bindingUnknown?.includes(bus) ? 'unknown, the logs do not say' : (driver ?? 'none');
}

function pciSeen(d: PciDevice, field: string, ctx: ConditionContext): string {
  switch (field) {
    case 'modalias':
      return d.modalias ?? 'unknown';
    case 'driver':
      return bindingSeen(d.driver, 'pci', ctx);
    case 'slot':
      return d.slot;
    case 'list':
      return `${d.vendor ?? '?'}:${d.device ?? '?'} is not in it`;
    case 'candidate':
      return `kmod offers ${(ctx.drivers.get(`pci ${d.slot}`)?.candidates ?? []).join(' ') || 'nothing'}`;
    default: {
      const v = d[field as keyof PciDevice];
      return v === null || v === undefined ? 'unknown' : String(v);
    }
  }
}

function usbSeen(u: UsbDevice, i: UsbInterface, field: string, ctx: ConditionContext): string {
  switch (field) {
    case 'vendor':
      return u.vendor ?? 'unknown';
    case 'product':
      return u.product ?? 'unknown';
    case 'modalias':
      return i.modalias ?? 'unknown';
    case 'driver':
      return bindingSeen(i.driver, 'usb', ctx);
    case 'list':
      return `${u.vendor ?? '?'}:${u.product ?? '?'} is not in it`;
    case 'candidate':
      return `kmod offers ${(ctx.drivers.get(`usb ${i.path}`)?.candidates ?? []).join(' ') || 'nothing'}`;
    default: {
      const v = i[field as keyof UsbInterface];
      return v === null || v === undefined ? 'unknown' : String(v);
    }
  }
}

// One pass over the rules in load order, then the boot line's cheatcodes: every firing becomes Decisions (one per
// key, so that "later wins" can mark exactly what it replaced) and the RuleOutcome the plan reads. Pure: the same
// files, profile, drivers, target and cheatcodes always give a deep-equal outcome.
import type { DriverMatch } from '../modalias/resolve.ts';
import type { HardwareProfile } from '../types.ts';
import { parseCheatcodes } from './cheatcodes.ts';
import { fillPlaceholders, placeholdersIn } from './facts.ts';
import { conditionContext, evaluateCondition, type ConditionContext } from './conditions.ts';
import type { Action, BootOption, CheatcodeAction, Condition, Decision, FactValue, OneOrMore, RuleFile, RuleOutcome, Target } from './types.ts';
import { setOwn } from './shared.ts';
import { moduleKey } from '../modalias/module-name.ts';

export interface EvaluateInput {
  files: readonly RuleFile[];
  profile: HardwareProfile;
  drivers: readonly DriverMatch[];
  target: Target;
  /** The boot line's actions (cheatcodes.ts cheatcodeActions), applied after every rule. */
  cheatcodes: readonly CheatcodeAction[];
}

/** Where cheatcode decisions say they come from. */
export const CMDLINE_FILE = '/proc/cmdline';

interface Origin {
  rule: string;
  file: string;
  line: number;
  evidence: string[];
  devices: string[];
  /** The devices are the action's own (a cheatcode such as passthrough= names them), not just the rule's. */
  ownDevices?: boolean;
  /** The rule cannot hold without a `target: { xen }` condition (needsTargetXen): its dom0: decisions say so. */
  xenScoped?: boolean;
}

type LoadEntry = RuleOutcome['modules']['load'][number];
type PreferEntry = RuleOutcome['modules']['prefer'][number];

/** The state of one evaluation: final values by key plus the decision that set each key. */
class Outcome {
  readonly facts = new Map<string, FactValue>();
  readonly xen = new Map<string, BootOption>();
  readonly dom0 = new Map<string, BootOption>();
  readonly load = new Map<string, LoadEntry>();
  readonly blacklist = new Map<string, { name: string; rule: string }>();
  /** Device -> the prefer entry that holds it. */
  readonly preferOf = new Map<string, PreferEntry>();
  readonly prefer: PreferEntry[] = [];
  readonly preferDecision = new Map<PreferEntry, Decision>();
  readonly sysconfig = new Map<string, Map<string, string>>();
  dom0Memory: string | null = null;
  dom0Vcpus: number | 'all' | null = null;
  readonly guest = new Map<string, FactValue>();
  readonly notes: { text: string; rule: string }[] = [];
  readonly warnings: { text: string; rule: string }[] = [];
  readonly decisions: Decision[] = [];
  private readonly lastByKey = new Map<string, Decision>();

  /** Records a decision; when `key` was set before, the earlier decision is marked as replaced. */
  decide(origin: Origin, action: Action, key: string | null, devices?: string[]): Decision {
    const d: Decision = { rule: origin.rule, file: origin.file, line: origin.line, evidence: [...origin.evidence], action };
    const own = devices ?? (origin.ownDevices && origin.devices.length ? [...origin.devices] : undefined);
    if (own !== undefined) d.devices = own;
    this.decisions.push(d);
    if (key !== null) {
      const earlier = this.lastByKey.get(key);
      if (earlier) earlier.overriddenBy = origin.rule;
      this.lastByKey.set(key, d);
    }
    return d;
  }

  apply(origin: Origin, action: Action): void {
    if ('fact' in action) {
      for (const [name, value] of Object.entries(action.fact)) {
        this.decide(origin, { fact: own(name, value) }, `fact ${name}`);
        this.facts.set(name, value);
      }
    } else if ('xen' in action) this.options(origin, 'xen', action.xen, this.xen);
    else if ('dom0' in action) this.options(origin, 'dom0', action.dom0, this.dom0);
    else if ('module' in action) this.module(origin, action.module);
    else if ('sysconfig' in action) {
      const { file, set } = action.sysconfig;
      for (const [name, value] of Object.entries(set)) {
        this.decide(origin, { sysconfig: { file, set: own(name, value) } }, `sysconfig ${file} ${name}`);
        let vars = this.sysconfig.get(file);
        if (!vars) this.sysconfig.set(file, (vars = new Map()));
        vars.set(name, value);
      }
    } else if ('dom0Memory' in action) {
      this.decide(origin, { dom0Memory: action.dom0Memory }, 'dom0Memory');
      this.dom0Memory = action.dom0Memory;
    } else if ('dom0Vcpus' in action) {
      this.decide(origin, { dom0Vcpus: action.dom0Vcpus }, 'dom0Vcpus');
      this.dom0Vcpus = action.dom0Vcpus;
    } else if ('guest' in action) {
      for (const [name, value] of Object.entries(action.guest)) {
        this.decide(origin, { guest: own(name, value) }, `guest ${name}`);
        this.guest.set(name, value);
      }
    } else if ('note' in action) {
      this.decide(origin, { note: action.note }, null);
      this.notes.push({ text: action.note, rule: origin.rule });
    } else if ('warn' in action) {
      this.decide(origin, { warn: action.warn }, null);
      this.warnings.push({ text: action.warn, rule: origin.rule });
    }
  }

  // Keyed by option name: a later add replaces the value in place (first-set order stays), a remove drops it, and
  // an add after a remove comes last.
  private options(origin: Origin, line: 'xen' | 'dom0', opts: { add?: OneOrMore<string>; remove?: OneOrMore<string> }, into: Map<string, BootOption>): void {
    for (const opt of asList(opts.remove)) {
      const { name } = splitOption(opt);
      const d = this.decide(origin, line === 'xen' ? { xen: { remove: opt } } : { dom0: { remove: opt } }, `${line} ${name}`);
      if (line === 'dom0' && origin.xenScoped) d.xenScoped = true;
      into.delete(name);
    }
    for (const opt of asList(opts.add)) {
      const { name, value } = splitOption(opt);
      const d = this.decide(origin, line === 'xen' ? { xen: { add: opt } } : { dom0: { add: opt } }, `${line} ${name}`);
      if (line === 'dom0' && origin.xenScoped) d.xenScoped = true;
      const existing = into.get(name);
      if (existing) (existing.value = value), (existing.rule = origin.rule);
      else into.set(name, { name, value, rule: origin.rule });
    }
  }

  private module(origin: Origin, m: Extract<Action, { module: unknown }>['module']): void {
    if (m.load !== undefined) {
      // kmod treats "-" and "_" alike, so they are one module's policy.
      const key = moduleKey(m.load);
      this.decide(origin, { module: { ...m } }, `module ${key}`, origin.devices.length ? [...origin.devices] : undefined);
      this.blacklist.delete(key);
      const entry: LoadEntry = {
        name: m.load,
        options: m.options ?? null,
        optional: m.optional ?? null,
        devices: [...origin.devices],
        rule: origin.rule,
      };
      const existing = this.load.get(key);
      if (existing) Object.assign(existing, entry);
      else this.load.set(key, entry);
    } else if (m.blacklist !== undefined) {
      const key = moduleKey(m.blacklist);
      this.decide(origin, { module: { ...m } }, `module ${key}`, origin.devices.length ? [...origin.devices] : undefined);
      this.load.delete(key);
      const existing = this.blacklist.get(key);
      if (existing) (existing.name = m.blacklist), (existing.rule = origin.rule);
      else this.blacklist.set(key, { name: m.blacklist, rule: origin.rule });
    } else if (m.prefer !== undefined) {
      const d = this.decide(origin, { module: { ...m } }, null, [...origin.devices]);
      // Keyed per device: a later prefer takes over the devices it names; an earlier one is replaced once it
      // holds none.
      if (origin.devices.length === 0) return;
      const entry: PreferEntry = { name: m.prefer, devices: [...origin.devices], rule: origin.rule };
      for (const dev of origin.devices) {
        const earlier = this.preferOf.get(dev);
        if (earlier) {
          earlier.devices = earlier.devices.filter((x) => x !== dev);
          if (earlier.devices.length === 0) {
            this.prefer.splice(this.prefer.indexOf(earlier), 1);
            this.preferDecision.get(earlier)!.overriddenBy = origin.rule;
          }
        }
        this.preferOf.set(dev, entry);
      }
      this.prefer.push(entry);
      this.preferDecision.set(entry, d);
    }
  }

  result(target: Target): RuleOutcome {
    const facts: Record<string, FactValue> = {};
    for (const [k, v] of this.facts) setOwn(facts, k, v);
    const sysconfig: Record<string, Record<string, string>> = {};
    for (const [file, vars] of this.sysconfig) {
      const out: Record<string, string> = {};
      for (const [k, v] of vars) setOwn(out, k, v);
      setOwn(sysconfig, file, out);
    }
    const guest: Record<string, FactValue> = {};
    for (const [k, v] of this.guest) setOwn(guest, k, v);
    return {
      target: { ...target },
      facts,
      xen: [...this.xen.values()].map((o) => ({ ...o })),
      dom0: [...this.dom0.values()].map((o) => ({ ...o })),
      modules: {
        load: [...this.load.values()].map((l) => ({ ...l, devices: [...l.devices] })),
        blacklist: [...this.blacklist.values()].map((b) => ({ ...b })),
        prefer: this.prefer.map((p) => ({ ...p, devices: [...p.devices] })),
      },
      sysconfig,
      dom0Memory: this.dom0Memory,
      dom0Vcpus: this.dom0Vcpus,
      guest,
      notes: this.notes,
      warnings: this.warnings,
      decisions: this.decisions,
    };
  }
}

/**
 * The condition cannot hold without a `target: { xen }` condition: one at its top, in an `all:`, or in every branch
 * of an `any:` (a `not:` does not count: it holds wherever its condition fails). Such a rule is about the Xen booted.
 */
export function needsTargetXen(c: Condition): boolean {
  if (c.target?.xen !== undefined) return true;
  if (c.all?.some(needsTargetXen)) return true;
  return c.any !== undefined && c.any.length > 0 && c.any.every(needsTargetXen);
}

function own<T>(name: string, value: T): Record<string, T> {
  const out: Record<string, T> = {};
  setOwn(out, name, value);
  return out;
}

function asList(v: OneOrMore<string> | undefined): string[] {
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}

/** "iommu=no-igfx" -> iommu / no-igfx; a bare flag has the value null. */
export function splitOption(opt: string): { name: string; value: string | null } {
  const eq = opt.indexOf('=');
  return eq < 0 ? { name: opt, value: null } : { name: opt.slice(0, eq), value: opt.slice(eq + 1) };
}

/**
 * Fills the placeholders of a fact action from the rule's devices (null when it has none). `{slot}` is the first
 * matching PCI function in profile order; with several, every slot is named in the evidence. A fact whose
 * placeholder the rule's devices cannot fill (an `any:` that matched through its non-PCI branch) is not set.
 */
function fillFacts(
  fact: Record<string, FactValue>,
  origin: Origin,
  profile: HardwareProfile,
): { fact: Record<string, FactValue> | null; origin: Origin } | null {
  const entries = Object.entries(fact);
  if (!entries.some(([, value]) => placeholdersIn(value).length > 0)) return null;
  const slots = profile.pci.filter((d) => origin.devices.includes(d.slot)).map((d) => d.slot);
  const filled: Record<string, FactValue> = {};
  for (const [name, value] of entries) {
    if (placeholdersIn(value).length === 0) setOwn(filled, name, value);
    else if (slots.length > 0) setOwn(filled, name, fillPlaceholders(value as string, { slot: slots[0]! }));
  }
  const why =
    slots.length > 1
      ? `{slot} = ${slots[0]}, the first of ${slots.length} matching PCI functions in profile order (${slots.join(', ')})`
      : slots.length === 1
        ? `{slot} = ${slots[0]}`
        : '{slot}: no matching PCI function, so the facts that need it are not set';
  return { fact: Object.keys(filled).length > 0 ? filled : null, origin: { ...origin, evidence: [...origin.evidence, why] } };
}

export function evaluateRules(input: EvaluateInput): RuleOutcome {
  const out = new Outcome();
  const ctx: ConditionContext = conditionContext({
    profile: input.profile,
    drivers: input.drivers,
    target: input.target,
    facts: out.facts,
    cheatcodes: parseCheatcodes(input.profile.cmdline),
    lists: input.files.flatMap((f) => f.lists),
  });
  // Rules see the facts the boot line sets (`noxen`: xen.disabled), so that what they decide can follow them; the
  // cheatcodes are still applied last, with their decisions, so that they also beat every rule.
  for (const cc of input.cheatcodes) {
    if ('fact' in cc.action) for (const [name, value] of Object.entries(cc.action.fact)) out.facts.set(name, value);
  }
  for (const file of input.files) {
    for (const rule of file.rules) {
      const r = rule.when ? evaluateCondition(rule.when, ctx) : { match: true, evidence: ['always (no when:)'], devices: [] };
      if (!r.match) continue;
      const xenScoped = rule.when !== undefined && needsTargetXen(rule.when);
      rule.then.forEach((action, i) => {
        const line = rule.paths?.[`then.${i}`]?.line ?? rule.pos.line;
        const origin: Origin = { rule: rule.id, file: file.file, line, evidence: r.evidence, devices: r.devices, xenScoped };
        const filled = 'fact' in action ? fillFacts(action.fact, origin, input.profile) : null;
        if (filled === null) out.apply(origin, action);
        else if (filled.fact !== null) out.apply(filled.origin, { fact: filled.fact });
      });
    }
  }
  // Cheatcodes come last so that they beat every rule.
  for (const cc of input.cheatcodes) {
    out.apply(
      { rule: `cheatcode:${cc.token}`, file: CMDLINE_FILE, line: 1, evidence: [`boot line ${cc.token}`], devices: cc.devices ?? [], ownDevices: true },
      cc.action,
    );
  }
  return out.result(input.target);
}

// The vocabulary of rule files and of what evaluating them produces. docs/rules.md is the authors' manual; this
// file is its contract. Plain JSON-able data: compiled rules (from YAML) are stored as JSON at build time.

/** Where something in a rule file is: for issues and for every decision's provenance. */
export interface SourcePos {
  file: string;
  line: number;
  column: number;
}

/** A value or a list of alternatives (any of them matches). */
export type OneOrMore<T> = T | T[];

/** A numeric range: a number (exact) or { min?, max? } (inclusive). */
export type NumRange = number | { min?: number; max?: number };

export interface PciCondition {
  /** 4 lower- or upper-case hex digits as a quoted string: "8086". */
  vendor?: OneOrMore<string>;
  device?: OneOrMore<string>;
  subvendor?: OneOrMore<string>;
  subdevice?: OneOrMore<string>;
  /** 2 hex digits: "03". */
  class?: OneOrMore<string>;
  subclass?: OneOrMore<string>;
  progIf?: OneOrMore<string>;
  revision?: OneOrMore<string>;
  /** fnmatch glob over the device's modalias (kmod's rules: `*`, `?`, `[...]`). */
  modalias?: OneOrMore<string>;
  /** The bound driver (or "none"). */
  driver?: OneOrMore<string>;
  /** Slot, with or without the 0000: domain. */
  slot?: OneOrMore<string>;
  /** Name of an ID list declared in some rule file's `lists:` ("intel-integrated-graphics"). */
  list?: OneOrMore<string>;
  /** Module names kmod offers for the device (candidates from modules.alias). */
  candidate?: OneOrMore<string>;
}

export interface UsbCondition {
  vendor?: OneOrMore<string>;
  product?: OneOrMore<string>;
  /** Interface class/subclass/protocol (2 hex digits); a device matches if one of its interfaces does. */
  class?: OneOrMore<string>;
  subclass?: OneOrMore<string>;
  protocol?: OneOrMore<string>;
  modalias?: OneOrMore<string>;
  driver?: OneOrMore<string>;
  list?: OneOrMore<string>;
  candidate?: OneOrMore<string>;
}

export interface CpuCondition {
  vendor?: OneOrMore<string>; // "GenuineIntel", "AuthenticAMD", ...
  family?: NumRange;
  model?: NumRange;
  /** All of these flags present. */
  flags?: string[];
  /** None of these flags present (a flags line must exist: unknown flags never match `lacks`). */
  lacks?: string[];
  vt?: OneOrMore<'enabled' | 'unverified' | 'disabled-by-firmware' | 'absent' | 'unknown'>;
  /** The HAP (EPT/NPT) verdict, cpu.hap.state. */
  hap?: OneOrMore<'present' | 'absent' | 'unknown'>;
  longMode?: boolean | null;
  /** Glob over the model name. */
  modelName?: OneOrMore<string>;
}

export interface MemoryCondition {
  /** Sizes with a unit: "512M", "4G", "1024K". Inclusive. */
  min?: string;
  max?: string;
}

/** Globs over the DMI fields of the profile. */
export type DmiCondition = Partial<
  Record<
    | 'sysVendor'
    | 'productName'
    | 'productVersion'
    | 'productFamily'
    | 'boardVendor'
    | 'boardName'
    | 'biosVendor'
    | 'biosVersion'
    | 'chassisType',
    OneOrMore<string>
  >
>;

export interface FirmwareCondition {
  efi?: boolean;
  efiBits?: 32 | 64;
  /** An IOMMU described by firmware (DMAR/RMAD or IVRS), or driven by the kernel (IOMMU groups or units). */
  iommu?: boolean;
  /** All of these ACPI tables present. */
  acpi?: string[];
}

export interface HypervisorCondition {
  role?: OneOrMore<'dom0' | 'xen-pv' | 'xen-hvm' | 'xen-pvh' | 'guest' | 'bare-metal' | 'unknown'>;
  detected?: OneOrMore<string>;
  /** Running inside another virtual machine (any role but dom0, bare-metal, unknown). */
  nested?: boolean;
  /** Xen's own capabilities list includes an hvm-* entry; an unknown list (none read) matches neither value. */
  xenHvm?: boolean;
}

export interface TargetCondition {
  /** A version range: ">=3.0.3", ">=3.0.2 <3.0.3", "<4.19", "3.0.2" (exact); comparators joined by spaces = all. */
  xen?: string;
  /** The Xen/Dom0 architecture chosen so far (fact arch.xen) or forced by the caller. */
  arch?: OneOrMore<'x86_64' | 'x86_32'>;
  /** Linux kernel of the Dom0, same range syntax. */
  kernel?: string;
}

export interface Condition {
  all?: Condition[];
  any?: Condition[];
  not?: Condition;
  pci?: PciCondition;
  usb?: UsbCondition;
  cpu?: CpuCondition;
  memory?: MemoryCondition;
  dmi?: DmiCondition;
  firmware?: FirmwareCondition;
  hypervisor?: HypervisorCondition;
  target?: TargetCondition;
  /** Kernel command-line cheatcodes: a name ("noacpi") or { name: value-glob } ({ xmodule: "vesa" }). */
  cheatcode?: OneOrMore<string | Record<string, string>>;
  /** Facts set by earlier rules: { name: value } (all must be equal), or a name (set and truthy). */
  fact?: OneOrMore<string | Record<string, FactValue>>;
}

export type FactValue = string | number | boolean | null;

/** One action of a rule's `then:` list; exactly one key per entry. */
export type Action =
  | { fact: Record<string, FactValue> }
  | { xen: { add?: OneOrMore<string>; remove?: OneOrMore<string> } }
  | { dom0: { add?: OneOrMore<string>; remove?: OneOrMore<string> } }
  | { module: { load?: string; blacklist?: string; prefer?: string; options?: string; optional?: ModuleOptional } }
  | { sysconfig: { file: string; set: Record<string, string> } }
  | { dom0Memory: string }
  | { dom0Vcpus: number | 'all' }
  | { guest: Record<string, FactValue> }
  | { note: string }
  | { warn: string };

/**
 * How a loaded module may fail without it being a failure. no-device: it may find nothing to drive on this machine
 * (xen-acpi-processor where the firmware offers no ACPI processor data Xen can use): its ENODEV ("No such device")
 * at load is then reported as not applicable, not as failed (src/apply/modprobe.ts).
 */
export type ModuleOptional = 'no-device';

export interface Rule {
  id: string;
  /** Where the knowledge comes from: a paper, KNOPPIX, Xen documentation, a bug report URL. Required. */
  source: string;
  description?: string;
  when?: Condition;
  then: Action[];
  /** Filled by the loader. */
  pos: SourcePos;
  /** Positions of sub-nodes by dot path ("then.1.xen.add"), for precise decisions and issues. */
  paths?: Record<string, SourcePos>;
}

export interface IdList {
  name: string;
  description?: string;
  source?: string;
  /** "vvvv:dddd" (lower case), or "vvvv:*" for a whole vendor. */
  pci: string[];
  usb: string[];
  pos: SourcePos;
}

/** A declared custom fact: rule files may add facts beyond the built-in ones. */
export interface FactDecl {
  name: string;
  type: 'boolean' | 'string' | 'number';
  description?: string;
  pos: SourcePos;
}

export interface RuleFile {
  file: string;
  rules: Rule[];
  lists: IdList[];
  facts: FactDecl[];
}

/** A rule-file problem: zod-like, coded, with file, line, column and the path inside the document. */
export interface RuleIssue {
  code: RuleIssueCode | RuleReadIssueCode;
  /** info: nothing wrong, but said (a file a rules directory does not read). */
  severity: 'error' | 'warning' | 'info';
  file: string;
  line: number;
  column: number;
  /** "rules[3].when.pci.vendor" */
  path: string;
  message: string;
}

export type RuleIssueCode =
  | 'yaml_syntax'
  | 'unknown_key'
  | 'unknown_action'
  | 'invalid_type'
  | 'missing_key'
  | 'bad_hex_id' // a number where a quoted hex string is needed, or wrong width
  | 'bad_glob'
  | 'bad_range' // a version or numeric range that cannot match or does not parse
  | 'bad_size'
  | 'unknown_fact'
  | 'unknown_list'
  | 'duplicate_rule_id'
  | 'duplicate_list'
  | 'multiple_actions' // more than one key in one then: entry
  | 'device_action_without_device' // module load/prefer/blacklist with no pci/usb condition to scope it
  | 'bad_placeholder' // an unknown {name} in a fact value, or {slot} in a rule without a pci condition
  | 'not_allowed' // a sysconfig variable or guest setting rules may not set (src/rules/values.ts)
  | 'bad_value'; // a value the emitted file cannot hold (a line break in module options, a quote in a guest value)

/** Issues of reading, not of a file's content: an entry of a rules directory not read (hidden, not *.yaml/*.yml). */
export type RuleReadIssueCode = 'skipped_file';

export interface Target {
  /** Xen version the plan is for: "3.0.2", "3.0.3", "4.17". */
  xen: string;
  /** Forced architecture, or null to let the rules decide. */
  arch: 'x86_64' | 'x86_32' | null;
}

/** Why a rule fired: human-readable facts about the machine ("pci 0000:00:02.0 [8086:27a2] in list ..."). */
export type Evidence = string[];

export interface Decision {
  /** Rule id, or "cheatcode:<token>" for a boot-line cheatcode. */
  rule: string;
  file: string;
  line: number;
  evidence: Evidence;
  action: Action;
  /** Devices the action applies to (PCI slots / USB interface paths), for module actions. */
  devices?: string[];
  /** Set when a later rule or a cheatcode replaced this decision for the same key. */
  overriddenBy?: string;
  /**
   * On a `dom0:` decision only: its rule cannot hold without a `target: { xen }` condition (evaluate.ts
   * needsTargetXen), so the option is for the Dom0 under Xen, not the entries without Xen (src/plan/native.ts).
   */
  xenScoped?: true;
}

/** A Xen or Dom0 command-line option as decided: name=value, or a bare flag (value null). */
export interface BootOption {
  name: string;
  value: string | null;
  rule: string;
}

/** What evaluating the rules (and the cheatcodes after them) decided, ready for the plan. */
export interface RuleOutcome {
  target: Target;
  facts: Record<string, FactValue>;
  /** Final Xen options in first-set order, each key once (later settings replaced earlier values). */
  xen: BootOption[];
  dom0: BootOption[];
  modules: {
    load: { name: string; options: string | null; optional: ModuleOptional | null; devices: string[]; rule: string }[];
    blacklist: { name: string; rule: string }[];
    prefer: { name: string; devices: string[]; rule: string }[];
  };
  /** sysconfig file ("xserver", "knoppix", ...) -> variable -> value. */
  sysconfig: Record<string, Record<string, string>>;
  dom0Memory: string | null;
  dom0Vcpus: number | 'all' | null;
  guest: Record<string, FactValue>;
  notes: { text: string; rule: string }[];
  warnings: { text: string; rule: string }[];
  /** Every decision in evaluation order, the overridden ones included and marked. */
  decisions: Decision[];
}

/** One cheatcode of the boot line: a whole token, split at its first "=". */
export interface Cheatcode {
  name: string;
  value: string | null;
  token: string;
  /** Position among the command-line tokens. */
  index: number;
}

/** What a cheatcode does, as an action applied after every rule (cheatcodes beat rules). */
export interface CheatcodeAction {
  token: string;
  action: Action;
  /** For device-scoped module actions and passthrough: PCI slots. */
  devices?: string[];
}

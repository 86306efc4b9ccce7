// The rule file format as data: every mapping's keys and the shape of each value, the enumerations and the string
// formats (shared.ts PATTERNS). One source with two readers: validate.ts checks the structure from these tables
// (its semantic checks, e.g. known lists and facts, glob syntax, version ranges, emitter limits, stay hand-written),
// and ruleSchema() writes them out as the JSON Schema editors use (data/rules.schema.json, made by
// scripts/gen-rules-schema.mjs; test/rules/schema.test.ts checks that the committed file is the generated one).
import { PATTERNS } from './shared.ts';

export type Format = keyof typeof PATTERNS;

/** The enumerations a value may take; ENUMS.x is also the JSON Schema's $defs.x. */
export const ENUMS = {
  vtState: ['enabled', 'unverified', 'disabled-by-firmware', 'absent', 'unknown'],
  hapState: ['present', 'absent', 'unknown'],
  role: ['dom0', 'xen-pv', 'xen-hvm', 'xen-pvh', 'guest', 'bare-metal', 'unknown'],
  arch: ['x86_64', 'x86_32'],
  factType: ['boolean', 'string', 'number'],
  efiBits: [32, 64],
  // module: { load, optional }: see ModuleOptional (types.ts).
  moduleOptional: ['no-device'],
} as const;

export type EnumName = keyof typeof ENUMS;

/** The shape of one value. `what` names it in lint messages ("expected a module name"). */
export type Shape =
  /** A non-empty string. */
  | { kind: 'text'; what?: string }
  /** A string matching PATTERNS[format]; `lower`: kept lower-cased. */
  | { kind: 'format'; format: Format; what: string; lower?: true }
  /** 2 or 4 hex digits in quotes (bad_hex_id, with a hint when YAML read a number). */
  | { kind: 'hex'; width: 2 | 4 }
  /** An fnmatch pattern; its syntax is a semantic check (globProblem). */
  | { kind: 'glob' }
  /** Comparators like ">=3.0.3 <4.0"; parseRange (version.ts) is the judge, the schema's pattern its outline. */
  | { kind: 'versionRange'; what: string }
  | { kind: 'enum'; name: EnumName }
  | { kind: 'boolean'; nullable?: true }
  | { kind: 'integer'; minimum: number }
  | { kind: 'const'; value: string }
  /** A number, or { min, max } (the numRange section). */
  | { kind: 'numRange' }
  /** A fact or guest value: a string, a finite number, true, false or null. */
  | { kind: 'scalar' }
  /** The name of a list declared under lists: (that it exists is a semantic check). */
  | { kind: 'listRef' }
  /** One value, or a non-empty list of alternatives. */
  | { kind: 'many'; of: Shape }
  /** One value, or a list of them that may be empty. */
  | { kind: 'strings'; of?: Shape }
  /** A YAML list. */
  | { kind: 'list'; of: Shape; minItems?: number }
  /** A mapping whose keys the file chooses (fact, list, variable names), each matching PATTERNS[names]. */
  | { kind: 'map'; names: Format; values: Shape; minProperties?: number }
  | { kind: 'section'; name: SectionName }
  /** Exactly one of the alternatives. */
  | { kind: 'oneOf'; of: readonly Shape[] };

export type Field = Shape & { description?: string };

/** The mappings of a rule file (SECTIONS must have exactly these: the compiler checks it). */
export type SectionName =
  | 'file'
  | 'factDecl'
  | 'list'
  | 'rule'
  | 'condition'
  | 'pci'
  | 'usb'
  | 'cpu'
  | 'numRange'
  | 'memory'
  | 'dmi'
  | 'firmware'
  | 'hypervisor'
  | 'target'
  | 'action'
  | 'bootOptions'
  | 'module'
  | 'sysconfig';

export interface Section {
  description?: string;
  fields: Record<string, Field>;
  required?: readonly string[];
  /** At least one key (its message lists them: "min" or "max" is required). */
  nonEmpty?: true;
  /** At least one of these keys. */
  anyOf?: readonly string[];
  /** Exactly one key of the mapping (an action). */
  single?: true;
  /** Exactly one of `keys`; `onlyWith`: keys that go with one of them only (options go with load). */
  exactlyOne?: { keys: readonly string[]; onlyWith: Record<string, string> };
}

/** The shapes lint reads from the tables alone (validate.ts value()): leaves, and one or more of them. */
export type LeafShape =
  | Extract<Shape, { kind: 'text' | 'format' | 'hex' | 'glob' | 'versionRange' | 'enum' | 'boolean' | 'numRange' | 'listRef' }>
  | { kind: 'many'; of: LeafShape }
  | { kind: 'strings'; of?: LeafShape };

// The helpers keep their literal types, so that the compiler knows which sections hold only LeafShapes.
const text = { kind: 'text' } as const;
const glob = { kind: 'glob' } as const;
const hex4 = { kind: 'hex', width: 4 } as const;
const hex2 = { kind: 'hex', width: 2 } as const;
const many = <S extends Shape>(of: S) => ({ kind: 'many', of }) as const;
const format = (f: Format, what: string) => ({ kind: 'format', format: f, what }) as const;
const section = (name: SectionName) => ({ kind: 'section', name }) as const;
const enumOf = (name: EnumName) => ({ kind: 'enum', name }) as const;
const moduleName = format('moduleName', 'a module name');
const deviceName = format('moduleName', 'a module or driver name');

const DEVICE = {
  modalias: many(glob),
  driver: { ...many(deviceName), description: 'Bound driver, or "none"' },
  list: many({ kind: 'listRef' }),
  candidate: { ...many(deviceName), description: 'A module kmod offers for the device' },
} as const satisfies Record<string, Field>;

/** Every mapping of a rule file, by the name the JSON Schema's $defs and lint's RULE_KEYS use. */
export const SECTIONS = {
  file: {
    description: 'An autoconfig rule file (docs/rules.md)',
    fields: {
      facts: { kind: 'map', names: 'factName', values: section('factDecl'), description: 'Custom facts this file introduces' },
      lists: { kind: 'map', names: 'listName', values: section('list'), description: 'Named ID lists, usable as pci: { list: NAME }' },
      rules: { kind: 'list', of: section('rule') },
    },
  },
  factDecl: {
    fields: { type: enumOf('factType'), description: text },
    required: ['type'],
  },
  list: {
    fields: {
      source: text,
      description: text,
      pci: { kind: 'strings', of: { kind: 'format', format: 'idListEntry', what: '"vvvv:dddd" or "vvvv:*"', lower: true } },
      usb: { kind: 'strings', of: { kind: 'format', format: 'idListEntry', what: '"vvvv:dddd" or "vvvv:*"', lower: true } },
    },
    anyOf: ['pci', 'usb'],
  },
  rule: {
    fields: {
      id: { ...format('ruleId', 'a rule id (letters, digits, ".", "_", "-")'), description: 'Unique over all loaded files' },
      source: { ...text, description: 'Where the knowledge comes from: a paper, KNOPPIX, Xen documentation, a bug URL' },
      description: text,
      when: section('condition'),
      then: { kind: 'list', of: section('action'), minItems: 1 },
    },
    required: ['id', 'source', 'then'],
  },
  condition: {
    description: 'All keys must hold',
    fields: {
      all: { kind: 'list', of: section('condition') },
      any: { kind: 'list', of: section('condition') },
      not: section('condition'),
      pci: section('pci'),
      usb: section('usb'),
      cpu: section('cpu'),
      memory: section('memory'),
      dmi: section('dmi'),
      firmware: section('firmware'),
      hypervisor: section('hypervisor'),
      target: section('target'),
      cheatcode: {
        ...many({
          kind: 'oneOf',
          of: [format('cheatcodeName', 'a cheatcode name (no spaces, no "=")'), { kind: 'map', names: 'cheatcodeName', values: glob, minProperties: 1 }],
        }),
        description: 'A boot-line cheatcode name, or { name: value-glob }',
      },
      fact: {
        ...many({ kind: 'oneOf', of: [format('factName', 'a fact name'), { kind: 'map', names: 'factName', values: { kind: 'scalar' }, minProperties: 1 }] }),
        description: 'A fact name (set and truthy), or { name: value }',
      },
    },
  },
  pci: {
    description: 'Some PCI function matches all given fields',
    fields: {
      vendor: many(hex4),
      device: many(hex4),
      subvendor: many(hex4),
      subdevice: many(hex4),
      class: many(hex2),
      subclass: many(hex2),
      progIf: many(hex2),
      revision: many(hex2),
      modalias: DEVICE.modalias,
      driver: DEVICE.driver,
      slot: many({ kind: 'format', format: 'slot', what: 'a PCI slot ("00:02.0" or "0000:00:02.0")', lower: true }),
      list: DEVICE.list,
      candidate: DEVICE.candidate,
    },
  },
  usb: {
    description: 'Some interface of some USB device matches all given fields',
    fields: {
      vendor: many(hex4),
      product: many(hex4),
      class: many(hex2),
      subclass: many(hex2),
      protocol: many(hex2),
      ...DEVICE,
    },
  },
  cpu: {
    fields: {
      vendor: many(text),
      family: { kind: 'numRange' },
      model: { kind: 'numRange' },
      flags: { kind: 'strings', description: 'All present' },
      lacks: { kind: 'strings', description: 'All absent (never true when flags are unknown)' },
      vt: many(enumOf('vtState')),
      hap: { ...many(enumOf('hapState')), description: 'The HAP (EPT/NPT) verdict: cpu.hap.state' },
      longMode: { kind: 'boolean', nullable: true },
      modelName: many(glob),
    },
  },
  numRange: {
    description: 'An inclusive range: { min, max }, either one or both',
    fields: { min: { kind: 'integer', minimum: 0 }, max: { kind: 'integer', minimum: 0 } },
    nonEmpty: true,
  },
  memory: {
    fields: { min: format('memorySize', 'a size like "512M"'), max: format('memorySize', 'a size like "512M"') },
    nonEmpty: true,
  },
  dmi: {
    fields: {
      sysVendor: many(glob),
      productName: many(glob),
      productVersion: many(glob),
      productFamily: many(glob),
      boardVendor: many(glob),
      boardName: many(glob),
      biosVendor: many(glob),
      biosVersion: many(glob),
      chassisType: many(glob),
    },
  },
  firmware: {
    fields: {
      efi: { kind: 'boolean' },
      efiBits: enumOf('efiBits'),
      iommu: { kind: 'boolean' },
      acpi: { kind: 'strings', description: 'All these ACPI tables present' },
    },
  },
  hypervisor: {
    fields: { role: many(enumOf('role')), detected: many(text), nested: { kind: 'boolean' }, xenHvm: { kind: 'boolean' } },
  },
  target: {
    fields: { xen: { kind: 'versionRange', what: 'Xen version' }, arch: many(enumOf('arch')), kernel: { kind: 'versionRange', what: 'kernel version' } },
  },
  action: {
    description: 'Exactly one key',
    fields: {
      fact: { kind: 'map', names: 'factName', values: { kind: 'scalar' }, minProperties: 1 },
      xen: section('bootOptions'),
      dom0: section('bootOptions'),
      module: section('module'),
      sysconfig: section('sysconfig'),
      dom0Memory: format('dom0Memory', 'a Dom0 memory size ("1024M", "1024M,max:1024M")'),
      dom0Vcpus: { kind: 'oneOf', of: [{ kind: 'integer', minimum: 1 }, { kind: 'const', value: 'all' }] },
      guest: { kind: 'map', names: 'guestKey', values: { kind: 'scalar' }, minProperties: 1 },
      note: text,
      warn: text,
    },
    single: true,
  },
  bootOptions: {
    fields: {
      add: many(format('bootOption', 'a boot option ("name" or "name=value", no spaces)')),
      remove: many(format('bootOption', 'a boot option ("name" or "name=value", no spaces)')),
    },
    nonEmpty: true,
  },
  module: {
    fields: {
      load: moduleName,
      blacklist: moduleName,
      prefer: moduleName,
      options: { kind: 'text', what: 'module options ("a=1 b=2")' },
      optional: {
        ...enumOf('moduleOptional'),
        description: 'no-device: the module may find nothing to drive here; its ENODEV at load is not-applicable, not failed (load only)',
      },
    },
    exactlyOne: { keys: ['load', 'blacklist', 'prefer'], onlyWith: { options: 'load', optional: 'load' } },
  },
  sysconfig: {
    fields: {
      file: format('sysconfigFile', 'a sysconfig file name ("xserver")'),
      set: { kind: 'map', names: 'sysconfigVar', values: { kind: 'text', what: 'a string value' }, minProperties: 1 },
    },
    required: ['file', 'set'],
  },
} as const satisfies Record<SectionName, Section>;

/** The keys each mapping accepts, in order (lint's "expected one of" lists them). */
export const RULE_KEYS = Object.fromEntries(Object.entries(SECTIONS).map(([name, s]) => [name, Object.keys(s.fields)])) as unknown as {
  readonly [K in SectionName]: readonly (keyof (typeof SECTIONS)[K]['fields'] & string)[];
};

/** What the schema says of each format besides its pattern. */
const FORMAT_DESCRIPTIONS: Partial<Record<Format, string>> = {
  hex4: '4 hex digits, quoted: "8086" (YAML reads a bare 0166 as the number 166)',
  hex2: '2 hex digits, quoted: "03"',
  idListEntry: '"vvvv:dddd" or "vvvv:*" for a whole vendor',
  slot: 'PCI slot: "00:02.0" or "0000:00:02.0"',
};

// parseRange's grammar as a pattern (the schema has no other way to say it): comparators joined by spaces.
const VERSION_RANGE = '^\\s*(>=|<=|>|<|=)?\\s*[0-9]+(\\.[0-9]+)*(\\s+(>=|<=|>|<|=)?\\s*[0-9]+(\\.[0-9]+)*)*\\s*$';

type Json = { [key: string]: unknown };

const ref = (name: string): Json => ({ $ref: `#/$defs/${name}` });

function shapeSchema(shape: Shape): Json {
  switch (shape.kind) {
    case 'text':
      return ref('text');
    case 'format':
      return ref(shape.format);
    case 'hex':
      return ref(shape.width === 4 ? 'hex4' : 'hex2');
    case 'glob':
      return ref('glob');
    case 'versionRange':
      return ref('versionRange');
    case 'enum':
      return ref(shape.name);
    case 'boolean':
      return { type: shape.nullable ? ['boolean', 'null'] : 'boolean' };
    case 'integer':
      return { type: 'integer', minimum: shape.minimum };
    case 'const':
      return { const: shape.value };
    case 'numRange':
      return { oneOf: [{ type: 'integer', minimum: 0 }, ref('numRange')], description: 'A number, or { min, max } (inclusive)' };
    case 'scalar':
      return ref('factValue');
    case 'listRef':
      return ref('listName');
    case 'many':
      return { oneOf: [shapeSchema(shape.of), { type: 'array', items: shapeSchema(shape.of), minItems: 1 }] };
    case 'strings': {
      const item = shapeSchema(shape.of ?? text);
      return { oneOf: [item, { type: 'array', items: item }] };
    }
    case 'list':
      return { type: 'array', items: shapeSchema(shape.of), ...(shape.minItems ? { minItems: shape.minItems } : {}) };
    case 'map':
      return {
        type: 'object',
        propertyNames: ref(shape.names),
        additionalProperties: shapeSchema(shape.values),
        ...(shape.minProperties ? { minProperties: shape.minProperties } : {}),
      };
    case 'section':
      return ref(shape.name);
    case 'oneOf':
      return { oneOf: shape.of.map(shapeSchema) };
  }
}

function sectionSchema(s: Section): Json {
  const properties = Object.fromEntries(
    Object.entries(s.fields).map(([key, field]) => [key, { ...shapeSchema(field), ...(field.description ? { description: field.description } : {}) }]),
  );
  const out: Json = { type: 'object', ...(s.description ? { description: s.description } : {}), properties, additionalProperties: false };
  if (s.required) out.required = [...s.required];
  if (s.nonEmpty) out.minProperties = 1;
  if (s.single) Object.assign(out, { minProperties: 1, maxProperties: 1 });
  if (s.anyOf) out.anyOf = s.anyOf.map((k) => ({ required: [k] }));
  if (s.exactlyOne) {
    const { keys, onlyWith } = s.exactlyOne;
    // Each branch: its key, none of the others, nothing that goes with another one only ({ load, optional,
    // prefer } must match no branch, not just the load one).
    out.oneOf = keys.map((k) => {
      const excluded = [...keys.filter((o) => o !== k), ...Object.keys(onlyWith).filter((o) => onlyWith[o] !== k)];
      return { required: [k], not: { anyOf: excluded.map((o) => ({ required: [o] })) } };
    });
  }
  return out;
}

/** data/rules.schema.json: JSON Schema 2020-12 of a rule file, from the tables above. */
export function ruleSchema(): Json {
  const defs: Json = {};
  for (const [name, pattern] of Object.entries(PATTERNS)) {
    const description = FORMAT_DESCRIPTIONS[name as Format];
    defs[name] = { type: 'string', pattern: pattern.source, ...(description ? { description } : {}) };
  }
  defs.text = { type: 'string', minLength: 1 };
  defs.glob = { type: 'string', minLength: 1, description: 'fnmatch pattern: *, ?, [...]' };
  defs.versionRange = {
    type: 'string',
    pattern: VERSION_RANGE,
    description: 'Comparators joined by spaces, all must hold: ">=3.0.3 <4.0", "<4.19", "4.17" (4.17.x)',
  };
  defs.factValue = { type: ['string', 'number', 'boolean', 'null'] };
  for (const [name, values] of Object.entries(ENUMS)) defs[name] = { enum: [...values] };
  for (const [name, s] of Object.entries(SECTIONS)) defs[name] = sectionSchema(s);
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: 'urn:xenoppix-autoconfig:rules.schema.json',
    title: 'xenoppix-autoconfig rule file',
    $ref: '#/$defs/file',
    $defs: defs,
  };
}

/** The file's text: what scripts/gen-rules-schema.mjs writes and the test compares with the committed one. */
export function ruleSchemaText(): string {
  return `${JSON.stringify(ruleSchema(), null, 2)}\n`;
}

// Lint: every issue code with its exact file:line:column and path, the cross-file checks in load order, what
// survives validation, and generated documents that must never crash the loader or the validator.
import fc from 'fast-check';
import { stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { evaluateRules } from '../../src/rules/evaluate.ts';
import { formatPath, formatRuleIssue, globProblem, hasDeviceCondition, RULE_KEYS } from '../../src/rules/validate.ts';
import type { RuleIssue, RuleIssueCode } from '../../src/rules/types.ts';
import { fixtureProfile, load, yaml } from './_support.ts';

function brief(issues: readonly RuleIssue[]): string[] {
  return issues.map((i) => `${i.severity} ${i.code} ${i.file}:${i.line}:${i.column} ${i.path}`);
}

/** A one-rule file around a `when:` body and a `then:` list, so that cases stay short. */
function rule(when: string, then = '- note: n'): string {
  const pad = (text: string, n: number) => text.split('\n').map((l) => ' '.repeat(n) + l).join('\n');
  return `rules:\n  - id: r\n    source: s\n${when ? `    when:\n${pad(when, 6)}\n` : ''}    then:\n${pad(then, 6)}\n`;
}
// rule(when) puts the first `when:` line on line 5, column 7, and `then:` entries after it.

interface Case {
  name: string;
  files: Record<string, string>;
  issues: string[];
}

const CASES: Case[] = [
  {
    name: 'yaml_syntax: an unclosed flow mapping',
    files: { 'a.yaml': rule('pci: { vendor: "8086"') },
    issues: ['error yaml_syntax a.yaml:6:5 '],
  },
  {
    name: 'yaml_syntax: a key twice in one mapping',
    files: { 'a.yaml': 'rules: []\nrules: []\n' },
    issues: ['error yaml_syntax a.yaml:2:1 '],
  },
  {
    name: 'unknown_key at the top',
    files: { 'a.yaml': 'rule:\n  - id: r\n' },
    issues: ['error unknown_key a.yaml:1:1 rule'],
  },
  {
    name: 'unknown_key in a pci condition',
    files: { 'a.yaml': rule('pci: { vendr: "8086" }') },
    issues: ['error unknown_key a.yaml:5:14 rules[0].when.pci.vendr'],
  },
  {
    name: 'unknown_key: options with blacklist',
    files: { 'a.yaml': rule('pci: { class: "03" }', '- module: { blacklist: nouveau, options: "modeset=0" }') },
    issues: ['error unknown_key a.yaml:7:39 rules[0].then[0].module.options'],
  },
  {
    name: 'unknown_action',
    files: { 'a.yaml': rule('', '- reboot: now') },
    issues: ['error unknown_action a.yaml:5:9 rules[0].then[0].reboot'],
  },
  {
    name: 'invalid_type: a version range YAML read as a number',
    files: { 'a.yaml': rule('target: { xen: 4.10 }') },
    issues: ['error invalid_type a.yaml:5:22 rules[0].when.target.xen'],
  },
  {
    name: 'invalid_type: an unknown vt state, a string for a boolean, 0 vCPUs',
    files: { 'a.yaml': rule('cpu: { vt: maybe }\nhypervisor: { nested: "yes" }', '- dom0Vcpus: 0') },
    issues: [
      'error invalid_type a.yaml:5:18 rules[0].when.cpu.vt',
      'error invalid_type a.yaml:6:29 rules[0].when.hypervisor.nested',
      'error invalid_type a.yaml:8:20 rules[0].then[0].dom0Vcpus',
    ],
  },
  {
    name: 'invalid_type: an unknown hap state, in a list too',
    files: { 'a.yaml': rule('cpu: { hap: maybe }\nany: [{ cpu: { hap: [present, enabled] } }]') },
    issues: ['error invalid_type a.yaml:5:19 rules[0].when.cpu.hap', 'error invalid_type a.yaml:6:37 rules[0].when.any[0].cpu.hap[1]'],
  },
  {
    name: 'invalid_type: the wrong type for a built-in fact',
    files: { 'a.yaml': rule('fact: { hvm.available: "yes" }', '- fact: { hvm.technology: vt-x }') },
    issues: ['error invalid_type a.yaml:5:30 rules[0].when.fact["hvm.available"]', 'error invalid_type a.yaml:7:33 rules[0].then[0].fact["hvm.technology"]'],
  },
  {
    name: 'missing_key: a rule without source and then',
    files: { 'a.yaml': 'rules:\n  - id: r\n' },
    issues: ['error missing_key a.yaml:2:5 rules[0]', 'error missing_key a.yaml:2:5 rules[0]'],
  },
  {
    name: 'missing_key: a list with neither pci nor usb',
    files: { 'a.yaml': 'lists:\n  empty: { source: nowhere }\n' },
    issues: ['error missing_key a.yaml:2:10 lists.empty'],
  },
  {
    name: 'bad_hex_id: bare numbers and wrong widths',
    files: { 'a.yaml': rule('pci: { vendor: 8086, device: 0166, class: "3", subvendor: "17aa0" }') },
    issues: [
      'error bad_hex_id a.yaml:5:22 rules[0].when.pci.vendor',
      'error bad_hex_id a.yaml:5:36 rules[0].when.pci.device',
      'error bad_hex_id a.yaml:5:49 rules[0].when.pci.class',
      'error bad_hex_id a.yaml:5:65 rules[0].when.pci.subvendor',
    ],
  },
  {
    name: 'bad_hex_id: list entries',
    files: { 'a.yaml': 'lists:\n  gfx:\n    pci: ["8086:27a2", 1002, "8086:27a"]\n' },
    issues: ['error bad_hex_id a.yaml:3:24 lists.gfx.pci[1]', 'error bad_hex_id a.yaml:3:30 lists.gfx.pci[2]'],
  },
  {
    name: 'bad_glob: unterminated bracket, unknown class, trailing backslash',
    files: { 'a.yaml': rule('pci: { modalias: "pci:v00008086d*[0-9" }\ndmi: { productName: ["[[:alfa:]]*", "x\\\\"] }') },
    issues: [
      'error bad_glob a.yaml:5:24 rules[0].when.pci.modalias',
      'error bad_glob a.yaml:6:28 rules[0].when.dmi.productName[0]',
      'error bad_glob a.yaml:6:43 rules[0].when.dmi.productName[1]',
    ],
  },
  {
    name: 'bad_range: impossible and unparsable ranges',
    files: {
      'a.yaml': rule('target: { xen: ">=4.0 <3.0", kernel: ">=3.0<4.0" }\ncpu: { family: { min: 15, max: 6 } }\nmemory: { min: 4G, max: 1G }'),
    },
    issues: [
      'error bad_range a.yaml:5:22 rules[0].when.target.xen',
      'error bad_range a.yaml:5:44 rules[0].when.target.kernel',
      'error bad_range a.yaml:6:22 rules[0].when.cpu.family',
      'error bad_range a.yaml:7:15 rules[0].when.memory',
    ],
  },
  {
    name: 'bad_size: units and numbers',
    files: { 'a.yaml': rule('memory: { min: 512MB }', '- dom0Memory: 1GiB\n- dom0Memory: 1024\n- dom0Memory: "1024M,max:1024M"') },
    issues: [
      'error bad_size a.yaml:5:22 rules[0].when.memory.min',
      'error bad_size a.yaml:7:21 rules[0].then[0].dom0Memory',
      'error bad_size a.yaml:8:21 rules[0].then[1].dom0Memory',
    ],
  },
  {
    name: 'unknown_fact: a condition on a fact nobody sets (error), setting an undeclared one (warning)',
    files: { 'a.yaml': rule('fact: quirks.nothing', '- fact: { quirks.typo: true }') },
    issues: ['error unknown_fact a.yaml:5:13 rules[0].when.fact', 'warning unknown_fact a.yaml:7:17 rules[0].then[0].fact["quirks.typo"]'],
  },
  {
    name: 'unknown_list',
    files: { 'a.yaml': rule('pci: { list: [gfx, nope] }') },
    issues: ['error unknown_list a.yaml:5:21 rules[0].when.pci.list[0]', 'error unknown_list a.yaml:5:26 rules[0].when.pci.list[1]'],
  },
  {
    name: 'duplicate_rule_id in one file and across files',
    files: {
      'a.yaml': 'rules:\n  - { id: r, source: s, then: [note: a] }\n  - { id: r, source: s, then: [note: b] }\n',
      'b.yaml': 'rules:\n  - { id: r, source: s, then: [note: c] }\n',
    },
    issues: ['error duplicate_rule_id a.yaml:3:11 rules[1].id', 'error duplicate_rule_id b.yaml:2:11 rules[0].id'],
  },
  {
    name: 'duplicate_list across files',
    files: { 'a.yaml': 'lists:\n  gfx: { pci: ["8086:27a2"] }\n', 'b.yaml': '# later\nlists:\n  gfx: { pci: ["1002:*"] }\n' },
    issues: ['error duplicate_list b.yaml:3:3 lists.gfx'],
  },
  {
    name: 'multiple_actions: two keys in one entry, two verbs in one module action',
    files: { 'a.yaml': rule('pci: { class: "03" }', '- note: a\n  warn: b\n- module: { load: i915, blacklist: nouveau }') },
    issues: ['error multiple_actions a.yaml:8:9 rules[0].then[0].warn', 'error multiple_actions a.yaml:9:31 rules[0].then[1].module.blacklist'],
  },
  {
    name: 'device_action_without_device: prefer with no device condition, or one only under not',
    files: {
      'a.yaml': rule('cpu: { vt: enabled }', '- module: { prefer: i915 }'),
      'b.yaml': rule('not: { pci: { class: "03" } }', '- module: { load: vesafb }\n- module: { blacklist: nouveau }\n- module: { prefer: i915 }'),
    },
    issues: [
      'error device_action_without_device a.yaml:7:27 rules[0].then[0].module.prefer',
      'error duplicate_rule_id b.yaml:2:9 rules[0].id',
      'error device_action_without_device b.yaml:9:27 rules[0].then[2].module.prefer',
    ],
  },
  {
    name: 'bad_placeholder: an unknown {name} in a fact value; {slot} with no pci condition, or one only under not',
    files: {
      'a.yaml': rule('pci: { class: "03" }', '- fact: { uma.device: "{bus}" }'),
      'b.yaml': rule('cpu: { vt: enabled }', '- fact: { uma.device: "{slot}" }').replace('id: r', 'id: s'),
      'c.yaml': rule('not: { pci: { class: "03" } }', '- note: n\n- fact: { uma.device: "{slot}", uma.present: true }').replace('id: r', 'id: t'),
    },
    issues: [
      'error bad_placeholder a.yaml:7:29 rules[0].then[0].fact["uma.device"]',
      'error bad_placeholder b.yaml:7:29 rules[0].then[0].fact["uma.device"]',
      'error bad_placeholder c.yaml:8:29 rules[0].then[1].fact["uma.device"]',
    ],
  },
  // Issue #11: these passed lint, then render refused them and the safe plan was forced (exit 3).
  {
    name: 'not_allowed: sysconfig variables and guest settings outside the allowlists (src/rules/values.ts)',
    files: {
      'a.yaml': rule('pci: { class: "03" }', '- sysconfig: { file: knoppix, set: { XMODULE: vesa, IFS: x, LD_PRELOAD: /tmp/x.so } }'),
      'b.yaml': rule('cpu: { vt: enabled }', '- guest: { acpi: 1, kernel: /bin/sh, device_model_override: /tmp/qemu }').replace('id: r', 'id: s'),
    },
    issues: [
      'error not_allowed a.yaml:7:59 rules[0].then[0].sysconfig.set.IFS',
      'error not_allowed a.yaml:7:67 rules[0].then[0].sysconfig.set.LD_PRELOAD',
      'error not_allowed b.yaml:7:27 rules[0].then[0].guest.kernel',
      'error not_allowed b.yaml:7:44 rules[0].then[0].guest.device_model_override',
    ],
  },
  {
    name: 'bad_value: a line break in module options, a quote or a line break in a guest value',
    files: {
      'a.yaml': rule('pci: { class: "03" }', '- module: { load: i915, options: "modeset=1\\ninstall x /bin/sh" }'),
      'b.yaml': rule('cpu: { vt: enabled }', '- guest: { usbdevice: "tab\\"let", soundhw: "hda\\nx" }').replace('id: r', 'id: s'),
    },
    issues: [
      'error bad_value a.yaml:7:40 rules[0].then[0].module.options',
      'error bad_value b.yaml:7:29 rules[0].then[0].guest.usbdevice',
      'error bad_value b.yaml:7:50 rules[0].then[0].guest.soundhw',
    ],
  },
];

describe('lint: every issue code at its exact place', () => {
  it('the table produces every code', () => {
    const every: Record<RuleIssueCode, true> = {
      yaml_syntax: true,
      unknown_key: true,
      unknown_action: true,
      invalid_type: true,
      missing_key: true,
      bad_hex_id: true,
      bad_glob: true,
      bad_range: true,
      bad_size: true,
      unknown_fact: true,
      unknown_list: true,
      duplicate_rule_id: true,
      duplicate_list: true,
      multiple_actions: true,
      device_action_without_device: true,
      bad_placeholder: true,
      not_allowed: true,
      bad_value: true,
    };
    const produced = new Set(CASES.flatMap((c) => c.issues.map((i) => i.split(' ')[1])));
    expect([...produced].sort()).toEqual(Object.keys(every).sort());
  });

  it.each(CASES)('$name', async ({ files, issues }) => {
    const loaded = await load(files);
    expect(brief(loaded.issues)).toEqual(issues);
    for (const issue of loaded.issues) expect(issue.message).not.toBe('');
  });
});

describe('what validation keeps', () => {
  it('normalizes IDs to lower case and keeps positions of every sub-node', async () => {
    const { files, issues } = await load({
      'a.yaml': yaml`
        # yaml-language-server: $schema=../rules.schema.json
        lists:
          gfx: { source: pciids.h, pci: ["8086:27A2", "1002:*"] }
        rules:
          - id: igfx
            source: https://github.com/QubesOS/qubes-issues/issues/2836
            when:
              pci: { vendor: "8086", device: ["27A2", "2a42"], slot: "00:02.0" }
            then:
              - xen: { add: iommu=no-igfx }
      `,
    });
    expect(issues).toEqual([]);
    const [file] = files;
    expect(file!.lists).toEqual([{ name: 'gfx', source: 'pciids.h', pci: ['8086:27a2', '1002:*'], usb: [], pos: { file: 'a.yaml', line: 3, column: 3 } }]);
    const r = file!.rules[0]!;
    expect(r.when).toEqual({ pci: { vendor: '8086', device: ['27a2', '2a42'], slot: '00:02.0' } });
    expect(r.pos).toEqual({ file: 'a.yaml', line: 5, column: 5 });
    expect(r.paths?.['when.pci.device.1']).toEqual({ file: 'a.yaml', line: 8, column: 47 });
    expect(r.paths?.['then.0']).toEqual({ file: 'a.yaml', line: 10, column: 9 });
    expect(r.paths?.['then.0.xen.add']).toEqual({ file: 'a.yaml', line: 10, column: 21 });
  });

  it('leaves out a rule with an error, keeps the others and the rule with only a warning', async () => {
    const { files, issues } = await load({
      'a.yaml': yaml`
        rules:
          - { id: good, source: s, then: [note: fine] }
          - { id: bad, source: s, when: { pci: { vendor: 8086 } }, then: [note: never] }
          - { id: warned, source: s, then: [fact: { my.fact: 1 }] }
      `,
    });
    expect(brief(issues)).toEqual(['error bad_hex_id a.yaml:3:50 rules[1].when.pci.vendor', 'warning unknown_fact a.yaml:4:45 rules[2].then[0].fact["my.fact"]']);
    expect(files[0]!.rules.map((r) => r.id)).toEqual(['good', 'warned']);
  });

  it('sees lists and facts of every file of the set, whatever file declares them', async () => {
    const { issues, files } = await load({
      'a.yaml': rule('pci: { list: gfx }\nfact: { quirks.igfx: true }'),
      'b.yaml': yaml`
        facts:
          quirks.igfx: { type: boolean }
        lists:
          gfx: { pci: ["8086:27a2"] }
      `,
    });
    expect(issues).toEqual([]);
    expect(files.map((f) => f.rules.length)).toEqual([1, 0]);
  });

  it('checks against a prior (compiled) set: its ids, lists and facts count', async () => {
    const prior = (await load({ 'shipped.yaml': 'facts:\n  q.x: { type: number }\nlists:\n  gfx: { usb: ["046d:*"] }\nrules:\n  - { id: r, source: s, then: [note: a] }\n' })).files;
    const { issues } = await load(
      { 'user.yaml': 'lists:\n  gfx: { pci: ["8086:*"] }\nfacts:\n  q.x: { type: string }\nrules:\n  - { id: r, source: s, when: { fact: { q.x: 2 }, usb: { list: gfx } }, then: [note: b] }\n' },
      prior,
    );
    expect(brief(issues)).toEqual([
      'error duplicate_list user.yaml:2:3 lists.gfx',
      'error invalid_type user.yaml:4:3 facts["q.x"]',
      'error duplicate_rule_id user.yaml:6:11 rules[0].id',
    ]);
    expect(issues[1]!.message).toContain('already a number fact (shipped.yaml:2:3)');
  });

  it('accepts load and blacklist without a device condition, and prefer with one inside any', async () => {
    const { issues } = await load({
      'a.yaml': rule('any:\n  - pci: { class: "03" }\n  - cpu: { vt: enabled }', '- module: { load: kvm }\n- module: { blacklist: pcspkr }\n- module: { prefer: i915 }'),
    });
    expect(issues).toEqual([]);
  });

  it('an empty file and a file of comments are empty rule files', async () => {
    const { files, issues } = await load({ 'a.yaml': '', 'b.yaml': '# nothing yet\n' });
    expect(issues).toEqual([]);
    expect(files).toEqual([
      { file: 'a.yaml', rules: [], lists: [], facts: [] },
      { file: 'b.yaml', rules: [], lists: [], facts: [] },
    ]);
  });
});

describe('helpers', () => {
  it('formats paths as lint prints them', () => {
    expect(formatPath(['rules', 3, 'when', 'pci', 'vendor'])).toBe('rules[3].when.pci.vendor');
    expect(formatPath(['facts', 'quirks.igfx', 'type'])).toBe('facts["quirks.igfx"].type');
    expect(formatPath(['lists', 'intel-integrated-graphics', 'pci', 0])).toBe('lists.intel-integrated-graphics.pci[0]');
    expect(formatRuleIssue({ code: 'bad_hex_id', severity: 'error', file: 'a.yaml', line: 3, column: 9, path: 'rules[0].when.pci.vendor', message: 'm' })).toBe(
      'a.yaml:3:9: bad_hex_id: rules[0].when.pci.vendor: m',
    );
  });

  it.each([
    ['pci:v00008086d*bc03*', null],
    ['[!a-z]*', null],
    ['[]]x', null],
    ['[[:digit:]]', null],
    ['a\\*', null],
    ['', 'an empty pattern'],
    ['[abc', '"[" at 1 is never closed'],
    ['x[[:word:]]', 'unknown character class [:word:]'],
    ['ab\\', 'a trailing backslash matches nothing'],
  ])('globProblem(%j) = %j', (pattern, problem) => {
    expect(globProblem(pattern)).toBe(problem);
  });

  it('finds device conditions through all and any but not through not', () => {
    expect(hasDeviceCondition({ all: [{ cpu: {} }, { any: [{ usb: {} }] }] })).toBe(true);
    expect(hasDeviceCondition({ not: { pci: {} } })).toBe(false);
    expect(hasDeviceCondition(undefined)).toBe(false);
    // Only PCI functions have the slot `{slot}` names.
    expect(hasDeviceCondition({ all: [{ cpu: {} }, { any: [{ usb: {} }] }] }, ['pci'])).toBe(false);
    expect(hasDeviceCondition({ any: [{ usb: {} }, { all: [{ pci: {} }] }] }, ['pci'])).toBe(true);
  });
});

// Generated documents: rule-shaped objects with random leaves (so that deep paths are reached) and raw strings.
const leaf = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.constantFrom('8086', '27a2', '03', '00:02.0', '>=3.0.3 <4.0', '512M', 'pci:v*', 'gfx', 'hvm.available', 'i915', 'all'),
);
const keyOf = (keys: readonly string[]) => fc.oneof(fc.constantFrom(...keys), fc.string({ maxLength: 6 }));
const { tree } = fc.letrec<{ tree: unknown }>((tie) => ({
  tree: fc.oneof({ depthSize: 'small' }, leaf, fc.array(tie('tree'), { maxLength: 3 }), fc.dictionary(fc.string({ maxLength: 6 }), tie('tree'), { maxKeys: 3 })),
}));
const ruleArb = fc.record(
  { id: fc.oneof(fc.constantFrom('a', 'b', 'c'), leaf), source: leaf, when: fc.letrec((tie) => ({ c: fc.dictionary(keyOf(RULE_KEYS.condition), fc.oneof(leaf, tie('c'))) })).c, then: fc.array(fc.anything(), { maxLength: 2 }) },
  { requiredKeys: [] },
);
const fileArb = fc.record(
  {
    facts: fc.dictionary(fc.string({ maxLength: 8 }), fc.record({ type: fc.oneof(fc.constantFrom('boolean', 'string', 'number'), leaf) }, { requiredKeys: [] })),
    lists: fc.dictionary(fc.constantFrom('gfx', 'net', 'x y'), fc.record({ pci: fc.array(leaf, { maxLength: 3 }), usb: leaf }, { requiredKeys: [] })),
    rules: fc.oneof(fc.array(ruleArb, { maxLength: 4 }), tree),
  },
  { requiredKeys: [] },
);

describe('generated rule files never crash load, validate or evaluate', () => {
  const profile = fixtureProfile('thinkpad-t60');
  const target = { xen: '3.0.3', arch: null };

  async function check(texts: Record<string, string>) {
    const { files, issues } = await load(texts);
    for (const i of issues) {
      expect(i.line).toBeGreaterThanOrEqual(1);
      expect(i.column).toBeGreaterThanOrEqual(1);
      expect(Object.keys(texts)).toContain(i.file);
    }
    evaluateRules({ files, profile, drivers: [], target, cheatcodes: [] });
  }

  it('rule-shaped objects serialized to YAML', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fileArb, { minLength: 1, maxLength: 3 }), async (docs) => {
        const texts: Record<string, string> = {};
        docs.forEach((d, i) => (texts[`${i}.yaml`] = stringify(d)));
        await check(texts);
      }),
      { numRuns: 200 },
    );
  });

  it('conditions and actions with known keys and random values', async () => {
    const condArb = fc.letrec<{ cond: unknown; action: unknown }>((tie) => ({
      cond: fc.dictionary(
        keyOf(RULE_KEYS.condition),
        fc.oneof(
          leaf,
          fc.dictionary(keyOf([...RULE_KEYS.pci, ...RULE_KEYS.cpu, ...RULE_KEYS.target, ...RULE_KEYS.hypervisor]), fc.oneof(leaf, fc.array(leaf, { maxLength: 2 })), { maxKeys: 3 }),
          fc.array(tie('cond'), { maxLength: 2 }),
        ),
        { maxKeys: 3 },
      ),
      action: fc.dictionary(keyOf(RULE_KEYS.action), fc.oneof(leaf, fc.dictionary(keyOf([...RULE_KEYS.module, ...RULE_KEYS.bootOptions, 'file', 'set', 'hvm.available']), leaf, { maxKeys: 3 })), { maxKeys: 2 }),
    }));
    await fc.assert(
      fc.asyncProperty(fc.array(fc.record({ id: fc.constantFrom('a', 'b'), source: fc.constant('s'), when: condArb.cond, then: fc.array(condArb.action, { maxLength: 3 }) }), { maxLength: 4 }), async (rules) => {
        await check({ 'a.yaml': stringify({ lists: { gfx: { pci: ['8086:27a2'] } }, rules }) });
      }),
      { numRuns: 200 },
    );
  });

  it('random text', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.string(), fc.string({ unit: fc.constantFrom(...'rules:- id{}[]"\'&*!|>#\n :8086ab'.split('')) })), async (text) => {
        await check({ 'a.yaml': text });
      }),
      { numRuns: 200 },
    );
  });
});

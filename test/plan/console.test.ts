// The serial console in the plan (console=ttyS<N> on the boot line; src/plan/console.ts): what each line and
// entry gets per target, that a rule's console options are replaced rather than doubled, that the safe plan
// keeps it, and that the plan made inside Dom0 from the Dom0 line we planned is the plan made on the bare machine.
import { describe, expect, it } from 'vitest';
import { splitCmdline } from '../../src/cmdline.ts';
import { render } from '../../src/emit/render.ts';
import { describeSerialConsole, grubSerialCommand } from '../../src/plan/console.ts';
import { decide, planDecided } from '../../src/plan/decide.ts';
import { plan, safePlan } from '../../src/plan/plan.ts';
import type { Plan } from '../../src/plan/types.ts';
import { fixtureNames, loadFixture } from '../_support/memfs.ts';

/** The fixture with `line` as its /proc/cmdline (and `rules` as extra rule files), planned for `xen`. */
async function planWith(fixture: string, xen: string, line: string, rules: Record<string, string> = {}): Promise<Plan> {
  const { fs, root, sync } = loadFixture(fixture);
  sync.mkdirSync(`${root}/proc`, { recursive: true });
  sync.writeFileSync(`${root}/proc/cmdline`, `${line}\n`);
  for (const [name, text] of Object.entries(rules)) {
    sync.mkdirSync('/rules', { recursive: true });
    sync.writeFileSync(`/rules/${name}`, text);
  }
  const d = await decide({ fs, root, xen, rules: Object.keys(rules).length ? ['/rules'] : [] });
  return planDecided(d);
}

const consoles = (cmdline: string) => splitCmdline(cmdline).filter((t) => /^(console|com[12])=/.test(t));
const xenEntries = (p: Plan) => p.grub.entries.filter((e) => e.xen);
const nativeEntries = (p: Plan) => p.grub.entries.filter((e) => !e.xen);

// A 64-bit machine whose boot line says nothing else: every entry kind exists on 3.x and 4.x.
const MACHINE = 'server-iommu-bmc';

describe('plan.console', () => {
  it('none without a serial console= (console=tty0 and hvc0 are not serial settings)', async () => {
    const p = await planWith(MACHINE, '4.17', 'quiet console=tty0 console=hvc0');
    expect(p.console).toEqual({ serial: null });
    expect(consoles(p.xen.cmdline)).toEqual([]);
    expect(consoles(p.dom0.cmdline)).toEqual([]);
  });

  it('Xen 4.x: Xen on com1 and the screen, Dom0 the token then hvc0 (last), entries without Xen the token', async () => {
    const p = await planWith(MACHINE, '4.17', 'console=ttyS0,115200n8');
    expect(p.console.serial).toEqual({
      unit: 0,
      baud: 115200,
      parity: 'n',
      bits: 8,
      rtscts: false,
      linuxToken: 'console=ttyS0,115200n8',
      xenPort: 'com1',
      dom0Console: 'hvc0',
      rule: 'cheatcode:console=ttyS0,115200n8',
    });
    expect(consoles(p.xen.cmdline)).toEqual(['console=com1,vga', 'com1=115200,8n1']);
    expect(consoles(p.dom0.cmdline)).toEqual(['console=ttyS0,115200n8', 'console=hvc0']);
    expect(splitCmdline(p.dom0.cmdline).at(-1)).toBe('console=hvc0');
    for (const e of xenEntries(p)) {
      expect(e.xenOptions).toBe(p.xen.cmdline);
      expect(e.kernelOptions).toBe(p.dom0.cmdline);
    }
    expect(nativeEntries(p).length).toBeGreaterThan(0);
    for (const e of nativeEntries(p)) expect(consoles(e.kernelOptions)).toEqual(['console=ttyS0,115200n8']);
    // Every option the console brings names the cheatcode.
    const options = [...p.xen.options, ...p.dom0.options].filter((o) => /^(console|com1)$/.test(o.name));
    expect(options.map((o) => o.rule)).toEqual(Array(4).fill('cheatcode:console=ttyS0,115200n8'));
  });

  it("the decisions: the fact, Xen's two options and the Dom0 token, each with the boot line as evidence", async () => {
    const p = await planWith(MACHINE, '4.17', 'console=ttyS0,115200n8');
    const mine = p.decisions.filter((d) => d.rule === 'cheatcode:console=ttyS0,115200n8');
    expect(mine.map((d) => d.action)).toEqual([
      { fact: { 'console.serial': 'ttyS0,115200n8' } },
      { xen: { add: 'console=com1,vga' } },
      { xen: { add: 'com1=115200,8n1' } },
      { dom0: { add: 'console=ttyS0,115200n8' } },
    ]);
    for (const d of mine) {
      expect(d).toMatchObject({ file: '/proc/cmdline', line: 1, evidence: ['boot line console=ttyS0,115200n8'] });
      expect(d.overriddenBy).toBeUndefined();
    }
  });

  it.each(['3.0.2', '3.0.3', '3.4'])(
    'Xen %s (XenLinux Dom0): the token alone on the Dom0 line, which names its Xen console (xencons, ttyS)',
    async (xen) => {
      const p = await planWith(MACHINE, xen, 'console=ttyS1,38400e7');
      expect(p.console.serial).toMatchObject({ unit: 1, xenPort: 'com2', dom0Console: null });
      expect(consoles(p.xen.cmdline)).toEqual(['console=com2,vga', 'com2=38400,7e1']);
      expect(consoles(p.dom0.cmdline)).toEqual(['console=ttyS1,38400e7']);
      for (const e of p.grub.entries) expect(consoles(e.kernelOptions)).toEqual(['console=ttyS1,38400e7']);
    },
  );

  it.each(['4.17', '3.0.3'])('Xen %s, ttyS2: a warning, no Xen option and no hvc0: Dom0 drives the port', async (xen) => {
    const p = await planWith(MACHINE, xen, 'console=ttyS2,57600');
    expect(p.console.serial).toMatchObject({ unit: 2, baud: 57600, xenPort: null, dom0Console: null });
    expect(consoles(p.xen.cmdline)).toEqual([]);
    expect(consoles(p.dom0.cmdline)).toEqual(['console=ttyS2,57600']);
    expect(p.warnings.some((w) => w.startsWith('console=ttyS2,57600: Xen has serial ports com1 and com2 only'))).toBe(true);
    expect(grubSerialCommand(p.console.serial!)).toBe('serial --unit=2 --speed=57600');
  });

  it('a rule\'s console options are replaced, not doubled (cheatcodes beat rules), and the rule says so', async () => {
    const rule = [
      'rules:',
      '  - id: test-console',
      '    source: test',
      '    then:',
      "      - xen: { add: [console=vga, 'com1=38400,8n1'] }",
      '      - dom0: { add: console=tty0 }',
      '',
    ].join('\n');
    const p = await planWith(MACHINE, '4.17', 'console=ttyS0,115200n8', { '90-console.yaml': rule });
    expect(consoles(p.xen.cmdline)).toEqual(['console=com1,vga', 'com1=115200,8n1']);
    expect(consoles(p.dom0.cmdline)).toEqual(['console=ttyS0,115200n8', 'console=hvc0']);
    const ruled = p.decisions.filter((d) => d.rule === 'test-console');
    expect(ruled).toHaveLength(3);
    for (const d of ruled) expect(d.overriddenBy).toBe('cheatcode:console=ttyS0,115200n8');
  });

  it('the report line says the port, its settings and where each part goes', async () => {
    const p = await planWith(MACHINE, '4.17', 'console=ttyS0,115200n8');
    expect(describeSerialConsole(p.console.serial!)).toBe(
      'ttyS0 at 115200 8n1: Xen com1 and the screen, Dom0 hvc0, GRUB serial unit 0 (cheatcode:console=ttyS0,115200n8)',
    );
  });
});

describe('the safe plan keeps the serial console', () => {
  it.each(['4.17', '3.0.3'])('Xen %s', async (xen) => {
    const { fs, root, sync } = loadFixture(MACHINE);
    sync.writeFileSync(`${root}/proc/cmdline`, 'noacpi console=ttyS0,115200n8\n');
    const d = await decide({ fs, root, xen });
    const normal = plan({ profile: d.profile, drivers: d.drivers.devices, target: d.target, outcome: d.outcome });
    const safe = safePlan(d.profile, d.target);
    expect(safe.safe).toBe(true);
    expect(safe.console).toEqual(normal.console);
    expect(safe.xen.cmdline).toBe('console=com1,vga com1=115200,8n1');
    expect(safe.dom0.cmdline).toBe(xen === '4.17' ? 'console=ttyS0,115200n8 console=hvc0' : 'console=ttyS0,115200n8');
    // Only the console: noacpi, like every other cheatcode and rule, is not in the safe plan.
    expect(safe.decisions.every((x) => x.rule === 'cheatcode:console=ttyS0,115200n8')).toBe(true);
    expect(safe.warnings[0]).toMatch(/safe plan/);
  });

  it('without a serial console= it is the plain safe plan', async () => {
    const { fs, root } = loadFixture(MACHINE);
    const d = await decide({ fs, root, xen: '4.17' });
    const safe = safePlan(d.profile, d.target);
    expect(safe.console.serial).toBeNull();
    expect(safe.xen.cmdline).toBe('');
    expect(safe.dom0.cmdline).toBe('');
    expect(safe.decisions).toEqual([]);
  });
});

// Inside the Dom0 we booted, /proc/cmdline is the Dom0 line we planned. Planned from it, the machine must get the
// same plan (and so the same files) as from the bare-metal boot line: the ttyS token stays on the Dom0 line for
// that, and hvc0 after it is not a serial setting.
describe('the plan made from the planned Dom0 line equals the bare-metal plan', () => {
  const LINES = [
    'console=ttyS0,115200n8',
    'quiet console=tty0 console=ttyS1 splash',
    'console=ttyS0,38400e7 console=hvc0',
    'console=ttyS2,57600',
  ];
  const cases = fixtureNames().flatMap((fixture) =>
    ['4.17', '3.0.3'].map((xen, i) => [fixture, xen, LINES[(fixtureNames().indexOf(fixture) + i) % LINES.length]!] as const),
  );
  it.each(cases)('%s on Xen %s, boot line %j', async (fixture, xen, line) => {
    const bare = await planWith(fixture, xen, line);
    expect(bare.console.serial).not.toBeNull();
    const inDom0 = await planWith(fixture, xen, bare.dom0.cmdline);
    expect(inDom0).toEqual(bare);
    expect(render(inDom0)).toEqual(render(bare));
  });

  it.each(LINES)('every boot line above, on one machine and Xen 4.17: %j', async (line) => {
    const bare = await planWith(MACHINE, '4.17', line);
    expect(await planWith(MACHINE, '4.17', bare.dom0.cmdline)).toEqual(bare);
  });
});

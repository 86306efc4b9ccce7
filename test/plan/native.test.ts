// The GRUB entries without Xen (src/plan/native.ts): the Dom0 line less what is about Xen, i.e. the options of rules
// scoped to Xen (a `target: { xen }` condition the rule cannot hold without) and the options only Xen's code reads
// (passthrough='s xen-pciback.hide= and pciback.hide=, earlyprintk=xen); the Xen entries keep the whole Dom0 line.
// Every fixture at Xen 3.0.3, 4.17 and 4.20, its boot line given a passthrough= of one of its own PCI functions and
// its root a local rules.d file; grub.cfg checked by the real grub-script-check.
import { afterAll, describe, expect, it } from 'vitest';
import { renderGrubCfg } from '../../src/emit/grub2.ts';
import { decide, planDecided } from '../../src/plan/decide.ts';
import { nativeOptions, xenOnlyOption } from '../../src/plan/native.ts';
import { renderOptions } from '../../src/plan/plan.ts';
import type { Plan } from '../../src/plan/types.ts';
import { needsTargetXen } from '../../src/rules/evaluate.ts';
import { loadShippedRules } from '../../src/rules/compile.ts';
import type { Decision, RuleOutcome } from '../../src/rules/types.ts';
import { fixtureNames, loadFixture } from '../_support/memfs.ts';
import { assertTool, findTool, run, scratch, skipNote } from '../emit/_tools.ts';

const TARGETS = ['3.0.3', '4.17', '4.20'];

// A machine's own rules (/etc/autoconfig/rules.d inside its root): two options every kernel understands, and rules
// scoped to Xen, one of them by every branch of an `any:` (as 60-quirks.yaml's x2apic rule is), that add, change and
// remove Dom0 options; one unscoped rule writes earlyprintk=xen, which only Xen's console code reads.
const LOCAL_RULES = `
rules:
  - id: local-loglevel
    source: "Linux Documentation/admin-guide/kernel-parameters.txt (loglevel=, quiet)"
    then:
      - dom0: { add: [loglevel=4, quiet] }
  - id: local-xen-dom0-line
    source: "xen.md §2.3 (the Xen wiki's Dom0 line: console=hvc0 earlyprintk=xen nomodeset)"
    when:
      target: { xen: ">=3.0.2" }
    then:
      - dom0: { add: [nomodeset, loglevel=7] }
  - id: local-xen-verbose
    source: "xen.md §2.3 (loglvl=all guest_loglvl=all beside the Dom0 line)"
    when:
      any:
        - target: { xen: "<4.0" }
        - target: { xen: ">=4.0" }
    then:
      - dom0: { remove: quiet }
  - id: local-xen-early-console
    source: "xen.md §2.3 (earlyprintk=xen)"
    then:
      - dom0: { add: earlyprintk=xen }
`;

/** The fixture with `extra` appended to its kernel's boot line (the captured one, if any), and LOCAL_RULES in its root. */
async function mutated(fixture: string, xen: string, extra: string): Promise<{ p: Plan; outcome: RuleOutcome }> {
  const { fs, sync, root } = loadFixture(fixture);
  const cmdline = `${root}/proc/cmdline`;
  const captured = sync.existsSync(cmdline) ? String(sync.readFileSync(cmdline, 'utf8')).trim() : '';
  sync.mkdirSync(`${root}/proc`, { recursive: true });
  // Before a `--`: what follows it is init's (firecracker-vm's captured line has one).
  const [kernel, ...init] = captured.split(/ -- /);
  const line = [kernel, extra].filter((s) => s !== undefined && s !== '').join(' ');
  sync.writeFileSync(cmdline, `${[line, ...init].join(' -- ')}\n`);
  sync.mkdirSync(`${root}/etc/autoconfig/rules.d`, { recursive: true });
  sync.writeFileSync(`${root}/etc/autoconfig/rules.d/90-local.yaml`, LOCAL_RULES);
  const d = await decide({ fs, root, xen });
  expect(d.ruleIssues.filter((i) => i.severity === 'error')).toEqual([]);
  return { p: planDecided(d), outcome: d.outcome };
}

/** One PCI function of the machine (its last), for passthrough=; none on a machine without PCI. */
async function aSlot(fixture: string): Promise<string | null> {
  const { fs, root } = loadFixture(fixture);
  const d = await decide({ fs, root, xen: '4.17' });
  return d.profile.pci.at(-1)?.slot ?? null;
}

const tokens = (line: string) => line.split(' ').filter((t) => t !== '');

describe('the entries without Xen carry no Xen-only Dom0 option; the Xen entries the whole Dom0 line', () => {
  const cases = fixtureNames().flatMap((fixture) => TARGETS.map((xen) => [fixture, xen] as const));

  it.each(cases)('%s, Xen %s', async (fixture, xen) => {
    const slot = await aSlot(fixture);
    const { p } = await mutated(fixture, xen, slot === null ? '' : `passthrough=${slot}`);
    const dom0 = renderOptions(p.dom0.options);
    // What is about Xen reached the Dom0 line: the Xen-scoped rules' options and the Xen-only ones.
    expect(tokens(dom0)).toEqual(expect.arrayContaining(['nomodeset', 'loglevel=7', 'earlyprintk=xen']));
    expect(tokens(dom0)).not.toContain('quiet');
    const hide = slot === null ? [] : [`xen-pciback.hide=(${slot})`, `pciback.hide=(${slot})`];
    expect(tokens(dom0)).toEqual(expect.arrayContaining(hide));
    const xenEntries = p.grub.entries.filter((e) => e.xen);
    const native = p.grub.entries.filter((e) => !e.xen);
    expect(native.length).toBeGreaterThan(0);
    // The Xen entries are as before: the whole Dom0 line.
    for (const e of xenEntries) expect(e.kernelOptions).toBe(dom0);
    // Without Xen: the Dom0 line less the Xen-only options, the Xen-scoped rules' additions and Xen's console;
    // the unscoped rule's loglevel=4 and quiet, which the Xen-scoped rules changed and removed, as that rule left them.
    const xenOnly = new Set([...hide, 'nomodeset', 'loglevel=7', 'earlyprintk=xen', 'console=hvc0']);
    const expected = [...tokens(dom0).filter((t) => !xenOnly.has(t)), 'loglevel=4', 'quiet'].sort();
    for (const e of native) expect(tokens(e.kernelOptions).sort(), e.title).toEqual(expected);
  });
});

describe('nativeOptions replays the dom0: decisions as the evaluator keeps the line', () => {
  it.each(fixtureNames().map((f) => [f] as const))('%s at 4.17: no rule taken for Xen-scoped, the Dom0 line less the Xen-only options', async (fixture) => {
    const slot = await aSlot(fixture);
    const { outcome } = await mutated(fixture, '4.17', slot === null ? 'noacpi' : `noacpi passthrough=${slot}`);
    const unscoped: Decision[] = outcome.decisions.map(({ xenScoped: _, ...d }) => d);
    expect(nativeOptions(unscoped)).toEqual(outcome.dom0.filter((o) => xenOnlyOption(o) === null));
  });
});

describe('which rules are scoped to Xen (evaluate.ts needsTargetXen), over the shipped rules', () => {
  it.each([
    // x2apic=false: every branch of its any: is a target Xen range.
    ['x2apic-off-amd-without-mixed-mode', true],
    ['xen-ucode-scan', true],
    ['nvidia-pv-dom0-nouveau', true],
    // A Dom0 problem (Qubes): the kernel without Xen loads the NPU driver.
    ['amdxdna-dom0-linux-6.16', true],
    // A boot-line cheatcode and a PCI device: nouveau.modeset=0 for the failsafe boot of both kernels.
    ['nvidia-failsafe-nomodeset', false],
    ['noirqbalance-dell-1850-2850', false],
  ] as const)('%s: %s', async (id, scoped) => {
    const rules = (await loadShippedRules()).files.flatMap((f) => f.rules);
    const rule = rules.find((r) => r.id === id);
    expect(rule, id).toBeDefined();
    expect(rule!.when !== undefined && needsTargetXen(rule!.when)).toBe(scoped);
  });

  it('the shipped dom0: options: only the Dom0-only NPU blacklist leaves the entries without Xen', async () => {
    const rules = (await loadShippedRules()).files.flatMap((f) => f.rules);
    const writers = rules.filter((r) => r.then.some((a) => 'dom0' in a));
    expect(writers.map((r) => r.id).sort()).toEqual(['amdxdna-dom0-linux-6.16', 'nvidia-failsafe-nomodeset']);
    expect(writers.filter((r) => r.when !== undefined && needsTargetXen(r.when)).map((r) => r.id)).toEqual(['amdxdna-dom0-linux-6.16']);
  });
});

describe('xenOnlyOption', () => {
  // The cheatcodes' own Dom0 options (docs/cheatcodes.md) and the shipped rules' stay on both kernels; Xen's drivers'
  // parameters (passthrough='s), XenLinux's console and Linux's parameters for running on Xen do not.
  it.each([
    ['xen-pciback.hide', '(0000:01:00.0)', true],
    ['pciback.hide', '(0000:01:00.0)', true],
    ['xencons', 'tty', true],
    ['xen_emul_unplug', 'never', true],
    ['earlyprintk', 'xen', true],
    ['earlyprintk', 'vga', false],
    ['acpi', 'off', false],
    ['usbcore.nousb', null, false],
    ['console', 'ttyS0,115200n8', false],
    ['nouveau.modeset', '0', false],
    ['module_blacklist', 'amdxdna', false],
  ] as const)('%s=%s: %s', (name, value, xenOnly) => {
    expect(xenOnlyOption({ name, value }) !== null).toBe(xenOnly);
  });
});

describe('grub.cfg with Xen-only options on the Xen entries only (real grub-script-check)', () => {
  const grubScriptCheck = findTool('grub-script-check');
  const tmp = scratch('native');
  afterAll(() => tmp.remove());
  it.skipIf(grubScriptCheck === null).each(['4.17', '4.20'])(
    `amd-apu-laptop at Xen %s: accepted; hide= only inside the Xen entry${skipNote(grubScriptCheck, 'grub-script-check', 'grub-common')}`,
    async (xen) => {
      assertTool(grubScriptCheck);
      const { p } = await mutated('amd-apu-laptop', xen, 'passthrough=01:00.0');
      const text = renderGrubCfg(p);
      const r = run([grubScriptCheck, tmp.file(`grub-${xen}.cfg`, text)]);
      expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: '' });
      const entries = text.split(/^menuentry /m).slice(1);
      const withHide = entries.filter((e) => e.includes('pciback.hide='));
      expect(withHide.map((e) => e.split('\n')[0])).toEqual([expect.stringContaining('--class xen {')]);
    },
  );
});

import { describe, expect, it } from 'vitest';
import type { WritableFsLike } from '../../src/fs.ts';
import type { RuleOutcome } from '../../src/rules/types.ts';
import type { RuleTrace } from '../../src/rules/why.ts';
import { loadFixture } from '../_support/memfs.ts';
import { runCli } from '../_support/cli.ts';

const run = runCli;

describe('autoconfig explain', () => {
  it.each([
    // Core Duo with 945GM on Xen 3.0.2: VT-x, but UMA makes HVM unreliable there; 3.0.3 fixed it.
    ['thinkpad-t60', '3.0.2', 'hvm', ['fact hvm.available = true', 'rule hvm-vmx-unverified (', 'fact hvm.unreliable = true']],
    ['thinkpad-t60', '3.0.3', 'hvm', ['fact hvm.available = true']],
    // VT-x locked off by firmware: the reason says to enable it.
    ['vt-disabled', '4.17', 'hvm', ['fact hvm.available = false', 'rule hvm-disabled-by-firmware (']],
    // radeon beats amdgpu's catch-all on an RV770, shown with the overridden decision.
    ['desktop-amd-gpu', '4.17', '01:00.0', ['module prefer amdgpu  [overridden by gpu-radeon]', 'module prefer radeon']],
  ])('%s on Xen %s, topic %s', async (name, xen, topic, expected) => {
    const { fs, root } = loadFixture(name);
    const r = await run(['explain', '--root', root, '--xen', xen, topic], fs);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`Target Xen ${xen} (option: --xen ${xen})`);
    for (const line of expected) expect(r.stdout).toContain(line);
    // Every decision shown names its rule with file:line and gives at least one reason.
    const blocks = r.stdout.split('\n\n').slice(1);
    expect(blocks.length).toBeGreaterThan(0);
    for (const block of blocks) {
      expect(block).toMatch(/\n {2}rule \S+ \(\S+:\d+\)/);
      expect(block).toContain('  because: ');
    }
  });

  it('prints the outcome as JSON, topic-independent', async () => {
    const { fs, root } = loadFixture('xen-dom0');
    const r = await run(['explain', '--root', root, '--json'], fs);
    const { target, outcome } = JSON.parse(r.stdout) as { target: { source: string }; outcome: RuleOutcome };
    // The running hypervisor gives the target; in Dom0 Xen's capabilities decide HVM.
    expect(target.source).toBe('running');
    expect(outcome.facts['hvm.available']).toBe(true);
    expect(outcome.decisions.some((d) => d.rule.startsWith('hvm-dom0-xen-caps'))).toBe(true);
  });

  // A rule id as the TOPIC: whether the rule fired on this machine and target, and if not, which part of its
  // when: failed with what the machine shows.
  it.each([
    // The HP ProBook 455 G7's Ryzen has NPT: the rule for VT without EPT/NPT does not fire.
    ['amd-apu-laptop', '4.20', 'hvm-no-hap', [/^rule hvm-no-hap \(data\/rules\/10-cpu\.yaml:\d+\) did not fire:$/m, /^ {2}when\.cpu\.hap: cpu\.hap is present \(needs absent\)$/m]],
    // The T60 (Core Duo, no long mode) on 4.20: it fires, but no Xen boots there and hvm-no-xen replaces it.
    ['thinkpad-t60', '4.20', 'hvm-no-hap', [/^rule hvm-no-hap \(data\/rules\/10-cpu\.yaml:\d+\) fired: 2 decisions$/m, /^ {2}overridden by hvm-no-xen: nothing of it is left in the outcome$/m, /^fact hvm\.available = false {2}\[overridden by hvm-no-xen\]$/m]],
    // The iMac's RV770: amdgpu's catch-all fires, radeon's rule after it takes the device.
    ['desktop-amd-gpu', '4.17', 'gpu-amdgpu', [/^rule gpu-amdgpu \(.*\) fired: 1 decision$/m, /^ {2}overridden by gpu-radeon: /m]],
    // The T60 has PAE: the rule for unknown PAE is excluded by its not:, which says what holds.
    ['thinkpad-t60', '3.0.3', 'arch-32bit-pae-unknown', [/^ {2}when\.not: what not: excludes holds: cpu flags pae$/m]],
    // A near miss over PCI functions: the T60's Intel graphics is not in the Cirrus list, and the target is too new.
    ['thinkpad-t60', '4.20', 'x-xfree86-cirrus', [/^ {2}when\.pci: no PCI function has class 03, subclass 00, list xfree86-cirrus; nearest: 0000:00:02\.0 \[8086:27a2\] \(list: 8086:27a2 is not in it\)$/m, /^ {2}when\.target\.xen: target\.xen is 4\.20 \(needs <3\.1\)$/m]],
  ])('%s on Xen %s, rule %s', async (name, xen, id, expected) => {
    const { fs, root } = loadFixture(name);
    const r = await run(['explain', '--root', root, '--xen', xen, id], fs);
    expect(r.code, r.stderr).toBe(0);
    for (const re of expected) expect(r.stdout).toMatch(re);
    expect(r.stdout).toMatch(/^ {2}source: \S/m);
  });

  it('nested any: each alternative that failed, with the line of a rule file of the machine', async () => {
    const { fs, root } = loadFixture('thinkpad-t60');
    // The machine's own rules.d: positions are kept (the compiled shipped set keeps none for conditions).
    const local = ['rules:', '  - id: local-ept', '    source: this site', '    when:', '      any:', '        - cpu: { hap: present }', '        - { hypervisor: { role: dom0 }, cpu: { vendor: AuthenticAMD } }', '    then:', '      - note: EPT', ''];
    await fs.mkdir(`${root}/etc/autoconfig/rules.d`, { recursive: true });
    await fs.writeFile(`${root}/etc/autoconfig/rules.d/50-local.yaml`, local.join('\n'));
    const r = await run(['explain', '--root', root, '--xen', '4.20', 'local-ept'], fs);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(
      [
        `rule local-ept (${root}/etc/autoconfig/rules.d/50-local.yaml:2) did not fire:`,
        '  when.any (line 6): none of the 2 alternatives of any: held',
        '    when.any.0.cpu.hap (line 6): cpu.hap is absent (needs present)',
        '    when.any.1 (line 7): alternative 2 failed',
        '      when.any.1.cpu.vendor (line 7): cpu.vendor is GenuineIntel (needs AuthenticAMD)',
        '      when.any.1.hypervisor.role (line 7): hypervisor.role is bare-metal (needs dom0)',
        '  source: this site',
      ].join('\n'),
    );
    // Not fired: no decisions to list.
    expect(r.stdout).not.toContain('decisions concern');
  });

  it('a rule whose when: held but whose only fact needs a {slot} no PCI function filled: matched, not fired', async () => {
    const { fs, root } = loadFixture('thinkpad-t60');
    // The T60's CPU is GenuineIntel; it has no PCI function of class ff, so the any: holds through the CPU.
    const local = ['rules:', '  - id: local-slot', '    source: this site', '    when:', '      any:', '        - pci: { class: "ff" }', '        - cpu: { vendor: GenuineIntel }', '    then:', '      - fact: { uma.device: "{slot}" }', ''];
    await fs.mkdir(`${root}/etc/autoconfig/rules.d`, { recursive: true });
    await fs.writeFile(`${root}/etc/autoconfig/rules.d/50-local.yaml`, local.join('\n'));
    const r = await run(['explain', '--root', root, 'local-slot'], fs);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^rule local-slot \(.*50-local\.yaml:2\) did not fire: its when: held, but none of its actions applied$/m);
    expect(r.stdout).toContain('  because: cpu vendor GenuineIntel');
    const json = JSON.parse((await run(['explain', '--root', root, '--json', 'local-slot'], fs)).stdout) as { rule: RuleTrace };
    expect(json.rule).toMatchObject({ matched: true, fired: false, decisions: [], failed: [] });
  });

  it('--json with a rule id adds the trace under "rule"', async () => {
    const { fs, root } = loadFixture('amd-apu-laptop');
    const r = await run(['explain', '--root', root, '--xen', '4.20', '--json', 'hvm-no-hap'], fs);
    expect(r.code, r.stderr).toBe(0);
    const { outcome, rule } = JSON.parse(r.stdout) as { outcome: RuleOutcome; rule: RuleTrace };
    expect(outcome.decisions.length).toBeGreaterThan(0);
    expect(rule).toMatchObject({ rule: 'hvm-no-hap', fired: false, matched: false, decisions: [], overriddenBy: [] });
    expect(rule.failed).toEqual([{ path: 'when.cpu.hap', line: null, condition: { cpu: { hap: 'absent' } }, seen: 'present', text: 'cpu.hap is present (needs absent)' }]);
    // Not a rule id: no trace.
    const hvm = await run(['explain', '--root', root, '--xen', '4.20', '--json', 'hvm'], fs);
    expect(Object.keys(JSON.parse(hvm.stdout) as object)).toEqual(['target', 'outcome']);
  });

  it.each([
    // A typo: the nearest id.
    ['hvm-no-happ', 'no rule "hvm-no-happ" in the loaded rules, and no decision concerns it (did you mean hvm-no-hap?)'],
    // Far from every id: those of its first word.
    ['gpu-voodoo-banshee', 'no rule "gpu-voodoo-banshee" in the loaded rules, and no decision concerns it (did you mean gpu-'],
    // No id is near and none shares its first word.
    ['zz-no-such-rule', 'no rule "zz-no-such-rule" in the loaded rules, and no decision concerns it\n'],
  ])('an unknown rule id %s is a usage error naming the nearest ids', async (id, message) => {
    const { fs, root } = loadFixture('thinkpad-t60');
    for (const json of [[], ['--json']]) {
      const r = await run(['explain', '--root', root, ...json, id], fs);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toContain(`autoconfig explain: ${message}`);
    }
  });

  it('a topic that is no rule id and concerns nothing says so, as before', async () => {
    const { fs, root } = loadFixture('thinkpad-t60');
    const r = await run(['explain', '--root', root, 'radeon'], fs);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('0 of ');
    expect(r.stdout).toContain('nothing; try a slot');
  });

  it('rejects two topics', async () => {
    const { fs, root } = loadFixture('thinkpad-t60');
    expect((await run(['explain', '--root', root, 'a', 'b'], fs)).code).toBe(2);
  });
});

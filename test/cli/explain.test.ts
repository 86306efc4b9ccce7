import { describe, expect, it } from 'vitest';
import type { WritableFsLike } from '../../src/fs.ts';
import type { RuleOutcome } from '../../src/rules/types.ts';
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

  it('rejects two topics', async () => {
    const { fs, root } = loadFixture('thinkpad-t60');
    expect((await run(['explain', '--root', root, 'a', 'b'], fs)).code).toBe(2);
  });
});

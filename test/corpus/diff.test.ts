// corpus diff: the same machines planned with two rule sets. A change to a real shipped rule changes exactly the
// machines that rule decides for, with the verdict, decision and file diffs; identical rules, or a rule that only
// moved lines, change nothing; --base-ref takes data/rules of a commit through git.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { diffCorpus, type CorpusDiff } from '../../src/corpus/diff.ts';
import { ruleSetAtRef, ruleSetFrom, shippedRuleSet } from '../../src/corpus/rule-sets.ts';
import { runCorpus } from '../../src/corpus/run.ts';
import { fixturesDir, repoRoot } from '../_support/memfs.ts';
import { copyRules, tmp } from './_support.ts';

const MACHINES = ['thinkpad-t60', 'amd-apu-laptop', 'desktop-amd-gpu', 'kvm-guest', 'server-iommu-bmc'].map((n) => join(fixturesDir, n));
const TARGETS = ['3.0.2', '4.20'];
const MEMORY = '40-memory.yaml';
// dom0-mem-large (data/rules/40-memory.yaml): Xen 4.x, 8-32 GiB of memory.
const LARGE = 'dom0Memory: "2048M,max:2048M"';

function mutated(file: string, change: (text: string) => string): string {
  const dir = copyRules();
  const text = readFileSync(join(dir, file), 'utf8');
  const next = change(text);
  expect(next).not.toBe(text);
  writeFileSync(join(dir, file), next);
  return dir;
}

describe('corpus diff over real fixtures', () => {
  let same: CorpusDiff;
  let bigger: CorpusDiff;
  let base: Awaited<ReturnType<typeof runCorpus>>;
  beforeAll(async () => {
    const shipped = await ruleSetFrom([copyRules()], 'copy');
    same = await diffCorpus(MACHINES, shipped, await shippedRuleSet(), { targets: TARGETS });
    const more = await ruleSetFrom([mutated(MEMORY, (t) => t.replace(LARGE, 'dom0Memory: "3072M,max:3072M"'))], 'more');
    bigger = await diffCorpus(MACHINES, shipped, more, { targets: TARGETS });
    base = await runCorpus(MACHINES, { targets: TARGETS });
  }, 600_000);

  it('the same rules: nothing changes', () => {
    expect(same.changes).toEqual([]);
    expect(same.changedMachines).toEqual([]);
    expect(same.machines).toBe(MACHINES.length);
  });

  it("dom0-mem-large's size changed: exactly the rows it sized change, with the verdict, decision and file diffs", () => {
    const sized = base.rows.filter((r) => r.verdicts?.dom0Mem === '2048M,max:2048M').map((r) => `${r.machine} ${r.target}`);
    expect(sized.length).toBeGreaterThan(0);
    expect(bigger.changes.map((c) => `${c.machine} ${c.target}`)).toEqual(sized);
    for (const c of bigger.changes) {
      expect(c.verdicts).toContainEqual({ key: 'dom0Mem', before: '2048M,max:2048M', after: '3072M,max:3072M' });
      expect(c.decisions).toEqual({ removed: ['dom0-mem-large: {"dom0Memory":"2048M,max:2048M"}'], added: ['dom0-mem-large: {"dom0Memory":"3072M,max:3072M"}'] });
      const grub = c.files.find((f) => f.path === '/boot/grub/grub.cfg')!;
      expect(grub.diff).toMatch(/^-.*dom0_mem=2048M,max:2048M/m);
      expect(grub.diff).toMatch(/^\+.*dom0_mem=3072M,max:3072M/m);
    }
  });

  it('a rule that only moved lines (a comment added above it) changes nothing', async () => {
    const moved = await ruleSetFrom([mutated(MEMORY, (t) => `# a comment\n# and another\n${t}`)], 'moved');
    const d = await diffCorpus(MACHINES.slice(0, 2), await shippedRuleSet(), moved, { targets: ['4.20'] });
    expect(d.changes).toEqual([]);
  }, 120_000);
});

describe('rule sets', () => {
  it('--base-ref HEAD is data/rules as committed (git show), labelled by the ref', async () => {
    const dir = tmp('rules-head');
    const names = execFileSync('git', ['ls-tree', '--name-only', 'HEAD', 'data/rules/'], { cwd: repoRoot, encoding: 'utf8' }).trim().split('\n');
    for (const name of names) writeFileSync(join(dir, name.split('/').pop()!), execFileSync('git', ['show', `HEAD:${name}`], { cwd: repoRoot }));
    const head = await ruleSetAtRef('HEAD');
    const copy = await ruleSetFrom([dir], 'copy');
    expect(head.label).toBe('data/rules at HEAD');
    expect(head.shipped!.files.map((f) => f.file)).toEqual(names.map((n) => `HEAD:${n}`));
    expect(head.shipped!.files.map((f) => f.rules.map((r) => r.id))).toEqual(copy.shipped!.files.map((f) => f.rules.map((r) => r.id)));
    const d = await diffCorpus([MACHINES[0]!], head, copy, { targets: ['3.0.2'] });
    expect(d.changes).toEqual([]);
  }, 120_000);

  it.each([
    ['a commit that does not exist', 'no-such-ref-13', /no such commit/],
    ['an option in disguise', '--output=/tmp/x', /not a commit name/],
  ])('--base-ref with %s is a usage error', async (_what, ref, message) => {
    await expect(ruleSetAtRef(ref)).rejects.toMatchObject({ code: 'E_USAGE', message: expect.stringMatching(message) });
  });

  it('a side whose rules do not lint is refused, naming the file', async () => {
    const bad = mutated(MEMORY, (t) => t.replace('- id: dom0-mem-large', '- idd: dom0-mem-large'));
    await expect(ruleSetFrom([bad], 'bad')).rejects.toMatchObject({ code: 'E_PARSE', message: expect.stringContaining(`${MEMORY}:`) });
  });
});

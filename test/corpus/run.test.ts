// corpus run: machines found under the directories given (fixtures, snapshot trees, published-log folders), each
// planned per target through the product's own pipeline; the shared corpus at the four CI targets: no crash, every
// machine planned or listed with the importer's reason.
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { findMachines, isUnreadable, loadMachine } from '../../src/corpus/machines.ts';
import { runCorpus, type CorpusResult } from '../../src/corpus/run.ts';
import { PciNames } from '../../src/ids/pci-ids.ts';
import { loadKernelData } from '../../src/modalias/kernel-data.ts';
import { decide, planDecided } from '../../src/plan/decide.ts';
import { DEFAULT_XEN } from '../../src/plan/target.ts';
import { render } from '../../src/emit/render.ts';
import { fixtureNames, fixturesDir, loadFixture, repoRoot } from '../_support/memfs.ts';
import { violations } from '../plan/_consistency.ts';
import { CI_TARGETS, corpusDir, hasCorpus, tmp } from './_support.ts';

describe('finding machines', () => {
  it('fixtures/: one machine per fixture, its root/ tree, expect.yaml beside it', async () => {
    const refs = await findMachines([fixturesDir]);
    expect(refs.map((r) => r.id)).toEqual(fixtureNames());
    for (const r of refs) {
      expect(r.kind).toBe('fixture');
      expect(r.data).toBe(join(fixturesDir, r.id, 'root'));
    }
  });

  it('a snapshot tree, a fixture and a log folder named directly; the same folder twice is one machine', async () => {
    const refs = await findMachines([
      join(fixturesDir, 'thinkpad-t60', 'root'),
      join(fixturesDir, 'thinkpad-t42'),
      join(fixturesDir, 'atom-netbook', 'sources'),
      join(fixturesDir, 'thinkpad-t42'),
    ]);
    expect(refs.map((r) => [r.id, r.kind])).toEqual([
      ['root', 'snapshot'],
      ['thinkpad-t42', 'fixture'],
      ['sources', 'logs'],
    ]);
  });

  it.skipIf(!hasCorpus)('the shared corpus: every machine folder, not _supplementary (skipped without ../shared/corpus)', async () => {
    const refs = await findMachines([corpusDir]);
    const index = readFileSync(join(corpusDir, 'INDEX.tsv'), 'utf8').trim().split('\n').slice(1).map((l) => l.split('\t')[0]);
    expect(refs.map((r) => r.id).sort()).toEqual([...index].sort());
    expect(refs.every((r) => r.kind === 'logs')).toBe(true);
  });

  it.each([
    ['a missing directory', '/no/such/dir', /\/no\/such\/dir: not a directory/],
    ['a directory of nothing but empty folders', 'empty', /no machine here/],
  ])('%s is a usage error naming it', async (_what, given, message) => {
    const dir = tmp('corpus-empty');
    mkdirSync(join(dir, 'a'));
    const path = given === 'empty' ? dir : given;
    await expect(findMachines([path])).rejects.toMatchObject({ code: 'E_USAGE', message: expect.stringMatching(message) });
  });

  it("a log folder's expect.yaml is not read as a log", async () => {
    const dir = tmp('corpus-logs');
    cpSync(join(fixturesDir, 'thinkpad-t60', 'sources'), join(dir, 't60'), { recursive: true });
    cpSync(join(fixturesDir, 'thinkpad-t60', 'expect.yaml'), join(dir, 't60', 'expect.yaml'));
    const [ref] = await findMachines([dir]);
    const loaded = await loadMachine(ref!);
    expect('importIssues' in loaded && loaded.importIssues.filter((i) => i.file === 'expect.yaml')).toEqual([]);
  });
});

describe('corpus run over fixtures/ at the four CI targets', () => {
  let result: CorpusResult;
  beforeAll(async () => {
    result = await runCorpus([fixturesDir], { targets: CI_TARGETS });
  }, 600_000);

  it('one row per machine x target, none failed, summary counts agree', () => {
    expect(result.rows.map((r) => `${r.machine} ${r.target}`)).toEqual(fixtureNames().flatMap((n) => CI_TARGETS.map((t) => `${n} ${t}`)));
    expect(result.summary.failedRows).toEqual([]);
    expect(result.summary.unreadable).toEqual([]);
    expect(result.summary.rows).toBe(fixtureNames().length * 4);
    expect(Object.values(result.summary.counts.hvm!).reduce((a, b) => a + b, 0)).toBe(result.rows.length);
    expect(result.summary.withWarnings).toEqual([...new Set(result.rows.filter((r) => r.warnings.length).map((r) => r.machine))]);
  });

  it('the summary counts warnings per target and names the most common with their plans', () => {
    const s = result.summary;
    for (const t of CI_TARGETS) {
      expect(s.warningsByTarget[t]).toBe(result.rows.filter((r) => r.target === t && r.warnings.length > 0).length);
    }
    expect(s.commonWarnings.length).toBeGreaterThan(0);
    expect(s.commonWarnings.length).toBeLessThanOrEqual(10);
    for (const w of s.commonWarnings) expect(w.plans).toBe(result.rows.filter((r) => r.warnings.includes(w.text)).length);
    expect(s.commonWarnings.map((w) => w.plans)).toEqual([...s.commonWarnings.map((w) => w.plans)].sort((a, b) => b - a));
  });

  it.each([
    ['thinkpad-t60', '3.0.2'],
    ['amd-apu-laptop', '4.20'],
    ['xen-dom0', '3.0.3'],
  ])('%s at Xen %s: the same plan and files as decide(), plan() and render() give it alone', async (name, xen) => {
    const row = result.rows.find((r) => r.machine === name && r.target === xen)!;
    const { fs, root } = loadFixture(name);
    const d = await decide({ fs, root, xen });
    const names = await PciNames.load();
    const p = planDecided(d, (v, dv) => names.device(v, dv));
    expect(row.files).toEqual(render(p));
    expect(row.warnings).toEqual(p.warnings);
    expect(row.xenCmdline).toBe(p.xen.cmdline);
    expect(row.verdicts!.longMode).toBe(p.longMode === null ? 'unknown' : p.longMode ? 'yes' : 'no');
  }, 60_000);

  it('without --xen: the default target', async () => {
    const r = await runCorpus([join(fixturesDir, 'thinkpad-t60')]);
    expect(r.rows.map((x) => x.target)).toEqual([DEFAULT_XEN]);
  });

  it('a bad --xen is a usage error before any machine is read', async () => {
    await expect(runCorpus(['/no/such/dir'], { targets: ['4.x'] })).rejects.toMatchObject({ code: 'E_USAGE', message: expect.stringContaining('--xen "4.x"') });
  });
});

describe('a log folder the importer cannot make a machine of is listed with the reason', () => {
  it('a folder of one file that is no log (a real fixture README, not a log format)', async () => {
    const dir = tmp('corpus-bad');
    mkdirSync(join(dir, 'not-a-machine'));
    writeFileSync(join(dir, 'not-a-machine', 'notes.txt'), readFileSync(join(fixturesDir, 'README.md')));
    cpSync(join(fixturesDir, 'thinkpad-t60', 'sources'), join(dir, 't60'), { recursive: true });
    const r = await runCorpus([dir], { targets: ['4.20'] });
    expect(r.rows.map((x) => x.machine)).toEqual(['t60']);
    expect(r.summary.unreadable).toEqual([
      { machine: 'not-a-machine', dir: join(dir, 'not-a-machine'), reason: expect.stringContaining(join(dir, 'not-a-machine')), code: 'E_ROOT' },
    ]);
    expect(r.summary.unreadable[0]!.reason).toMatch(/holds no machine/);
  });
});

describe('the shipped reference kernel is read once per process', () => {
  it('a second load shares the first one\'s indexes; a changed index file is read again', async () => {
    const ref = join(repoRoot, 'data', 'kernel');
    const release = (await import('node:fs')).readdirSync(ref).sort().at(-1)!;
    const a = await loadKernelData({ referenceRelease: release });
    const b = await loadKernelData({ referenceRelease: release });
    expect(b.lookupAlias).toBe(a.lookupAlias);
    // A copy whose modules.dep.bin is replaced (a new inode) is not the cached one.
    const copy = join(tmp('kernel-ref'), release);
    cpSync(join(ref, release), copy, { recursive: true });
    const c = await loadKernelData({ referenceDir: join(copy, '..'), referenceRelease: release });
    const bytes = readFileSync(join(copy, 'modules.dep.bin'));
    writeFileSync(`${join(copy, 'modules.dep.bin')}.new`, bytes);
    (await import('node:fs')).renameSync(`${join(copy, 'modules.dep.bin')}.new`, join(copy, 'modules.dep.bin'));
    const d = await loadKernelData({ referenceDir: join(copy, '..'), referenceRelease: release });
    expect(d.lookupAlias).not.toBe(c.lookupAlias);
    expect(d.isModule('e1000e')).toBe(c.isModule('e1000e'));
  });
});

describe.skipIf(!hasCorpus)('corpus run over the whole shared corpus at 3.0.2, 3.0.3, 4.17 and 4.20 (skipped without ../shared/corpus)', () => {
  let result: CorpusResult;
  beforeAll(async () => {
    result = await runCorpus([corpusDir], { targets: CI_TARGETS });
  }, 900_000);

  it('no plan fails; every machine is planned at every target or listed with the reason', () => {
    expect(result.summary.failedRows).toEqual([]);
    const planned = new Set(result.rows.map((r) => r.machine));
    for (const u of result.summary.unreadable) {
      expect(planned.has(u.machine)).toBe(false);
      expect(u.reason).not.toBe('');
    }
    expect(planned.size + result.summary.unreadable.length).toBe(result.summary.machines);
    expect(result.rows.length).toBe(planned.size * CI_TARGETS.length);
    expect(result.summary.machines).toBeGreaterThanOrEqual(130);
  });

  it('every row has its verdicts and emitted files', () => {
    for (const r of result.rows) {
      expect(r.verdicts).not.toBeNull();
      expect(r.files.length).toBeGreaterThan(0);
    }
  });
});

// Issue #13: no contradiction between a verdict and a note on any machine of the shared corpus, at every CI target
// (the checks of test/plan/_consistency.ts, issue #10), through the same pipeline corpus run uses.
describe.skipIf(!hasCorpus)('the shared corpus: every verdict agrees with every note and warning (skipped without ../shared/corpus)', () => {
  it('every machine x 3.0.2, 3.0.3, 4.17, 4.20', async () => {
    const found: string[] = [];
    let planned = 0;
    for (const ref of await findMachines([corpusDir])) {
      const m = await loadMachine(ref);
      if (isUnreadable(m)) continue;
      let profile;
      try {
        profile = (await decide({ fs: m.fs, root: m.root, xen: DEFAULT_XEN })).profile;
      } catch {
        continue; // holds no machine: listed by corpus run with the reason (the test above)
      }
      for (const xen of CI_TARGETS) {
        const d = await decide({ fs: m.fs, root: m.root, xen, profile });
        const p = planDecided(d);
        planned++;
        for (const v of violations(p, d.profile)) found.push(`${ref.id} at Xen ${xen}: ${v}`);
      }
    }
    expect(found).toEqual([]);
    expect(planned).toBeGreaterThanOrEqual(130 * CI_TARGETS.length);
  }, 900_000);
});

describe('the cached reference kernel still reports damage a lookup meets later', () => {
  it('a copy of the 6.12 reference whose modules.alias.bin is overwritten from the middle on: the issue shows, text answers', async () => {
    const ref = join(repoRoot, 'data', 'kernel');
    const release = (await import('node:fs')).readdirSync(ref).sort().at(-1)!;
    const copy = join(tmp('kernel-damaged'), release);
    cpSync(join(ref, release), copy, { recursive: true });
    const file = join(copy, 'modules.alias.bin');
    const bytes = readFileSync(file);
    // depmod writes children before parents: the root and the nodes near it (at the end) stay whole, deeper ones not.
    bytes.fill(0xff, Math.floor(bytes.length * 0.5), Math.floor(bytes.length * 0.97));
    writeFileSync(file, bytes);
    for (let i = 0; i < 2; i++) {
      const k = await loadKernelData({ referenceDir: join(copy, '..'), referenceRelease: release });
      // The RTL8111 of the amd-apu-laptop fixture (lspci-vvnn.txt 01:00.0 10ec:8168 sub 103c:8730, r8169).
      expect(k.lookupAlias('pci:v000010ECd00008168sv0000103Csd00008730bc02sc00i00')).toEqual(['r8169']);
      expect(k.issues).toEqual([{ file, line: null, message: expect.stringMatching(/using modules\.alias instead$/) }]);
    }
  });
});

describe("decide()'s driversCache: one driver match per reference kernel", () => {
  it('Xen 3.0.2 and 4.17 (both read Debian 12\'s 6.1) share one report; 4.20 (6.12) makes its own', async () => {
    const { fs, root } = loadFixture('thinkpad-t60');
    const driversCache = new Map();
    const a = await decide({ fs, root, xen: '3.0.2', driversCache });
    const b = await decide({ fs, root, xen: '4.17', driversCache, profile: a.profile });
    const c = await decide({ fs, root, xen: '4.20', driversCache, profile: a.profile });
    expect(b.drivers).toBe(a.drivers);
    expect(c.drivers).not.toBe(a.drivers);
    expect(c.drivers.kernel.release).not.toBe(a.drivers.kernel.release);
    expect(driversCache.size).toBe(2);
    // And the same matches as without the cache.
    expect(b.drivers).toEqual((await decide({ fs, root, xen: '4.17' })).drivers);
  });
});

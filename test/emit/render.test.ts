// render() over every fixture machine and the three targets the project names (3.0.2, 3.0.3, 4.17), against
// golden files under test/emit/golden/<fixture>/<target>/<path>. UPDATE_GOLDEN=1 rewrites them (then review the
// diff); otherwise every rendered file must equal its golden byte for byte, and no golden may be left over.
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { memfs } from 'memfs';
import { describe, expect, it } from 'vitest';
import { writeFiles, type WriteFsLike } from '../../src/emit/write.ts';
import { PATHS, render } from '../../src/emit/render.ts';
import { safePlan } from '../../src/plan/plan.ts';
import { fixtureNames, repoRoot } from '../_support/memfs.ts';
import { fixtureProfile } from '../rules/_support.ts';
import { planFor, retarget, t60Plan } from './_plans.ts';

const GOLDEN = join(repoRoot, 'test', 'emit', 'golden');
// Xenoppix's two, Debian 12's and Debian 13's (the default).
const TARGETS = ['3.0.2', '3.0.3', '4.17', '4.20'] as const;
const update = process.env.UPDATE_GOLDEN === '1';

function goldenFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    let entries;
    try {
      entries = readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (e.isDirectory()) walk(join(d, e.name));
      else out.push(`/${relative(dir, join(d, e.name)).split('\\').join('/')}`);
    }
  };
  walk(dir);
  return out.sort();
}

describe('render: which files, per target', () => {
  it('GRUB legacy, xend and the guest template for 3.0.x; no GRUB 2 files', () => {
    const paths = render(t60Plan()).map((f) => f.path);
    expect(paths).toEqual([
      PATHS.menuLst,
      PATHS.modprobe,
      PATHS.modulesLoad,
      '/etc/sysconfig/knoppix',
      '/etc/sysconfig/netcard',
      '/etc/sysconfig/sound',
      '/etc/sysconfig/xen',
      '/etc/sysconfig/xserver',
      PATHS.guest,
      PATHS.xendConfig,
    ]);
  });

  it('GRUB 2 (grub.cfg and grub.d/xenoppix-autoconfig.cfg) and xl for 4.17', () => {
    const paths = render(retarget(t60Plan(), '4.17')).map((f) => f.path);
    expect(paths).toContain(PATHS.grubCfg);
    expect(paths).toContain(PATHS.grubDefaults);
    expect(paths).toContain(PATHS.xlConf);
    expect(paths).not.toContain(PATHS.menuLst);
    expect(paths).not.toContain(PATHS.xendConfig);
  });

  it('no guest template where HVM guests cannot run', () => {
    const p = t60Plan();
    const paths = render({ ...p, hvm: { ...p.hvm, available: false, reason: 'no vmx' } }).map((f) => f.path);
    expect(paths).not.toContain(PATHS.guest);
  });

  it('sorted by path, each path once, absolute, every file ending in a newline', () => {
    const files = render(t60Plan());
    const paths = files.map((f) => f.path);
    expect(paths).toEqual([...paths].sort());
    expect(new Set(paths).size).toBe(paths.length);
    for (const f of files) {
      expect(f.path).toMatch(/^\/[a-z]/);
      expect(f.content.endsWith('\n')).toBe(true);
      expect(f.content.startsWith('# Written by xenoppix-autoconfig')).toBe(true);
    }
  });
});

describe('render then writeFiles', () => {
  it('a second run with the same plan writes nothing (byte-identical output)', async () => {
    const { fs } = memfs();
    fs.mkdirSync('/target', { recursive: true });
    const options = { target: '/target', fs: fs.promises as unknown as WriteFsLike };
    const first = await writeFiles(render(await planFor('thinkpad-t60', '3.0.2')), options);
    expect(first.written).toContain('/etc/sysconfig/xen');
    const second = await writeFiles(render(await planFor('thinkpad-t60', '3.0.2')), options);
    expect(second.written).toEqual([]);
    expect(second.unchanged).toEqual(first.written);
  });
});

describe('the safe plan renders on every machine and target (the fallback must not fail)', () => {
  it.each(fixtureNames().flatMap((f) => TARGETS.map((x) => [f, x] as const)))('%s on Xen %s', (fixture, xen) => {
    const files = render(safePlan(fixtureProfile(fixture), { version: xen, source: 'option', detail: `--xen ${xen}` }));
    const verdicts = files.find((f) => f.path === '/etc/sysconfig/xen');
    expect(verdicts?.content).toContain(`SAFE='yes'`);
    expect(files.map((f) => f.path)).not.toContain(PATHS.guest);
  });
});

describe.each(fixtureNames())('golden files: %s', (fixture) => {
  it.each(TARGETS)(`Xen %s`, async (xen) => {
    const plan = await planFor(fixture, xen);
    const files = render(plan);
    // Byte-identical from run to run: the same plan renders the same bytes.
    expect(render(await planFor(fixture, xen))).toEqual(files);
    const dir = join(GOLDEN, fixture, xen);
    if (update) {
      rmSync(dir, { recursive: true, force: true });
      for (const f of files) {
        const at = join(dir, f.path.slice(1));
        mkdirSync(dirname(at), { recursive: true });
        writeFileSync(at, f.content);
      }
    }
    expect(goldenFiles(dir), `golden files of ${fixture} ${xen} (UPDATE_GOLDEN=1 writes them)`).toEqual(
      files.map((f) => f.path),
    );
    for (const f of files) {
      expect(f.content, `${fixture} ${xen} ${f.path}`).toBe(readFileSync(join(dir, f.path.slice(1)), 'utf8'));
    }
  });
});

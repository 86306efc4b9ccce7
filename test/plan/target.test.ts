import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_XEN, detectTargetXen, versionOfName } from '../../src/plan/target.ts';
import { nodeFsPromises } from '../../src/fs.ts';
import { assertTool, debianPackage, findTool, run, skipNote } from '../emit/_tools.ts';
import type { HardwareProfile } from '../../src/types.ts';
import { fixtureNames, loadFixture, readExpected, volume, type Tree } from '../_support/memfs.ts';

const profileOf = (name: string) => readExpected(name, 'profile.json') as HardwareProfile;
const dom0 = profileOf('xen-dom0');
const bare = profileOf('thinkpad-t60');
const empty = volume({ files: { 'target/boot': null } });

/** A target root in memfs with the given /boot entries. */
function boot(files: string[], links: Record<string, string> = {}, extra: Tree = {}) {
  const tree: Tree = {
    files: {
      'target/boot': null,
      ...Object.fromEntries(files.map((f) => [`target/boot/${f}`, 'image'])),
      ...extra.files,
    },
    links: { ...Object.fromEntries(Object.entries(links).map(([l, t]) => [`target/boot/${l}`, t])), ...extra.links },
  };
  return { fs: volume(tree).fs, root: '/target' };
}

describe('versionOfName', () => {
  it.each([
    ['xen-4.17.3.gz', '4.17.3'],
    ['xen-3.0.3-1.gz', '3.0.3-1'],
    ['xen-4.17.3.efi', '4.17.3'],
    ['xen-4.17-amd64.gz', '4.17'],
    ['xen-4.17-amd64.efi', '4.17'],
    ['xen-3.0.gz', '3.0'],
    ['xen-4.2-unstable.gz', '4.2-unstable'],
    ['xen.gz', null],
    ['xen-syms-4.17.3', null],
    ['xen-4.17.3.config', null],
    ['xen-latest.gz', null],
    ['xen.gz-2.6.18-238.el5', null],
  ])('%s -> %s', (name, version) => {
    expect(versionOfName(name)).toBe(version);
  });
});

describe('detectTargetXen', () => {
  it('--xen beats everything', async () => {
    const { fs, root } = boot(['xen-4.19.1.gz']);
    const result = await detectTargetXen({
      option: '3.0.2',
      cheatcodes: [{ name: 'xen', value: '3.0.3' }],
      profile: dom0,
      fs,
      root,
    });
    expect(result).toEqual({ version: '3.0.2', source: 'option', detail: '--xen 3.0.2' });
  });

  it.each(['4', 'latest', '', '4.17;reboot', 'v4.17'])('an invalid --xen %j is a usage error', async (option) => {
    await expect(detectTargetXen({ option, profile: dom0, ...empty, root: '/target' })).rejects.toMatchObject({
      code: 'E_USAGE',
      path: '--xen',
      message: expect.stringContaining(JSON.stringify(option)),
    });
  });

  it('the last valid xen= boot option comes next; invalid ones are skipped and named', async () => {
    const cheatcodes = [
      { name: 'xen', value: '3.0.2' },
      { name: 'xen', value: '3.0.3' },
      { name: 'xenfb', value: '4.1' },
      { name: 'xen', value: 'new' },
      { name: 'xen', value: null },
      { name: 'Xen', value: '9.9' },
    ];
    const result = await detectTargetXen({ option: null, cheatcodes, profile: dom0, ...empty, root: '/target' });
    expect(result.version).toBe('3.0.3');
    expect(result.source).toBe('cheatcode');
    expect(result.detail).toBe(
      'boot option xen=3.0.3; boot option "xen" without a version skipped; ' +
        'boot option xen=new skipped: not a Xen version (digits.digits[.digits][-extra], each number at most 4 digits)',
    );
  });

  it('the running Xen of the xen-dom0 fixture comes next, an invalid boot option noted', async () => {
    const { fs, root } = loadFixture('xen-dom0');
    const result = await detectTargetXen({ cheatcodes: [{ name: 'xen', value: '3' }], profile: dom0, fs, root });
    expect(result).toEqual({
      version: '3.1.2-238.el5',
      source: 'running',
      detail:
        'running under Xen 3.1.2-238.el5 (dom0); boot option xen=3 skipped: not a Xen version ' +
        '(digits.digits[.digits][-extra], each number at most 4 digits)',
    });
  });

  it.each(fixtureNames())('fixture %s: running Xen when its profile has one, else the default', async (name) => {
    const { fs, root } = loadFixture(name);
    const profile = profileOf(name);
    const result = await detectTargetXen({ profile, fs, root });
    const { xen, role } = profile.hypervisor;
    if (xen.version !== null && (xen.present || role === 'dom0' || role.startsWith('xen-'))) {
      expect(result).toMatchObject({ version: xen.version, source: 'running' });
    } else {
      expect(result).toMatchObject({ version: DEFAULT_XEN, source: 'default' });
      if (role.startsWith('xen-')) {
        expect(result.detail).toContain(`running under Xen (${role}) but its version is unknown`);
      }
    }
  });

  it('a version without Xen present and without a Xen role is not used', async () => {
    const profile = {
      hypervisor: { ...bare.hypervisor, xen: { ...bare.hypervisor.xen, present: false, version: '4.1.0' } },
    };
    expect(await detectTargetXen({ profile, ...empty, root: '/target' })).toMatchObject({ source: 'default' });
  });

  it('a running version of another shape is noted and passed over', async () => {
    const profile = { hypervisor: { ...dom0.hypervisor, xen: { ...dom0.hypervisor.xen, version: '4.17garbage' } } };
    const result = await detectTargetXen({ profile, ...boot(['xen-4.17.3.gz']) });
    expect(result.source).toBe('installed');
    expect(result.detail).toContain('running Xen version "4.17garbage" skipped');
  });

  it('then the newest Xen image in the target /boot', async () => {
    const result = await detectTargetXen({
      profile: bare,
      ...boot([
        'xen-3.0.3-1.gz',
        'xen-4.17.3.gz',
        'xen-4.17.3.efi',
        'xen-4.14.5.efi',
        'xen-syms-4.99.0',
        'xen-4.99.0.config',
        'xenpolicy-4.99.0',
        'xen.gz-2.6.18-238.el5',
        'vmlinuz-6.1.0',
      ]),
    });
    expect(result).toEqual({
      version: '4.17.3',
      source: 'installed',
      detail: '/boot/xen-4.17.3.efi in /target (newest of 4.17.3, 4.14.5, 3.0.3-1)',
    });
  });

  it('reads the version of xen.gz from the image it links to, also outside /boot', async () => {
    const inLib = { files: { 'target/usr/lib/xen/boot/xen-4.19.1.gz': 'image' } };
    for (const to of ['/usr/lib/xen/boot/xen-4.19.1.gz', '../usr/lib/xen/boot/xen-4.19.1.gz']) {
      const result = await detectTargetXen({ profile: bare, ...boot(['xen-4.2.0.gz'], { 'xen.gz': to }, inLib) });
      expect(result).toEqual({
        version: '4.19.1',
        source: 'installed',
        detail: '/boot/xen.gz -> xen-4.19.1.gz in /target (newest of 4.19.1, 4.2.0)',
      });
    }
    // The link must resolve inside the root: one that climbs out of it gives no version.
    const climbing = boot([], { 'xen.gz': '../../../usr/lib/xen/boot/xen-4.19.1.gz' }, inLib);
    const out = await detectTargetXen({ profile: bare, ...climbing });
    expect(out.source).toBe('default');
  });

  it('a plain xen.gz tells no version: the default, and says why', async () => {
    const result = await detectTargetXen({ profile: bare, ...boot(['xen.gz']) });
    expect(result).toEqual({
      version: DEFAULT_XEN,
      source: 'default',
      detail:
        'no --xen, no xen= boot option, no running Xen, no Xen in /target/boot: default; ' +
        '/boot/xen.gz skipped: its version is not in its name',
    });
  });

  it('Debian names: the architecture suffix is not part of the version', async () => {
    const debian = boot(['xen-4.17-amd64.gz', 'xen-4.17-amd64.efi', 'xen-4.17-amd64.config']);
    const result = await detectTargetXen({ profile: bare, ...debian });
    expect(result).toMatchObject({ version: '4.17', source: 'installed' });
  });

  it('images and /boot links that lead out of the root or nowhere are not used', async () => {
    const withDangling = boot(['xen-4.1.0.gz'], { 'xen-9.0.gz': 'xen-9.0.9.gz' });
    const dangling = await detectTargetXen({ profile: bare, ...withDangling });
    expect(dangling).toMatchObject({ version: '4.1.0', source: 'installed' });
    expect(dangling.detail).toContain('/boot/xen-9.0.gz skipped: it does not resolve inside the root');

    const escaping = volume({
      files: { 'target/etc': null, 'outside/boot/xen-9.9.9.gz': 'image' },
      links: { 'target/boot': '../../../outside/boot' },
    });
    const out = await detectTargetXen({ profile: bare, fs: escaping.fs, root: '/target' });
    expect(out.source).toBe('default');
    expect(out.detail).toMatch(/\/boot: .*above the root/);

    // An absolute link is taken inside the root, as at boot after chroot: /outside/boot is not /target/outside/boot.
    const absolute = volume({
      files: { 'target/etc': null, 'outside/boot/xen-9.9.9.gz': 'image' },
      links: { 'target/boot': '/outside/boot' },
    });
    const inside = await detectTargetXen({ profile: bare, fs: absolute.fs, root: '/target' });
    expect(inside).toMatchObject({ source: 'default' });
  });

  it('with no /boot at all: the default', async () => {
    const noBoot = volume({ files: { 'target/etc': null } }).fs;
    const result = await detectTargetXen({ profile: bare, fs: noBoot, root: '/target' });
    expect(result).toEqual({
      version: '4.20', // Debian 13's
      source: 'default',
      detail: 'no --xen, no xen= boot option, no running Xen, no Xen in /target/boot: default',
    });
  });

  describe('on a real directory with node:fs (the default fs)', () => {
    const tmp = mkdtempSync(join(tmpdir(), 'autoconfig-target-'));
    afterAll(() => rmSync(tmp, { recursive: true, force: true }));

    it('finds the images', async () => {
      mkdirSync(join(tmp, 'boot'));
      writeFileSync(join(tmp, 'boot', 'xen-4.18.2.gz'), 'image');
      writeFileSync(join(tmp, 'boot', 'xen-4.16.6.gz'), 'image');
      symlinkSync('xen-4.18.2.gz', join(tmp, 'boot', 'xen.gz'));
      const result = await detectTargetXen({ profile: bare, root: tmp });
      expect(result).toMatchObject({ version: '4.18.2', source: 'installed' });
    });
  });
});

describe('detectTargetXen: the known range (3.0.2 to 4.20.x) and bounded numbers', () => {
  const SHAPE_ = 'digits.digits[.digits][-extra], each number at most 4 digits';
  const OLD = 'older than Xen 3.0.2, the oldest this autoconfig knows (known: 3.0.2 to 4.20.x)';
  const newer = (v: string) =>
    `Xen ${v} is newer than the newest this autoconfig knows (4.20): options are those of 4.20 (known: 3.0.2 to 4.20.x)`;

  it.each([
    ['4.17.9007199254740993', `not a Xen version (${SHAPE_})`],
    ['4.17.10000', `not a Xen version (${SHAPE_})`],
    ['2.0', OLD],
    ['3.0', OLD],
    ['3.0.1', OLD],
  ])('--xen %s is a usage error: %s', async (option, reason) => {
    await expect(detectTargetXen({ option, profile: dom0, ...empty, root: '/target' })).rejects.toMatchObject({
      code: 'E_USAGE',
      path: '--xen',
      message: `--xen ${JSON.stringify(option)}: ${reason}`,
    });
  });

  it.each([
    ['3.0.2', undefined],
    ['4.20.2', undefined],
    ['4.21', newer('4.21')],
    ['5.0.1-rc1', newer('5.0.1-rc1')],
  ])('--xen %s is planned; warning %j', async (option, warning) => {
    const result = await detectTargetXen({ option, profile: dom0, ...empty, root: '/target' });
    expect(result).toEqual({ version: option, source: 'option', detail: `--xen ${option}`, ...(warning ? { warning } : {}) });
  });

  it.each([
    ['4.17.9007199254740993', `not a Xen version (${SHAPE_})`],
    ['2.0', OLD],
    ['3.0.1', OLD],
  ])('boot option xen=%s is passed over with a note', async (value, reason) => {
    const cheatcodes = [
      { name: 'xen', value: '4.19' },
      { name: 'xen', value },
    ];
    const result = await detectTargetXen({ option: null, cheatcodes, profile: bare, ...empty, root: '/target' });
    expect(result).toEqual({
      version: '4.19',
      source: 'cheatcode',
      detail: `boot option xen=4.19; boot option xen=${value} skipped: ${reason}`,
    });
  });

  it('a boot option newer than the newest known is used, with the warning', async () => {
    const cheatcodes = [{ name: 'xen', value: '4.22' }];
    expect(await detectTargetXen({ cheatcodes, profile: bare, ...empty, root: '/target' })).toEqual({
      version: '4.22',
      source: 'cheatcode',
      detail: 'boot option xen=4.22',
      warning: newer('4.22'),
    });
  });

  it.each([
    ['4.17.9007199254740993', `not a Xen version (${SHAPE_})`],
    ['2.0.7', OLD],
  ])('a running Xen %s is passed over with a note', async (version, reason) => {
    const profile = { hypervisor: { ...dom0.hypervisor, xen: { ...dom0.hypervisor.xen, version } } };
    const result = await detectTargetXen({ profile, ...boot(['xen-4.17.3.gz']) });
    expect(result.source).toBe('installed');
    expect(result.detail).toContain(`running Xen version ${JSON.stringify(version)} skipped: ${reason}`);
  });

  it('a running Xen newer than the newest known is used, with the warning', async () => {
    const profile = { hypervisor: { ...dom0.hypervisor, xen: { ...dom0.hypervisor.xen, version: '4.21.1' } } };
    const result = await detectTargetXen({ profile, ...empty, root: '/target' });
    expect(result).toMatchObject({ version: '4.21.1', source: 'running', warning: newer('4.21.1') });
  });

  it('installed images below the oldest known or with overlong numbers are passed over with a note', async () => {
    const result = await detectTargetXen({
      profile: bare,
      ...boot(['xen-2.0.7.gz', 'xen-3.0.gz', 'xen-3.0.2.gz', 'xen-4.17.9007199254740993.gz']),
    });
    expect(result).toEqual({
      version: '3.0.2',
      source: 'installed',
      detail:
        `/boot/xen-3.0.2.gz in /target; /boot/xen-2.0.7.gz skipped: Xen 2.0.7 is ${OLD}; ` +
        `/boot/xen-3.0.gz skipped: Xen 3.0 is ${OLD}; ` +
        `/boot/xen-4.17.9007199254740993.gz skipped: no Xen version (${SHAPE_}) in its name`,
    });
    const newest = await detectTargetXen({ profile: bare, ...boot(['xen-4.17.3.gz', 'xen-5.1.0.gz']) });
    expect(newest).toMatchObject({ version: '5.1.0', source: 'installed', warning: newer('5.1.0') });
  });
});

describe("detectTargetXen: a Debian image named by its series gets its release from dpkg's database", () => {
  // Debian's own hypervisor package of this machine's suite (Debian 12: xen-hypervisor-4.17-amd64), unpacked into a
  // scratch root by the real dpkg (--root: its status and files list as on an installed system; --unpack, since
  // configuring would run its postinst's update-grub). The release is what Xen reports once it runs (the boot test
  // saw 4.17.7 for 4.17.7+13-g2445b30a44-0+deb12u1); dpkg-query, reading the same database, is the judge.
  const dpkg = findTool('dpkg');
  const pkg = 'xen-hypervisor-4.17-amd64';
  const roots: string[] = [];
  afterAll(() => roots.forEach((r) => rmSync(r, { recursive: true, force: true })));
  function unpacked(): { root: string; version: string } {
    assertTool(dpkg);
    const root = mkdtempSync(join(tmpdir(), 'xen-dpkg-'));
    roots.push(root);
    for (const d of ['info', 'updates']) mkdirSync(join(root, 'var/lib/dpkg', d), { recursive: true });
    writeFileSync(join(root, 'var/lib/dpkg/status'), '');
    const r = run([dpkg, `--root=${root}`, '--force-depends', '--unpack', debianPackage(pkg)]);
    if (r.status !== 0) throw new Error(`dpkg --unpack failed: ${r.stderr}`);
    const q = run(['dpkg-query', `--admindir=${join(root, 'var/lib/dpkg')}`, '-W', '-f', '${Version}', pkg]);
    if (q.status !== 0) throw new Error(`dpkg-query failed: ${q.stderr}`);
    return { root, version: q.stdout };
  }
  const detect = (root: string) => detectTargetXen({ option: null, profile: bare, fs: nodeFsPromises, root });
  const status = (root: string) => join(root, 'var/lib/dpkg/status');
  const edit = (file: string, f: (text: string) => string) => writeFileSync(file, f(readFileSync(file, 'utf8')));

  it.skipIf(dpkg === null)(`the unpacked package: its release, the package named${skipNote(dpkg, 'dpkg', 'dpkg')}`, async () => {
    const { root, version } = unpacked();
    const release = /^\d+\.\d+\.\d+/.exec(version)![0];
    expect(release.startsWith('4.17.')).toBe(true);
    const t = await detect(root);
    expect(t).toMatchObject({ version: release, source: 'installed' });
    expect(t.detail).toContain(`/boot/xen-4.17-amd64.efi (${pkg} ${version}) in ${root}`);
  });

  it.skipIf(dpkg === null)(`dpkg's status is read once for the package's two images (.gz, .efi)${skipNote(dpkg, 'dpkg', 'dpkg')}`, async () => {
    const { root } = unpacked();
    // Every open, through the promise API or the synchronous one the reader prefers where there is one.
    const opened: string[] = [];
    const countOpens = <T extends object>(api: T, open: string): T =>
      new Proxy(api, {
        get: (target, key) => {
          const f = (target as Record<string | symbol, unknown>)[key];
          if (key === 'sync' && typeof f === 'object' && f !== null) return countOpens(f, 'openSync');
          if (key !== open || typeof f !== 'function') return f;
          return (path: string, ...rest: unknown[]) => (opened.push(path), (f as (...a: unknown[]) => unknown).call(target, path, ...rest));
        },
      });
    const counting = countOpens(nodeFsPromises, 'open');
    await detectTargetXen({ option: null, profile: bare, fs: counting, root });
    expect(opened.filter((p) => p.endsWith('/boot/xen-4.17-amd64.gz') || p.endsWith('/boot/xen-4.17-amd64.efi'))).toEqual([]);
    expect(opened.filter((p) => p === status(root))).toHaveLength(1);
  });

  it.skipIf(dpkg === null).each<[string, (root: string) => void, string | null]>([
    ['configured (install ok installed)', (r) => edit(status(r), (t) => t.replace('Status: install ok unpacked', 'Status: install ok installed')), 'release'],
    ['removed, its configuration kept', (r) => edit(status(r), (t) => t.replace('Status: install ok unpacked', 'Status: deinstall ok config-files')), null],
    ['no status file', (r) => rmSync(status(r)), null],
    ['not in the status', (r) => edit(status(r), (t) => t.replace(`Package: ${pkg}`, 'Package: xen-hypervisor-4.16-amd64')), null],
    ['its files list does not name the image', (r) => edit(join(r, `var/lib/dpkg/info/${pkg}.list`), (t) => t.replace(/^\/boot\/xen-4\.17-amd64\.(gz|efi)\n/gm, '')), null],
    ['a version of another series', (r) => edit(status(r), (t) => t.replace(/^Version: 4\.17\./m, 'Version: 4.16.')), null],
    ['an epoch', (r) => edit(status(r), (t) => t.replace(/^Version: /m, 'Version: 1:')), 'release'],
  ])(`%s${skipNote(dpkg, 'dpkg', 'dpkg')}`, async (_name, mutate, expected) => {
    const { root, version } = unpacked();
    mutate(root);
    const t = await detect(root);
    expect(t.version).toBe(expected === null ? '4.17' : /^\d+\.\d+\.\d+/.exec(version)![0]);
  });
});

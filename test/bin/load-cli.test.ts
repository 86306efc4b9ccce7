// The shipped launcher path: scripts/build.mjs bundles the CLI to CommonJS and makes V8's code cache for it;
// bin/load-cli.cjs loads the two. Built fresh here so the bundle under test is made from these sources.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../_support/cli.ts';

const repo = join(import.meta.dirname, '..', '..');
const require = createRequire(import.meta.url);
const { loadCli } = require('../../bin/load-cli.cjs') as {
  loadCli(options?: { dist?: string; cache?: boolean }): {
    main(options: { argv: string[]; stdout?: (t: string) => void; stderr?: (t: string) => void }): Promise<number>;
    cache: 'used' | 'rejected' | 'damaged' | 'none';
  };
};
let tmp: string;

beforeAll(() => {
  const built = spawnSync(process.execPath, [join(repo, 'scripts', 'build.mjs')], { cwd: repo, encoding: 'utf8' });
  expect(built.stderr).not.toMatch(/no code cache/);
  expect(built.status).toBe(0);
  tmp = mkdtempSync(join(tmpdir(), 'load-cli-'));
}, 120_000);
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function run(main: ReturnType<typeof loadCli>['main'], argv: string[]) {
  let stdout = '';
  let stderr = '';
  const code = await main({ argv, stdout: (t) => (stdout += t), stderr: (t) => (stderr += t) });
  return { code, stdout, stderr };
}

describe('bin/load-cli.cjs', () => {
  it('loads the bundle with the code cache the build made, and this node accepts it', () => {
    expect(loadCli().cache).toBe('used');
  });

  it('runs like the sources: the same --dry-run report and JSON on fixtures (data and rules.json found from dist/)', async () => {
    const { main } = loadCli();
    for (const fixture of ['thinkpad-t60', 'amd-apu-laptop']) {
      for (const extra of [[], ['--json'], ['--xen', '3.0.3']]) {
        const argv = ['--dry-run', '--root', join(repo, 'fixtures', fixture, 'root'), ...extra];
        const bundled = await run(main, argv);
        const fromSource = await runCli(argv);
        expect(bundled).toEqual(fromSource);
        expect(bundled.code).toBe(0);
      }
    }
  });

  it('loads yaml (a dynamic import in the sources, a require in the bundle) for user rule files', async () => {
    const rules = join(tmp, 'local.yaml');
    writeFileSync(rules, 'rules:\n  - id: local-note\n    source: "test"\n    then:\n      - note: "local rule ran"\n');
    const argv = ['--dry-run', '--root', join(repo, 'fixtures', 'thinkpad-t60', 'root'), '--rules', rules];
    const bundled = await run(loadCli().main, argv);
    expect(bundled).toEqual(await runCli(argv));
    expect(bundled.stdout).toContain('local rule ran');
  });

  it('a damaged cache is never given to V8 (it would crash on it), a foreign one V8 rejects: both cost only speed', async () => {
    const dist = join(tmp, 'dist');
    cpSync(join(repo, 'dist'), dist, { recursive: true });
    const cacheFile = join(dist, 'autoconfig.cjs.cache');
    const good = readFileSync(cacheFile);
    const version = `${JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')).version}\n`;
    const flipped = Buffer.from(good);
    for (let i = 64; i < flipped.length; i += 997) flipped[i]! ^= 0xff;
    for (const [what, bytes, expected] of [
      ['bit flips in the body', flipped, 'damaged'],
      ['truncated', good.subarray(0, good.length >> 1), 'damaged'],
      ['shorter than its header', good.subarray(0, 5), 'damaged'],
      ['another source (header and body intact)', good, 'rejected'],
    ] as const) {
      writeFileSync(cacheFile, bytes);
      if (expected === 'rejected') writeFileSync(join(dist, 'autoconfig.cjs'), `${readFileSync(join(repo, 'dist', 'autoconfig.cjs'), 'utf8')}\n// changed\n`);
      // In a child: were the damaged body handed to V8, the process would die, not fail a test.
      const child = spawnSync(
        process.execPath,
        ['-e', `const r = require(${JSON.stringify(join(repo, 'bin', 'load-cli.cjs'))}).loadCli({ dist: ${JSON.stringify(dist)} }); r.main({ argv: ['--version'] }).then((c) => { console.log(r.cache); process.exitCode = c; });`],
        { encoding: 'utf8' },
      );
      expect({ what, status: child.status, stdout: child.stdout }).toEqual({ what, status: 0, stdout: `${version}${expected}\n` });
    }
    rmSync(cacheFile);
    expect(loadCli({ dist }).cache).toBe('none');
  });

  it('the launcher runs as a program and passes the exit code on', () => {
    const ok = spawnSync(process.execPath, [join(repo, 'bin', 'autoconfig.cjs'), '--version'], { encoding: 'utf8' });
    expect(ok).toMatchObject({ status: 0, stdout: expect.stringMatching(/^\d+\.\d+\.\d+\n$/) });
    const usage = spawnSync(process.execPath, [join(repo, 'bin', 'autoconfig.cjs'), '--dry-run', '--write'], { encoding: 'utf8' });
    expect(usage.status).toBe(2);
  });
});

// The package as a consumer gets it (issue #12): `npm pack` of this checkout (the dist/ that `npm run build` made:
// scripts/test.sh builds before the tests, and packing here with its scripts would rebuild dist/ under the other
// test files' feet), installed into a scratch project, type-checked there by TypeScript with strict settings
// (module nodenext, exactOptionalPropertyTypes), then imported from ESM and require()d from CommonJS, and the
// library examples of docs/library.md run against a real fixture. Skipped, saying why, without npm or a build.
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const tsc = join(repo, 'node_modules', 'typescript', 'bin', 'tsc');
const npm = spawnSync('npm', ['--version'], { encoding: 'utf8' }).status === 0;
const built = existsSync(join(repo, 'dist', 'index.mjs')) && existsSync(join(repo, 'dist', 'types', 'index.d.ts'));
const skip = !npm ? 'npm is not installed' : !built ? 'dist/ is not built (npm run build; scripts/test.sh does it)' : null;

let work = '';
let app = '';
let packed: string[] = [];

function run(cmd: string, args: string[], cwd: string): { code: number | null; out: string } {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', timeout: 180_000, env: { ...process.env, npm_config_audit: 'false', npm_config_fund: 'false' } });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

/** A ```ts block of docs/library.md that contains `marker`. */
function docExample(marker: string): string {
  const text = readFileSync(join(repo, 'docs', 'library.md'), 'utf8');
  const block = [...text.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!.replace(/^ {2}/gm, '')).find((b) => b.includes(marker));
  if (block === undefined) throw new Error(`docs/library.md has no ts example with ${marker}`);
  return block;
}

/** Replace `from` by `to` in the example; the replacement must happen (a changed example fails here, loudly). */
function adapt(code: string, from: string, to: string): string {
  expect(code, `docs/library.md example: ${from}`).toContain(from);
  return code.replace(from, to);
}

beforeAll(() => {
  if (skip) return;
  work = mkdtempSync(join(tmpdir(), 'autoconfig-consumer-'));
  const out = execFileSync('npm', ['pack', '--ignore-scripts', '--silent', '--pack-destination', work], { cwd: repo, encoding: 'utf8' });
  const tgz = join(work, out.trim().split('\n').at(-1)!);
  packed = execFileSync('tar', ['tzf', tgz], { encoding: 'utf8' }).split('\n').filter(Boolean);
  app = join(work, 'app');
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  const install = run('npm', ['install', '--prefer-offline', '--no-package-lock', tgz], app);
  if (install.code !== 0) throw new Error(`npm install of the tarball failed:\n${install.out}`);
  // The consumer's own @types/node, as any Node project has it.
  mkdirSync(join(app, 'node_modules', '@types'), { recursive: true });
  symlinkSync(join(repo, 'node_modules', '@types', 'node'), join(app, 'node_modules', '@types', 'node'));
  cpSync(join(repo, 'fixtures', 'thinkpad-t60', 'root'), join(work, 'machine'), { recursive: true });
}, 300_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe.skipIf(skip !== null)(`the packed package in a scratch project${skip ? ` (skipped: ${skip})` : ''}`, () => {
  it('ships what it needs and nothing else: bin, dist (with declarations), data, LICENSE; no sources, no tests', () => {
    const top = new Set(packed.map((p) => p.split('/')[1]));
    expect([...top].sort()).toEqual(['LICENSE', 'README.md', 'bin', 'data', 'dist', 'package.json']);
    expect(packed).toContain('package/dist/types/index.d.ts');
    expect(packed).toContain('package/data/rules.schema.json');
    expect(packed.filter((p) => p.endsWith('.ts') && !p.endsWith('.d.ts'))).toEqual([]);
    expect(readFileSync(join(app, 'node_modules', 'xenoppix-autoconfig', 'LICENSE'), 'utf8')).toContain('GNU GENERAL PUBLIC LICENSE\n                       Version 2, June 1991');
  });

  it('type-checks in a strict nodenext project: 0 errors (no TS5097 from inside the package)', () => {
    writeFileSync(
      join(app, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'nodenext',
          moduleResolution: 'nodenext',
          strict: true,
          exactOptionalPropertyTypes: true,
          noUncheckedIndexedAccess: true,
          noEmit: true,
          types: ['node'],
        },
        include: ['*.ts', '*.mts', '*.cts'],
      }),
    );
    writeFileSync(
      join(app, 'uses.ts'),
      [
        "import { decide, plan, render, probe, AutoconfigError, type HardwareProfile, type Plan } from 'xenoppix-autoconfig';",
        "import schema from 'xenoppix-autoconfig/rules.schema.json' with { type: 'json' };",
        "import pkg from 'xenoppix-autoconfig/package.json' with { type: 'json' };",
        'const profile: HardwareProfile = await probe({ root: "/" });',
        'const d = await decide({ root: "/", xen: null });',
        'const p: Plan = plan({ profile: d.profile, drivers: d.drivers.devices, target: d.target, outcome: d.outcome });',
        'const files: { path: string }[] = render(p);',
        'const code: string = new AutoconfigError("E_USAGE", "x").code;',
        'console.log(profile.cpu.vt.state, files.length, code, schema.$id, pkg.version);',
      ].join('\n'),
    );
    const r = run(process.execPath, [tsc, '-p', app], app);
    expect(r.out).toBe('');
    expect(r.code).toBe(0);
  }, 120_000);

  it("imports from ESM and require()s from CommonJS, and docs/library.md's examples run against a real machine", () => {
    const machine = join(work, 'machine');
    const target = join(work, 'target');
    mkdirSync(target);
    const probeExample = adapt(adapt(docExample('await probe()'), "probe({ root: '/mnt/target' })", `probe({ root: ${JSON.stringify(machine)} })`), 'const inMemory', '// const inMemory');
    let pipeline = docExample('writeFiles(render(');
    pipeline = adapt(pipeline, "decide({ root: '/', xen: null })", `decide({ root: ${JSON.stringify(machine)}, xen: null })`);
    pipeline = adapt(pipeline, "{ target: '/' }", `{ target: ${JSON.stringify(target)} }`);
    writeFileSync(join(app, 'probe.mjs'), `${probeExample}\nconsole.log(JSON.stringify({ vendor: other.dmi.sysVendor }));\n`);
    writeFileSync(join(app, 'pipeline.mjs'), pipeline);
    writeFileSync(
      join(app, 'require.cjs'),
      "const lib = require('xenoppix-autoconfig');\nconsole.log(typeof lib.decide, typeof lib.plan, typeof lib.render, typeof lib.writeFiles, require('xenoppix-autoconfig/package.json').name);\n",
    );
    const probed = run(process.execPath, ['probe.mjs'], app);
    expect(probed.code, probed.out).toBe(0);
    expect(probed.out).toContain('{"vendor":"LENOVO"}');
    const piped = run(process.execPath, ['pipeline.mjs'], app);
    expect(piped.code, piped.out).toBe(0);
    expect(readdirSync(join(target, 'etc', 'sysconfig'))).toContain('xen');
    const required = run(process.execPath, ['require.cjs'], app);
    expect(required.code, required.out).toBe(0);
    expect(required.out.trim().split('\n').at(-1)).toBe('function function function function xenoppix-autoconfig');
  }, 120_000);
});

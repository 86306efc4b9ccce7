// The package as a consumer gets it (issue #12): `npm pack` of this checkout (the dist/ that `npm run build` made:
// scripts/test.sh builds before the tests, and packing here with its scripts would rebuild dist/ under the other
// test files' feet), installed into a scratch project, type-checked there by TypeScript with strict settings
// (module nodenext, exactOptionalPropertyTypes), then imported from ESM and require()d from CommonJS; the README's
// example (configure()) runs under both, and the library examples of docs/library.md run, against a real fixture.
// Skipped, saying why, without npm or a build.
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
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

/** The README's ```js example: configure(). */
function readmeExample(): string {
  const text = readFileSync(join(repo, 'README.md'), 'utf8');
  const block = [...text.matchAll(/```js\n([\s\S]*?)```/g)].map((m) => m[1]!).find((b) => b.includes('configure('));
  if (block === undefined) throw new Error('README.md has no js example with configure(');
  return block;
}

/** An ES module example as CommonJS: its one import as require(), the rest in an async function (no top-level await). */
function asCommonJs(code: string): string {
  const from = "import { configure } from 'xenoppix-autoconfig';";
  const body = adapt(code, from, '');
  return `const { configure } = require('xenoppix-autoconfig');\n(async () => {\n${body}\n})().catch((e) => { console.error(e); process.exit(1); });\n`;
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
  // verbatimSymlinks: sysfs's relative links stay inside the copy (by default cpSync makes them absolute, into the
  // repository's tree, and the probe refuses links that leave the root: no PCI devices).
  cpSync(join(repo, 'fixtures', 'thinkpad-t60', 'root'), join(work, 'machine'), { recursive: true, verbatimSymlinks: true });
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
        "import { configure, CONFIGURE_EXIT, decide, plan, render, probe, AutoconfigError, type ConfigureResult, type HardwareProfile, type Plan } from 'xenoppix-autoconfig';",
        "import schema from 'xenoppix-autoconfig/rules.schema.json' with { type: 'json' };",
        "import pkg from 'xenoppix-autoconfig/package.json' with { type: 'json' };",
        'const profile: HardwareProfile = await probe({ root: "/" });',
        'const d = await decide({ root: "/", xen: null });',
        'const p: Plan = plan({ profile: d.profile, drivers: d.drivers.devices, target: d.target, outcome: d.outcome });',
        'const files: { path: string }[] = render(p);',
        'const r: ConfigureResult = await configure({ root: "/", write: false, log: (m: string) => console.error(m) });',
        'const ok: boolean = r.exitCode === CONFIGURE_EXIT.ok && r.files.every((f) => f.state !== "new" || f.current === null);',
        'console.log(ok, r.record?.summary, r.plan.target.version);',
        'const code: string = new AutoconfigError("E_USAGE", "x").code;',
        'console.log(profile.cpu.vt.state, files.length, code, schema.$id, pkg.version);',
      ].join('\n'),
    );
    const r = run(process.execPath, [tsc, '-p', app], app);
    expect(r.out).toBe('');
    expect(r.code).toBe(0);
  }, 120_000);

  it("the README's example, configure(), runs from ESM and from CommonJS and writes what the CLI writes", () => {
    const machine = join(work, 'machine');
    const targets = { esm: join(work, 'readme-esm'), cjs: join(work, 'readme-cjs'), cli: join(work, 'readme-cli') };
    for (const dir of Object.values(targets)) mkdirSync(dir);
    const example = (target: string) => adapt(readmeExample(), 'configure({ write: true })', `configure({ root: ${JSON.stringify(machine)}, target: ${JSON.stringify(target)}, write: true })`);
    writeFileSync(join(app, 'readme.mjs'), example(targets.esm));
    writeFileSync(join(app, 'readme.cjs'), asCommonJs(example(targets.cjs)));
    const bin = join(app, 'node_modules', '.bin', 'autoconfig');
    const cli = run(bin, ['--write', '--root', machine, '--target', targets.cli], app);
    expect(cli.code, cli.out).toBe(0);
    const files = (dir: string) =>
      readdirSync(dir, { recursive: true, encoding: 'utf8' })
        .filter((p) => !p.endsWith('last-run.json') && statSync(join(dir, p)).isFile())
        .sort()
        .map((p) => [p, readFileSync(join(dir, p), 'utf8')]);
    for (const [kind, script] of [['esm', 'readme.mjs'], ['cjs', 'readme.cjs']] as const) {
      const r = run(process.execPath, [script], app);
      expect(r.code, r.out).toBe(0);
      expect(r.out).toMatch(new RegExp(`^autoconfig: wrote (\\d+) of \\1 files, exit 0, [\\d.]+ s; record ${targets[kind]}/var/lib/autoconfig/last-run\\.json$`, 'm'));
      expect(files(targets[kind])).toEqual(files(targets.cli));
      // The card's name, as the CLI writes it (issue #12: ids, by hand).
      expect(readFileSync(join(targets[kind], 'etc', 'sysconfig', 'netcard'), 'utf8')).toMatch(/^FULLNAME='82573L Gigabit Ethernet Controller'$/m);
    }
  }, 120_000);

  it("imports from ESM and require()s from CommonJS, and docs/library.md's examples run against a real machine", () => {
    const machine = join(work, 'machine');
    const target = join(work, 'target');
    mkdirSync(target);
    const probeExample = adapt(adapt(docExample('await probe()'), "probe({ root: '/mnt/target' })", `probe({ root: ${JSON.stringify(machine)} })`), 'const inMemory', '// const inMemory');
    let pipeline = docExample('writeFiles(render(');
    pipeline = adapt(pipeline, "decide({ root: '/', xen: null })", `decide({ root: ${JSON.stringify(machine)}, xen: null })`);
    pipeline = adapt(pipeline, "{ target: '/' }", `{ target: ${JSON.stringify(target)} }`);
    let configured = docExample("configure({ root: '/mnt/target'");
    configured = adapt(configured, "configure({ root: '/mnt/target', xen: '4.20' })", `configure({ root: ${JSON.stringify(machine)}, xen: '4.20' })`);
    const applied = join(work, 'applied');
    mkdirSync(applied);
    // --apply with a modprobe that loads nothing: /bin/true answers every module with success.
    configured = adapt(configured, 'configure({ write: true, apply: true,', `configure({ root: ${JSON.stringify(machine)}, target: ${JSON.stringify(applied)}, modprobe: '/bin/true', write: true, apply: true,`);
    writeFileSync(join(app, 'configure.mjs'), configured);
    writeFileSync(join(app, 'probe.mjs'), `${probeExample}\nconsole.log(JSON.stringify({ vendor: other.dmi.sysVendor }));\n`);
    writeFileSync(join(app, 'pipeline.mjs'), pipeline);
    writeFileSync(
      join(app, 'require.cjs'),
      "const lib = require('xenoppix-autoconfig');\nconsole.log(typeof lib.configure, typeof lib.decide, typeof lib.plan, typeof lib.render, typeof lib.writeFiles, require('xenoppix-autoconfig/package.json').name);\n",
    );
    const probed = run(process.execPath, ['probe.mjs'], app);
    expect(probed.code, probed.out).toBe(0);
    expect(probed.out).toContain('{"vendor":"LENOVO"}');
    const conf = run(process.execPath, ['configure.mjs'], app);
    expect(conf.code, conf.out).toBe(0);
    expect(conf.out).toMatch(/^new \/etc\/sysconfig\/xen$/m);
    expect(conf.out).toMatch(/^\+\+\+ b\/etc\/sysconfig\/xen$/m);
    expect(conf.out).toMatch(/^autoconfig: wrote \d+ of \d+ files, loaded (\d+)\/\1 modules, exit 0, .* 0$/m);
    const piped = run(process.execPath, ['pipeline.mjs'], app);
    expect(piped.code, piped.out).toBe(0);
    expect(readdirSync(join(target, 'etc', 'sysconfig'))).toContain('xen');
    const required = run(process.execPath, ['require.cjs'], app);
    expect(required.code, required.out).toBe(0);
    expect(required.out.trim().split('\n').at(-1)).toBe('function function function function function xenoppix-autoconfig');
  }, 120_000);
});

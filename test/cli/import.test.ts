import { lstatSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ImportJson } from '../../src/cli/import.ts';
import { corpusDir, hasCorpus, tmp } from '../corpus/_support.ts';
import { documentedKeys } from './_json-docs.ts';
import type { WritableFsLike } from '../../src/fs.ts';
import { probe } from '../../src/probe/probe.ts';
import { fixturesDir, readTree, volume } from '../_support/memfs.ts';
import { runCli } from '../_support/cli.ts';

const run = runCli;

describe('autoconfig import', () => {
  it('turns published logs into a tree that probes to the committed fixture profile', async () => {
    // The fixture's own sources, in memfs at /logs: import, then probe the result.
    const { fs } = volume({ files: readTree(join(fixturesDir, 'thinkpad-t60', 'sources')).files ?? {} }, '/logs');
    const r = await run(['import', '/logs', '--out', '/snap'], fs);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('imported /logs into /snap');
    const profile = await probe({ fs, root: '/snap' });
    const gpu = profile.pci.find((d) => d.slot === '0000:00:02.0');
    expect(gpu).toMatchObject({ vendor: '8086', device: '27a2', class: '03', subclass: '00', driver: 'i915' });
    // vmx under kernel 4.9 (its root hubs' iManufacturer), which shows it even when firmware locked VT-x off.
    expect(profile.cpu).toMatchObject({ longMode: false, vt: { technology: 'vmx', state: 'unverified' } });
  });

  it('refuses a non-empty output directory and reports unusable lines with file:line', async () => {
    const { fs } = volume({ files: { 'logs/notes.txt': 'not a log\n', 'snap/keep': 'x' } });
    const refused = await run(['import', '/logs', '--out', '/snap'], fs);
    expect(refused).toMatchObject({ code: 1 });
    expect(refused.stderr).toContain('/snap is not empty');
    const r = await run(['import', '/logs', '--out', '/other'], fs);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/notes\.txt:\d+: /);
  });
});

/** Regular files under `dir`, relative, sorted. */
function filesUnder(dir: string, rel = ''): string[] {
  return readdirSync(join(dir, rel))
    .flatMap((name) => {
      const path = rel === '' ? name : `${rel}/${name}`;
      const stats = lstatSync(join(dir, path));
      return stats.isDirectory() ? filesUnder(dir, path) : stats.isFile() ? [path] : [];
    })
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** One shared-corpus machine for each set of log files the corpus has (dmidecode + lscpu, lspci + lsusb + dmesg ...). */
function corpusLayouts(): string[] {
  if (!hasCorpus) return [];
  const byLayout = new Map<string, string>();
  for (const name of readdirSync(corpusDir).sort()) {
    if (name.startsWith('_') || !lstatSync(join(corpusDir, name)).isDirectory()) continue;
    const layout = filesUnder(join(corpusDir, name)).join(' ');
    if (!byLayout.has(layout)) byLayout.set(layout, name);
  }
  return [...byLayout.values()];
}

describe('autoconfig import --json', () => {
  const machines = corpusLayouts();
  it.skipIf(!hasCorpus)('the shared corpus is there (skipped without ../shared/corpus)', () => {
    expect(machines.length).toBeGreaterThan(10);
  });

  it.skipIf(!hasCorpus).each(machines)('%s: the tree written, every log read with its format, each thing passed over with why', async (name) => {
    const logDir = join(corpusDir, name);
    const out = join(tmp('import-json'), 'snap');
    const r = await runCli(['import', logDir, '--out', out, '--json']);
    expect(r.code).toBe(0);
    const json = JSON.parse(r.stdout) as ImportJson;
    expect(Object.keys(json)).toEqual(documentedKeys('import'));
    expect(json).toMatchObject({ logDir, out });
    expect(json.files).toEqual(filesUnder(out));
    expect(json.manifest).toEqual(JSON.parse(readFileSync(join(out, 'autoconfig-snapshot.json'), 'utf8')));
    // Every file of the folder read once, in the manifest's words.
    expect(json.read).toEqual(json.manifest.sources);
    expect(json.read.map((s) => s.file).sort()).toEqual(filesUnder(logDir));
    // A whole file passed over (line 0) is one nothing was recognised in; lines passed over are those stderr names.
    const whole = json.skipped.filter((s) => s.line === 0).map((s) => s.file).sort();
    expect(whole).toEqual(json.read.filter((s) => ['unknown', 'binary', 'empty'].includes(s.format)).map((s) => s.file).sort());
    expect(whole).toContain('SOURCE.tsv'); // the corpus's provenance table is no hardware log
    const said = json.skipped.filter((s) => s.reason !== 'empty').map((s) => `${s.file}:${s.line}: ${s.reason}\n`);
    expect(r.stderr).toBe(said.join(''));
  });
});

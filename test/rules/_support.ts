// Test support for the rule engine: real fixture profiles, kmod's matches for them from the shipped reference
// kernel (no modprobe.d: this machine's configuration must not leak in), and rule texts loaded as one set.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadKernelData, type KernelData } from '../../src/modalias/kernel-data.ts';
import { emptyConfig } from '../../src/modalias/modprobe-d.ts';
import { devicesFromProfile, resolveDrivers, type DriverMatch } from '../../src/modalias/resolve.ts';
import { loadRuleTexts, type LoadedRules } from '../../src/rules/load.ts';
import type { RuleFile } from '../../src/rules/types.ts';
import type { HardwareProfile } from '../../src/types.ts';
import { fixturesDir } from '../_support/memfs.ts';

export function fixtureProfile(name: string): HardwareProfile {
  return JSON.parse(readFileSync(join(fixturesDir, name, 'profile.json'), 'utf8')) as HardwareProfile;
}

let kernel: Promise<KernelData> | undefined;

export async function fixtureDrivers(profile: HardwareProfile): Promise<DriverMatch[]> {
  kernel ??= loadKernelData({ release: null });
  return resolveDrivers({ kernel: await kernel, config: emptyConfig() }, devicesFromProfile(profile));
}

/** Loads `{ name: yaml }` in the given order as one set. */
export function load(texts: Record<string, string>, prior: readonly RuleFile[] = []): Promise<LoadedRules> {
  return loadRuleTexts(Object.entries(texts).map(([file, text]) => ({ file, text })), prior);
}

/** Dedent a template literal so that YAML in tests can be indented with the code. */
export function yaml(strings: TemplateStringsArray, ...values: unknown[]): string {
  const text = String.raw({ raw: strings }, ...values).replace(/^\n/, '');
  const indent = Math.min(...text.split('\n').filter((l) => l.trim() !== '').map((l) => /^ */.exec(l)![0].length));
  return text
    .split('\n')
    .map((l) => l.slice(indent))
    .join('\n');
}

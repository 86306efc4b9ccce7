// Test support for the corpus workbench: the shared corpus (../shared/corpus from the repository root, absent on a
// clone without it: tests over it are skipped, saying so) and copies of real fixtures to mutate.
import { cpSync, existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fixturesDir, repoRoot } from '../_support/memfs.ts';

export const corpusDir = join(repoRoot, '..', 'shared', 'corpus');
export const hasCorpus = existsSync(join(corpusDir, 'INDEX.tsv'));

/** The four targets CI runs the corpus at (issue #13). */
export const CI_TARGETS = ['3.0.2', '3.0.3', '4.17', '4.20'];

/** A fresh temporary directory. */
export function tmp(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `autoconfig-${prefix}-`));
}

/** Copies of real fixtures (tree, sources, expect.yaml; symlinks kept) under a new directory, to mutate. */
export function copyFixtures(names: readonly string[]): string {
  const dir = tmp('corpus-fixtures');
  for (const name of names) cpSync(join(fixturesDir, name), join(dir, name), { recursive: true, verbatimSymlinks: true });
  return dir;
}

/** A copy of the shipped rules, to change. */
export function copyRules(): string {
  const dir = join(tmp('corpus-rules'), 'rules');
  cpSync(join(repoRoot, 'data', 'rules'), dir, { recursive: true });
  return dir;
}

// Test support: the top-level keys docs/cli.md documents for a command's --json (its row of the "`--json`" table),
// so that the tests hold the output to the documentation rather than to a second copy of the key list.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../_support/memfs.ts';

/** `{root, out, skipped[{path, reason}], devices{pci, usb}}` -> ['root', 'out', 'skipped', 'devices'] (depth 0 only). */
export function documentedKeys(command: string): string[] {
  const doc = readFileSync(join(repoRoot, 'docs', 'cli.md'), 'utf8');
  const row = doc.split('\n').find((l) => l.startsWith(`| \`${command}\` | \``));
  if (!row) throw new Error(`docs/cli.md: no --json row for ${command}`);
  const shape = /^\| `[^`]+` \| `(\{[^`]*\})`/.exec(row)?.[1];
  if (!shape) throw new Error(`docs/cli.md: the --json row of ${command} starts with no {...} shape`);
  const keys: string[] = [];
  let depth = 0;
  let current = '';
  for (const c of shape.slice(1, -1)) {
    if (c === '{' || c === '[') depth++;
    if (c === '}' || c === ']') depth--;
    if (c === ',' && depth === 0) {
      keys.push(current);
      current = '';
    } else if (depth === 0 && c !== '}' && c !== ']') current += c;
  }
  keys.push(current);
  return keys.map((k) => k.trim());
}
